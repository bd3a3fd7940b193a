package starlark_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/sdk/service"
)

// deploy sends files to the admin API and returns the status and answer.
func deploy(t *testing.T, s *servertest.Server, dryRun bool, files ...string) (int, map[string]any) {
	t.Helper()
	var req admin.DeployRequest
	for i := 0; i < len(files); i += 2 {
		req.Files = append(req.Files, admin.SourceFile{File: files[i], Source: files[i+1]})
	}
	body, _ := json.Marshal(req)
	path := admin.Prefix + "/deploy"
	if dryRun {
		path += "?dry_run=true"
	}
	r := s.AdminCall("POST", path, string(body))
	var m map[string]any
	json.Unmarshal(r.Body, &m)
	return r.StatusCode, m
}

func mustDeploy(t *testing.T, s *servertest.Server, file, src string) {
	t.Helper()
	if status, m := deploy(t, s, false, file, src); status != 200 {
		t.Fatalf("deploying %s: %d %v", file, status, m)
	}
}

func start(t *testing.T) *servertest.Server {
	return servertest.Start(t, servertest.Options{Services: []any{
		service.Func("go.callee", "", func(c *service.Context) error {
			c.Response.Payload = map[string]any{"got": c.Request.Input["x"], "cid": c.CID, "type": c.Channel.Type}
			return nil
		}),
		service.Func("go.fails", "", func(c *service.Context) error { return service.Conflict("Taken") }),
	}})
}

func TestDeployErrors(t *testing.T) {
	s := start(t)
	mustDeploy(t, s, "svc.star", `def handle(self):
    self.response.payload = "v1"`)
	s.Channel("svc", "svc", "", "/svc", nil)
	for _, c := range []struct{ src, want string }{
		{"def handle(self)\n    pass", "svc.star:2:1: got newline, want ':'"},
		{"def handle(self):\n    open('/etc/passwd')", "svc.star:2:5: undefined: open"},
		{"def handle(self):\n    os.environ['HOME']", "svc.star:2:5: undefined: os"},
		{"x = 1 // 0\ndef handle(self): pass", "svc.star:1:7: floored division by zero"},
		{"y = undefined_name\ndef handle(self): pass", "svc.star:1:5: undefined: undefined_name"},
		{"import os\n", "svc.star:1:1: got import"},
		{`load("other.star", "x")` + "\ndef handle(self): pass", "load not implemented"},
		{"def helper(self): pass", "svc.star:1:1: no handler"},
		{"handle = 3", "svc.star:1:1: handle must be a function taking self"},
		{"def handle(): pass", "svc.star:1:5: handle must be a function taking self"},
		{"name = ''\ndef handle(self): pass", "svc.star:1:1: name must be a non-empty string"},
		{"name = 'plexus.ping'\ndef handle(self): pass", `service name "plexus.ping" is already used by the built-in Go service`},
	} {
		status, m := deploy(t, s, false, "svc.star", c.src)
		if status != 400 || !strings.Contains(fmt.Sprint(m["details"]), c.want) {
			t.Errorf("%q: %d %v, want %q", c.src, status, m["details"], c.want)
		}
		// The previous version keeps serving.
		if r := s.Call("GET", "/svc", "", nil); string(r.Body) != "v1" {
			t.Fatalf("after a refused deploy: %d %s", r.StatusCode, r.Body)
		}
	}
	s.Log.WaitFor(t, "deploy refused; the previous version keeps serving", "svc.star:2:1")
}

func TestDeployWarnings(t *testing.T) {
	s := start(t)
	status, m := deploy(t, s, false, "warn.star", `
input_requried = ["a"]
def handel(self): pass
def handle_get(self): pass
def handle(self): pass
def my_helper(x): return x
BASE = "http://x"
`)
	if status != 200 {
		t.Fatalf("%d %v", status, m)
	}
	w := fmt.Sprint(m["warnings"])
	for _, want := range []string{
		"warn.star:2:1: input_requried is not a name Plexus reads; did you mean input_required?",
		"warn.star:3:5: handel is not a name Plexus reads; did you mean handle?",
		"warn.star:4:5: handle_get is not a handler: verb handlers are named with the verb in capitals, as in handle_GET",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q: %s", want, w)
		}
	}
	if strings.Contains(w, "my_helper") || strings.Contains(w, "BASE") {
		t.Errorf("warnings about the user's own names: %s", w)
	}
}

