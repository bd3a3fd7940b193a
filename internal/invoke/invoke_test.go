package invoke_test

import (
	"context"
	"encoding/json"
	"fmt"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/admin"
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

// A service invoked in the background runs one level below its caller,
// so a service that keeps invoking itself in the background stops at
// MaxDepth, as one invoking itself synchronously does.
func TestInvokeAsyncDepth(t *testing.T) {
	depths := make(chan int, 2*invoke.MaxDepth)
	refused := make(chan error, 1)
	s := servertest.Start(t, servertest.Options{Services: []any{
		service.Func("t.chain", "", func(s *service.Context) error {
			select {
			case depths <- s.Depth:
			default: // past the depth it should have stopped at
			}
			if s.Err() != nil { // the server is stopping
				return nil
			}
			if _, err := s.InvokeAsync("t.chain", nil); err != nil {
				refused <- err
			}
			return nil
		}),
	}})
	s.Channel("t.chain", "t.chain", "", "/t.chain", nil)
	if r := s.Call("GET", "/t.chain", "", nil); r.StatusCode != 200 {
		t.Fatalf("chain: %d %s", r.StatusCode, r.Body)
	}
	var err error
	select {
	case err = <-refused:
	case <-time.After(20 * time.Second):
		t.Fatal("a service invoking itself in the background was never stopped")
	}
	if !strings.Contains(err.Error(), "more than 32 levels deep") || service.StatusOf(err) != 500 {
		t.Errorf("refusal: %v", err)
	}
	for want := 0; want <= invoke.MaxDepth; want++ {
		if got := <-depths; got != want {
			t.Fatalf("invocation %d ran at depth %d", want, got)
		}
	}
}

// No more than limits.max_async_invocations background invocations run at
// once; past it the caller gets a 503 error, and the room comes back as
// they end.
func TestInvokeAsyncBound(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) })
	var started sync.WaitGroup
	results := make(chan []int, 1)
	var refusal atomic.Value
	s := servertest.Start(t, servertest.Options{Settings: "limits:\n  max_async_invocations: 3\n", Services: []any{
		service.Func("t.hold", "", func(s *service.Context) error {
			started.Done()
			<-release
			return nil
		}),
		service.Func("t.spawn", "", func(s *service.Context) error {
			var statuses []int
			for range 5 {
				started.Add(1)
				if _, err := s.InvokeAsync("t.hold", nil); err != nil {
					started.Done()
					refusal.Store(err.Error())
					statuses = append(statuses, service.StatusOf(err))
					continue
				}
				statuses = append(statuses, 200)
			}
			results <- statuses
			return nil
		}),
	}})
	s.Channel("t.spawn", "t.spawn", "", "/t.spawn", nil)
	s.Call("GET", "/t.spawn", "", nil)
	if got := fmt.Sprint(<-results); got != "[200 200 200 503 503]" {
		t.Fatalf("five background invocations with room for three: %s", got)
	}
	started.Wait()
	if msg := refusal.Load().(string); !strings.Contains(msg, "Too much background work is running; try again later") ||
		!strings.Contains(msg, "3 background invocations are running, the most limits.max_async_invocations allows") {
		t.Errorf("refusal: %s", msg)
	}
	once.Do(func() { close(release) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Once they ended there is room again.
	for {
		s.Call("GET", "/t.spawn", "", nil)
		got := fmt.Sprint(<-results)
		if strings.HasPrefix(got, "[200 200 200 ") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("no room after the background invocations ended: %s", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	started.Wait()
}

// A service that invokes itself twice in the background, the classic
// fork bomb, ends, in Go as in Starlark: the bound caps the goroutines, and
// the refusals and the depth cap the tree.
func TestInvokeAsyncForkBomb(t *testing.T) {
	const bound = 50
	var runs atomic.Int64
	s := servertest.Start(t, servertest.Options{Settings: fmt.Sprintf("limits:\n  max_async_invocations: %d\n", bound), Services: []any{
		service.Func("t.fork", "", func(s *service.Context) error {
			runs.Add(1)
			if _, err := s.InvokeAsync("t.fork", nil); err != nil {
				return err
			}
			_, err := s.InvokeAsync("t.fork", nil)
			return err
		}),
	}})
	s.Channel("t.fork", "t.fork", "", "/t.fork", nil)
	req, _ := json.Marshal(admin.DeployRequest{Files: []admin.SourceFile{{File: "fork.star", Source: `
def handle(self):
    self.invoke_async(self.name)
    self.invoke_async(self.name)
`}}})
	if r := s.AdminCall("POST", admin.Prefix+"/deploy", string(req)); r.StatusCode != 200 {
		t.Fatalf("deploying: %d %s", r.StatusCode, r.Body)
	}
	s.Channel("fork", "fork", "", "/fork", nil)
	for _, path := range []string{"/t.fork", "/fork"} {
		t.Run(path, func(t *testing.T) {
			base := goruntime.NumGoroutine()
			var peak atomic.Int64
			stop, sampled := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(sampled)
				for {
					if n := int64(goruntime.NumGoroutine()); n > peak.Load() {
						peak.Store(n)
					}
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
				}
			}()
			// The first invocation's own second fork may already find the
			// bound reached by the first one's descendants: 503 then.
			if r := s.Call("GET", path, "", nil); r.StatusCode != 200 && r.StatusCode != 503 {
				t.Fatalf("the first invocation: %d %s", r.StatusCode, r.Body)
			}
			err := waitAsync(s, 60*time.Second)
			close(stop)
			<-sampled
			if err != nil {
				t.Fatalf("the fork bomb did not end: %v", err)
			}
			// The HTTP client and server add a few goroutines of their own.
			if p := peak.Load(); p > int64(base+bound+20) {
				t.Errorf("%d goroutines at the peak, %d before: more than the bound of %d background invocations", p, base, bound)
			}
			t.Logf("at most %d goroutines (%d before)", peak.Load(), base)
		})
	}
	s.Log.WaitFor(t, "service=fork", "status=503", "background invocations are running, the most limits.max_async_invocations allows")
	t.Logf("%d runs of the Go service", runs.Load())
}

// waitAsync waits until no background invocation runs, or returns an
// error after timeout.
func waitAsync(s *servertest.Server, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for s.Invoker.Running() > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d background invocations still running after %s", s.Invoker.Running(), timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// Shutdown refuses new background invocations at once, waits for those
// running at most until its context ends, and does not wait for a
// scheduler job run that ignores its cancellation either.
func TestShutdownBoundsBackgroundWork(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	running := make(chan string, 2)
	stubborn := func(s *service.Context) error {
		running <- s.Channel.Type
		<-release // ignores the context: only the test ends it
		return nil
	}
	s := servertest.Start(t, servertest.Options{Services: []any{
		service.Func("t.stubborn", "", stubborn),
		service.Func("t.stubborn-job", "", stubborn),
		service.Func("t.start", "", func(s *service.Context) error {
			_, err := s.InvokeAsync("t.stubborn", nil)
			return err
		}),
	}})
	s.Channel("t.start", "t.start", "", "/t.start", nil)
	s.Put("scheduler", "stubborn", map[string]any{"service": "t.stubborn-job", "job_type": "interval_based", "hours": 1, "is_active": false})
	if r := s.Call("GET", "/t.start", "", nil); r.StatusCode != 200 {
		t.Fatalf("start: %d %s", r.StatusCode, r.Body)
	}
	if _, err := s.Scheduler.Execute("stubborn"); err != nil {
		t.Fatal(err)
	}
	got := []string{<-running, <-running}
	slices.Sort(got)
	if fmt.Sprint(got) != "[invoke-async scheduler]" {
		t.Fatalf("running: %v", got)
	}

	s.Invoker.Close()
	if r := s.Call("GET", "/t.start", "", nil); r.StatusCode != 503 || !strings.Contains(string(r.Body), "The server is shutting down") {
		t.Errorf("background invocation while shutting down: %d %s", r.StatusCode, r.Body)
	}

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		done <- s.Shutdown(ctx)
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "background invocations: 1 still running") ||
			!strings.Contains(err.Error(), "waiting for scheduler job runs") {
			t.Errorf("shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("shutdown waited for background work past its deadline")
	}
}
