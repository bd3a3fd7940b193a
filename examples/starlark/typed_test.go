package examples_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/plexustest"
)

func deployTyped(t *testing.T, s *plexustest.Server) {
	t.Helper()
	if w := s.DeployFiles("get_client.star", "simpleio_get_customer.star", "typed_create_order.star", "schema_check.star"); len(w) > 0 {
		t.Fatalf("deploy warnings: %v", w)
	}
}

func TestTypedExamples(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{})
	deployTyped(t, s)
	s.Channel("client", "client.get-client", "", "/api/v1/client", nil)
	s.Channel("order", "orders.create-order", "POST", "/api/v1/orders", nil)
	s.Channel("customer", "customer.get-customer", "GET", "/api/v1/customers/{cust_id}", nil)

	// The seed's curl line.
	r := s.Call("POST", "/api/v1/client", `{"client_id":123}`, nil)
	if r.StatusCode != 200 || string(r.Body) != `{"email":"jane.doe@example.com","name":"Jane Doe","segment":"RNZ"}` {
		t.Fatalf("%d %s\n%s", r.StatusCode, r.Body, s.Log.String())
	}
	s.Log.WaitFor(t, "Processing client `123`")
	r = s.Call("POST", "/api/v1/client", `{}`, nil)
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), `"details":"Element missing: /client_id"`) {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}

	// The same answers as the Go version of the example.
	good := `{"customer_id": 5, "address": {"street": "1 Main St", "city": "Wellington"},
	          "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": "3", "price": 9.5}], "deliver_on": "2026-01-31"}`
	r = s.Call("POST", "/api/v1/orders", good, nil)
	if r.StatusCode != 200 || string(r.Body) != `{"city":"WELLINGTON","items":5,"order_id":"0190a8f8-7c2e-7b61-9e36-5f3c1b2a4d5e"}` {
		t.Fatalf("%d %s\n%s", r.StatusCode, r.Body, s.Log.String())
	}
	for body, want := range map[string]string{
		`{"customer_id":5,"address":{"city":"x"},"items":[]}`:                                                               "Element missing: /address/street",
		`{"customer_id":5,"address":{"street":"s","city":"c"},"items":[{"sku":"a","qty":1},{"sku":"b","qty":1},{"qty":1}]}`: "Element missing: /items[2]/sku",
		`{"customer_id":5,"address":{"street":"s","city":"c"},"items":{}}`:                                                  "Element is not a list: /items",
	} {
		r := s.Call("POST", "/api/v1/orders", body, nil)
		if r.StatusCode != 400 || !strings.Contains(string(r.Body), `"details":"`+want+`"`) {
			t.Errorf("%s: %d %s, want %s", body, r.StatusCode, r.Body, want)
		}
	}

	r = s.Call("GET", "/api/v1/customers/41", "", nil)
	if r.StatusCode != 200 || string(r.Body) != `{"is_active":true,"name":"Jane Doe","region":"retail"}` {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
}

// TestSchemaExample is seed 003: a service with schema = "myschema.json",
// the runtime switches of the admin API, and a schema file edited live.
func TestSchemaExample(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{})
	schemaFile := filepath.Join(s.Dir, "schema", "json", "myschema.json")
	data, _ := os.ReadFile("schema/myschema.json")
	if err := os.WriteFile(schemaFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	deployTyped(t, s)
	s.Channel("schema", "schema.check", "", "/schema/check", nil)

	r := s.Call("POST", "/schema/check", `{"user_id":123}`, nil)
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), `"details":"Invalid request"`) {
		t.Fatalf("invalid: %d %s", r.StatusCode, r.Body)
	}
	r = s.Call("POST", "/schema/check", `{"name":"The Garden of Cyrus", "pub_year":1658}`, nil)
	if r.StatusCode != 200 {
		t.Fatalf("valid: %d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "My request:", "The Garden of Cyrus")

	// Detailed messages on, without a redeploy.
	r = s.AdminCall("PUT", "/admin/api/v1/services/schema.check/io", `{"detailed_errors": true}`)
	if r.StatusCode != 200 || !strings.Contains(string(r.Body), `"detailed_errors": true`) {
		t.Fatalf("switch: %d %s", r.StatusCode, r.Body)
	}
	r = s.Call("POST", "/schema/check", `{"name":"x","pub_year":"1658"}`, nil)
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), `Invalid request: /pub_year: got string, want number`) {
		t.Fatalf("detailed: %d %s", r.StatusCode, r.Body)
	}

	// The schema file changes: the next request uses the new version.
	os.WriteFile(schemaFile, []byte(`{"type":"object","required":["isbn"]}`), 0o644)
	deadline := time.Now().Add(5 * time.Second)
	for {
		r = s.Call("POST", "/schema/check", `{"name":"x","pub_year":1}`, nil)
		if strings.Contains(string(r.Body), "isbn") || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), "isbn") {
		t.Fatalf("schema not reloaded: %d %s", r.StatusCode, r.Body)
	}

	// Validation off; the switches survive a restart.
	r = s.AdminCall("PUT", "/admin/api/v1/services/schema.check/io", `{"validate_schema": false}`)
	if r.StatusCode != 200 {
		t.Fatalf("switch: %d %s", r.StatusCode, r.Body)
	}
	s = s.Restart()
	r = s.Call("POST", "/schema/check", `{"anything":1}`, nil)
	if r.StatusCode != 200 {
		t.Fatalf("validation off after restart: %d %s", r.StatusCode, r.Body)
	}
	r = s.AdminCall("GET", "/admin/api/v1/services/schema.check/io", "")
	if !strings.Contains(string(r.Body), `"validate_schema": false`) || !strings.Contains(string(r.Body), `"detailed_errors": true`) {
		t.Fatalf("switches after restart: %s", r.Body)
	}
	r = s.AdminCall("PUT", "/admin/api/v1/services/schema.check/io", `{"validate_schem": false}`)
	if r.StatusCode != 400 {
		t.Fatalf("unknown switch: %d %s", r.StatusCode, r.Body)
	}
	r = s.AdminCall("GET", "/admin/api/v1/services/nope/io", "")
	if r.StatusCode != 404 {
		t.Fatalf("unknown service: %d %s", r.StatusCode, r.Body)
	}
}
