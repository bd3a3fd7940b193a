package dashboard_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/registry"
)

var (
	controlRe = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	attrRe    = regexp.MustCompile(`\s(id|type|aria-label)="([^"]*)"`)
)

// TestLabels checks that every control of the main pages has a label: a
// <label for> naming its id, an enclosing label's for, or aria-label.
func TestLabels(t *testing.T) {
	_, b := start(t)
	paths := []string{"/", "/services", "/services/demo.log-input-data", "/deploy", "/scheduler", "/enmasse", "/account"}
	for _, k := range registry.All() {
		paths = append(paths, "/kinds/"+k.ID, "/kinds/"+k.ID+"/new")
	}
	for _, path := range paths {
		body := b.get(path).Body
		for _, c := range controlRe.FindAllString(body, -1) {
			attrs := map[string]string{}
			for _, m := range attrRe.FindAllStringSubmatch(c, -1) {
				attrs[m[1]] = m[2]
			}
			if attrs["type"] == "hidden" || attrs["aria-label"] != "" {
				continue
			}
			if attrs["id"] == "" || !strings.Contains(body, `<label for="`+attrs["id"]+`"`) {
				t.Errorf("%s: control without a label: %s", path, c)
			}
		}
	}
}
