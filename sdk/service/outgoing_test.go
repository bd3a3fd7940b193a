package service_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"testing"

	"github.com/plexushq/plexus/sdk/service"
)

// fakePlatform serves one outgoing REST connection, "Billing", whose
// answers come from a function: how a test of a Go service stands in for
// the remote API.
type fakePlatform struct {
	answer func(req *service.RESTRequest) *service.RESTResponse
}

func (p *fakePlatform) Invoke(*service.Context, string, any, service.InvokeOptions) (any, error) {
	return nil, errors.New("not in this test")
}
func (p *fakePlatform) InvokeAsync(*service.Context, string, any, service.InvokeOptions) (string, error) {
	return "", errors.New("not in this test")
}
func (p *fakePlatform) Logger(*service.Context) *slog.Logger { return slog.New(slog.DiscardHandler) }
func (p *fakePlatform) Resource(_ *service.Context, kind, name string) (any, error) {
	if kind != service.KindOutgoingREST || name != "Billing" {
		return nil, fmt.Errorf("no %s named %q", kind, name)
	}
	return p, nil
}
func (p *fakePlatform) CallREST(_ context.Context, req *service.RESTRequest) (*service.RESTResponse, error) {
	return p.answer(req), nil
}
func (p *fakePlatform) PingREST(context.Context, string) (*service.RESTResponse, error) {
	return &service.RESTResponse{Connection: "Billing", StatusCode: 200}, nil
}

// A Go service calls a connection by name; a test gives it a platform
// whose connection answers as the remote API would.
func ExampleOut_REST() {
	svc := func(s *service.Context) error {
		resp, err := s.Out().REST("Billing").Post(s.CID, map[string]any{"billing": "395.7"},
			map[string]any{"phone_no": "271637517"}, service.Headers(map[string]string{"X-App-Name": "Plexus"}))
		if err != nil {
			return err
		}
		data, err := resp.Data()
		if err != nil {
			return err
		}
		s.Response.Payload = data
		return nil
	}

	p := &fakePlatform{answer: func(req *service.RESTRequest) *service.RESTResponse {
		fmt.Println(req.Method, req.CID, req.Params["phone_no"], req.Data, req.Headers["X-App-Name"])
		return &service.RESTResponse{Connection: "Billing", StatusCode: 200, JSON: true, Body: []byte(`{"status": "updated"}`)}
	}}
	c := service.NewContext(context.Background(), p)
	c.CID = "0ee199609d5020d7cb8ca924"
	if err := svc(c); err != nil {
		fmt.Println(err)
	}
	fmt.Println(c.Response.Payload)
	// Output:
	// POST 0ee199609d5020d7cb8ca924 271637517 map[billing:395.7] Plexus
	// map[status:updated]
}

func TestRESTResponse(t *testing.T) {
	for _, c := range []struct {
		resp *service.RESTResponse
		data string
		err  string
	}{
		{&service.RESTResponse{JSON: true, Body: []byte(`{"n": 12345678901234567890, "a": [1]}`)}, "map[a:[1] n:12345678901234567890]", ""},
		{&service.RESTResponse{JSON: true, Body: []byte(" \n")}, "", ""},
		{&service.RESTResponse{JSON: false, Body: []byte(`{"a": 1}`)}, `{"a": 1}`, ""},
		{&service.RESTResponse{Connection: "CRM", JSON: true, Body: []byte(`{"a": 1} x`)}, "<nil>", `502 Could not parse the JSON response of outgoing REST connection "CRM"`},
		{&service.RESTResponse{Connection: "CRM", JSON: true, Body: []byte(`<html>`)}, "<nil>", `502 Could not parse the JSON response of outgoing REST connection "CRM"`},
	} {
		d, err := c.resp.Data()
		if fmt.Sprint(d) != c.data || (err == nil) != (c.err == "") || err != nil && service.StatusOf(err) != 502 {
			t.Errorf("%s: %v %v", c.resp.Body, d, err)
		}
		if err != nil && c.err != "" && err.Error()[:len(c.err)] != c.err {
			t.Errorf("%s: %v", c.resp.Body, err)
		}
		if d2, err2 := c.resp.Data(); fmt.Sprint(d2) != fmt.Sprint(d) || err2 != err {
			t.Errorf("%s: a second Data differs", c.resp.Body)
		}
	}
	for status, ok := range map[int]bool{200: true, 204: true, 302: true, 399: true, 400: false, 404: false, 503: false} {
		if (&service.RESTResponse{StatusCode: status}).OK() != ok {
			t.Errorf("OK() of %d", status)
		}
	}
	for ct, want := range map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, "Application/JSON": true,
		"application/problem+json": true, "text/plain": false, "": false, "application/jsonx": false, "application/json;;": true,
	} {
		if service.IsJSON(ct) != want {
			t.Errorf("IsJSON(%q) != %v", ct, want)
		}
	}
	var v struct{ A int }
	r := &service.RESTResponse{Connection: "X", Body: []byte(`{"A": 3}`)}
	if err := r.Decode(&v); err != nil || v.A != 3 {
		t.Errorf("Decode: %v %v", v, err)
	}
	if err := (&service.RESTResponse{Connection: "X", Body: []byte(`nope`)}).Decode(&v); service.StatusOf(err) != http.StatusBadGateway {
		t.Errorf("Decode of bad JSON: %v", err)
	}
}

func TestRESTConnErrors(t *testing.T) {
	c := service.NewContext(context.Background(), &fakePlatform{})
	_, err := c.Out().REST("Nope").Get("", nil)
	if err == nil || err.Error() != `no outgoing_rest named "Nope"` {
		t.Errorf("missing: %v", err)
	}
	resp, err := c.Out().REST("Billing").Ping("")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("ping: %v %v", resp, err)
	}
}