func TestDryRun(t *testing.T) {
	s := start(t)
	status, m := deploy(t, s, true, "dry.star", "def handle(self): pass")
	if status != 200 || m["dry_run"] != true {
		t.Fatalf("%d %v", status, m)
	}
	if r := s.AdminCall("GET", admin.Prefix+"/services/dry", ""); r.StatusCode != 404 {
		t.Errorf("a dry run deployed the service")
	}
}

func TestRuntimeErrors(t *testing.T) {
	s := start(t)
	mustDeploy(t, s, "errs.star", `
items = [1, 2]

def handle(self):
    kind = self.request.input.get("kind", "")
    if kind == "fail":
        fail("custom failure with a secret")
    if kind == "runtime":
        x = {}["missing"]
    if kind == "loop":
        while True:
            pass
    if kind == "frozen":
        items.append(3)
    if kind == "bad":
        bad_request("Element missing: user_id")
    if kind == "unauth":
        unauthorized("Who are you?")
    if kind == "forbidden":
        forbidden("Not yours")
    if kind == "notfound":
        not_found("No such customer")
    if kind == "conflict":
        conflict("Exists")
    if kind == "slow":
        too_many_requests("Slow down")
    if kind == "down":
        service_unavailable("Maintenance")
    if kind == "payload":
        self.response.payload = {1: "int key"}
        return
    if kind == "status":
        self.response.status_code = "two hundred"
    if kind == "missing-input":
        x = self.request.input.nope
    self.response.payload = {"ok": True}
`)
	s.Channel("errs", "errs", "", "/errs", nil)
	for kind, want := range map[string]struct {
		status int
		detail string
		log    string
	}{
		"fail":          {500, "Internal server error", "custom failure with a secret"},
		"runtime":       {500, "Internal server error", `errs.star:9:15: in handle`},
		"loop":          {500, "Internal server error", "too many steps"},
		"frozen":        {500, "Internal server error", "frozen list"},
		"bad":           {400, "Element missing: user_id", ""},
		"unauth":        {401, "Who are you?", ""},
		"forbidden":     {403, "Not yours", ""},
		"notfound":      {404, "No such customer", ""},
		"conflict":      {409, "Exists", ""},
		"slow":          {429, "Slow down", ""},
		"down":          {503, "Maintenance", ""},
		"payload":       {500, "Internal server error", "keys must be strings"},
		"status":        {500, "Internal server error", "is not an HTTP status"},
		"missing-input": {500, "Internal server error", `input has no element \"nope\"`},
	} {
		r := s.Call("GET", "/errs?kind="+kind, "", nil)
		if r.StatusCode != want.status || !strings.Contains(string(r.Body), want.detail) {
			t.Errorf("%s: %d %s", kind, r.StatusCode, r.Body)
			continue
		}
		if strings.Contains(string(r.Body), "secret") {
			t.Errorf("%s: the caller sees the cause: %s", kind, r.Body)
		}
		if want.log != "" {
			s.Log.WaitFor(t, "cid="+r.Header.Get("X-Plexus-CID"), "service=errs", want.log)
		}
	}
	if r := s.Call("GET", "/errs", "", nil); r.StatusCode != 200 {
		t.Errorf("after errors: %d %s", r.StatusCode, r.Body)
	}
}

