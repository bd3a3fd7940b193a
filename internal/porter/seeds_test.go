package porter_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/porter"
	"github.com/plexushq/plexus/internal/servertest"
)

// portDir ports every Python file of a directory; files are named
// module/file.star as plexus port writes them.
func portDir(t *testing.T, dir string) (admin.DeployRequest, map[string][]porter.Note) {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "*.py"))
	if len(paths) == 0 {
		t.Fatalf("no examples in %s", dir)
	}
	var req admin.DeployRequest
	notes := map[string][]porter.Note{}
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		res, err := porter.Port(p, src)
		if err != nil {
			t.Fatalf("porting %s: %v", p, err)
		}
		if len(res.Files) == 0 {
			t.Errorf("%s: no service written: %v", p, res.Notes)
		}
		stem := strings.TrimSuffix(filepath.Base(p), ".py")
		for _, f := range res.Files {
			req.Files = append(req.Files, admin.SourceFile{File: stem + "/" + f.Name, Source: f.Source})
		}
		notes[stem] = res.Notes
	}
	return req, notes
}

// externalAPI answers with what it received, as the seeds' remote APIs.
type externalAPI struct {
	*httptest.Server
	mu   sync.Mutex
	got  []string
	mode string
}

func newExternalAPI(t *testing.T) *externalAPI {
	api := &externalAPI{mode: "ok"}
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		api.mu.Lock()
		api.got = append(api.got, r.Method+" "+r.RequestURI)
		mode := api.mode
		api.mu.Unlock()
		answer := map[string]any{"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "request_id": r.Header.Get("X-Request-ID")}
		if len(body) > 0 {
			var v any
			json.Unmarshal(body, &v)
			answer["payload"] = v
		}
		if r.URL.Path == "/api/external" && mode != "ok" {
			w.WriteHeader(map[string]int{"missing": 404, "broken": 500}[mode])
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(answer)
	}))
	t.Cleanup(api.Close)
	return api
}

func (api *externalAPI) setMode(m string) {
	api.mu.Lock()
	api.mode = m
	api.mu.Unlock()
}

func (api *externalAPI) calls() []string {
	api.mu.Lock()
	defer api.mu.Unlock()
	out := api.got
	api.got = nil
	return out
}

