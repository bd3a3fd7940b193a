package plexustest_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// try runs f with a stand-in test that records failures instead of
// failing t, and returns what it reported: the harness's own failures are
// checked this way.
func try(t *testing.T, f func(t testing.TB)) (failed bool, out string) {
	ft := &fakeT{TB: t}
	ft.run(f)
	return ft.Failed(), ft.out.String()
}

// greet is the service of the package's tests.
var greet = service.Func("test.greet", "Greets whoever the path names.", func(s *service.Context) error {
	name := s.Request.Input.String("name")
	if name == "" {
		return service.BadRequest("Element missing: name")
	}
	s.Logger().Info("greeting", "name", name)
	s.Response.SetHeader("X-Greeted", name)
	s.Response.Payload = map[string]any{"greeting": "Hello, " + name + "!", "cid": s.CID}
	return nil
})

func start(t *testing.T) *plexustest.Server {
	return startWith(t, plexustest.Options{})
}

// startWith starts a server with greet on its channels.
func startWith(t *testing.T, opts plexustest.Options) *plexustest.Server {
	opts.Services = append(opts.Services, greet)
	s := plexustest.Start(t, opts)
	s.Channel("greet", "test.greet", "", "/greet/{name}", nil)
	s.Channel("greet.root", "test.greet", "POST", "/greet", nil)
	return s
}

func TestScenarios(t *testing.T) {
	s := start(t)
	s.Put("security", "partner", map[string]any{"type": "basic_auth", "username": "partner", "password": "p-secret-1"})
	s.Channel("greet.secured", "test.greet", "", "/secured/{name}", map[string]any{"security": "partner"})
	var seen []string
	for _, sc := range []plexustest.Scenario{{
		Name:       "every check passes",
		URL:        "/greet/Jane?lang=en",
		Header:     map[string]string{"Accept": "application/json"},
		WantBody:   plexustest.JSONSubset(`{"greeting": "Hello, Jane!"}`),
		WantHeader: map[string]string{"X-Greeted": "Jane", "Content-Type": "application/json", "Allow": ""},
		WantLog:    []plexustest.LogLine{{"msg=greeting", "name=Jane", "service=test.greet"}, {"msg=request ", "status=200"}},
		Check: func(t testing.TB, r *plexustest.Response) {
			logs := r.Logs()
			if len(logs) != 2 || !strings.Contains(logs[1], "msg=request ") {
				t.Errorf("the request's log records: %q", logs)
			}
			if r.JSON(t)["cid"] != r.CID() {
				t.Errorf("the service's cid %v, X-Plexus-CID %s", r.JSON(t)["cid"], r.CID())
			}
			seen = append(seen, "check")
		},
	}, {
		Name:     "a body makes a POST",
		URL:      "/greet",
		Body:     `{"name": "Ann"}`,
		WantBody: plexustest.Contains(`"greeting":"Hello, Ann!"`),
	}, {
		Name:       "an error envelope",
		URL:        "/greet",
		Method:     "POST",
		WantStatus: 400,
		WantBody:   plexustest.Envelope("Element missing: name"),
		WantLog:    []plexustest.LogLine{{"msg=request ", "status=400"}},
	}, {
		Name:       "wrong verb",
		Method:     "DELETE",
		URL:        "/greet",
		WantStatus: 405,
		WantHeader: map[string]string{"Allow": "POST"},
	}, {
		Name:     "invoked through the admin API",
		Service:  "test.greet",
		Body:     `{"name": "Bob"}`,
		WantBody: plexustest.JSONSubset(`{"greeting": "Hello, Bob!"}`),
		WantLog:  []plexustest.LogLine{{"msg=greeting", "name=Bob"}},
	}, {
		Name:     "credentials",
		URL:      "/secured/Eve",
		Auth:     plexustest.Basic("partner", "p-secret-1"),
		WantBody: plexustest.JSONSubset(`{"greeting": "Hello, Eve!"}`),
	}, {
		Name:       "wrong credentials",
		URL:        "/secured/Eve",
		Auth:       plexustest.Basic("partner", "guess"),
		WantStatus: 401,
		WantBody:   plexustest.Envelope("Unauthorized"),
	}, {
		Name: "before changes the configuration",
		Before: func(t testing.TB, s *plexustest.Server) {
			s.Channel("greet.later", "test.greet", "", "/later/{name}", nil)
			seen = append(seen, "before")
		},
		URL:      "/later/Kim",
		WantBody: plexustest.JSONSubset(`{"greeting": "Hello, Kim!"}`),
	}} {
		sc.Run(t, s)
	}
	if strings.Join(seen, ",") != "check,before" {
		t.Errorf("hooks ran: %v", seen)
	}
}

