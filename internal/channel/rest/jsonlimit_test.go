package rest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/sdk/service"
)

func nested(depth int) string {
	return strings.Repeat(`{"a":[`, depth/2) + "1" + strings.Repeat("]}", depth/2)
}

func deployStar(t *testing.T, s *servertest.Server, file, src string) {
	t.Helper()
	body, _ := json.Marshal(admin.DeployRequest{SourceFile: admin.SourceFile{File: file, Source: src}})
	if r := s.AdminCall("POST", admin.Prefix+"/deploy", string(body)); r.StatusCode != 200 {
		t.Fatalf("deploying %s: %d %s", file, r.StatusCode, r.Body)
	}
}

// JSON bodies are refused past their depth and value limits with the
// documented envelopes, whichever language the service is written in.
func TestJSONBodyLimits(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: testServices(),
		Settings: "limits:\n  json:\n    max_depth: 40\n    max_values: 1000\n"})
	s.Channel("reflect", "test.reflect", "", "/api/reflect", nil)
	deployStar(t, s, "star_echo.star", "def handle(self):\n    self.response.payload = {\"got\": self.request.payload}\n")
	s.Channel("star", "star-echo", "", "/api/star", nil)
	for _, path := range []string{"/api/reflect", "/api/star"} {
		if r := s.Call("POST", path, nested(40), nil); r.StatusCode != 200 {
			t.Errorf("%s, 40 levels: %d %s", path, r.StatusCode, r.Body)
		}
		assertEnvelope(t, s.Call("POST", path, nested(42), nil), 400, "Invalid JSON: nested too deeply")
		if r := s.Call("POST", path, "["+strings.Repeat("1,", 998)+"1]", nil); r.StatusCode != 200 {
			t.Errorf("%s, 1000 values: %d %.100s", path, r.StatusCode, r.Body)
		}
		assertEnvelope(t, s.Call("POST", path, "["+strings.Repeat("{},", 1000)+"{}]", nil), 413, "Request body has more than 1000 JSON values")
		assertEnvelope(t, s.Call("POST", path, `{"a": tru}`, nil), 400, "Invalid JSON: invalid character '}' in literal true (expecting 'e')")
	}
	s.Log.WaitFor(t, "request refused", "status=413", "more than 1000 JSON values")
}

// With the default limits, a body nested deeper than 1,000 levels is a
// client error for a Starlark service too, not a failure of the service.
func TestDefaultDepthLimit(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	deployStar(t, s, "deep.star", "def handle(self):\n    self.response.payload = self.request.payload\n")
	s.Channel("deep", "deep", "", "/deep", nil)
	if r := s.Call("POST", "/deep", nested(1000), nil); r.StatusCode != 200 {
		t.Errorf("1,000 levels: %d %.200s", r.StatusCode, r.Body)
	}
	assertEnvelope(t, s.Call("POST", "/deep", nested(5000), nil), 400, "Invalid JSON: nested too deeply")
}

// The decoded bodies of the requests in flight share limits.json.
// decode_budget: a body that would go over it is answered 503 with
// Retry-After while others hold it, one larger than all of it 413.
func TestDecodeBudget(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	s := servertest.Start(t, servertest.Options{
		Settings: "limits:\n  json:\n    decode_budget: 64KiB\n",
		Services: []any{service.Func("test.hold", "", func(c *service.Context) error {
			started <- struct{}{}
			<-release
			c.Response.Payload = map[string]any{"n": len(c.Request.Payload.([]any))}
			return nil
		})},
	})
	s.Channel("hold", "test.hold", "", "/hold", nil)
	objects := func(n int) string { return "[" + strings.Repeat(`{"a":1},`, n-1) + `{"a":1}]` }
	assertEnvelope(t, s.Call("POST", "/hold", objects(300), nil), 413, "Request body is too large to decode")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := servertest.Do(t, "POST", s.API+"/hold", objects(100), nil)
		if r.StatusCode != 200 || string(r.Body) != `{"n":100}` {
			t.Errorf("first request: %d %s", r.StatusCode, r.Body)
		}
	}()
	<-started
	r := s.Call("POST", "/hold", objects(100), nil)
	assertEnvelope(t, r, 503, "Server is busy decoding other requests; retry later")
	if r.Header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	s.Log.WaitFor(t, "request refused", "status=503", "limits.json.decode_budget (64KiB) is taken by the requests in flight")
	close(release)
	wg.Wait()
	// Answered, the first request gave its share back.
	if r := s.Call("POST", "/hold", objects(100), nil); r.StatusCode != http.StatusOK {
		t.Errorf("after the first request: %d %s", r.StatusCode, r.Body)
	}
}
