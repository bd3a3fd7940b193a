package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/plexushq/plexus/plexustest"
)

func start(t *testing.T) *plexustest.Server {
	s := plexustest.Start(t, plexustest.Options{Services: Services()})
	s.Channel("client", "client.get-client", "", "/api/v1/client", nil)
	s.Channel("order", "orders.create-order", "POST", "/api/v1/orders", nil)
	s.Channel("customer", "customer.get-customer", "GET", "/api/v1/customers/{cust_id}", nil)
	return s
}

func TestGetClient(t *testing.T) {
	s := start(t)
	// curl localhost:11223/api/v1/client -d '{"client_id":123}'
	r := s.Call("POST", "/api/v1/client", `{"client_id":123}`, nil)
	if r.StatusCode != 200 || string(r.Body) != `{"name":"Jane Doe","email":"jane.doe@example.com","segment":"RNZ"}` {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "processing client", "client_id=123", "cid="+r.Header.Get("X-Plexus-CID"))
	for body, want := range map[string]string{
		`{}`:                    `Element missing: /client_id`,
		`{"client_id":"abc"}`:   `Invalid value for /client_id: expected an integer, got \"abc\"`,
		`{"client_id":1.5}`:     `Invalid value for /client_id: expected an integer, got 1.5`,
		`{"client_id":"7"}`:     ``,
		`{"client_id":7,"x":1}`: ``,
	} {
		r := s.Call("POST", "/api/v1/client", body, nil)
		if want == "" {
			if r.StatusCode != 200 {
				t.Errorf("%s: %d %s", body, r.StatusCode, r.Body)
			}
			continue
		}
		if r.StatusCode != 400 || !strings.Contains(string(r.Body), `"details":"`+want+`"`) {
			t.Errorf("%s: %d %s, want %s", body, r.StatusCode, r.Body, want)
		}
	}
	// The query string feeds the model too, and wins over the body.
	r = s.Call("POST", "/api/v1/client?client_id=9", `{"client_id":"x"}`, nil)
	if r.StatusCode != 200 {
		t.Errorf("query over body: %d %s", r.StatusCode, r.Body)
	}
	// Invoked through the admin API: the same pipeline.
	r = s.AdminCall("POST", "/admin/api/v1/services/client.get-client/invoke", `{"client_id":"12"}`)
	if r.StatusCode != 200 || !strings.Contains(string(r.Body), `"segment":"RNZ"`) {
		t.Errorf("admin invoke: %d %s", r.StatusCode, r.Body)
	}
	r = s.AdminCall("POST", "/admin/api/v1/services/client.get-client/invoke", `{}`)
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), "Element missing: /client_id") {
		t.Errorf("admin invoke without client_id: %d %s", r.StatusCode, r.Body)
	}
}

func TestCreateOrder(t *testing.T) {
	s := start(t)
	good := `{"customer_id": 5, "address": {"street": "1 Main St", "city": "Wellington"},
	          "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": "3", "price": 9.5}], "deliver_on": "2026-01-31"}`
	r := s.Call("POST", "/api/v1/orders", good, nil)
	if r.StatusCode != 200 || string(r.Body) != `{"order_id":"0190a8f8-7c2e-7b61-9e36-5f3c1b2a4d5e","items":5,"city":"WELLINGTON"}` {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	for body, want := range map[string]string{
		`{"customer_id":5,"items":[]}`:                                                                                      "Element missing: /address",
		`{"customer_id":5,"address":{"city":"x"},"items":[]}`:                                                               "Element missing: /address/street",
		`{"customer_id":5,"address":"x","items":[]}`:                                                                        "Element is not an object: /address",
		`{"customer_id":5,"address":{"street":"s","city":"c"},"items":{}}`:                                                  "Element is not a list: /items",
		`{"customer_id":5,"address":{"street":"s","city":"c"},"items":[{"sku":"a","qty":1},{"sku":"b","qty":1},{"qty":1}]}`: "Element missing: /items[2]/sku",
		`{"customer_id":5,"address":{"street":"s","city":"c"},"items":[{"sku":"a","qty":"x"}]}`:                             `Invalid value for /items[0]/qty: expected an integer, got \"x\"`,
		`{"customer_id":5,"address":{"street":"s","city":"c"},"items":[],"deliver_on":"31/01/2026"}`:                        `Invalid value for /deliver_on: expected a date (YYYY-MM-DD), got \"31/01/2026\"`,
	} {
		r := s.Call("POST", "/api/v1/orders", body, nil)
		if r.StatusCode != 400 || !strings.Contains(string(r.Body), `"details":"`+want+`"`) {
			t.Errorf("%s: %d %s, want %s", body, r.StatusCode, r.Body, want)
		}
	}
}

func TestGetCustomer(t *testing.T) {
	s := start(t)
	r := s.Call("GET", "/api/v1/customers/41", "", nil)
	var m map[string]any
	json.Unmarshal(r.Body, &m)
	if r.StatusCode != 200 || m["is_active"] != true || m["region"] != "retail" || m["internal_note"] != nil {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	r = s.Call("GET", "/api/v1/customers/x", "", nil)
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), `Invalid value for cust_id: expected an integer, got \"x\"`) {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	r = s.Call("GET", "/api/v1/customers/42?segment=vip", "", http.Header{})
	if !strings.Contains(string(r.Body), `"region":"vip"`) || !strings.Contains(string(r.Body), `"is_active":false`) {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
}