// A failed scenario says every way it failed, and shows the request, the
// response and the log records of the request's cid.
func TestScenarioFailure(t *testing.T) {
	s := startWith(t, plexustest.Options{Timeout: 200 * time.Millisecond})
	b := s.Backend("Unused", nil)
	failed, out := try(t, func(rt testing.TB) {
		plexustest.Scenario{
			Name:       "greets",
			URL:        "/greet/Jane",
			Header:     map[string]string{"X-Test": "hello"},
			WantStatus: 201,
			WantBody:   plexustest.JSON(`{"greeting": "Hello, Jim!"}`),
			WantHeader: map[string]string{"X-Greeted": "Jim"},
			WantCalls:  []plexustest.Call{{Backend: b, Method: "GET", Path: "/customers/1"}},
		}.Run(rt, s)
	})
	if !failed {
		t.Fatal("the scenario passed")
	}
	for _, want := range []string{
		"greets: status 200, want 201\n",
		`header X-Greeted is ["Jane"], want "Jim"`,
		"/greeting: got \"Hello, Jane!\", want \"Hello, Jim!\"",
		"/cid: got \"",
		"received 0 calls with the request's cid, want 1 (GET /customers/1); every call it received:\n  none",
		"request:\n  GET " + s.URL + "/greet/Jane\n  X-Test: hello\n",
		"response:\n  200 OK\n",
		"  X-Greeted: Jane\n",
		`"greeting":"Hello, Jane!"`,
		"log records of cid ",
		"msg=greeting cid=",
		"name=Jane\n",
		"msg=request ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the failure lacks %q:\n%s", want, out)
		}
	}
	id := strings.Fields(out[strings.Index(out, "log records of cid ")+len("log records of cid "):])[0]
	if !strings.Contains(out, "X-Plexus-Cid: "+strings.TrimSuffix(id, ":")) {
		t.Errorf("the records shown are not the response's cid's:\n%s", out)
	}

	// A check that fails shows the request and response too.
	failed, out = try(t, func(rt testing.TB) {
		plexustest.Scenario{URL: "/greet/Jane", Check: func(t testing.TB, r *plexustest.Response) { t.Errorf("custom check") }}.Run(rt, s)
	})
	if !failed || !strings.Contains(out, "custom check\nGET /greet/Jane: the checks failed on:\nrequest:\n  GET ") {
		t.Errorf("a failed check: %v\n%s", failed, out)
	}

	// An error envelope must carry the request's cid.
	b.Handle("/envelope", plexustest.Reply(400, `{"result": "Error", "cid": "0123456789abcdef01234567", "details": "x"}`))
	failed, out = try(t, func(rt testing.TB) {
		plexustest.Scenario{URL: b.URL + "/envelope", WantStatus: 400, WantBody: plexustest.Envelope("x")}.Run(rt, s)
	})
	if !failed || !strings.Contains(out, `the error envelope's cid is "0123456789abcdef01234567", but X-Plexus-CID is ""`) {
		t.Errorf("an envelope with another cid: %v\n%s", failed, out)
	}

	// A log line that never comes is reported after the timeout.
	failed, out = try(t, func(rt testing.TB) {
		plexustest.Scenario{URL: "/greet/Jane", WantLog: []plexustest.LogLine{{"msg=greeting", "name=Jim"}}}.Run(rt, s)
	})
	if !failed || !strings.Contains(out, `contains all of ["msg=greeting" "name=Jim"]`) {
		t.Errorf("a missing log line: %v\n%s", failed, out)
	}
}

