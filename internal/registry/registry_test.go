package registry_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/registry"
	_ "github.com/plexushq/plexus/internal/server" // registers every kind
)

// Every registered kind is fully declared: each field documented, with
// what a form needs (a label, a group, labels for enum values, bounds for
// numbers, conditions naming a field and its values), each example valid,
// each secret (nested ones too) hidden by Public.
func TestEveryKind(t *testing.T) {
	kinds := registry.All()
	if len(kinds) == 0 {
		t.Fatal("no kinds registered")
	}
	for _, k := range kinds {
		if k.ID == lintThing.ID {
			continue // incomplete on purpose, for TestLint
		}
		for _, err := range k.Lint() {
			t.Error(err)
		}
	}
}

type incomplete struct {
	Name  string `json:"name" doc:"Name."`
	Type  string `json:"type" enum:"a|b" label:"Type" group:"Thing" doc:"Type of the thing."`
	Size  int    `json:"size" label:"Size" group:"Thing" doc:"Size of the thing."`
	Token string `json:"token" secret:"true" label:"Token" group:"Thing" doc:"Token of the thing."`
}

func (*incomplete) Validate() []error { return nil }

// lintThing is a kind whose declaration lacks what Lint finds.
var lintThing = func() *registry.Kind {
	registry.Register(registry.Kind{ID: "lint_thing", Title: "Lint thing", Summary: "A test kind.",
		New:     func() registry.Object { return &incomplete{} },
		Actions: []registry.Action{{Name: "poke", Doc: "pokes", Run: func(context.Context, *registry.Call) (any, error) { return nil, nil }}}})
	k, _ := registry.Lookup("lint_thing")
	return k
}()

