package invoke_test

import (
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/invoke"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/sdk/service"
)

type verbOnly struct{}

func (verbOnly) Name() string                        { return "t.verb-only" }
func (verbOnly) HandlePOST(s *service.Context) error { s.Response.Payload = "posted"; return nil }

func services() []any {
	return []any{
		verbOnly{},
		service.Func("t.callee", "", func(s *service.Context) error {
			s.Logger().Info("callee ran", "channel_type", s.Channel.Type)
			s.Response.Payload = map[string]any{"cid": s.CID, "got": s.Request.Input["x"], "type": s.Channel.Type}
			return nil
		}),
		service.Func("t.caller", "", func(s *service.Context) error {
			out, err := s.Invoke("t.callee", map[string]any{"x": 7})
			if err != nil {
				return err
			}
			s.Response.Payload = map[string]any{"mine": s.CID, "callee": out}
			return nil
		}),
		service.Func("t.caller-of-failure", "", func(s *service.Context) error {
			_, err := s.Invoke("t.failing", nil)
			return err
		}),
		service.Func("t.failing", "", func(s *service.Context) error { return service.Conflict("Already there") }),
		service.Func("t.self", "", func(s *service.Context) error {
			_, err := s.Invoke("t.self", nil)
			return err
		}),
		service.Func("t.ping-pong", "", func(s *service.Context) error {
			_, err := s.Invoke("t.pong-ping", nil)
			return err
		}),
		service.Func("t.pong-ping", "", func(s *service.Context) error {
			_, err := s.Invoke("t.ping-pong", nil)
			return err
		}),
		service.Func("t.async", "", func(s *service.Context) error {
			id, err := s.InvokeAsync("t.callee", map[string]any{"x": "later"})
			s.Response.Payload = map[string]any{"async_cid": id, "mine": s.CID}
			return err
		}),
		service.Func("t.verb", "", func(s *service.Context) error {
			if _, err := s.Invoke("t.verb-only", nil); err == nil {
				return service.BadRequest("a verb-only service ran without a verb")
			}
			out, err := s.InvokeWith("t.verb-only", nil, service.InvokeOptions{Verb: "POST"})
			s.Response.Payload = out
			return err
		}),
		service.Func("t.missing", "", func(s *service.Context) error {
			_, err := s.Invoke("no.such.service", nil)
			return err
		}),
	}
}

func TestInvoke(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: services()})
	for _, name := range []string{"t.caller", "t.caller-of-failure", "t.self", "t.ping-pong", "t.async", "t.verb", "t.missing"} {
		s.Channel(name, name, "", "/"+name, nil)
	}
	r := s.Call("GET", "/t.caller", "", nil)
	got := r.JSON(t)
	callee := got["callee"].(map[string]any)
	if callee["cid"] != got["mine"] || callee["got"] != float64(7) || callee["type"] != "invoke" {
		t.Errorf("invoke: %s", r.Body)
	}
	// The callee's log lines carry the same cid and the callee's name.
	s.Log.WaitFor(t, "callee ran", "cid="+r.Header.Get("X-Plexus-CID"), "service=t.callee")

	if r := s.Call("GET", "/t.caller-of-failure", "", nil); r.StatusCode != 409 || !strings.Contains(string(r.Body), "Already there") {
		t.Errorf("typed error of the callee: %d %s", r.StatusCode, r.Body)
	}
	if r := s.Call("GET", "/t.self", "", nil); r.StatusCode != 500 {
		t.Errorf("self invoke: %d", r.StatusCode)
	}
	s.Log.WaitFor(t, "cannot invoke itself")
	if r := s.Call("GET", "/t.ping-pong", "", nil); r.StatusCode != 500 {
		t.Errorf("endless recursion: %d", r.StatusCode)
	}
	s.Log.WaitFor(t, "more than 32 levels deep")
	if r := s.Call("GET", "/t.missing", "", nil); r.StatusCode != 500 {
		t.Errorf("missing service: %d", r.StatusCode)
	}
	if r := s.Call("GET", "/t.verb", "", nil); r.StatusCode != 200 || string(r.Body) != "posted" {
		t.Errorf("verb: %d %s", r.StatusCode, r.Body)
	}

	got = s.Call("GET", "/t.async", "", nil).JSON(t)
	async, _ := got["async_cid"].(string)
	if !cid.Valid(async) || async == got["mine"] {
		t.Fatalf("async cid %v (caller %v)", async, got["mine"])
	}
	line := s.Log.WaitFor(t, "callee ran", "cid="+async)
	if !strings.Contains(line, "channel_type=invoke-async") {
		t.Errorf("async channel type: %s", line)
	}
}

func TestSetPayload(t *testing.T) {
	var req service.Request
	invoke.SetPayload(&req, map[string]any{"a": 1})
	if string(req.RawRequest) != `{"a":1}` || req.Input["a"] != 1 {
		t.Errorf("map: %+v", req)
	}
	invoke.SetPayload(&req, "text")
	if req.Payload != "text" || string(req.RawRequest) != "text" || len(req.Input) != 0 {
		t.Errorf("string: %+v", req)
	}
	invoke.SetPayload(&req, nil)
	if req.Payload != "" || req.Input == nil {
		t.Errorf("nil: %+v", req)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1,2]`, `"x"`, `12345678901234567890`, `{"a":`, `{} {}`, ``, `  {"a":[{"b":null}]}  `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := invoke.DecodeJSON(data)
		if err != nil {
			return
		}
		// Whatever decodes must encode again.
		var req service.Request
		invoke.SetPayload(&req, v)
		if v != nil && req.RawRequest == nil {
			t.Fatalf("decoded %q but could not re-encode", data)
		}
	})
}