// Outgoing calls are recorded by cid, checked in order, and a call that
// differs is reported with what came.
func TestBackendCalls(t *testing.T) {
	s := start(t)
	crm := s.Backend("CRM", map[string]any{"url_path": "/customers/{id}"})
	crm.Handle("GET /customers/{id}", plexustest.Reply(200, `{"name": "Jane Doe"}`))
	crm.Handle("POST /customers/{id}", plexustest.Reply(201, `{"created": true}`))
	s.Deploy("crm.star", `
def handle(self):
    conn = self.out.rest["CRM"].conn
    got = conn.get(self.cid, {"id": self.request.input.id})
    made = conn.post(self.cid, {"name": got.data["name"]}, {"id": "new"}, headers={"X-Source": "test"})
    self.response.payload = {"name": got.data["name"], "created": made.data["created"], "status": made.status_code}
`)
	s.Channel("crm", "crm", "", "/crm/{id}", nil)
	other := plexustest.NewBackend(t)
	calls := []plexustest.Call{
		{Backend: crm, Method: "GET", Path: "/customers/7"},
		{Backend: crm, Method: "POST", Path: "/customers/new", Header: map[string]string{"X-Source": "test", "Content-Type": "application/json"},
			Body: plexustest.JSON(`{"name": "Jane Doe"}`)},
	}
	plexustest.Scenario{
		URL:       "/crm/7",
		WantBody:  plexustest.JSON(`{"name": "Jane Doe", "created": true, "status": 201}`),
		WantCalls: calls,
	}.Run(t, s)
	if n := len(crm.Requests()); n != 2 {
		t.Errorf("the backend received %d requests", n)
	}
	if len(other.Requests()) != 0 {
		t.Errorf("another backend was called")
	}

	// Calls are told apart by cid: the previous request's do not count.
	calls[1].Body = plexustest.JSON(`{"name": "John"}`)
	failed, out := try(t, func(rt testing.TB) {
		plexustest.Scenario{URL: "/crm/7", WantCalls: calls[1:]}.Run(rt, s)
	})
	for _, want := range []string{
		"call 1 (GET /customers/7): method GET, want POST",
		"call 1 (GET /customers/7): path /customers/7, want /customers/new",
		`call 1 (GET /customers/7): header X-Source is "", want "test"`,
		"received 2 calls with the request's cid, want 1 (POST /customers/new); every call it received:\n  GET /customers/7 (cid ",
	} {
		if !failed || !strings.Contains(out, want) {
			t.Errorf("the failure lacks %q:\n%s", want, out)
		}
	}
}

// Starlark services deploy from source and from files, configuration
// imports from enmasse YAML, and a restart keeps both.
func TestDeployAndImport(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{})
	dir := t.TempDir()
	file := filepath.Join(dir, "hello.star")
	os.WriteFile(file, []byte("\"\"\"Says hello.\"\"\"\n\ndef handle(self):\n    self.response.payload = {\"hello\": self.request.input.name}\n"), 0o644)
	if w := s.DeployFiles(file); len(w) != 0 {
		t.Errorf("warnings: %v", w)
	}
	w := s.Deploy("server.star", "def handle(self):\n    self.response.payload = self.server.name\n")
	if len(w) != 1 || !strings.Contains(w[0], "self.server does not exist in Plexus") {
		t.Errorf("warnings: %v", w)
	}
	s.Import("channel_rest:\n  - name: hello\n    service: hello\n    url_path: /hello/{name}\n")
	plexustest.Scenario{URL: "/hello/Jane", WantBody: plexustest.JSON(`{"hello": "Jane"}`)}.Run(t, s)

	s = s.Restart()
	plexustest.Scenario{URL: "/hello/Ann", WantBody: plexustest.JSON(`{"hello": "Ann"}`)}.Run(t, s)

	failed, out := try(t, func(rt testing.TB) {
		plexustest.Start(rt, plexustest.Options{}).Import("channel_rest:\n  - name: x\n    servise: hello\n")
	})
	if !failed || !strings.Contains(out, `enmasse import refused: 400`) || !strings.Contains(out, `unknown field \"servise\"`) {
		t.Errorf("a refused import: %v\n%s", failed, out)
	}
	failed, out = try(t, func(rt testing.TB) {
		plexustest.Start(rt, plexustest.Options{}).Deploy("bad.star", "def handle(self)\n")
	})
	if !failed || !strings.Contains(out, "deploy refused: 400") || !strings.Contains(out, "bad.star:2:1: got newline") {
		t.Errorf("a refused deploy: %v\n%s", failed, out)
	}
}

