package sio

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/plexushq/plexus/sdk/service"
)

// FuzzConvert converts arbitrary strings, as a query string or a form
// sends them, to every type: it never panics, and a value it accepts has
// the type's Go form and converts again to itself.
func FuzzConvert(f *testing.F) {
	for _, s := range []string{"42", "-7", "1e3", "true", "yes", "2024-02-29", "2024-05-01T10:00:00+02:00", "0190a8f8-7c2e-7b61-9e36-5f3c1b2a4d5e", `{"a":1}`, "", " ", "NaN", "9223372036854775808", "١٢٣"} {
		for i := range Types {
			f.Add(s, i)
		}
	}
	f.Fuzz(func(t *testing.T, s string, ti int) {
		if ti < 0 {
			ti = -ti
		}
		e := &Elem{Name: "x", Type: Types[ti%len(Types)]}
		v, err := Convert(e, s)
		if err != nil {
			var ce *ConvError
			if !errors.As(err, &ce) {
				t.Fatalf("%s %q: error %v is not a *ConvError", e.Type, s, err)
			}
			return
		}
		ok := false
		switch e.Type {
		case service.TypeText, service.TypeDate, service.TypeDateTime, service.TypeUUID:
			_, ok = v.(string)
		case service.TypeInt:
			_, ok = v.(int64)
		case service.TypeBool:
			_, ok = v.(bool)
		case service.TypeFloat:
			_, ok = v.(float64)
		case service.TypeDecimal:
			_, ok = v.(json.Number)
		case service.TypeList:
			_, ok = v.([]any)
		case service.TypeDict:
			_, ok = v.(map[string]any)
		case service.TypeSecret:
			_, ok = v.(service.SecretString)
		case service.TypeAsIs:
			ok = v == s
		}
		if !ok {
			t.Fatalf("%s %q: got %#v (%T)", e.Type, s, v, v)
		}
		// Normalised forms are stable.
		switch e.Type {
		case service.TypeDate, service.TypeDateTime, service.TypeUUID, service.TypeInt, service.TypeBool:
			again, err := Convert(e, v)
			if err != nil || again != v {
				t.Fatalf("%s %q: %#v converts again to %#v, %v", e.Type, s, v, again, err)
			}
		}
	})
}

// FuzzDecodeModel decodes arbitrary JSON against a nested model with lists
// of models and optional fields: it never panics, and every error names
// the element by its path.
func FuzzDecodeModel(f *testing.F) {
	m := orderModel(f)
	for _, s := range []string{
		`{}`, `{"customer_id": 1, "address": {"street": "s", "city": "c"}, "items": []}`,
		`{"customer_id": 1, "address": {"street": "s", "city": "c"}, "items": [{"sku": "a", "qty": 1}, {"qty": "x"}]}`,
		`{"customer_id": "1", "address": {"street": 5, "city": null}, "items": "a", "parent": {"parent": {}}}`,
		`[1,2]`, `"x"`, `{"customer_id": 1e400}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		in, _ := v.(map[string]any)
		out, err := m.Decode(in)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || !strings.HasPrefix(ie.Path, "/") {
				t.Fatalf("%s: %v has no path", s, err)
			}
			return
		}
		if _, err := m.Assign(out); err != nil {
			var ie *InputError
			if !errors.As(err, &ie) || !strings.HasPrefix(ie.Path, "/") {
				t.Fatalf("%s: assigning: %v has no path", s, err)
			}
		}
		var dropped []string
		if _, err := m.Encode(out, &dropped); err != nil {
			t.Fatalf("%s: decoded input does not encode: %v", s, err)
		}
	})
}
