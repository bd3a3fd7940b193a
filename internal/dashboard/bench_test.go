package dashboard_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/servertest"
)

// BenchmarkPages answers every main page of a server with 10,000 REST
// channels; ms/op is the time of one page, over loopback.
func BenchmarkPages(b *testing.B) {
	s := servertest.Start(b, servertest.Options{})
	var sb strings.Builder
	sb.WriteString("channel_rest:\n")
	for i := range 10000 {
		fmt.Fprintf(&sb, "  - name: chan-%05d\n    url_path: /api/c%05d\n    service: demo.request-object\n", i, i)
	}
	if r := servertest.Do(b, "POST", s.Admin+admin.Prefix+"/enmasse/import", sb.String(), http.Header{"Content-Type": {"application/yaml"}, "Authorization": {basic()}}); r.StatusCode != 200 {
		b.Fatalf("import: %d %s", r.StatusCode, r.Body)
	}
	br := newBrowser(b, s.Admin)
	br.login(servertest.Password)
	for _, path := range []string{
		"/", "/kinds/channel_rest", "/kinds/channel_rest?page=150", "/kinds/channel_rest?q=chan-09",
		"/kinds/channel_rest?sort=url_path&desc=true", "/kinds/channel_rest/objects/chan-05000", "/kinds/channel_rest/new",
		"/kinds/outgoing_rest/new", "/kinds/security/new", "/kinds/channel_rest/help", "/services", "/services/demo.request-object",
		"/scheduler", "/deploy", "/enmasse", "/account",
	} {
		b.Run(strings.NewReplacer("/", "_", "?", "_", "&", "_", "=", "-").Replace(path), func(b *testing.B) {
			for b.Loop() {
				if p := br.get(path); p.Status != 200 {
					b.Fatalf("%s: %d", path, p.Status)
				}
			}
		})
	}
}
