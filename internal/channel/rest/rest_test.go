package rest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// reflect answers with everything it received.
func reflect(s *service.Context) error {
	form := map[string]any{}
	if f, err := s.Request.HTTP.GetFormData(); err == nil {
		form["values"] = f.Values
		for k, files := range f.Files {
			form[k] = map[string]any{"filename": files[0].Filename, "data": string(files[0].Data), "type": files[0].ContentType}
		}
	}
	s.Response.Payload = map[string]any{
		"payload": s.Request.Payload,
		"raw":     string(s.Request.RawRequest),
		"input":   s.Request.Input,
		"method":  s.Request.HTTP.Method,
		"path":    s.Request.HTTP.Path,
		"params":  s.Request.HTTP.Params,
		"get":     s.Request.HTTP.GET,
		"post":    s.Request.HTTP.POST,
		"header":  s.Request.HTTP.Headers.Get("X-Test"),
		"cid":     s.CID,
		"channel": s.Channel.Name,
		"form":    form,
	}
	return nil
}

type verbs struct{}

func (verbs) Name() string                        { return "test.verbs" }
func (verbs) HandleGET(s *service.Context) error  { s.Response.Payload = "got GET"; return nil }
func (verbs) HandlePOST(s *service.Context) error { s.Response.Payload = "got POST"; return nil }

func testServices() []any {
	return []any{
		service.Func("test.reflect", "", reflect),
		verbs{},
		service.Func("test.fail", "", func(s *service.Context) error {
			s.Response.SetHeader("X-Before-Error", "kept")
			return errors.New("database password=hunter2 unreachable")
		}),
		service.Func("test.panic", "", func(s *service.Context) error { panic("boom") }),
		service.Func("test.typed", "", func(s *service.Context) error {
			switch s.Request.Input.String("kind") {
			case "bad":
				return service.BadRequest("Element missing: user_id")
			case "unauth":
				return service.Unauthorized("No").WithHeader("WWW-Authenticate", `Basic realm="x"`)
			case "forbidden":
				return service.Forbidden("Not yours")
			case "notfound":
				return service.NotFound("No such customer")
			case "conflict":
				return service.Conflict("Exists")
			case "slow":
				return service.TooManyRequests("Slow down").WithHeader("Retry-After", "3")
			case "down":
				return service.ServiceUnavailable("Maintenance")
			}
			s.Response.StatusCode = 404
			s.Response.Payload = map[string]any{"error": "Not found"}
			return nil
		}),
		service.Func("test.response", "", func(s *service.Context) error {
			switch s.Request.Input.String("kind") {
			case "csv":
				s.Response.Payload = "1,2,3\n4,5,6"
				s.Response.ContentType = "text/csv"
			case "bytes":
				s.Response.Payload = []byte{0, 1, 2}
				s.Response.ContentType = "application/octet-stream"
			case "gzip":
				s.Response.Payload = map[string]any{"big": strings.Repeat("x", 1000)}
				s.Response.ContentEncoding = "gzip"
			case "attachment":
				s.Response.Payload = "Hello, this is an attachment"
				s.Response.SetHeader("Content-Disposition", "attachment; filename=hello.txt")
			case "struct":
				s.Response.Payload = struct {
					Name  string `json:"name"`
					Count int    `json:"count"`
				}{"Jane", 3}
			case "list":
				s.Response.Payload = []any{1, "two"}
			case "created":
				s.Response.StatusCode = 201
				s.Response.Payload = map[string]any{"id": 1}
			case "unencodable":
				s.Response.Payload = map[string]any{"ch": make(chan int)}
			}
			return nil
		}),
	}
}

func start(t *testing.T) *servertest.Server {
	t.Helper()
	s := servertest.Start(t, servertest.Options{Services: testServices()})
	s.Channel("reflect", "test.reflect", "", "/api/reflect/{id}", nil)
	s.Channel("reflect.root", "test.reflect", "", "/api/reflect", nil)
	s.Channel("reflect.form", "test.reflect", "", "/api/form", map[string]any{"data_format": "form"})
	s.Channel("reflect.raw", "test.reflect", "", "/api/raw", map[string]any{"data_format": "raw"})
	s.Channel("reflect.pathwins", "test.reflect", "", "/api/pathwins/{id}", map[string]any{"url_params_pri": "path-over-qs"})
	s.Channel("reflect.nomerge", "test.reflect", "", "/api/nomerge/{id}", map[string]any{"merge_url_params_req": false})
	s.Channel("verbs", "test.verbs", "", "/api/verbs", nil)
	s.Channel("fail", "test.fail", "", "/api/fail", nil)
	s.Channel("panic", "test.panic", "", "/api/panic", nil)
	s.Channel("typed", "test.typed", "", "/api/typed", nil)
	s.Channel("response", "test.response", "", "/api/response", nil)
	return s
}

