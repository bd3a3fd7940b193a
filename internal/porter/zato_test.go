package porter_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/servertest"
)

// Zato modules written the way Zato's documentation writes services port,
// deploy and answer as they did in Zato: models, typed errors caught with
// try/except, helper methods and hooks, base classes, SimpleIO in both
// styles, and data mapping with csv, ElementTree, hashes and json.
func TestZatoModulesPortAndDeploy(t *testing.T) {
	req, notes := portDir(t, "testdata/zato")
	for stem, ns := range notes {
		for _, n := range ns {
			if !strings.HasPrefix(n.What, "hook ") {
				t.Errorf("%s: unexpected note: %s", stem, n)
			}
		}
	}
	s := servertest.Start(t, servertest.Options{})
	body, _ := json.Marshal(req)
	r := s.AdminCall("POST", admin.Prefix+"/deploy", string(body))
	if r.StatusCode != 200 {
		t.Fatalf("deploying the ported modules: %d %s", r.StatusCode, r.Body)
	}
	var res admin.DeployResult
	json.Unmarshal(r.Body, &res)
	if len(res.Warnings) > 0 {
		t.Errorf("deploy warnings: %v", res.Warnings)
	}
	for _, svc := range []string{"orders.place", "orders.get-status", "customers.register", "reports.csv-to-json", "reports.orders-to-csv",
		"reports.orders-to-xml", "reports.parse-invoice", "legacy.get-room"} {
		var extra map[string]any
		if svc == "reports.csv-to-json" || svc == "reports.parse-invoice" {
			extra = map[string]any{"data_format": "raw"}
		}
		s.Channel(svc, svc, "", "/"+strings.ReplaceAll(svc, ".", "/"), extra)
	}

	// orders.place: a model with a list of models, decimals, a helper
	// method, and BadRequest from inside a loop.
	r = s.Call("POST", "/orders/place", `{"customer_id": 7, "lines": [{"sku": "A1", "quantity": 3, "unit_price": "19.99"}, {"sku": "B2", "quantity": 1, "unit_price": "0.02"}]}`, nil)
	m := decode(t, r)
	if m["net"] != "59.99" || m["vat"] != "13.80" || m["gross"] != "73.79 EUR" || len(m["order_id"].(string)) != 32 {
		t.Errorf("orders.place: %d %v", r.StatusCode, m)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`).MatchString(m["placed_at"].(string)) {
		t.Errorf("placed_at: %v", m["placed_at"])
	}
	r = s.Call("POST", "/orders/place", `{"customer_id": 7, "lines": [{"sku": "A1", "quantity": 0, "unit_price": "1"}]}`, nil)
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), "Invalid quantity for A1: 0") {
		t.Errorf("orders.place, bad quantity: %d %s", r.StatusCode, r.Body)
	}

	// orders.get-status: try/except NotFound/except/else/finally around
	// self.invoke.
	if r := s.Call("GET", "/orders/get-status?order_no=1", "", nil); string(r.Body) != `{"status":"shipped"}` {
		t.Errorf("get-status 1: %d %s", r.StatusCode, r.Body)
	}
	r = s.Call("GET", "/orders/get-status?order_no=9", "", nil)
	if r.StatusCode != 404 || string(r.Body) != `{"reason":"No such order: 9"}` {
		t.Errorf("get-status 9: %d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "Looked up 9 in 1 attempt(s)", "cid="+r.Header.Get("X-Plexus-CID"))
	r = s.Call("GET", "/orders/get-status?order_no=boom", "", nil)
	if r.StatusCode != 500 {
		t.Errorf("get-status boom: %d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "Lookup of boom failed", "The order store is down")

	// customers.register: a base class's helpers, a static method, a
	// property, before_handle, for/else, HMAC and base64.
	r = s.Call("POST", "/customers/register", `{"name": "Jane", "phone": "+48 600-100-200", "segment": "gold", "priority": 3}`, nil)
	m = decode(t, r)
	if m["phone"] != "+48600100200" || m["segment"] != "retail" || m["priority"] != float64(3) {
		t.Fatalf("customers.register: %d %#v", r.StatusCode, m)
	}
	if w := m["warnings"].([]any); len(w) != 1 || w[0] != "Unknown segment gold, using retail" {
		t.Errorf("warnings: %v", m["warnings"])
	}
	// What Python computes: the first 8 hex digits of sha256("Jane"), and
	// the base64 of the hex HMAC-SHA256 of the (compact) JSON document.
	if m["customer_ref"] != "C-4f23798d" || m["signature"] != "MzQ2NWY5MjcyODcyZGUxOTY4Mjg3NzRiYTQ4YmVjNDM0MzNmODE4NTcyY2YxNjhhNDhkNTE1MTdkY2I3NzU5YQ==" {
		t.Errorf("customer_ref and signature: %v", m)
	}
	s.Log.WaitFor(t, "Registering a customer ("+r.Header.Get("X-Plexus-CID")+")")
	s.Log.WaitFor(t, "has priority   3")
	r = s.Call("POST", "/customers/register", `{"name": "Jo", "phone": "12"}`, nil)
	if m := decode(t, r); m["phone"] != "" || !strings.Contains(m["warnings"].([]any)[0].(string), `Invalid phone number: "12"`) {
		t.Errorf("customers.register, bad phone: %v", m)
	}

	// reports.*: CSV and XML mapping.
	r = s.Call("POST", "/reports/csv-to-json", "sku,qty\nA1,2\nB2,5\n", map[string][]string{"Content-Type": {"text/csv"}})
	if string(r.Body) != `{"count":2,"records":[{"quantity":2,"sku":"A1"},{"quantity":5,"sku":"B2"}]}` {
		t.Errorf("csv-to-json: %d %s", r.StatusCode, r.Body)
	}
	orders := `{"orders": [{"id": 1, "total": 9.5}, {"id": 2, "total": 12.345}]}`
	if r := s.Call("POST", "/reports/orders-to-csv", orders, nil); string(r.Body) != "id,total\r\n1,9.50\r\n2,12.35\r\n" {
		t.Errorf("orders-to-csv: %d %q", r.StatusCode, r.Body)
	}
	r = s.Call("POST", "/reports/orders-to-xml", orders, nil)
	if string(r.Body) != `<orders><order id="1"><total>9.50</total></order><order id="2"><total>12.35</total></order></orders>` || r.Header.Get("Content-Type") != "application/xml" {
		t.Errorf("orders-to-xml: %d %s", r.StatusCode, r.Body)
	}
	invoice := `<inv:invoice xmlns:inv="urn:example:invoice"><inv:number>FV/1/2024</inv:number><inv:line sku="A1"><inv:amount>10.00</inv:amount></inv:line><inv:line sku="B2"><inv:amount>2.50</inv:amount></inv:line></inv:invoice>`
	r = s.Call("POST", "/reports/parse-invoice", invoice, map[string][]string{"Content-Type": {"application/xml"}})
	if string(r.Body) != `{"lines":[{"amount":"10.00","sku":"A1"},{"amount":"2.50","sku":"B2"}],"number":"FV/1/2024"}` {
		t.Errorf("parse-invoice: %d %s", r.StatusCode, r.Body)
	}

	// legacy.get-room: Zato 2's get_name, httplib, iteritems and the
	// free-form payload. floor_no is text by its name, as in Zato 3.2.
	if r := s.Call("GET", "/legacy/get-room?id=2", "", nil); string(r.Body) != `{"floor_no":"5","id":2,"name":"Sky"}` {
		t.Errorf("get-room 2: %d %s", r.StatusCode, r.Body)
	}
	if r := s.Call("GET", "/legacy/get-room?id=3", "", nil); r.StatusCode != 404 || string(r.Body) != `{"error":"No such room"}` {
		t.Errorf("get-room 3: %d %s", r.StatusCode, r.Body)
	}
}
