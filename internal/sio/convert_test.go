package sio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/sdk/service"
)

func TestInfer(t *testing.T) {
	for name, want := range map[string]service.Type{
		"is_active": service.TypeBool, "has_children": service.TypeBool, "by_date": service.TypeBool,
		"may_call": service.TypeBool, "needs_review": service.TypeBool, "should_retry": service.TypeBool,
		"is_id": service.TypeBool, "has_count": service.TypeBool,
		"id": service.TypeInt, "cust_id": service.TypeInt, "item_count": service.TypeInt, "page_size": service.TypeInt,
		"page_size_min": service.TypeInt, "page_size_max": service.TypeInt, "conn_timeout": service.TypeInt,
		"password": service.TypeSecret, "password1": service.TypeSecret, "token": service.TypeSecret,
		"api_key": service.TypeSecret, "apiKey": service.TypeSecret, "xApiKey": service.TypeSecret,
		"secret_key": service.TypeSecret, "auth_token": service.TypeSecret, "auth_data": service.TypeSecret,
		"tls_pem_passphrase": service.TypeSecret,
		"name":               service.TypeText, "idea": service.TypeText, "identity": service.TypeText, "valid": service.TypeText,
		"island": service.TypeText, "tokens": service.TypeText, "my_password": service.TypeText,
	} {
		if got := Infer(name); got != want {
			t.Errorf("Infer(%q) = %s, want %s", name, got, want)
		}
	}
}

