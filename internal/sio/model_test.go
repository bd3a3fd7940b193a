package sio

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/sdk/service"
)

type address struct {
	Street string  `json:"street"`
	City   string  `json:"city"`
	Zip    *string `json:"zip"`
}

type item struct {
	SKU   string  `json:"sku"`
	Qty   uint8   `json:"qty"`
	Price float32 `json:"price,omitempty"`
}

type base struct {
	Version int `json:"version" default:"1"`
}

type order struct {
	base
	CustomerID int64             `json:"customer_id"`
	Address    address           `json:"address"`
	Items      []item            `json:"items"`
	Tags       []string          `json:"tags,omitempty"`
	DeliverOn  time.Time         `json:"deliver_on,omitempty" sio:"date"`
	Created    *time.Time        `json:"created"`
	Token      string            `json:"token" sio:"secret,optional"`
	Total      json.Number       `json:"total,omitempty"`
	Ref        string            `json:"ref,omitempty" sio:"uuid"`
	Meta       map[string]string `json:"meta,omitempty"`
	Extra      any               `json:"extra,omitempty"`
	Parent     *order            `json:"parent,omitempty"`
	Ignored    string            `json:"-"`
	internal   string
}

func orderModel(t testing.TB) *Model {
	m, err := ModelOf(reflect.TypeFor[order]())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestModelOf(t *testing.T) {
	m := orderModel(t)
	got := map[string]string{}
	for _, e := range m.Elems {
		s := string(e.Type)
		if e.Required {
			s += " required"
		}
		if e.Items != nil {
			s += " of " + string(e.Items.Type)
		}
		got[e.Name] = s
	}
	want := map[string]string{
		"version": "int", "customer_id": "int required", "address": "model required", "items": "list required of model",
		"tags": "list of text", "deliver_on": "date", "created": "datetime", "token": "secret", "total": "decimal",
		"ref": "uuid", "meta": "dict", "extra": "as-is", "parent": "model",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if m.Elem("parent").Model != m {
		t.Error("a recursive model refers to itself")
	}
	for _, bad := range []any{struct {
		C chan int `json:"c"`
	}{}, struct {
		M map[int]string `json:"m"`
	}{}, struct {
		D string `json:"d" sio:"money"`
	}{}, struct {
		D int `json:"d" sio:"date"`
	}{}, struct {
		D int `json:"d" default:"x"`
	}{}, 42} {
		if _, err := ModelOf(reflect.TypeOf(bad)); err == nil {
			t.Errorf("%T accepted", bad)
		}
	}
}

func TestModelDecodeAndAssign(t *testing.T) {
	m := orderModel(t)
	in := jsonObject(`{"customer_id": "42", "address": {"street": "1 Main St", "city": "Wellington", "zip": 6011},
		"items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": "3", "price": 9.5}], "deliver_on": "2026-01-31",
		"created": "2026-01-01 10:00:00", "token": "t0k", "total": "12.50", "ref": "0190A8F87C2E7B619E365F3C1B2A4D5E",
		"meta": {"a": "b"}, "extra": [1], "parent": {"customer_id": 1, "address": {"street": "s", "city": "c"}, "items": []},
		"unknown": true}`)
	dec, err := m.Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := dec["unknown"]; ok {
		t.Error("undeclared keys are left out")
	}
	rv, err := m.Assign(dec)
	if err != nil {
		t.Fatal(err)
	}
	o := rv.Interface().(order)
	zip := "6011"
	created := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	want := order{
		base: base{Version: 1}, CustomerID: 42, Address: address{"1 Main St", "Wellington", &zip},
		Items: []item{{"a", 2, 0}, {"b", 3, 9.5}}, DeliverOn: time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC),
		Created: &created, Token: "t0k", Total: "12.50", Ref: "0190a8f8-7c2e-7b61-9e36-5f3c1b2a4d5e",
		Meta: map[string]string{"a": "b"}, Extra: []any{json.Number("1")},
		Parent: &order{base: base{Version: 1}, CustomerID: 1, Address: address{Street: "s", City: "c"}, Items: []item{}},
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got  %+v\nwant %+v", o, want)
	}
	// A value that converts but does not fit the Go field.
	dec["items"] = []any{map[string]any{"sku": "a", "qty": int64(300)}}
	if _, err := m.Assign(dec); err == nil || !strings.Contains(err.Error(), "/items[0]/qty") {
		t.Errorf("overflow: %v", err)
	}
}

func TestModelErrors(t *testing.T) {
	m := orderModel(t)
	for body, want := range map[string]string{
		`{}`:                                "Element missing: /customer_id",
		`{"customer_id": 1}`:                "Element missing: /address",
		`{"customer_id": 1, "address": []}`: "Element is not an object: /address",
		`{"customer_id": 1, "address": {"city": "c"}}`:                                                                                       "Element missing: /address/street",
		`{"customer_id": 1, "address": {"street": "s", "city": "c"}}`:                                                                        "Element missing: /items",
		`{"customer_id": 1, "address": {"street": "s", "city": "c"}, "items": 5}`:                                                            "Element is not a list: /items",
		`{"customer_id": 1, "address": {"street": "s", "city": "c"}, "items": [null]}`:                                                       "Element missing: /items[0]",
		`{"customer_id": 1, "address": {"street": "s", "city": "c"}, "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 1}, {"qty": 1}]}`: "Element missing: /items[2]/sku",
		`{"customer_id": 1, "address": {"street": "s", "city": "c"}, "items": [], "parent": {"customer_id": "x"}}`:                           `Invalid value for /parent/customer_id: expected an integer, got "x"`,
		`{"customer_id": 1, "address": {"street": "s", "city": "c"}, "items": [], "ref": "nope"}`:                                            `Invalid value for /ref: expected a UUID, got "nope"`,
	} {
		var in map[string]any
		json.Unmarshal([]byte(body), &in)
		_, err := m.Decode(in)
		var ie *InputError
		if !errors.As(err, &ie) || err.Error() != want {
			t.Errorf("%s: %v, want %s", body, err, want)
		}
	}
}

func TestEncode(t *testing.T) {
	in, out, _, _ := Lists{OutputRequired: service.Names("name", "is_active"), OutputOptional: service.Names("last_seen", "cust_id")}.Build()
	_ = in
	var dropped []string
	got, err := out.Encode(map[string]any{"name": "Jane", "is_active": "yes", "cust_id": "7", "last_seen": nil, "secret_note": "x"}, &dropped)
	if err != nil || !reflect.DeepEqual(got, map[string]any{"name": "Jane", "is_active": true, "cust_id": int64(7)}) || !reflect.DeepEqual(dropped, []string{"secret_note"}) {
		t.Errorf("%#v %v %v", got, err, dropped)
	}
	_, err = out.Encode(map[string]any{"name": "Jane"}, &dropped)
	var oe *OutputError
	if !errors.As(err, &oe) || err.Error() != "output element missing: is_active" {
		t.Errorf("missing required: %v", err)
	}
	_, err = out.Encode(map[string]any{"name": "Jane", "is_active": "perhaps"}, &dropped)
	if err == nil || !strings.Contains(err.Error(), "is_active") {
		t.Errorf("invalid: %v", err)
	}
	// Lists of objects, and structs through their JSON form.
	got, err = out.Encode([]any{map[string]any{"name": "a", "is_active": true}, struct {
		Name     string `json:"name"`
		IsActive bool   `json:"is_active"`
		Other    int    `json:"other"`
	}{"b", false, 1}}, &dropped)
	if err != nil || !reflect.DeepEqual(got, []any{map[string]any{"name": "a", "is_active": true}, map[string]any{"name": "b", "is_active": false}}) {
		t.Errorf("%#v %v", got, err)
	}
	// A model's own Go type passes as it is.
	m := orderModel(t)
	o := order{CustomerID: 1}
	if got, err := m.Encode(o, &dropped); err != nil || !reflect.DeepEqual(got, o) {
		t.Errorf("%v %v", got, err)
	}
	if _, err := out.Encode(42, &dropped); err == nil {
		t.Error("a number is not an object")
	}
}

type platform struct{}

func (platform) Invoke(*service.Context, string, any, service.InvokeOptions) (any, error) {
	return nil, nil
}
func (platform) InvokeAsync(*service.Context, string, any, service.InvokeOptions) (string, error) {
	return "", nil
}
func (platform) Logger(*service.Context) *slogLogger                    { return discard() }
func (platform) Resource(*service.Context, string, string) (any, error) { return nil, nil }

func TestStage(t *testing.T) {
	in, out, _, _ := Lists{InputRequired: service.Names("cust_id"), OutputRequired: service.Names("name")}.Build()
	io := &IO{Input: in, Output: out, ResponseElem: "response", SkipEmpty: true}
	st := NewStage(nil)
	c := service.NewContext(context.Background(), platform{})
	c.Request.Input = service.Input{"cust_id": "5", "other": 1}
	if err := st.Input(c, io); err != nil || !reflect.DeepEqual(c.Request.Input, service.Input{"cust_id": int64(5)}) {
		t.Fatalf("%v %v", c.Request.Input, err)
	}
	c.Response.Payload = map[string]any{"name": "", "x": 1}
	if err := st.Output(c, io); err != nil || !reflect.DeepEqual(c.Response.Payload, map[string]any{"response": map[string]any{}}) {
		t.Fatalf("%#v %v", c.Response.Payload, err)
	}
	// Errors and text pass untouched.
	c.Response.Payload, c.Response.StatusCode = map[string]any{"error": "Not found"}, 404
	if err := st.Output(c, io); err != nil || c.Response.Payload.(map[string]any)["error"] != "Not found" {
		t.Fatalf("%#v %v", c.Response.Payload, err)
	}
	c.Response.Payload, c.Response.StatusCode = "text", 0
	if err := st.Output(c, io); err != nil || c.Response.Payload != "text" {
		t.Fatal(err)
	}
	c.Request.Input = service.Input{}
	err := st.Input(c, io)
	var se *service.Error
	if !errors.As(err, &se) || se.Status != 400 || se.Message != "Element missing: cust_id" {
		t.Fatalf("%v", err)
	}
	// Switches come from the configuration; a service without any has
	// the defaults.
	st2 := NewStage(nil)
	st2.Lookup = func(name string) (Switches, bool) {
		return Switches{ValidateSchema: false, DetailedErrors: true}, name == "svc"
	}
	if sw := st2.Switches("svc"); sw.ValidateSchema || !sw.DetailedErrors {
		t.Errorf("%+v", sw)
	}
	if st2.Switches("other") != DefaultSwitches() || NewStage(nil).Switches("svc") != DefaultSwitches() {
		t.Error("defaults")
	}
}

type slogLogger = slog.Logger

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func jsonObject(s string) map[string]any {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	dec.Decode(&m)
	return m
}