// Lint finds what a declaration lacks.
func TestLint(t *testing.T) {
	var got []string
	for _, err := range lintThing.Lint() {
		got = append(got, err.Error())
	}
	for _, want := range []string{"lint_thing has no examples", `lint_thing.name: doc "Name." should be a sentence`, "lint_thing.name has no label",
		"lint_thing.name has no group", "lint_thing.type: enum [a b] has labels []", "lint_thing.size is a number without a min",
		`lint_thing action poke: doc "pokes" should be sentences`} {
		if !slices.Contains(got, want) {
			t.Errorf("Lint lacks %q: %q", want, got)
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

// One Problem type says where every problem is: in an enmasse file, in a
// source file, or on an object of the admin API.
func TestProblemText(t *testing.T) {
	for _, c := range []struct {
		p    registry.Problem
		want string
	}{
		{registry.Problem{File: "a.yaml", Line: 3, Column: 5, Kind: "channel_rest", Name: "x", Field: "servise", Message: `unknown field "servise"; did you mean "service"?`},
			`a.yaml:3:5: channel_rest "x": unknown field "servise"; did you mean "service"?`},
		{registry.Problem{File: "a.yaml", Message: "cannot read the file"}, "a.yaml: cannot read the file"},
		{registry.Problem{File: "b.star", Line: 2, Column: 1, Kind: registry.KindCode, Name: "b.star", Message: "undefined: x"}, "b.star:2:1: undefined: x"},
		{registry.Problem{Kind: registry.KindCode, Name: "b.star", Message: "is not deployed"}, "b.star: is not deployed"},
		{registry.Problem{Kind: "security", Name: "s", Field: "password", Message: "must not be empty"}, `security "s": password: must not be empty`},
	} {
		if got := c.p.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

type formThing struct {
	Name  string `json:"name" label:"Name" group:"Thing" doc:"Name of the thing."`
	Type  string `json:"type" enum:"a|b" enum_labels:"A|B" label:"Type" group:"Thing" doc:"Type of the thing."`
	Size  int    `json:"size" min:"1" max:"10" label:"Size" group:"Thing" doc:"Size of the thing."`
	Level int    `json:"level" min:"0" label:"Level" group:"Thing" doc:"Level of the thing."`
	Top   int    `json:"top" min:"0" max:"5" label:"Top" group:"Thing" doc:"Top of the thing."`
}

func (*formThing) Validate() []error { return nil }

type (
	whenNoField struct {
		Name string `json:"name" doc:"Name."`
		Type string `json:"type" enum:"a|b" doc:"Type."`
		X    string `json:"x" when:"kind=a" doc:"X."`
	}
	whenBadValue struct {
		Name string `json:"name" doc:"Name."`
		Type string `json:"type" enum:"a|b" doc:"Type."`
		X    string `json:"x" when:"type=c" doc:"X."`
	}
	whenNoEnum struct {
		Name string `json:"name" doc:"Name."`
		Type string `json:"type" doc:"Type."`
		X    string `json:"x" when:"type=c" doc:"X."`
	}
	enumLabels struct {
		Name string `json:"name" doc:"Name."`
		X    string `json:"x" enum:"a|b" enum_labels:"A" doc:"X."`
	}
	minOfString struct {
		Name string `json:"name" doc:"Name."`
		X    string `json:"x" min:"1" doc:"X."`
	}
	unknownWidget struct {
		Name string `json:"name" doc:"Name."`
		X    string `json:"x" widget:"slider" doc:"X."`
	}
	minAboveMax struct {
		Name string `json:"name" doc:"Name."`
		X    int    `json:"x" min:"5" max:"1" doc:"X."`
	}
)

func (*whenNoField) Validate() []error   { return nil }
func (*whenBadValue) Validate() []error  { return nil }
func (*whenNoEnum) Validate() []error    { return nil }
func (*enumLabels) Validate() []error    { return nil }
func (*minOfString) Validate() []error   { return nil }
func (*unknownWidget) Validate() []error { return nil }
func (*minAboveMax) Validate() []error   { return nil }

// Mistakes in form metadata are found at start-up.
func TestFormTagMistakes(t *testing.T) {
	for want, obj := range map[string]registry.Object{
		`when names "kind", which is not another field`: &whenNoField{},
		`when gives "type" a value it cannot have, "c"`: &whenBadValue{},
		`when names "type", which has no enum`:          &whenNoEnum{},
		"enum_labels has 1 labels for 2 enum values":    &enumLabels{},
		"only numbers and durations have bounds":        &minOfString{},
		`widget "slider" is not one of`:                 &unknownWidget{},
		"min 5 is above max 1":                          &minAboveMax{},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), want) {
					t.Errorf("want a panic with %q, got %v", want, r)
				}
			}()
			registry.Register(registry.Kind{ID: "form_thing", Title: "Form thing", Summary: "A test kind.", New: func() registry.Object { return obj }})
		}()
	}
	if _, ok := registry.Lookup("form_thing"); ok {
		t.Error("a malformed kind was registered")
	}
}

var boundsKind = func() *registry.Kind {
	registry.Register(registry.Kind{ID: "bounds_thing", Title: "Bounds thing", Summary: "A test kind.",
		New: func() registry.Object { return &formThing{Size: 5} }, Examples: []string{`{"name": "x", "type": "a"}`}})
	k, _ := registry.Lookup("bounds_thing")
	return k
}()

// Numbers outside their min and max are refused, naming the bounds.
func TestBounds(t *testing.T) {
	k := boundsKind
	for body, want := range map[string]string{
		`{"name": "x", "type": "a"}`:              "",
		`{"name": "x", "type": "a", "size": 11}`:  "size: 11 is not between 1 and 10",
		`{"name": "x", "type": "a", "level": -1}`: "level: must not be negative",
		`{"name": "x", "type": "a", "top": 6}`:    "top: 6 is not between 0 and 5",
	} {
		obj, errs := k.Decode([]byte(body))
		errs = append(errs, k.CheckFields(obj)...)
		var got []string
		for _, e := range errs {
			got = append(got, e.Error())
		}
		if g := strings.Join(got, "; "); (want == "") != (g == "") || !strings.Contains(g, want) {
			t.Errorf("%s: got %q, want %q", body, g, want)
		}
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
