package examples_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/servertest"
)

// externalAPI is the remote API the seeds' examples call: a real local
// HTTP server that answers with what it received.
type externalAPI struct {
	*httptest.Server
	mu   sync.Mutex
	got  []string // "METHOD URI"
	mode atomic.Value
}

func newExternalAPI(t *testing.T) *externalAPI {
	api := &externalAPI{}
	api.mode.Store("ok")
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		api.mu.Lock()
		api.got = append(api.got, r.Method+" "+r.RequestURI)
		api.mu.Unlock()
		answer := map[string]any{"method": r.Method, "path": r.URL.EscapedPath(), "query": r.URL.RawQuery}
		if len(body) > 0 {
			var payload any
			json.Unmarshal(body, &payload)
			answer["payload"] = payload
		}
		headers := map[string]string{}
		for _, h := range []string{"X-App-Name", "X-Environment", "X-Request-ID", "X-Client-Version", "Accept-Language", "Content-Type", "X-Plexus-CID", "Authorization"} {
			if v := r.Header.Get(h); v != "" {
				headers[h] = v
			}
		}
		answer["headers"] = headers
		switch {
		case r.URL.Path == "/api/customer":
			answer = map[string]any{"cust_id": "39175", "name": "Jane Doe", "cid": r.Header.Get("X-Plexus-CID")}
		case r.URL.Path == "/api/external" && api.mode.Load() == "missing":
			w.WriteHeader(http.StatusNotFound)
		case r.URL.Path == "/api/external" && api.mode.Load() == "broken":
			w.WriteHeader(http.StatusInternalServerError)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(answer)
	}))
	t.Cleanup(api.Close)
	return api
}

func (api *externalAPI) calls() []string {
	api.mu.Lock()
	defer api.mu.Unlock()
	out := api.got
	api.got = nil
	return out
}

func putObject(t *testing.T, s *servertest.Server, kind, name string, obj map[string]any) {
	t.Helper()
	data, _ := json.Marshal(obj)
	r := s.AdminCall("PUT", admin.Prefix+"/objects/"+kind+"/"+url.PathEscape(name), string(data))
	if r.StatusCode != 200 && r.StatusCode != 201 {
		t.Fatalf("PUT %s %s: %d %s", kind, name, r.StatusCode, r.Body)
	}
}

func decode(t *testing.T, r *servertest.Response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	return m
}

// The seeds' examples of outgoing REST connections, against a real
// remote API, through real channels.
func TestSeedOutgoingExamples(t *testing.T) {
	s := deployExamples(t)
	api := newExternalAPI(t)
	putObject(t, s, "security", "billing.creds", map[string]any{"type": "basic_auth", "username": "billing", "password": "s3cr3t"})
	for name, conn := range map[string]map[string]any{
		"Billing":       {"url_path": "/api/billing/{phone_no}", "security": "billing.creds"},
		"REST Endpoint": {"url_path": "/api/endpoint"},
		"Customer API":  {"url_path": "/api/customer"},
		"Orders API":    {"url_path": "/api/orders"},
		"External API":  {"url_path": "/api/external"},
	} {
		conn["host"] = api.URL
		putObject(t, s, "outgoing_rest", name, conn)
	}
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

	// SetBillingInfo: phone_no fills /api/billing/{phone_no}, the other
	// params are the query string, the headers and the payload arrive, and
	// the answer comes back parsed.
	r := s.Call("POST", "/api/billing", "", nil)
	m := decode(t, r)
	if m["method"] != "POST" || m["path"] != "/api/billing/271637517" || m["query"] != "cust_id=39175&priority=normal" {
		t.Errorf("set-billing-info: %v", m)
	}
	if p := m["payload"].(map[string]any); p["billing"] != "395.7" || p["currency"] != "EUR" {
		t.Errorf("set-billing-info payload: %v", p)
	}
	h := m["headers"].(map[string]any)
	if h["X-App-Name"] != "Zato" || h["X-Environment"] != "Production" || h["Content-Type"] != "application/json" || h["X-Plexus-CID"] != r.Header.Get("X-Plexus-CID") ||
		h["Authorization"] != "Basic YmlsbGluZzpzM2NyM3Q=" {
		t.Errorf("set-billing-info headers: %v", h)
	}

	// MultiVerbCaller: one connection, four verbs; GET and DELETE carry the
	// dict as the query string.
	api.calls()
	if r := s.Call("GET", "/api/multi-verb-caller", "", nil); r.StatusCode != 200 || string(r.Body) != `{"status_code":200}` {
		t.Errorf("multi-verb-caller: %d %s", r.StatusCode, r.Body)
	}
	if got := strings.Join(api.calls(), ", "); got != "POST /api/endpoint, GET /api/endpoint?user_id=123, DELETE /api/endpoint?user_id=123, POST /api/endpoint" {
		t.Errorf("multi-verb-caller sent: %s", got)
	}

	// GetCustomer: curl http://localhost:11223/api/customer
	r = s.Call("GET", "/api/customer", "", nil)
	if m := decode(t, r); m["name"] != "Jane Doe" || m["cid"] != r.Header.Get("X-Plexus-CID") {
		t.Errorf("get-customer: %v", m)
	}

	// CreateOrder: curl -X POST http://localhost:11223/api/orders -d '{…}'
	m = decode(t, s.Call("POST", "/api/orders", `{"customer_id": "12345", "items": [{"sku": "ABC-001", "quantity": 2}]}`, nil))
	if m["method"] != "POST" || m["path"] != "/api/orders" {
		t.Errorf("create-order: %v", m)
	}
	if items := m["payload"].(map[string]any)["items"].([]any); len(items) != 2 || items[1].(map[string]any)["sku"] != "XYZ-999" {
		t.Errorf("create-order payload: %v", m["payload"])
	}

	// GetCustomerOrders: the Orders API's path takes the customer; the
	// connection is changed while the server runs.
	putObject(t, s, "outgoing_rest", "Orders API", map[string]any{"host": api.URL, "url_path": "/api/customers/{customer_id}/orders"})
	m = decode(t, s.Call("GET", "/api/customers/12345/orders?status=pending", "", nil))
	if m["method"] != "GET" || m["path"] != "/api/customers/12345/orders" || m["query"] != "status=pending" {
		t.Errorf("get-customer-orders: %v", m)
	}

	// CallWithHeaders: the custom headers arrive, X-Request-ID is the cid.
	r = s.Call("GET", "/api/call-with-headers", "", nil)
	h = decode(t, r)["headers"].(map[string]any)
	if h["X-Request-ID"] != r.Header.Get("X-Plexus-CID") || h["X-Client-Version"] != "2.0" || h["Accept-Language"] != "en-US" {
		t.Errorf("call-with-headers: %v", h)
	}

	// CheckResponseStatus: 200 passes the data on, 404 answers 404, and
	// anything else fails the service with 500.
	if r := s.Call("GET", "/api/check-status", "", nil); r.StatusCode != 200 || decode(t, r)["path"] != "/api/external" {
		t.Errorf("check-status 200: %d %s", r.StatusCode, r.Body)
	}
	api.mode.Store("missing")
	if r := s.Call("GET", "/api/check-status", "", nil); r.StatusCode != 404 || string(r.Body) != `{"error":"Not found"}` {
		t.Errorf("check-status 404: %d %s", r.StatusCode, r.Body)
	}
	api.mode.Store("broken")
	r = s.Call("GET", "/api/check-status", "", nil)
	if r.StatusCode != 500 || decode(t, r)["details"] != "Internal server error" {
		t.Errorf("check-status 500: %d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, r.Header.Get("X-Plexus-CID"), "API error: 500")
}
