package scheduler

import (
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/registry"
)

// The kind is fully declared: each field documented with a sentence, each
// example valid.
func TestKindDeclaration(t *testing.T) {
	k, ok := registry.Lookup(Kind)
	if !ok {
		t.Fatal("kind scheduler is not registered")
	}
	want := []string{"name", "is_active", "service", "job_type", "start_date", "weeks", "days", "hours", "minutes", "seconds",
		"repeats", "cron_definition", "extra", "timezone", "jitter_ms"}
	var got []string
	for _, f := range k.Fields() {
		got = append(got, f.Name)
		if len(f.Doc) < 10 || !strings.HasSuffix(f.Doc, ".") {
			t.Errorf("%s: doc %q should be a sentence", f.Name, f.Doc)
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("fields %v, want Zato's %v", got, want)
	}
	for _, ex := range k.Examples {
		obj, errs := k.Decode([]byte(ex))
		errs = append(errs, k.CheckFields(obj)...)
		errs = append(errs, obj.Validate()...)
		if len(errs) > 0 {
			t.Errorf("example %s: %v", ex, errs)
		}
	}
	if !k.New().(*Job).IsActive {
		t.Error("jobs should be active by default")
	}
}