// Every example service of the seeds ports, deploys in one go to a real
// server with the connections it needs, and answers as the seed says —
// or, where Plexus lacks what it uses (FTP, MongoDB, WebSockets, a
// key-value store, SSH), fails with an error naming it, which the port's
// notes and the deploy's warnings announce.
func TestSeedExamplesPortAndDeploy(t *testing.T) {
	req, notes := portDir(t, "testdata/seeds")
	s := servertest.Start(t, servertest.Options{})
	os.WriteFile(filepath.Join(s.Dir, envdir.SchemaDir, "myschema.json"),
		[]byte(`{"type": "object", "required": ["name", "pub_year"], "properties": {"name": {"type": "string"}, "pub_year": {"type": "number"}}}`), 0o644)
	api := newExternalAPI(t)
	for name, path := range map[string]string{
		"Billing": "/api/billing/{phone_no}", "REST Endpoint": "/api/endpoint", "Customer API": "/api/customer",
		"Orders API": "/api/orders", "External API": "/api/external", "ERP": "/api/erp",
	} {
		s.Put("outgoing_rest", name, map[string]any{"host": api.URL, "url_path": path})
	}
	body, _ := json.Marshal(req)
	r := s.AdminCall("POST", admin.Prefix+"/deploy", string(body))
	if r.StatusCode != 200 {
		t.Fatalf("deploying the ported seeds: %d %s", r.StatusCode, r.Body)
	}
	var res admin.DeployResult
	json.Unmarshal(r.Body, &res)
	warnings := strings.Join(res.Warnings, "\n")
	for _, w := range []string{"self.out.ftp"} {
		if !strings.Contains(warnings, w) {
			t.Errorf("no deploy warning about %s:\n%s", w, warnings)
		}
	}
	if strings.Contains(notesText(notes["mongodb_service"]), "self.out.mongodb") {
		t.Errorf("mongodb_service: self.out.mongodb is noted, though Plexus has it: %v", notes["mongodb_service"])
	}
	for stem, want := range map[string]string{
		"ftp_handler":     "self.outgoing.ftp",
		"billing_handler": "self.outgoing.ftp", "ssh_invoker": "ssh (from sh.ssh)", "job_manager": "self.server.cluster_id",
	} {
		if !strings.Contains(notesText(notes[stem]), want) {
			t.Errorf("%s: the port's notes do not mention %s: %v", stem, want, notes[stem])
		}
	}
	for _, stem := range []string{"kvdb_service", "wsx_broadcast", "log_input_data", "set_billing_info", "multi_verb", "request_object", "get_client", "check_response_status", "customer"} {
		if len(notes[stem]) > 0 {
			t.Errorf("%s ported with notes: %v", stem, notes[stem])
		}
	}

	channel := func(name, service, path string) { s.Channel(name, service, "", path, nil) }
	channel("log-input-data", "log-input-data.log-input-data", "/api/log-input-data")
	channel("billing", "set-billing-info.set-billing-info", "/api/billing")
	channel("multi-verb", "multi-verb.multi-verb", "/api/multi-verb")
	channel("multi-verb-caller", "multi-verb-caller.multi-verb-caller", "/api/multi-verb-caller")
	channel("request-object", "request-object.request-object", "/api/request-object")
	channel("response-object", "response-object.response-object", "/api/response-object")
	channel("cors", "configuring-cors.configuring-cors", "/api/cors")
	channel("csv", "service-csv.service-csv", "/api/csv")
	channel("attachment", "attachment.my-service", "/api/attachment")
	channel("customer", "my.api.get-customer", "/api/customer")
	channel("orders", "my.api.create-order", "/api/orders")
	channel("customer-orders", "my.api.get-customer-orders", "/api/customers/{customer_id}/orders")
	channel("headers", "my.api.call-with-headers", "/api/call-with-headers")
	channel("check-status", "my.api.check-status", "/api/check-status")
	channel("client", "get-client.get-client", "/api/v1/client")
	channel("kvdb", "kvdb-service.my-service", "/api/kvdb")
	channel("wsx", "wsx-broadcast.wsx-broadcast", "/api/wsx")
	channel("schema", "schema-service.my-service", "/schema/check")
	channel("ssh", "ssh-invoker.ssh-invoker", "/api/ssh")
	channel("mongodb", "mongodb-service.my-service", "/api/mongodb")
	channel("get-customer", "get-customer", "/api/spec/get-customer")
	channel("update-customer", "update-customer", "/api/spec/update-customer")
	channel("customer-cases", "get-customer-cases", "/api/spec/get-customer-cases")
	channel("ftp", "ftp-handler.ftp-handler", "/api/ftp")
	channel("billing-handler", "billing-handler.billing-handler", "/api/billing-handler")
	channel("job-manager", "job-manager.job-manager", "/api/job-manager")

	// 000: REST channels, the request and the response.
	r = s.Call("POST", "/api/log-input-data", `{"user_id":"123", "user_name":"my.user"}`, nil)
	if r.StatusCode != 200 {
		t.Errorf("log-input-data: %d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "uid:123; username:my.user", "cid="+r.Header.Get("X-Plexus-CID"))
	r = s.Call("POST", "/api/billing", "", nil)
	if m := decode(t, r); m["path"] != "/api/billing/271637517" || m["query"] != "cust_id=39175&priority=normal" {
		t.Errorf("set-billing-info: %v", m)
	}
	for _, verb := range []string{"GET", "POST"} {
		if r := s.Call(verb, "/api/multi-verb", `{"user_id":"123"}`, nil); r.StatusCode != 200 {
			t.Errorf("multi-verb %s: %d", verb, r.StatusCode)
		}
		s.Log.WaitFor(t, "I was invoked via "+verb)
	}
	if r := s.Call("DELETE", "/api/multi-verb", "", nil); r.StatusCode != 405 {
		t.Errorf("multi-verb DELETE: %d", r.StatusCode)
	}
	api.calls()
	if r := s.Call("GET", "/api/multi-verb-caller", "", nil); r.StatusCode != 200 {
		t.Errorf("multi-verb-caller: %d %s", r.StatusCode, r.Body)
	}
	if got := strings.Join(api.calls(), ", "); got != "POST /api/endpoint, GET /api/endpoint?user_id=123, DELETE /api/endpoint?user_id=123, POST /api/endpoint" {
		t.Errorf("multi-verb-caller sent: %s", got)
	}
	if r := s.Call("POST", "/api/request-object?a=1", `{"x":1}`, nil); r.StatusCode != 200 {
		t.Errorf("request-object: %d %s", r.StatusCode, r.Body)
	}
	r = s.Call("GET", "/api/response-object", "", nil)
	if r.Header.Get("Content-Type") != "text/xml; charset=UTF-8" || r.Header.Get("X-Powered-By") != "My-API-Server" {
		t.Errorf("response-object: %v", r.Header)
	}
	if r := s.Call("OPTIONS", "/api/cors", "", nil); r.Header.Get("Access-Control-Allow-Origin") != "https://www.example.com" {
		t.Errorf("cors: %d %v", r.StatusCode, r.Header)
	}
	if r := s.Call("GET", "/api/csv", "", nil); string(r.Body) != "1,2,3\n4,5,6" || r.Header.Get("Content-Type") != "text/csv" {
		t.Errorf("csv: %q", r.Body)
	}
	if r := s.Call("GET", "/api/attachment", "", nil); r.Header.Get("Content-Disposition") != "attachment; filename=hello.txt" {
		t.Errorf("attachment: %v", r.Header)
	}

	// 001: outgoing REST connections.
	if m := decode(t, s.Call("GET", "/api/customer", "", nil)); m["path"] != "/api/customer" {
		t.Errorf("get-customer: %v", m)
	}
	if m := decode(t, s.Call("POST", "/api/orders", "", nil)); m["method"] != "POST" || m["payload"].(map[string]any)["customer_id"] != "12345" {
		t.Errorf("create-order: %v", m)
	}
	if m := decode(t, s.Call("GET", "/api/customers/12345/orders?status=pending", "", nil)); m["path"] != "/api/orders" || m["query"] != "customer_id=12345&status=pending" {
		t.Errorf("get-customer-orders: %v", m)
	}
	r = s.Call("GET", "/api/call-with-headers", "", nil)
	if m := decode(t, r); m["request_id"] != r.Header.Get("X-Plexus-CID") {
		t.Errorf("call-with-headers: %v", m)
	}
	if r := s.Call("GET", "/api/check-status", "", nil); r.StatusCode != 200 {
		t.Errorf("check-status ok: %d %s", r.StatusCode, r.Body)
	}
	api.setMode("missing")
	if r := s.Call("GET", "/api/check-status", "", nil); r.StatusCode != 404 || !strings.Contains(string(r.Body), "Not found") {
		t.Errorf("check-status 404: %d %s", r.StatusCode, r.Body)
	}
	api.setMode("broken")
	r = s.Call("GET", "/api/check-status", "", nil)
	if r.StatusCode != 500 {
		t.Errorf("check-status 500: %d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "API error: 500", "cid="+r.Header.Get("X-Plexus-CID"))
	api.setMode("ok")

	// 002: models.
	r = s.Call("POST", "/api/v1/client", `{"client_id":123}`, nil)
	if m := decode(t, r); len(m) != 3 || m["name"] != "Jane Doe" || m["email"] != "jane.doe@example.com" || m["segment"] != "RNZ" {
		t.Errorf("get-client: %d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "Processing client `123`")
	if r := s.Call("POST", "/api/v1/client", `{}`, nil); r.StatusCode != 400 {
		t.Errorf("get-client without client_id: %d %s", r.StatusCode, r.Body)
	}

	// 003: JSON Schema, and the SSH service's error path.
	if r := s.Call("POST", "/schema/check", `{"user_id":123}`, nil); r.StatusCode != 400 {
		t.Errorf("schema invalid: %d %s", r.StatusCode, r.Body)
	}
	if r := s.Call("POST", "/schema/check", `{"name":"The Garden of Cyrus", "pub_year":1658}`, nil); r.StatusCode != 200 {
		t.Errorf("schema valid: %d %s", r.StatusCode, r.Body)
	}
	r = s.Call("POST", "/api/ssh", `{"host":"localhost", "command":"uptime"}`, nil)
	cid := r.Header.Get("X-Plexus-CID")
	if m := decode(t, r); len(m) != 2 || m["is_ok"] != false || m["cid"] != cid {
		t.Errorf("ssh-invoker: %d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "Exception caught ("+cid+")", "ssh (from sh.ssh) is not available in Plexus")
	if r := s.Call("POST", "/api/ssh", `{"host":"localhost"}`, nil); r.StatusCode != 400 || !strings.Contains(string(r.Body), "Element missing: command") {
		t.Errorf("ssh-invoker without command: %d %s", r.StatusCode, r.Body)
	}

	// 004: SimpleIO declarations, and the scheduler's API.
	r = s.Call("GET", "/api/spec/get-customer?cust_id=7", "", nil)
	if r.StatusCode != 200 {
		t.Errorf("get-customer (004): %d %s", r.StatusCode, r.Body)
	}
	if r := s.Call("GET", "/api/spec/get-customer-cases", "", nil); r.StatusCode != 400 {
		t.Errorf("get-customer-cases without case_id: %d %s", r.StatusCode, r.Body)
	}
	// 002: self.kvdb.conn sets a key and reads it back, from the embedded
	// store.
	if r := s.Call("POST", "/api/kvdb", "", nil); r.StatusCode != 200 {
		t.Errorf("kvdb (002): %d %s", r.StatusCode, r.Body)
	} else {
		s.Log.WaitFor(t, "cid="+r.Header.Get("X-Plexus-CID"), "Result value")
	}
	if r := s.Call("POST", "/api/job-manager", "", nil); r.StatusCode != 200 {
		t.Errorf("job-manager: %d %s", r.StatusCode, r.Body)
	}
	r = s.AdminCall("GET", admin.Prefix+"/objects/scheduler/My%20Sample", "")
	if m := decode(t, r); m["service"] != "plexus.helpers.input-logger" || m["job_type"] != "interval_based" {
		t.Errorf("the job JobManager created: %d %v", r.StatusCode, m)
	}

	// The broadcast of seed 003 reaches the channel it names.
	s.Put("channel_websocket", "My WSX API Channel", map[string]any{"url_path": "/ws/my-channel", "service": "wsx-broadcast.wsx-broadcast"})
	if r := s.Call("POST", "/api/wsx", "", nil); r.StatusCode != 200 {
		t.Errorf("wsx broadcast (003): %d %s", r.StatusCode, r.Body)
	}

	// What Plexus lacks fails with an error naming it.
	for path, missing := range map[string]string{
		"/api/mongodb": "mongodb", "/api/ftp": "ftp", "/api/billing-handler": "ftp",
	} {
		r := s.Call("POST", path, "", nil)
		if r.StatusCode != 500 {
			t.Errorf("%s: %d %s", path, r.StatusCode, r.Body)
			continue
		}
		s.Log.WaitFor(t, "cid="+r.Header.Get("X-Plexus-CID"), missing)
	}
}

func notesText(ns []porter.Note) string {
	var b strings.Builder
	for _, n := range ns {
		b.WriteString(n.String() + "\n")
	}
	return b.String()
}

func decode(t *testing.T, r *servertest.Response) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	return m
}
