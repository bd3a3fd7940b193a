package examples_test

import (
	"net/http"
	"testing"

	"github.com/plexushq/plexus/plexustest"
)

// The seeds' examples of outgoing REST connections: each remote API is a
// recording backend, and each scenario checks what the service sent it
// and what it made of the answer.
func TestSeedOutgoingExamples(t *testing.T) {
	s := deployExamples(t)
	s.Put("security", "billing.creds", map[string]any{"type": "basic_auth", "username": "billing", "password": "s3cr3t"})
	billing := s.Backend("Billing", map[string]any{"url_path": "/api/billing/{phone_no}", "security": "billing.creds"})
	billing.Handle("POST /api/billing/{phone_no}", plexustest.Reply(200, `{"status": "updated"}`))
	endpoint := s.Backend("REST Endpoint", map[string]any{"url_path": "/api/endpoint"})
	customers := s.Backend("Customer API", map[string]any{"url_path": "/api/customer"})
	customers.Handle("GET /api/customer", plexustest.Reply(200, `{"cust_id": "39175", "name": "Jane Doe"}`))
	orders := s.Backend("Orders API", map[string]any{"url_path": "/api/orders"})
	orders.Handle("/", func(w http.ResponseWriter, r *http.Request) {
		plexustest.Reply(200, `{"order": "`+r.Method+` `+r.URL.Path+`"}`)(w, r)
	})
	external := s.Backend("External API", map[string]any{"url_path": "/api/external"})
	for _, c := range []struct{ name, service, method, path string }{
		{"billing", "demo.star.set-billing-info", "", "/api/billing"},
		{"multi-verb-caller", "demo.star.multi-verb-caller", "", "/api/multi-verb-caller"},
		{"customer", "my.api.get-customer", "", "/api/customer"},
		{"orders", "my.api.create-order", "POST", "/api/orders"},
		{"customer-orders", "my.api.get-customer-orders", "GET", "/api/customers/{customer_id}/orders"},
		{"call-with-headers", "my.api.call-with-headers", "", "/api/call-with-headers"},
		{"check-status", "my.api.check-status", "", "/api/check-status"},
	} {
		s.Channel(c.name, c.service, c.method, c.path, nil)
	}

	for _, sc := range []plexustest.Scenario{{
		// SetBillingInfo: phone_no fills /api/billing/{phone_no}, the other
		// params are the query string; the headers, the credentials and the
		// cid go with the payload, and the answer comes back parsed.
		Name:     "set-billing-info",
		Method:   "POST",
		URL:      "/api/billing",
		WantBody: plexustest.JSON(`{"status": "updated"}`),
		WantCalls: []plexustest.Call{{
			Backend: billing, Method: "POST", Path: "/api/billing/271637517?cust_id=39175&priority=normal",
			Header: map[string]string{
				"X-App-Name": "Zato", "X-Environment": "Production", "Content-Type": "application/json",
				"Authorization": "Basic YmlsbGluZzpzM2NyM3Q=",
			},
			Body: plexustest.JSON(`{"billing": "395.7", "currency": "EUR"}`),
		}},
	}, {
		// MultiVerbCaller: one connection, four verbs; GET and DELETE carry
		// the dict as the query string.
		Name:     "multi-verb-caller",
		URL:      "/api/multi-verb-caller",
		WantBody: plexustest.Text(`{"status_code":200}`),
		WantCalls: []plexustest.Call{
			{Backend: endpoint, Method: "POST", Path: "/api/endpoint", Body: plexustest.JSON(`{"user_id": "123"}`)},
			{Backend: endpoint, Method: "GET", Path: "/api/endpoint?user_id=123", Body: plexustest.Text("")},
			{Backend: endpoint, Method: "DELETE", Path: "/api/endpoint?user_id=123", Body: plexustest.Text("")},
			{Backend: endpoint, Method: "POST", Path: "/api/endpoint", Body: plexustest.JSON(`{"user_id": "123"}`)},
		},
	}, {
		// GetCustomer: curl http://localhost:11223/api/customer
		Name:      "get-customer",
		URL:       "/api/customer",
		WantBody:  plexustest.JSON(`{"cust_id": "39175", "name": "Jane Doe"}`),
		WantCalls: []plexustest.Call{{Backend: customers, Method: "GET", Path: "/api/customer"}},
	}, {
		// CreateOrder: curl -X POST http://localhost:11223/api/orders -d '{…}'
		Name:     "create-order",
		URL:      "/api/orders",
		Body:     `{"customer_id": "12345", "items": [{"sku": "ABC-001", "quantity": 2}]}`,
		WantBody: plexustest.JSON(`{"order": "POST /api/orders"}`),
		WantCalls: []plexustest.Call{{
			Backend: orders, Method: "POST", Path: "/api/orders",
			Body: plexustest.JSONSubset(`{"customer_id": "12345", "items": [{"sku": "ABC-001"}, {"sku": "XYZ-999", "quantity": 1}]}`),
		}},
	}, {
		// GetCustomerOrders: the Orders API's path takes the customer; the
		// connection is changed while the server runs.
		Name: "get-customer-orders",
		Before: func(t testing.TB, s *plexustest.Server) {
			s.Put("outgoing_rest", "Orders API", map[string]any{"host": orders.URL, "url_path": "/api/customers/{customer_id}/orders"})
		},
		URL:       "/api/customers/12345/orders?status=pending",
		WantBody:  plexustest.JSON(`{"order": "GET /api/customers/12345/orders"}`),
		WantCalls: []plexustest.Call{{Backend: orders, Method: "GET", Path: "/api/customers/12345/orders?status=pending"}},
	}, {
		// CallWithHeaders: the custom headers arrive, X-Request-ID is the cid.
		Name: "call-with-headers",
		URL:  "/api/call-with-headers",
		WantCalls: []plexustest.Call{{
			Backend: external, Method: "GET", Path: "/api/external",
			Header: map[string]string{"X-Client-Version": "2.0", "Accept-Language": "en-US"},
		}},
		Check: func(t testing.TB, r *plexustest.Response) {
			calls := external.Requests()
			if got := calls[len(calls)-1].Header.Get("X-Request-ID"); got != r.CID() {
				t.Errorf("X-Request-ID %q, want the cid %s", got, r.CID())
			}
		},
	}, {
		// CheckResponseStatus: 200 passes the data on, 404 answers 404, and
		// anything else fails the service with 500.
		Name:     "check-status 200",
		URL:      "/api/check-status",
		WantBody: plexustest.JSON(`{}`),
	}, {
		Name:       "check-status 404",
		Before:     func(testing.TB, *plexustest.Server) { external.Handle("/", plexustest.Reply(404, `{}`)) },
		URL:        "/api/check-status",
		WantStatus: 404,
		WantBody:   plexustest.Text(`{"error":"Not found"}`),
	}, {
		Name:       "check-status 500",
		Before:     func(testing.TB, *plexustest.Server) { external.Handle("/", plexustest.Reply(500, `{}`)) },
		URL:        "/api/check-status",
		WantStatus: 500,
		WantBody:   plexustest.Envelope("Internal server error"),
		WantLog:    []plexustest.LogLine{{"API error: 500"}},
	}} {
		sc.Run(t, s)
	}
}