// Log.WaitFor returns once the line is logged: here by a service
// invoked in the background after the response.
func TestWaitFor(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{Services: []any{
		greet,
		service.Func("test.later", "", func(s *service.Context) error {
			_, err := s.InvokeAsync("test.greet", map[string]any{"name": "Later"})
			return err
		}),
	}})
	s.Channel("later", "test.later", "", "/later", nil)
	r := s.Call("GET", "/later", "", nil)
	if line := s.Log.WaitFor(t, "msg=greeting", "name=Later"); !strings.Contains(line, "service=test.greet") {
		t.Errorf("line %s", line)
	}
	if logs := r.Logs(); len(logs) == 0 || !strings.Contains(logs[len(logs)-1], "msg=request ") {
		t.Errorf("the request's records: %q", logs)
	}
}

// On PostgreSQL, each server has a schema of its own in the one
// database, kept over a restart.
func TestPostgres(t *testing.T) {
	db := testenv.Value(t, "PLEXUS_TEST_POSTGRES", "a PostgreSQL URL such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	a := plexustest.Start(t, plexustest.Options{DB: db})
	b := plexustest.Start(t, plexustest.Options{DB: db})
	a.Channel("pg", "plexus.helpers.echo", "", "/pg", nil)
	plexustest.Scenario{URL: "/pg", Body: `{"on": "postgres"}`, WantBody: plexustest.JSON(`{"on": "postgres"}`)}.Run(t, a)
	plexustest.Scenario{URL: "/pg", WantStatus: 404, WantBody: plexustest.Envelope("URL not found")}.Run(t, b)
	a = a.Restart()
	plexustest.Scenario{URL: "/pg", Body: `{"again": true}`, WantBody: plexustest.JSON(`{"again": true}`)}.Run(t, a)
	for _, s := range []*plexustest.Server{a, b} {
		if _, err := os.Stat(filepath.Join(s.Dir, "data", "plexus.db")); !os.IsNotExist(err) {
			t.Errorf("the store is in SQLite: %v", err)
		}
	}
}

// Do reaches any URL.
func TestDo(t *testing.T) {
	s := start(t)
	r := plexustest.Do(t, "GET", s.AdminURL+"/health", "", http.Header{"X-Test": {"1"}})
	if r.StatusCode != 200 || !strings.Contains(string(r.Body), `"ok"`) {
		t.Errorf("%d %s", r.StatusCode, r.Body)
	}
}

// A file saved in the pickup directory is waited for by its log line.
func TestPickup(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{})
	src := "def handle(self):\n    self.response.payload = {\"hello\": \"pickup\"}\n"
	os.WriteFile(filepath.Join(s.Dir, "services", "hello.star"), []byte(src), 0o644)
	s.Log.WaitFor(t, "service deployed", "file=hello.star")
	plexustest.Scenario{Service: "hello", WantBody: plexustest.JSON(`{"hello": "pickup"}`)}.Run(t, s)
}