func assertEnvelope(t *testing.T, r *servertest.Response, status int, details string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", r.StatusCode, status, r.Body)
	}
	var env struct {
		Result, CID, Details string
	}
	if err := json.Unmarshal(r.Body, &env); err != nil {
		t.Fatalf("not an envelope: %s", r.Body)
	}
	if env.Result != "Error" || !cid.Valid(env.CID) || env.CID != r.Header.Get("X-Plexus-CID") {
		t.Fatalf("bad envelope %s (X-Plexus-CID %q)", r.Body, r.Header.Get("X-Plexus-CID"))
	}
	if !strings.Contains(env.Details, details) {
		t.Fatalf("details %q, want %q", env.Details, details)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
}

func TestRequestAPI(t *testing.T) {
	s := start(t)
	r := s.Call("POST", "/api/reflect/42?status=pending&tag=a&tag=b&id=7", `{"user_id":"123","user_name":"my.user","n":12345678901234567890,"id":"body"}`,
		http.Header{"X-Test": {"hello"}, "Content-Type": {"application/json"}})
	if r.StatusCode != 200 {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	got := r.JSON(t)
	want := map[string]any{
		"method": "POST", "path": "/api/reflect/42", "header": "hello", "channel": "reflect",
		"raw": `{"user_id":"123","user_name":"my.user","n":12345678901234567890,"id":"body"}`,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if got["cid"] != r.Header.Get("X-Plexus-CID") {
		t.Errorf("service cid %v, header %q", got["cid"], r.Header.Get("X-Plexus-CID"))
	}
	in := got["input"].(map[string]any)
	// Query wins over path, URL parameters over body keys; numbers stay exact.
	if in["id"] != "7" || in["status"] != "pending" || in["user_id"] != "123" || fmt.Sprint(in["tag"]) != "[a b]" {
		t.Errorf("input = %v", in)
	}
	if !bytes.Contains(r.Body, []byte(`"n":12345678901234567890`)) {
		t.Errorf("big number not kept exactly: %s", r.Body)
	}
	if p := got["params"].(map[string]any); p["id"] != "42" {
		t.Errorf("params = %v", p)
	}
	if g := got["get"].(map[string]any); fmt.Sprint(g["tag"]) != "[a b]" {
		t.Errorf("GET = %v", g)
	}
	if post, _ := got["post"].(map[string]any); len(post) != 0 {
		t.Errorf("POST on a JSON channel = %v", got["post"])
	}
}

func TestURLParamPrecedence(t *testing.T) {
	s := start(t)
	in := s.Call("GET", "/api/pathwins/42?id=7", "", nil).JSON(t)["input"].(map[string]any)
	if in["id"] != "42" {
		t.Errorf("path-over-qs: id = %v", in["id"])
	}
	got := s.Call("POST", "/api/nomerge/42?q=1", `{"a":1}`, nil).JSON(t)
	in = got["input"].(map[string]any)
	if _, has := in["id"]; has || in["q"] != nil || in["a"] == nil {
		t.Errorf("merge_url_params_req false: input = %v", in)
	}
	if got["params"].(map[string]any)["id"] != "42" {
		t.Errorf("params still hold the path: %v", got["params"])
	}
}

func TestPayloadKinds(t *testing.T) {
	s := start(t)
	for _, c := range []struct {
		path, body, ctype string
		payload           string
	}{
		{"/api/reflect", `[1,2,3]`, "application/json", `[1,2,3]`},
		{"/api/reflect", ``, "", `""`},
		{"/api/reflect", `"just text"`, "application/json", `"just text"`},
		{"/api/raw", `plain text here`, "text/plain", `"plain text here"`},
		{"/api/form", `a=1&b=2&b=3`, "application/x-www-form-urlencoded", `{"a":"1","b":["2","3"]}`},
	} {
		r := s.Call("POST", c.path, c.body, http.Header{"Content-Type": {c.ctype}})
		var got struct {
			Payload json.RawMessage
		}
		json.Unmarshal(r.Body, &got)
		if string(got.Payload) != c.payload {
			t.Errorf("%s %q: payload %s, want %s", c.path, c.body, got.Payload, c.payload)
		}
	}
}

func TestMultipart(t *testing.T) {
	s := start(t)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("name", "Jane")
	fw, _ := mw.CreateFormFile("doc", "hello.txt")
	fw.Write([]byte("file body"))
	mw.Close()
	r := s.Call("POST", "/api/form", buf.String(), http.Header{"Content-Type": {mw.FormDataContentType()}})
	got := r.JSON(t)
	if got["payload"].(map[string]any)["name"] != "Jane" {
		t.Errorf("payload = %v", got["payload"])
	}
	doc := got["form"].(map[string]any)["doc"].(map[string]any)
	if doc["filename"] != "hello.txt" || doc["data"] != "file body" {
		t.Errorf("form file = %v", doc)
	}
}

func TestErrorEnvelopes(t *testing.T) {
	s := start(t)
	for _, sc := range []plexustest.Scenario{
		{URL: "/no/such/path", WantStatus: 404, WantBody: plexustest.Envelope("URL not found"), WantHeader: map[string]string{"Content-Type": "application/json"}},
		{URL: "/api/reflect", Body: `{"a":`, WantStatus: 400, WantBody: plexustest.Contains(`"details":"Invalid JSON: `)},
		{URL: "/api/reflect", Body: `{"a":1} trailing`, WantStatus: 400, WantBody: plexustest.Contains(`"details":"Invalid JSON: `)},
		{Method: "DELETE", URL: "/api/verbs", WantStatus: 405, WantBody: plexustest.Envelope("Method DELETE not allowed"), WantHeader: map[string]string{"Allow": "GET, POST"}},
		{
			Name: "an error's cause stays in the log", URL: "/api/fail", Method: "POST", WantStatus: 500, WantBody: plexustest.Envelope("Internal server error"),
			WantHeader: map[string]string{"X-Before-Error": "kept"},
			WantLog:    []plexustest.LogLine{{"service failed", "service=test.fail", "hunter2"}},
		},
		{
			Name: "a panic", URL: "/api/panic", WantStatus: 500, WantBody: plexustest.Envelope("Internal server error"),
			WantLog: []plexustest.LogLine{{"service panicked", "boom", "goroutine"}},
		},
		{Name: "the server keeps serving after a panic", URL: "/api/verbs", WantBody: plexustest.Text("got GET")},
		{URL: "/api/typed?kind=bad", WantStatus: 400, WantBody: plexustest.Envelope("Element missing: user_id")},
		{URL: "/api/typed?kind=unauth", WantStatus: 401, WantBody: plexustest.Envelope("No"), WantHeader: map[string]string{"WWW-Authenticate": `Basic realm="x"`}},
		{URL: "/api/typed?kind=forbidden", WantStatus: 403, WantBody: plexustest.Envelope("Not yours")},
		{URL: "/api/typed?kind=notfound", WantStatus: 404, WantBody: plexustest.Envelope("No such customer")},
		{URL: "/api/typed?kind=conflict", WantStatus: 409, WantBody: plexustest.Envelope("Exists")},
		{URL: "/api/typed?kind=slow", WantStatus: 429, WantBody: plexustest.Envelope("Slow down"), WantHeader: map[string]string{"Retry-After": "3"}},
		{URL: "/api/typed?kind=down", WantStatus: 503, WantBody: plexustest.Envelope("Maintenance")},
		{Name: "a status the service set", URL: "/api/typed", WantStatus: 404, WantBody: plexustest.Text(`{"error":"Not found"}`)},
		{URL: "/api/response?kind=unencodable", WantStatus: 500, WantBody: plexustest.Envelope("Internal server error")},
	} {
		sc.Run(t, s.Harness)
	}
}

func TestBodyLimit(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: testServices(), Settings: "limits:\n  max_body_size: 1KiB\n"})
	s.Channel("reflect", "test.reflect", "", "/api/reflect", nil)
	big := `{"a":"` + strings.Repeat("x", 2000) + `"}`
	assertEnvelope(t, s.Call("POST", "/api/reflect", big, nil), 413, "larger than 1024 bytes")
	// Without Content-Length (chunked), the limit still holds.
	req, _ := http.NewRequest("POST", s.API+"/api/reflect", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || !strings.Contains(string(body), `"result":"Error"`) {
		t.Errorf("chunked: %d %s", resp.StatusCode, body)
	}
	if r := s.Call("POST", "/api/reflect", `{"a":"small"}`, nil); r.StatusCode != 200 {
		t.Errorf("small body: %d", r.StatusCode)
	}
}

func TestResponses(t *testing.T) {
	s := start(t)
	json := map[string]string{"Content-Type": "application/json"}
	for _, sc := range []plexustest.Scenario{
		{URL: "/api/response?kind=csv", WantBody: plexustest.Text("1,2,3\n4,5,6"), WantHeader: map[string]string{"Content-Type": "text/csv"}},
		{URL: "/api/response?kind=bytes", WantBody: plexustest.Text("\x00\x01\x02"), WantHeader: map[string]string{"Content-Type": "application/octet-stream"}},
		{
			URL: "/api/response?kind=attachment", WantBody: plexustest.Text("Hello, this is an attachment"),
			WantHeader: map[string]string{"Content-Disposition": "attachment; filename=hello.txt"},
		},
		{URL: "/api/response?kind=struct", WantBody: plexustest.Text(`{"name":"Jane","count":3}`), WantHeader: json},
		{URL: "/api/response?kind=list", WantBody: plexustest.Text(`[1,"two"]`), WantHeader: json},
		{URL: "/api/response?kind=created", WantStatus: 201, WantBody: plexustest.JSON(`{"id": 1}`)},
		{Name: "nothing assigned: an empty 200", URL: "/api/response?kind=nothing", WantBody: plexustest.Text(""), WantHeader: map[string]string{"Content-Type": ""}},
		// gzip compresses for clients that accept it, and only for them.
		{
			Name: "gzip", URL: "/api/response?kind=gzip", Header: map[string]string{"Accept-Encoding": "gzip"},
			WantHeader: map[string]string{"Content-Encoding": "gzip"}, WantBody: plexustest.Gunzip(plexustest.Contains(`{"big":"xxx`)),
			Check: func(t testing.TB, r *plexustest.Response) {
				if len(r.Body) > 100 {
					t.Errorf("%d bytes gzip-compressed", len(r.Body))
				}
			},
		},
		{
			Name: "gzip refused", URL: "/api/response?kind=gzip", Header: map[string]string{"Accept-Encoding": "identity"},
			WantHeader: map[string]string{"Content-Encoding": ""}, WantBody: plexustest.JSONSubset(`{}`),
		},
	} {
		sc.Run(t, s.Harness)
	}
}

func TestVerbs(t *testing.T) {
	s := start(t)
	for _, c := range []struct{ method, body string }{{"GET", "got GET"}, {"POST", "got POST"}} {
		if r := s.Call(c.method, "/api/verbs", "", nil); r.StatusCode != 200 || string(r.Body) != c.body {
			t.Errorf("%s: %d %s", c.method, r.StatusCode, r.Body)
		}
	}
	// A channel limited to one verb answers 405 with Allow for others.
	s.Channel("only.put", "test.reflect", "PUT", "/api/only-put", nil)
	r := s.Call("GET", "/api/only-put", "", nil)
	assertEnvelope(t, r, 405, "not allowed")
	if r.Header.Get("Allow") != "PUT" {
		t.Errorf("Allow = %q", r.Header.Get("Allow"))
	}
}

func TestChannelPrecedence(t *testing.T) {
	s := start(t)
	// Created least specific first: creation order must not matter.
	s.Channel("p.wild", "test.reflect", "", "/p/{action}", nil)
	s.Channel("p.rest", "test.reflect", "", "/p/{path...}", nil)
	s.Channel("p.history", "test.reflect", "", "/p/{id}/history", nil)
	s.Channel("p.admin", "test.reflect", "", "/p/admin", nil)
	s.Channel("p.slash", "test.reflect", "", "/p/admin/", nil)
	for path, want := range map[string]string{
		"/p/admin": "p.admin", "/p/other": "p.wild", "/p/1/history": "p.history",
		"/p/a/b/c": "p.rest", "/p/admin/": "p.slash",
	} {
		if got := s.Call("GET", path, "", nil).JSON(t)["channel"]; got != want {
			t.Errorf("%s matched %v, want %s", path, got, want)
		}
	}
	// An inactive channel keeps its path and answers 404.
	s.Channel("p.admin", "test.reflect", "", "/p/admin", map[string]any{"is_active": false})
	assertEnvelope(t, s.Call("GET", "/p/admin", "", nil), 404, "URL not found")
}

func TestHealth(t *testing.T) {
	s := start(t)
	for _, base := range []string{s.API, s.Admin} {
		r := servertest.Do(t, "GET", base+"/health", "", nil)
		if r.StatusCode != 200 || !strings.Contains(string(r.Body), `"ok"`) {
			t.Errorf("%s/health: %d %s", base, r.StatusCode, r.Body)
		}
	}
}

func TestAccessLog(t *testing.T) {
	s := start(t)
	r := s.Call("GET", "/api/verbs", "", nil)
	id := r.Header.Get("X-Plexus-CID")
	line := s.Log.WaitFor(t, "msg=request", id)
	for _, part := range []string{"channel=verbs", "service=test.verbs", "status=200", "duration_ms=", "method=GET"} {
		if !strings.Contains(line, part) {
			t.Errorf("access log line lacks %q: %s", part, line)
		}
	}
}