func TestSelfAPI(t *testing.T) {
	s := start(t)
	mustDeploy(t, s, "api.star", `
"""Exercises the self API.

Second paragraph of the docs."""

name = "t.api"

def handle(self):
    inp = self.request.input
    out = self.invoke("go.callee", {"x": inp.x})
    kw = self.invoke("go.callee", x=int(inp["x"]) + 1)
    async_cid = self.invoke_async("go.callee", x="later")
    self.response.headers["X-A"] = "1"
    self.response.status_code = 201
    self.logger.warning("number %d and %s", int(inp.x), "text")
    print("printed line")
    self.response.payload = {
        "out": out, "kw": kw, "async": async_cid, "name": self.name,
        "channel": self.channel.name, "type": self.channel.type,
        "message": str(self.channel.message),
        "header": self.request.http.headers["x-test"],
        "header_get": self.request.http.headers.get("X-Missing", "default"),
        "keys": sorted(inp.keys()),
        "json": json.encode({"k": [1, 2]}),
    }
`)
	mustDeploy(t, s, "callfail.star", `
def handle(self):
    self.invoke("go.fails")
`)
	s.Channel("api", "t.api", "", "/api", nil)
	s.Channel("callfail", "callfail", "", "/callfail", nil)
	r := s.Call("POST", "/api?x=5", `{"x": 41}`, http.Header{"X-Test": {"hdr"}})
	if r.StatusCode != 201 || r.Header.Get("X-A") != "1" {
		t.Fatalf("%d %v %s\n%s", r.StatusCode, r.Header, r.Body, s.Log)
	}
	var got map[string]any
	json.Unmarshal(r.Body, &got)
	id := r.Header.Get("X-Plexus-CID")
	out := got["out"].(map[string]any)
	if out["got"] != "5" || out["cid"] != id || out["type"] != "invoke" {
		t.Errorf("invoke: %v", out)
	}
	if got["kw"].(map[string]any)["got"] == nil {
		t.Errorf("invoke with keywords: %v", got["kw"])
	}
	for k, want := range map[string]any{"name": "t.api", "channel": "api", "type": "rest", "message": "None", "header": "hdr", "header_get": "default", "json": `{"k":[1,2]}`} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if a, _ := got["async"].(string); len(a) != 24 || a == id {
		t.Errorf("invoke_async cid %v", got["async"])
	}
	s.Log.WaitFor(t, "number 5 and text", "cid="+id, "service=t.api", "level=WARN")
	s.Log.WaitFor(t, "printed line", "cid="+id)

	if r := s.Call("GET", "/callfail", "", nil); r.StatusCode != 409 || !strings.Contains(string(r.Body), "Taken") {
		t.Errorf("typed error from an invoked service: %d %s", r.StatusCode, r.Body)
	}
	svc := s.AdminCall("GET", admin.Prefix+"/services/t.api", "").JSON(t)
	if svc["doc"] != "Exercises the self API.\n\nSecond paragraph of the docs." || svc["language"] != "starlark" || svc["source"] != "api.star" {
		t.Errorf("service info: %v", svc)
	}
}

// A Go service invokes a Starlark one and gets Go values back.
func TestGoInvokesStarlark(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: []any{
		service.Func("go.caller", "", func(c *service.Context) error {
			out, err := c.Invoke("star.callee", map[string]any{"n": 2})
			c.Response.Payload = out
			return err
		}),
	}})
	mustDeploy(t, s, "callee.star", `
name = "star.callee"
def handle(self):
    self.response.payload = {"double": self.request.input.n * 2, "list": (1, "a")}
`)
	s.Channel("caller", "go.caller", "", "/caller", nil)
	if r := s.Call("GET", "/caller", "", nil); string(r.Body) != `{"double":4,"list":[1,"a"]}` {
		t.Errorf("%d %s", r.StatusCode, r.Body)
	}
}

// Redeploying a service 100 times under concurrent load fails no request:
// each sees the old or the new code.
func TestRedeployUnderLoad(t *testing.T) {
	s := start(t)
	src := func(v int) string {
		return fmt.Sprintf("def handle(self):\n    self.response.payload = {\"version\": %d, \"echo\": self.request.input}\n", v)
	}
	mustDeploy(t, s, "hot.star", src(0))
	s.Channel("hot", "hot", "", "/hot", nil)
	var stop atomic.Bool
	var requests, failures atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				resp, err := client.Post(s.API+"/hot", "application/json", strings.NewReader(`{"k":"v"}`))
				if err != nil {
					failures.Add(1)
					first.CompareAndSwap(nil, err.Error())
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				requests.Add(1)
				if resp.StatusCode != 200 || !strings.Contains(string(body), `"echo":{"k":"v"}`) {
					failures.Add(1)
					first.CompareAndSwap(nil, fmt.Sprintf("%d %s", resp.StatusCode, body))
				}
			}
		}()
	}
	for v := 1; v <= 100; v++ {
		mustDeploy(t, s, "hot.star", src(v))
	}
	time.Sleep(20 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d of %d requests failed; first: %v", failures.Load(), requests.Load(), first.Load())
	}
	if r := s.Call("POST", "/hot", `{}`, nil); !strings.Contains(string(r.Body), `"version":100`) {
		t.Errorf("last version not live: %s", r.Body)
	}
	t.Logf("%d requests, none failed, during 100 redeploys", requests.Load())
}