// TestConvert is the conversion table of docs/typed-io.md.
func TestConvert(t *testing.T) {
	type row struct {
		typ  service.Type
		in   any
		want any // nil: a *ConvError
	}
	rows := []row{
		{service.TypeText, "abc", "abc"}, {service.TypeText, json.Number("42"), "42"}, {service.TypeText, true, "true"},
		{service.TypeText, int64(7), "7"}, {service.TypeText, 1.5, "1.5"}, {service.TypeText, map[string]any{}, nil},
		{service.TypeText, []any{"a"}, nil},
		{service.TypeInt, "42", int64(42)}, {service.TypeInt, " -7 ", int64(-7)}, {service.TypeInt, json.Number("42"), int64(42)},
		{service.TypeInt, json.Number("1e3"), int64(1000)}, {service.TypeInt, json.Number("42.0"), int64(42)},
		{service.TypeInt, float64(3), int64(3)}, {service.TypeInt, 7, int64(7)}, {service.TypeInt, big.NewInt(5), int64(5)},
		{service.TypeInt, "4.5", nil}, {service.TypeInt, "abc", nil}, {service.TypeInt, json.Number("1.5"), nil},
		{service.TypeInt, "9223372036854775808", nil}, {service.TypeInt, true, nil}, {service.TypeInt, 1e300, nil},
		{service.TypeBool, "true", true}, {service.TypeBool, "TRUE", true}, {service.TypeBool, "yes", true}, {service.TypeBool, "on", true},
		{service.TypeBool, "y", true}, {service.TypeBool, "t", true}, {service.TypeBool, "1", true},
		{service.TypeBool, "false", false}, {service.TypeBool, "no", false}, {service.TypeBool, "off", false}, {service.TypeBool, "n", false},
		{service.TypeBool, "f", false}, {service.TypeBool, "0", false}, {service.TypeBool, true, true},
		{service.TypeBool, json.Number("1"), true}, {service.TypeBool, json.Number("0"), false},
		{service.TypeBool, "maybe", nil}, {service.TypeBool, json.Number("2"), nil}, {service.TypeBool, []any{}, nil},
		{service.TypeFloat, "1.5", 1.5}, {service.TypeFloat, json.Number("2"), 2.0}, {service.TypeFloat, int64(3), 3.0},
		{service.TypeFloat, "NaN", nil}, {service.TypeFloat, "Inf", nil}, {service.TypeFloat, "x", nil},
		{service.TypeDecimal, "12.50", json.Number("12.50")}, {service.TypeDecimal, json.Number("0.1"), json.Number("0.1")},
		{service.TypeDecimal, int64(3), json.Number("3")}, {service.TypeDecimal, "1e3", json.Number("1e3")},
		{service.TypeDecimal, "1.", nil}, {service.TypeDecimal, "01", nil}, {service.TypeDecimal, "abc", nil}, {service.TypeDecimal, "", nil},
		{service.TypeDate, "2024-02-29", "2024-02-29"}, {service.TypeDate, "2024-02-29T23:00:00Z", "2024-02-29"},
		{service.TypeDate, "2023-02-29", nil}, {service.TypeDate, "29/02/2024", nil}, {service.TypeDate, 20240229, nil},
		{service.TypeDateTime, "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"},
		{service.TypeDateTime, "2024-05-01T10:00:00.5+02:00", "2024-05-01T10:00:00.5+02:00"},
		{service.TypeDateTime, "2024-05-01 10:00:00", "2024-05-01T10:00:00Z"}, {service.TypeDateTime, "2024-05-01", "2024-05-01T00:00:00Z"},
		{service.TypeDateTime, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), "2024-05-01T00:00:00Z"},
		{service.TypeDateTime, "yesterday", nil},
		{service.TypeUUID, "0190A8F8-7C2E-7B61-9E36-5F3C1B2A4D5E", "0190a8f8-7c2e-7b61-9e36-5f3c1b2a4d5e"},
		{service.TypeUUID, "0190a8f87c2e7b619e365f3c1b2a4d5e", "0190a8f8-7c2e-7b61-9e36-5f3c1b2a4d5e"},
		{service.TypeUUID, "{0190a8f8-7c2e-7b61-9e36-5f3c1b2a4d5e}", "0190a8f8-7c2e-7b61-9e36-5f3c1b2a4d5e"},
		{service.TypeUUID, "urn:uuid:0190a8f8-7c2e-7b61-9e36-5f3c1b2a4d5e", "0190a8f8-7c2e-7b61-9e36-5f3c1b2a4d5e"},
		{service.TypeUUID, "0190a8f8-7c2e-7b61-9e36-5f3c1b2a4d5", nil}, {service.TypeUUID, "g190a8f8-7c2e-7b61-9e36-5f3c1b2a4d5e", nil},
		{service.TypeList, []any{"a", 1}, []any{"a", 1}}, {service.TypeList, "a", []any{"a"}}, {service.TypeList, []string{"a", "b"}, []any{"a", "b"}},
		{service.TypeList, map[string]any{}, nil},
		{service.TypeDict, map[string]any{"a": 1}, map[string]any{"a": 1}}, {service.TypeDict, `{"a": 1}`, map[string]any{"a": json.Number("1")}},
		{service.TypeDict, "a=1", nil}, {service.TypeDict, []any{}, nil},
		{service.TypeAsIs, []any{1}, []any{1}}, {service.TypeAsIs, "x", "x"},
		{service.TypeSecret, "s3cret", service.SecretString("s3cret")}, {service.TypeSecret, []any{}, nil},
	}
	for _, r := range rows {
		got, err := Convert(&Elem{Name: "x", Type: r.typ}, r.in)
		if r.want == nil {
			var ce *ConvError
			if !errors.As(err, &ce) {
				t.Errorf("%s %#v: got %#v, %v; want a conversion error", r.typ, r.in, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, r.want) {
			t.Errorf("%s %#v: got %#v (%T), %v; want %#v", r.typ, r.in, got, got, err, r.want)
		}
	}
}

func TestConvErrorText(t *testing.T) {
	_, err := Convert(&Elem{Type: service.TypeInt}, "abc")
	if err.Error() != `expected an integer, got "abc"` {
		t.Error(err)
	}
	_, err = Convert(&Elem{Type: service.TypeInt}, strings.Repeat("9", 100))
	if !strings.HasSuffix(err.Error(), `..."`) && !strings.HasSuffix(err.Error(), "...") {
		t.Error("long values are shortened:", err)
	}
	_, err = Convert(&Elem{Type: service.TypeSecret}, []any{"hunter2"})
	if err.Error() != "expected a string" {
		t.Error("secrets are never echoed:", err)
	}
}

func TestSecretIsMasked(t *testing.T) {
	s := service.SecretString("hunter2")
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "password", s, "input", map[string]any{"password": s})
	out := buf.String() + fmt.Sprintf("%v %s %+v %#v %q", s, s, map[string]any{"p": s}, s, s)
	if strings.Contains(out, "hunter2") {
		t.Errorf("secret shown: %s", out)
	}
	if (service.Input{"password": s}).String("password") != "hunter2" {
		t.Error("Input.String returns the secret itself")
	}
	if data, _ := json.Marshal(s); string(data) != `"hunter2"` {
		t.Errorf("JSON: %s", data)
	}
}

