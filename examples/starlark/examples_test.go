// Package examples_test deploys the seed's example services, written in
// Starlark, to a real server and calls them the way the seed does.
package examples_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/servertest"
)

func deployExamples(t *testing.T) *servertest.Server {
	t.Helper()
	s := servertest.Start(t, servertest.Options{})
	files, _ := filepath.Glob("*.star")
	var req admin.DeployRequest
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		req.Files = append(req.Files, admin.SourceFile{File: f, Source: string(src)})
	}
	body, _ := json.Marshal(req)
	r := s.AdminCall("POST", admin.Prefix+"/deploy", string(body))
	if r.StatusCode != 200 {
		t.Fatalf("deploy: %d %s", r.StatusCode, r.Body)
	}
	var res admin.DeployResult
	json.Unmarshal(r.Body, &res)
	if len(res.Warnings) > 0 {
		t.Errorf("the examples have warnings: %v", res.Warnings)
	}
	for _, c := range []struct{ name, service, path string }{
		{"log-input-data", "demo.star.log-input-data", "/api/log-input-data"},
		{"multi-verb", "demo.star.multi-verb", "/api/multi-verb"},
		{"request-object", "demo.star.request-object", "/api/request-object/{id}"},
		{"response-object", "demo.star.response-object", "/api/response-object"},
		{"cors", "demo.star.configuring-cors", "/api/cors"},
		{"csv", "demo.star.service-csv", "/api/csv"},
		{"attachment", "demo.star.attachment", "/api/attachment"},
		{"echo", "echo", "/api/echo/{id}"},
	} {
		s.Channel(c.name, c.service, "", c.path, nil)
	}
	return s
}

func TestSeedExamples(t *testing.T) {
	s := deployExamples(t)

	// curl localhost:11223/api/log-input-data -d '{"user_id":"123", "user_name":"my.user"}'
	r := s.Call("POST", "/api/log-input-data", `{"user_id":"123", "user_name":"my.user"}`, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if r.StatusCode != 200 || len(r.Body) != 0 {
		t.Errorf("log-input-data: %d %q", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "uid:123; username:my.user", "cid="+r.Header.Get("X-Plexus-CID"), "service=demo.star.log-input-data")

	// GET and POST answer 200, DELETE 405.
	for _, m := range []string{"GET", "POST"} {
		if r := s.Call(m, "/api/multi-verb", `{"user_id":"123"}`, nil); r.StatusCode != 200 {
			t.Errorf("multi-verb %s: %d", m, r.StatusCode)
		}
		s.Log.WaitFor(t, "I was invoked via "+m)
	}
	r = s.Call("DELETE", "/api/multi-verb", `{"user_id":"123"}`, nil)
	if r.StatusCode != 405 || r.Header.Get("Allow") != "GET, POST" || !strings.Contains(string(r.Body), `"result":"Error"`) {
		t.Errorf("multi-verb DELETE: %d %v %s", r.StatusCode, r.Header, r.Body)
	}

	r = s.Call("POST", "/api/request-object/42?status=pending&tag=a&tag=b", `{"user_id":"123"}`, http.Header{"Content-Type": {"application/json"}})
	var ro map[string]any
	if err := json.Unmarshal(r.Body, &ro); err != nil {
		t.Fatalf("request-object: %d %s", r.StatusCode, r.Body)
	}
	for k, want := range map[string]any{
		"cid": r.Header.Get("X-Plexus-CID"), "method": "POST", "path": "/api/request-object/42",
		"raw_request": `{"user_id":"123"}`, "username": "",
	} {
		if ro[k] != want {
			t.Errorf("request-object %s = %v, want %v", k, ro[k], want)
		}
	}
	if ro["payload"].(map[string]any)["user_id"] != "123" || ro["params"].(map[string]any)["id"] != "42" {
		t.Errorf("request-object payload/params: %v %v", ro["payload"], ro["params"])
	}
	if get := ro["GET"].(map[string]any); get["status"] != "pending" || len(get["tag"].([]any)) != 2 {
		t.Errorf("request-object GET: %v", get)
	}
	if in := ro["input"].(map[string]any); in["id"] != "42" || in["user_id"] != "123" || in["status"] != "pending" {
		t.Errorf("request-object input: %v", in)
	}
	if sec := ro["sec_info"].(map[string]any); len(sec) != 3 {
		t.Errorf("sec_info: %v", sec)
	}

	r = s.Call("GET", "/api/response-object", "", http.Header{"Accept-Encoding": {"gzip"}})
	if r.Header.Get("Content-Type") != "text/xml; charset=UTF-8" || r.Header.Get("X-Powered-By") != "My-API-Server" || r.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("response-object headers: %v", r.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); string(plain) != `{"my":"response"}` {
		t.Errorf("response-object body: %q", plain)
	}

	r = s.Call("OPTIONS", "/api/cors", "", nil)
	if r.StatusCode != 200 || r.Header.Get("Access-Control-Allow-Origin") != "https://www.example.com" {
		t.Errorf("cors OPTIONS: %d %v", r.StatusCode, r.Header)
	}
	if r := s.Call("POST", "/api/cors", "", nil); string(r.Body) != `{"ok":true}` {
		t.Errorf("cors POST: %s", r.Body)
	}
	if r := s.Call("GET", "/api/cors", "", nil); r.StatusCode != 405 || r.Header.Get("Allow") != "OPTIONS, POST" {
		t.Errorf("cors GET: %d %v", r.StatusCode, r.Header.Get("Allow"))
	}

	r = s.Call("GET", "/api/csv", "", nil)
	if r.Header.Get("Content-Type") != "text/csv" || string(r.Body) != "1,2,3\n4,5,6" {
		t.Errorf("csv: %v %q", r.Header.Get("Content-Type"), r.Body)
	}
	r = s.Call("GET", "/api/attachment", "", nil)
	if r.Header.Get("Content-Disposition") != "attachment; filename=hello.txt" || string(r.Body) != "Hello, this is an attachment" {
		t.Errorf("attachment: %v %q", r.Header, r.Body)
	}

	r = s.Call("POST", "/api/echo/7?q=x", `{"a":[1,2.5,{"b":null}],"n":12345678901234567890}`, nil)
	if string(r.Body) != `{"a":[1,2.5,{"b":null}],"id":"7","n":12345678901234567890,"q":"x"}` {
		t.Errorf("echo: %d %s", r.StatusCode, r.Body)
	}
}
