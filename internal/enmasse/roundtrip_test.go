package enmasse_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/plexushq/plexus/internal/enmasse"
	"github.com/plexushq/plexus/internal/registry"
)

// roundTripFixtures use every field of every kind: testdata/roundtrip.yaml
// the real kinds (a kind registered later must extend it, or
// TestRoundTripFixturesCoverEveryField fails), roundtrip_testkind.yaml the
// test-only kind.
var roundTripFixtures = map[string]func(*registry.Kind) bool{
	"testdata/roundtrip.yaml":          func(k *registry.Kind) bool { return !testKinds[k.ID] },
	"testdata/roundtrip_testkind.yaml": func(k *registry.Kind) bool { return testKinds[k.ID] },
}

// varRef matches a variable reference: ${VAR}, or Zato's legacy
// Zato_Enmasse_Env.VAR.
var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|Zato_Enmasse_Env\.([A-Za-z_][A-Za-z0-9_]*)`)

// fixtureEnv sets every variable a fixture uses.
func fixtureEnv(data []byte) func(string) (string, bool) {
	env := map[string]string{}
	for _, m := range varRef.FindAllStringSubmatch(string(data), -1) {
		name := m[1] + m[2]
		env[name] = "value of " + name
	}
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

func TestRoundTripFixturesCoverEveryField(t *testing.T) {
	for file, covers := range roundTripFixtures {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string][]map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, k := range registry.All() {
			if !covers(k) {
				continue
			}
			objs, ok := doc[k.ID]
			if !ok {
				t.Errorf("%s has no %s section: add objects of the kind, using every field", file, k.ID)
				continue
			}
			values := make([]any, len(objs))
			for i, o := range objs {
				values[i] = o
			}
			for _, missing := range uncovered(k.Fields(), values, "") {
				t.Errorf("%s: no %s object sets %s: add one that does (with a value other than the default)", file, k.ID, missing)
			}
		}
	}
}

// uncovered returns the fields (by path) that no value sets.
func uncovered(fields []registry.Field, values []any, prefix string) []string {
	var out []string
	for _, f := range fields {
		var set []any
		for _, v := range values {
			m, _ := v.(map[string]any)
			if x, ok := m[f.Name]; ok {
				set = append(set, x)
			}
		}
		if len(set) == 0 {
			out = append(out, prefix+f.Name)
			continue
		}
		if f.Sub != nil {
			var subs []any
			for _, s := range set {
				if list, ok := s.([]any); ok {
					subs = append(subs, list...)
				} else {
					subs = append(subs, s)
				}
			}
			out = append(out, uncovered(f.Sub, subs, prefix+f.Name+".")...)
		}
	}
	return out
}

// Export, import into an empty environment, export again: the same bytes,
// and the same bytes as the fixture, which is written as export writes.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	for file := range roundTripFixtures {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			lookup := fixtureEnv(data)
			first := newRuntime(t)
			in := enmasse.FileInput(file)
			rep, err := enmasse.Import(ctx, first, in, enmasse.Options{Lookup: lookup})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Warnings) > 0 {
				t.Errorf("warnings: %v", rep.Warnings)
			}
			out1, err := enmasse.Export(first.State(), enmasse.ExportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if string(out1) != string(data) {
				t.Errorf("the export differs from %s (write the fixture as export does):\n%s", file, diff(string(data), string(out1)))
			}
			second := newRuntime(t)
			b := &enmasse.Bundle{Files: []enmasse.File{{Name: "export.yaml", Content: string(out1)}}}
			if _, err := enmasse.Import(ctx, second, b.Input(), enmasse.Options{Lookup: lookup}); err != nil {
				t.Fatal(err)
			}
			out2, err := enmasse.Export(second.State(), enmasse.ExportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if string(out2) != string(out1) {
				t.Errorf("export → import → export differs:\n%s", diff(string(out1), string(out2)))
			}
			if a, b := objectsJSON(t, first.State()), objectsJSON(t, second.State()); a != b {
				t.Errorf("the objects differ:\n%s", diff(a, b))
			}
			// Importing the export again changes nothing.
			rep, err = enmasse.Import(ctx, second, b.Input(), enmasse.Options{Lookup: lookup})
			if err != nil || rep.Created+rep.Updated != 0 || rep.Rev != 0 {
				t.Errorf("re-import: %v %+v", err, rep)
			}
		})
	}
}

// diff shows the first line where two texts differ.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + itoa10(i+1) + ":\n  want: " + a + "\n   got: " + b + "\n--- got in full:\n" + got
		}
	}
	return ""
}

func itoa10(i int) string {
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

// A file written as Zato writes its files - durations as numbers of
// seconds, strings plain or single-quoted - is exported as it was
// written, so a Zato user's diff shows only what changed.
func TestExportKeepsZatoForms(t *testing.T) {
	const file = `security:
  - name: crm.creds
    type: basic_auth
    username: crm
    password: ${SECURITY_CRM_CREDS_PASSWORD}
    realm: 'CRM: production'

channel_rest:
  - name: api.orders
    service: plexus.ping
    url_path: /api/orders
    data_format: ''
    content_type: 'yes'

outgoing_rest:
  - name: CRM
    host: https://crm.example.com
    url_path: /api/{id}
    security: crm.creds
    timeout: 30
    retry_sleep_time: 5
    retry_backoff_threshold: '2m30.5s'

scheduler:
  - name: crm.sync
    service: plexus.ping
    job_type: interval_based
    start_date: '2026-01-01T02:00:00'
    seconds: 30
    extra: '{"mode": "full", "note": "it''s here"}'
`
	ctx := context.Background()
	lookup := func(string) (string, bool) { return "pw", true }
	rt := newRuntime(t)
	b := &enmasse.Bundle{Files: []enmasse.File{{Name: "zato.yaml", Content: file}}}
	if _, err := enmasse.Import(ctx, rt, b.Input(), enmasse.Options{Lookup: lookup}); err != nil {
		t.Fatal(err)
	}
	out, err := enmasse.Export(rt.State(), enmasse.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != file {
		t.Errorf("the export differs from the file:\n%s", diff(file, string(out)))
	}
}
