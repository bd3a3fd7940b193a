package enmasse

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/tools/txtar"

	"github.com/plexushq/plexus/internal/registry"
)

// oneFile is an input of one file, f.yaml, whose variables are all set.
func oneFile(data []byte) (Input, Options) {
	in := Input{Roots: []string{"f.yaml"}, Read: func(name string) ([]byte, error) {
		if name == "f.yaml" {
			return data, nil
		}
		return nil, errors.New("no such file")
	}}
	return in, Options{Lookup: func(name string) (string, bool) { return "v-" + name, true }}
}

// exportable holds decoded objects by kind, sorted by name.
type exportable map[string][]registry.Object

func (e exportable) Objects(kind string) []registry.Object { return e[kind] }

func objectsOf(c *checked) exportable {
	out := exportable{}
	for _, o := range c.objs {
		out[o.src.kind.ID] = append(out[o.src.kind.ID], o.val)
	}
	for _, objs := range out {
		slices.SortFunc(objs, func(a, b registry.Object) int { return strings.Compare(registry.NameOf(a), registry.NameOf(b)) })
	}
	return out
}

// publicJSON is an object's JSON with its secrets, nested ones too,
// masked: an export holds ${VAR} references, not their values.
func publicJSON(kind string, obj registry.Object) string {
	k, _ := registry.Lookup(kind)
	obj = k.Clone(obj)
	for _, f := range k.Fields() {
		mask(f.Value(obj), f)
	}
	data, _ := json.Marshal(obj)
	return string(data)
}

func mask(v reflect.Value, f registry.Field) {
	switch {
	case f.Secret && v.Kind() == reflect.String && v.String() != "":
		v.SetString(registry.SecretPlaceholder)
	case f.Sub != nil && v.Kind() == reflect.Struct:
		for _, sf := range f.Sub {
			mask(v.FieldByIndex(fieldIndex(v.Type(), sf.Name)), sf)
		}
	case f.Sub != nil && v.Kind() == reflect.Slice:
		for i := range v.Len() {
			mask(v.Index(i), f)
		}
	}
}

// FuzzImport feeds the importer arbitrary bytes. It must never panic;
// every problem must say something; and whatever it accepts must export
// and import again to the same objects.
func FuzzImport(f *testing.F) {
	for _, pattern := range []string{"testdata/golden/*.txtar", "testdata/*.yaml", "testdata/zato/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if strings.HasSuffix(file, ".yaml") {
				data, _ := os.ReadFile(file)
				f.Add(data)
				continue
			}
			ar, err := txtar.ParseFile(file)
			if err != nil {
				continue
			}
			for _, af := range ar.Files {
				if strings.HasSuffix(af.Name, ".yaml") {
					f.Add(af.Data)
				}
			}
		}
	}
	for _, s := range []string{"", "{}", "[]", "a: b: c", "channel_rest: &a [*a]", "x: &a\n  <<: *a\n",
		"channel_rest:\n  - name: n\n    url_path: ${", "include: [f.yaml]", "channel_rest:\n  - {name: x, service: ${A}${B}}",
		"test_credentials:\n  - name: x\n    extra: {a: [1, {b: ~}]}\n    rules: [{cidr: x, key: ${K}}]\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, opts := oneFile(data)
		c := check(in, opts)
		for _, p := range append(c.p.problems, c.p.warnings...) {
			if p.Message == "" {
				t.Fatalf("a problem says nothing: %+v", p)
			}
		}
		if len(c.p.problems) > 0 {
			return
		}
		objs := objectsOf(c)
		out, err := Export(objs, ExportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		in2, opts2 := oneFile(out)
		c2 := check(in2, opts2)
		if len(c2.p.problems) > 0 {
			t.Fatalf("the export of an accepted file has problems: %v\n--- input:\n%s\n--- export:\n%s", c2.p.problems[0], data, out)
		}
		again := objectsOf(c2)
		for kind, list := range objs {
			if len(again[kind]) != len(list) {
				t.Fatalf("%s: %d objects, then %d\n--- export:\n%s", kind, len(list), len(again[kind]), out)
			}
			for i := range list {
				if a, b := publicJSON(kind, list[i]), publicJSON(kind, again[kind][i]); a != b {
					t.Fatalf("%s changed in the round trip:\n%s\n%s\n--- input:\n%q\n--- export:\n%s", kind, a, b, data, out)
				}
			}
		}
	})
}

// FuzzScalar checks that any string, written as export writes it (as a
// field value and as a map key), reads back as the same string.
func FuzzScalar(f *testing.F) {
	for _, s := range []string{"", " ", "a", "yes", "No", "~", "null", "0x1F", "1_000", "-1", ".5", "-.inf", "<<", "=",
		"a: b", "a #b", "#x", "- x", "-x", "${X}", "$${X}", "$$${X}", "$", "Zato_Enmasse_Env.X", "zato-no-security",
		"line\n", "line\nline", "line\n\n", "\nx", " x\ny", "x\n y", "x \ny", "tab\there", "\u2028", "\uFEFFbom",
		"\x00\x01", "é", "😀", "'quoted'", "\"dq\"", "a\\b", "2026-01-01", "1:20", "@at", "`tick", "!tag", "&anchor",
		"*alias", "%dir", "|", ">", "{x}", "[x]", "x: ", "x:", "?", "? x", ": x", ",x", "a\r\nb", "\u0085"} {
		f.Add(s)
	}
	k, ok := registry.Lookup("test_credentials")
	if !ok {
		f.Skip("the test kind is not registered")
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // configuration values are JSON strings: valid UTF-8
		}
		var w writer
		w.b.WriteString("test_credentials:\n  - name: x\n    username:")
		w.value(stringNode(s), 4)
		w.b.WriteString("    headers:\n      ")
		w.b.WriteString(keyText(s))
		w.b.WriteString(": v\n")
		in, opts := oneFile(w.b.Bytes())
		c := check(in, opts)
		if len(c.p.problems) > 0 {
			t.Fatalf("%q: %v\n%s", s, c.p.problems[0], w.b.String())
		}
		obj := c.objs[0].val
		username, _ := k.Field("username")
		if got := username.Value(obj).String(); got != s {
			t.Fatalf("value %q reads back as %q from:\n%s", s, got, w.b.String())
		}
		headers, _ := k.Field("headers")
		if h := headers.Value(obj); h.Len() != 1 || h.MapKeys()[0].String() != s {
			t.Fatalf("key %q reads back as %v from:\n%s", s, h.MapKeys(), w.b.String())
		}
	})
}
