package registry_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/registry"
	_ "github.com/plexushq/plexus/internal/server" // registers every kind
)

// Every registered kind is fully declared: each field documented, each
// example valid, each secret hidden by Public.
func TestEveryKind(t *testing.T) {
	kinds := registry.All()
	if len(kinds) == 0 {
		t.Fatal("no kinds registered")
	}
	for _, k := range kinds {
		if len(k.Examples) == 0 {
			t.Errorf("%s has no examples", k.ID)
		}
		for _, f := range k.Fields() {
			if len(f.Doc) < 10 || !strings.HasSuffix(f.Doc, ".") {
				t.Errorf("%s.%s: doc %q should be a sentence", k.ID, f.Name, f.Doc)
			}
		}
		for _, ex := range k.Examples {
			obj, errs := k.Decode([]byte(ex))
			errs = append(errs, k.CheckFields(obj)...)
			errs = append(errs, obj.Validate()...)
			if len(errs) > 0 {
				t.Errorf("%s example %s: %v", k.ID, ex, errs)
			}
		}
		schema, err := json.Marshal(k.Schema())
		if err != nil || !strings.Contains(string(schema), `"additionalProperties":false`) {
			t.Errorf("%s schema: %v %s", k.ID, err, schema)
		}
		obj := k.New()
		for _, f := range k.Fields() {
			if f.Secret && f.Type.Kind() == reflect.String {
				f.Value(obj).SetString("s3cr3t-value")
			}
		}
		pub, _ := json.Marshal(k.Public(obj))
		if strings.Contains(string(pub), "s3cr3t-value") {
			t.Errorf("%s: Public shows a secret: %s", k.ID, pub)
		}
	}
}

func TestDecodeReportsEveryProblem(t *testing.T) {
	k, _ := registry.Lookup("channel_rest")
	_, errs := k.Decode([]byte(`{"name":"x","servise":"a","is_active":"yes","url_path":5,"method":"GET"}`))
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	got := strings.Join(msgs, "\n")
	for _, want := range []string{`unknown field "servise"; did you mean "service"?`, "is_active: expected true or false", "url_path: expected a string"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}

func TestSuggest(t *testing.T) {
	for in, want := range map[string]string{"url_pth": "url_path", "handel": "handle", "input_requried": "input_required", "zzzzzz": ""} {
		if got := registry.Suggest(in, []string{"url_path", "handle", "input_required", "name"}); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"name":"a","service":"s","url_path":"/x"}`))
	f.Add([]byte(`{"name":1}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"url_path":null,"xx":{}}`))
	k, _ := registry.Lookup("channel_rest")
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, errs := k.Decode(data)
		if len(errs) == 0 && obj == nil {
			t.Fatal("no object and no problem")
		}
		if obj != nil {
			k.CheckFields(obj)
			obj.Validate()
		}
	})
}

type skipThing struct {
	Name string `json:"name" doc:"Name."`
	Type string `json:"type" enum:"a|b" doc:"Type."`
}

func (*skipThing) Validate() []error { return nil }

// Zato values that skip objects must name a field and not be values
// Plexus supports: such a declaration is a mistake found at start-up.
func TestZatoSkippedDeclaration(t *testing.T) {
	for name, skipped := range map[string]map[string]map[string]string{
		"unknown field":   {"kind": {"x": "X"}},
		"supported value": {"type": {"a": "A"}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Register did not panic", name)
				}
			}()
			registry.Register(registry.Kind{ID: "skip_thing", Title: "Skip thing", Summary: "A test kind.",
				New: func() registry.Object { return &skipThing{} }, ZatoSkipped: skipped})
		}()
	}
	if _, ok := registry.Lookup("skip_thing"); ok {
		t.Error("a malformed kind was registered")
	}
}

func TestListedTwice(t *testing.T) {
	errs := registry.ListedTwice("members", []string{"a", "b", "a", "c", "b", "a"})
	var got []string
	for _, err := range errs {
		got = append(got, err.Error())
	}
	want := []string{`members: "a" is listed twice`, `members: "b" is listed twice`, `members: "a" is listed twice`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("%q, want %q", got, want)
	}
	if errs := registry.ListedTwice("groups", []string{"x", "y"}); errs != nil {
		t.Errorf("no repeats: %v", errs)
	}
}
