package main

import (
	"testing"

	"github.com/plexushq/plexus/plexustest"
)

// TestServices tests the program's services on a real server, as a test
// in a user's own module would: only public packages.
func TestServices(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{Services: []any{Greet{}, Customers{}}})
	s.Channel("hello", "example.greet", "", "/api/hello/{name}", nil)
	s.Channel("customers", "example.customers", "", "/api/customers/{id}", nil)

	for _, sc := range []plexustest.Scenario{{
		Name:     "greet",
		URL:      "/api/hello/world",
		WantBody: plexustest.JSONSubset(`{"greeting": "Hello, world!"}`),
		WantLog:  []plexustest.LogLine{{"msg=greeting", "name=world", "service=example.greet"}},
		Check: func(t testing.TB, r *plexustest.Response) {
			if got := r.JSON(t)["cid"]; got != r.CID() {
				t.Errorf("the greeting's cid is %v, the request's %s", got, r.CID())
			}
		},
	}, {
		Name:     "greet, invoked without a channel",
		Service:  "example.greet",
		Body:     `{"name": "Ann"}`,
		WantBody: plexustest.JSONSubset(`{"greeting": "Hello, Ann!"}`),
	}, {
		Name:       "greet nobody",
		Service:    "example.greet",
		WantStatus: 400,
		WantBody:   plexustest.Envelope("Element missing: name"),
	}, {
		Name:     "a customer",
		URL:      "/api/customers/7",
		WantBody: plexustest.JSON(`{"id": "7", "name": "Jane Doe"}`),
	}, {
		Name:       "no such customer",
		URL:        "/api/customers/404",
		WantStatus: 404,
		WantBody:   plexustest.Envelope("No customer 404"),
	}, {
		Name:       "a new customer, greeted by the other service",
		URL:        "/api/customers/new",
		Body:       `{"name": "Ann"}`,
		WantStatus: 201,
		WantBody:   plexustest.JSONSubset(`{"created": "ann", "greeting": {"greeting": "Hello, Ann!"}}`),
		WantLog:    []plexustest.LogLine{{"msg=greeting", "name=Ann", "service=example.greet"}},
	}, {
		Name:       "customers answer GET and POST only",
		Method:     "DELETE",
		URL:        "/api/customers/7",
		WantStatus: 405,
		WantHeader: map[string]string{"Allow": "GET, POST"},
	}} {
		sc.Run(t, s)
	}
}