// Deployed code is kept in the store: a restart runs it without the file.
func TestCodeSurvivesRestart(t *testing.T) {
	s := start(t)
	mustDeploy(t, s, "kept.star", "def handle(self):\n    self.response.payload = 'kept'\n")
	s.Channel("kept", "kept", "", "/kept", nil)
	s = s.Restart()
	if r := s.Call("GET", "/kept", "", nil); string(r.Body) != "kept" {
		t.Fatalf("after restart: %d %s", r.StatusCode, r.Body)
	}
	if r := s.AdminCall("DELETE", admin.Prefix+"/deploy/kept.star", ""); r.StatusCode != 200 {
		t.Fatalf("undeploy: %d %s", r.StatusCode, r.Body)
	}
	if r := s.Call("GET", "/kept", "", nil); r.StatusCode != 503 {
		t.Errorf("undeployed service: %d %s", r.StatusCode, r.Body)
	}
	s = s.Restart()
	if r := s.Call("GET", "/kept", "", nil); r.StatusCode != 503 {
		t.Errorf("undeployed service after restart: %d", r.StatusCode)
	}
}

// BenchmarkDeployVisible measures the time from deploying a 200-line file
// through the admin API to the next request seeing the new code.
func BenchmarkDeployVisible(b *testing.B) {
	s := servertest.Start(b, servertest.Options{})
	var lines strings.Builder
	for i := range 190 {
		fmt.Fprintf(&lines, "def helper_%d(x):\n    return x + %d\n", i, i)
	}
	mustDeployB := func(v int) {
		src := lines.String() + fmt.Sprintf("def handle(self):\n    self.response.payload = {'v': %d}\n", v)
		body, _ := json.Marshal(admin.DeployRequest{SourceFile: admin.SourceFile{File: "big.star", Source: src}})
		if r := s.AdminCall("POST", admin.Prefix+"/deploy", string(body)); r.StatusCode != 200 {
			b.Fatalf("%d %s", r.StatusCode, r.Body)
		}
	}
	mustDeployB(0)
	s.Channel("big", "big", "", "/big", nil)
	v := 0
	for b.Loop() {
		v++
		mustDeployB(v)
		r := s.Call("GET", "/big", "", nil)
		if string(r.Body) != fmt.Sprintf(`{"v":%d}`, v) {
			b.Fatalf("stale: %s", r.Body)
		}
	}
}

// BenchmarkEcho runs a Starlark echo service through the whole REST
// pipeline in-process.
func BenchmarkEcho(b *testing.B) {
	s := servertest.Start(b, servertest.Options{})
	body, _ := json.Marshal(admin.DeployRequest{SourceFile: admin.SourceFile{File: "echo.star", Source: "def handle(self):\n    self.response.payload = self.request.input\n"}})
	if r := s.AdminCall("POST", admin.Prefix+"/deploy", string(body)); r.StatusCode != 200 {
		b.Fatal(string(r.Body))
	}
	s.Channel("echo", "echo", "POST", "/echo", nil)
	h := s.Server.APIHandler()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/echo", strings.NewReader(`{"user_id":"123","user_name":"my.user","segment":"RNZ","is_active":true,"score":12.5}`)))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// self.request.input converts lazily; whatever a script reads, changes or
// adds is what it sends back.
func TestInputSemantics(t *testing.T) {
	s := start(t)
	mustDeploy(t, s, "inp.star", `
def handle(self):
    inp = self.request.input
    mode = inp.get("mode", "")
    if mode == "nested":
        inp["items"].append(4)
    elif mode == "add":
        inp["added"] = len(inp)
    elif mode == "read":
        self.response.payload = {"has_a": "a" in inp, "keys": sorted(inp.keys()), "a": inp.a, "missing": inp.get("zz", "dflt"), "str": str(inp)}
        return
    self.response.payload = inp
`)
	s.Channel("inp", "inp", "POST", "/inp", nil)
	for mode, want := range map[string]string{
		"echo":   `{"a":1,"items":[1,2,3],"mode":"echo"}`,
		"nested": `{"a":1,"items":[1,2,3,4],"mode":"nested"}`,
		"add":    `{"a":1,"added":3,"items":[1,2,3],"mode":"add"}`,
		"read":   `{"a":1,"has_a":true,"keys":["a","items","mode"],"missing":"dflt","str":"{\"a\": 1, \"items\": [1, 2, 3], \"mode\": \"read\"}"}`,
	} {
		r := s.Call("POST", "/inp", fmt.Sprintf(`{"a":1,"items":[1,2,3],"mode":%q}`, mode), nil)
		if string(r.Body) != want {
			t.Errorf("%s: %d %s, want %s", mode, r.StatusCode, r.Body, want)
		}
	}
}
