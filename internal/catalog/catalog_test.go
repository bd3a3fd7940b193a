package catalog

import (
	"reflect"
	"strings"
	"testing"

	"github.com/plexushq/plexus/sdk/service"
)

func TestUncamelify(t *testing.T) {
	for in, want := range map[string]string{
		"GetCustomer": "get-customer", "LogInputData": "log-input-data", "HTTPGetter": "http-getter",
		"GetClientV2": "get-client-v2", "Get_Customer": "get_customer", "ILikeToReadWSDLDocs": "i-like-to-read-wsdl-docs",
	} {
		if got := Uncamelify(in); got != want {
			t.Errorf("Uncamelify(%q) = %q, want %q", in, got, want)
		}
	}
}

type GetCustomer struct{}

func (GetCustomer) Handle(*service.Context) error { return nil }

type verbOnly struct{}

func (verbOnly) HandleGET(*service.Context) error    { return nil }
func (verbOnly) HandleDELETE(*service.Context) error { return nil }
func (verbOnly) Handler() string                     { return "not a handler" }

type badSignature struct{}

func (badSignature) Handle() error { return nil }

func TestFromGo(t *testing.T) {
	s, err := FromGo(GetCustomer{})
	if err != nil || s.Name != "catalog.get-customer" || !s.AnswersAll() {
		t.Fatalf("%+v %v", s, err)
	}
	if GoName(reflect.TypeFor[*GetCustomer]()) != "catalog.get-customer" {
		t.Error("pointer types are named like their element")
	}
	s, err = FromGo(verbOnly{})
	if err != nil || strings.Join(s.Verbs(), ",") != "DELETE,GET" || s.AnswersAll() {
		t.Fatalf("%+v %v", s, err)
	}
	err = s.Run(service.NewContext(t.Context(), nil), "POST")
	if e, ok := err.(*service.Error); !ok || e.Status != 405 || e.Header.Get("Allow") != "DELETE, GET" {
		t.Fatalf("POST to a verb-only service: %v", err)
	}
	if _, err := FromGo(badSignature{}); err == nil || !strings.Contains(err.Error(), "func(*service.Context) error") {
		t.Fatalf("bad signature: %v", err)
	}
	if _, err := FromGo(struct{}{}); err == nil || !strings.Contains(err.Error(), "no handler") {
		t.Fatalf("no handler: %v", err)
	}
}

func TestSet(t *testing.T) {
	a, _ := New("a", "", Go, "x.go", func(*service.Context) error { return nil }, nil)
	b, _ := New("b", "", Starlark, "b.star", func(*service.Context) error { return nil }, nil)
	set, err := NewSet(a, b)
	if err != nil || set.Len() != 2 {
		t.Fatal(err)
	}
	if _, err := NewSet(a, a); err == nil {
		t.Fatal("duplicate name accepted")
	}
	b2, _ := New("b2", "", Starlark, "b.star", func(*service.Context) error { return nil }, nil)
	set2, err := set.Replace([]string{"b.star"}, b2)
	if err != nil || set2.Get("b") != nil || set2.Get("b2") == nil || set.Get("b") == nil {
		t.Fatalf("Replace: %v %v", set2.Names(), err)
	}
	a2, _ := New("a", "", Starlark, "c.star", func(*service.Context) error { return nil }, nil)
	if _, err := set.Replace([]string{"c.star"}, a2); err == nil || !strings.Contains(err.Error(), "already used by the Go service x.go") {
		t.Fatalf("name clash across files: %v", err)
	}
	// Sources replaced together may trade names.
	c, _ := New("c", "", Starlark, "c.star", func(*service.Context) error { return nil }, nil)
	set3, _ := set.Replace(nil, c)
	bc, _ := New("c", "", Starlark, "b.star", func(*service.Context) error { return nil }, nil)
	cb, _ := New("b", "", Starlark, "c.star", func(*service.Context) error { return nil }, nil)
	set4, err := set3.Replace([]string{"c.star", "b.star"}, cb, bc)
	if err != nil || set4.Get("b").Source != "c.star" || set4.Get("c").Source != "b.star" {
		t.Fatalf("trading names: %v", err)
	}
	if got := set4.From("c.star"); len(got) != 1 || got[0] != "b" {
		t.Fatalf("From: %v", got)
	}
}