func TestZeroDefaults(t *testing.T) {
	m, _, _, err := Lists{InputOptional: []service.Elem{
		service.Text("t"), service.Int("i"), service.Bool("b"), service.Float("f"), service.Decimal("d"),
		service.Date("da"), service.DateTime("dt"), service.UUID("u"), service.List("l"), service.Dict("di"),
		service.AsIs("a"), service.Secret("s"), service.Int("n", service.Default("5")), service.List("dl", service.Default([]any{"x"})),
	}}.Build()
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Decode(map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"t": "", "i": int64(0), "b": false, "f": 0.0, "d": json.Number("0"), "da": nil, "dt": nil, "u": nil,
		"l": []any{}, "di": map[string]any{}, "a": nil, "s": service.SecretString(""), "n": int64(5), "dl": []any{"x"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	got["dl"].([]any)[0] = "changed"
	again, _ := m.Decode(map[string]any{})
	if again["dl"].([]any)[0] != "x" {
		t.Error("a request changed another's default")
	}
	// An explicit null stays null; an empty string is absent for typed
	// elements.
	got, _ = m.Decode(map[string]any{"i": nil, "n": "", "t": ""})
	if got["i"] != nil || got["n"] != int64(5) || got["t"] != "" {
		t.Errorf("%#v", got)
	}
}

func TestLists(t *testing.T) {
	in, out, warnings, err := Lists{
		InputRequired: service.Names("cust_id", "is_active"),
		InputOptional: service.Names("cust_id", "segment"),
		Output:        service.Names("name", "-last_seen"),
		DefaultValue:  "n/a", HasDefaultValue: true,
	}.Build()
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `"cust_id" is declared both required and optional`) {
		t.Errorf("warnings: %v", warnings)
	}
	if e := in.Elem("cust_id"); !e.Required || e.Type != service.TypeInt {
		t.Errorf("cust_id: %+v", e)
	}
	if e := in.Elem("segment"); e.Required || e.Default != "n/a" {
		t.Errorf("segment: %+v", e)
	}
	if out.Elem("name").Required != true || out.Elem("last_seen").Required != false {
		t.Error("- marks optional elements in output")
	}
	for _, c := range []struct {
		l    Lists
		want string
	}{
		{Lists{InputRequired: service.Names("-x")}, "a leading - marks an optional element only in input"},
		{Lists{InputRequired: []service.Elem{{Name: "x", Type: "money"}}}, `unknown type "money"`},
		{Lists{InputOptional: []service.Elem{service.Int("x", service.Default("abc"))}}, `input element "x": default: expected an integer`},
		{Lists{InputRequired: service.Names("x", "x")}, `input element "x" is declared twice`},
		{Lists{InputOptional: service.Names("cust_id"), DefaultValue: "abc", HasDefaultValue: true}, "default_value"},
	} {
		if _, _, _, err := c.l.Build(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.l, err, c.want)
		}
	}
}
