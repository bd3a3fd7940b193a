package debugger_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-dap"

	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/server"
	"github.com/plexushq/plexus/internal/servertest"
)

// client is a DAP client over TCP, as an IDE is.
type client struct {
	t      *testing.T
	conn   net.Conn
	r      *bufio.Reader
	seq    int
	events []dap.EventMessage
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	return &client{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func request(command string) dap.Request {
	return dap.Request{ProtocolMessage: dap.ProtocolMessage{Type: "request"}, Command: command}
}

// do sends a request and returns its response, keeping the events that
// come before it.
func (c *client) do(m dap.RequestMessage) dap.ResponseMessage {
	c.t.Helper()
	c.seq++
	m.GetRequest().Seq = c.seq
	if err := dap.WriteProtocolMessage(c.conn, m); err != nil {
		c.t.Fatal(err)
	}
	for {
		msg, err := dap.ReadProtocolMessage(c.r)
		if err != nil {
			c.t.Fatalf("reading the answer to %s: %v", m.GetRequest().Command, err)
		}
		switch x := msg.(type) {
		case dap.EventMessage:
			c.events = append(c.events, x)
		case dap.ResponseMessage:
			if x.GetResponse().RequestSeq == c.seq {
				return x
			}
		}
	}
}

// ok sends a request that must succeed.
func (c *client) ok(m dap.RequestMessage) dap.ResponseMessage {
	c.t.Helper()
	r := c.do(m)
	if !r.GetResponse().Success {
		c.t.Fatalf("%s failed: %s", m.GetRequest().Command, r.GetResponse().Message)
	}
	return r
}

// stopped waits for a stopped event.
func (c *client) stopped() dap.StoppedEventBody {
	c.t.Helper()
	for {
		for i, e := range c.events {
			if s, ok := e.(*dap.StoppedEvent); ok {
				c.events = append(c.events[:i:i], c.events[i+1:]...)
				return s.Body
			}
		}
		msg, err := dap.ReadProtocolMessage(c.r)
		if err != nil {
			c.t.Fatalf("waiting to stop: %v", err)
		}
		if e, ok := msg.(dap.EventMessage); ok {
			c.events = append(c.events, e)
		}
	}
}

func (c *client) attach(password string) dap.ResponseMessage {
	c.ok(&dap.InitializeRequest{Request: request("initialize"), Arguments: dap.InitializeRequestArguments{AdapterID: "plexus"}})
	args, _ := json.Marshal(map[string]any{"password": password, "pathMappings": []any{map[string]string{"localRoot": "/home/me/services", "remoteRoot": "."}}})
	return c.do(&dap.AttachRequest{Request: request("attach"), Arguments: args})
}

// top returns the top frame of a stopped thread.
func (c *client) top(thread int) dap.StackFrame {
	c.t.Helper()
	st := c.ok(&dap.StackTraceRequest{Request: request("stackTrace"), Arguments: dap.StackTraceArguments{ThreadId: thread}}).(*dap.StackTraceResponse)
	if len(st.Body.StackFrames) == 0 {
		c.t.Fatal("no frames")
	}
	return st.Body.StackFrames[0]
}

func (c *client) eval(frame int, expr string) string {
	c.t.Helper()
	r := c.ok(&dap.EvaluateRequest{Request: request("evaluate"), Arguments: dap.EvaluateArguments{Expression: expr, FrameId: frame}})
	return r.(*dap.EvaluateResponse).Body.Result
}

func (c *client) vars(ref int) map[string]dap.Variable {
	c.t.Helper()
	r := c.ok(&dap.VariablesRequest{Request: request("variables"), Arguments: dap.VariablesArguments{VariablesReference: ref}})
	out := map[string]dap.Variable{}
	for _, v := range r.(*dap.VariablesResponse).Body.Variables {
		out[v.Name] = v
	}
	return out
}

const svc = `def total(items):
    s = 0
    for i in items:
        s += i
    return s

def handle(self):
    items = self.request.input["items"]
    t = total(items)
    self.response.payload = {"total": t, "cid": self.cid}
`

// A DAP session against a real server: breakpoints in a .star file, the
// invocation stopped on the line while other requests are served, locals,
// self, evaluate, step into, over and out, continue and disconnect.
func TestDebugSession(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Settings: "development: true\ndebug_listen: 127.0.0.1:0\n"})
	s.Deploy("billing/dbg.star", svc)
	s.Channel("dbg", "billing.dbg", "", "/dbg", nil)
	s.Channel("ping", "plexus.ping", "", "/ping", nil)
	addr := s.DebugAddr()
	if addr == "" {
		t.Fatal("no debugger")
	}

	// A wrong password ends the session.
	bad := dial(t, addr)
	if r := bad.attach("wrong"); r.GetResponse().Success || !strings.Contains(r.GetResponse().Message, "wrong admin password") {
		t.Fatalf("attach with a wrong password: %+v", r.GetResponse())
	}
	if _, err := dap.ReadProtocolMessage(bad.r); err == nil {
		t.Fatal("the session goes on after a wrong password")
	}

	// An endless header is cut off.
	flood := dial(t, addr)
	go flood.conn.Write([]byte(strings.Repeat("a", 5<<20)))
	if _, err := dap.ReadProtocolMessage(flood.r); err == nil {
		t.Fatal("the session goes on after an endless header")
	}

	c := dial(t, addr)
	if r := c.attach(servertest.Password); !r.GetResponse().Success {
		t.Fatalf("attach: %s", r.GetResponse().Message)
	}
	path := "/home/me/services/billing/dbg.star"
	bp := c.ok(&dap.SetBreakpointsRequest{Request: request("setBreakpoints"), Arguments: dap.SetBreakpointsArguments{
		Source: dap.Source{Path: path}, Breakpoints: []dap.SourceBreakpoint{{Line: 9}}}}).(*dap.SetBreakpointsResponse)
	if len(bp.Body.Breakpoints) != 1 || !bp.Body.Breakpoints[0].Verified {
		t.Fatalf("breakpoints: %+v", bp.Body)
	}
	c.ok(&dap.ConfigurationDoneRequest{Request: request("configurationDone")})

	answered := make(chan string, 1)
	go func() {
		r := servertest.Do(t, "POST", s.API+"/dbg", `{"items": [1, 2, 3]}`, nil)
		answered <- fmt.Sprintf("%d %s", r.StatusCode, r.Body)
	}()
	stop := c.stopped()
	if stop.Reason != "breakpoint" {
		t.Fatalf("stopped: %+v", stop)
	}
	// Other requests are served meanwhile.
	if r := s.Call("GET", "/ping", "", nil); r.StatusCode != 200 {
		t.Errorf("ping while stopped: %d", r.StatusCode)
	}
	select {
	case a := <-answered:
		t.Fatalf("the stopped request was answered: %s", a)
	default:
	}
	threads := c.ok(&dap.ThreadsRequest{Request: request("threads")}).(*dap.ThreadsResponse)
	if len(threads.Body.Threads) != 2 || !strings.HasPrefix(threads.Body.Threads[1].Name, "billing.dbg (cid ") {
		t.Errorf("threads: %+v", threads.Body.Threads)
	}

	fr := c.top(stop.ThreadId)
	if fr.Name != "handle" || fr.Line != 9 || fr.Source.Path != path {
		t.Fatalf("top frame: %+v %+v", fr, fr.Source)
	}
	scopes := c.ok(&dap.ScopesRequest{Request: request("scopes"), Arguments: dap.ScopesArguments{FrameId: fr.Id}}).(*dap.ScopesResponse).Body.Scopes
	if len(scopes) != 3 || scopes[0].Name != "Locals" || scopes[1].Name != "self" {
		t.Fatalf("scopes: %+v", scopes)
	}
	locals := c.vars(scopes[0].VariablesReference)
	if locals["items"].Value != "[1, 2, 3]" || locals["self"].Type != "self" {
		t.Errorf("locals: %+v", locals)
	}
	if items := c.vars(locals["items"].VariablesReference); items["2"].Value != "3" {
		t.Errorf("items: %+v", items)
	}
	self := c.vars(scopes[1].VariablesReference)
	req := c.vars(self["request"].VariablesReference)
	if self["cid"].Value == "" || self["response"].VariablesReference == 0 || !strings.Contains(req["payload"].Value, `"items": [1, 2, 3]`) {
		t.Errorf("self: %+v request: %+v", self, req)
	}
	if got := c.eval(fr.Id, "len(items) * 10"); got != "30" {
		t.Errorf("evaluate: %s", got)
	}
	if got := c.eval(fr.Id, `self.request.input["items"][-1]`); got != "3" {
		t.Errorf("evaluate self: %s", got)
	}
	if r := c.do(&dap.EvaluateRequest{Request: request("evaluate"), Arguments: dap.EvaluateArguments{Expression: "nope +", FrameId: fr.Id}}); r.GetResponse().Success {
		t.Errorf("a bad expression evaluated")
	}

	// Step into total, over its lines, out of it.
	c.ok(&dap.StepInRequest{Request: request("stepIn"), Arguments: dap.StepInArguments{ThreadId: stop.ThreadId}})
	stop = c.stopped()
	if fr := c.top(stop.ThreadId); stop.Reason != "step" || fr.Name != "total" || fr.Line != 2 {
		t.Fatalf("step in: %+v %+v", stop, fr)
	}
	c.ok(&dap.NextRequest{Request: request("next"), Arguments: dap.NextArguments{ThreadId: stop.ThreadId}})
	stop = c.stopped()
	if fr := c.top(stop.ThreadId); fr.Name != "total" || fr.Line != 3 {
		t.Fatalf("next: %+v", fr)
	}
	c.ok(&dap.NextRequest{Request: request("next"), Arguments: dap.NextArguments{ThreadId: stop.ThreadId}})
	stop = c.stopped()
	fr = c.top(stop.ThreadId)
	if fr.Line != 4 || c.eval(fr.Id, "s") != "0" || c.eval(fr.Id, "i") != "1" {
		t.Fatalf("next into the loop: %+v", fr)
	}
	c.ok(&dap.StepOutRequest{Request: request("stepOut"), Arguments: dap.StepOutArguments{ThreadId: stop.ThreadId}})
	stop = c.stopped()
	fr = c.top(stop.ThreadId)
	if fr.Name != "handle" || fr.Line != 10 || c.eval(fr.Id, "t") != "6" {
		t.Fatalf("step out: %+v", fr)
	}

	c.ok(&dap.ContinueRequest{Request: request("continue"), Arguments: dap.ContinueArguments{ThreadId: stop.ThreadId}})
	if a := <-answered; !strings.HasPrefix(a, `200 {"cid":`) || !strings.HasSuffix(a, `"total":6}`) {
		t.Errorf("answer: %s", a)
	}

	// After disconnecting, breakpoints are gone.
	c.ok(&dap.DisconnectRequest{Request: request("disconnect")})
	if r := s.Call("POST", "/dbg", `{"items": [4]}`, nil); r.StatusCode != 200 {
		t.Errorf("after disconnect: %d %s", r.StatusCode, r.Body)
	}
}

// The debugger runs in development mode only.
func TestDebugOnlyInDevelopment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "env")
	if _, err := envdir.Create(dir); err != nil {
		t.Fatal(err)
	}
	_, err := server.Open(context.Background(), server.Options{Dir: dir, Debug: "127.0.0.1:0", LogOutput: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "the debugger runs in development mode only") {
		t.Fatalf("--debug without development mode: %v", err)
	}
	if s := servertest.Start(t, servertest.Options{}); s.DebugAddr() != "" {
		t.Fatal("a debugger without debug_listen")
	}
}

// Pausing the server stops the next invocation at its first statement,
// and a breakpoint in a branch stops only when the branch runs.
func TestDebugPauseAndBranches(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Settings: "development: true\ndebug_listen: 127.0.0.1:0\n"})
	s.Deploy("branches.star", `def handle(self):
    n = int(self.request.input.get("n", 0))
    if n > 10:
        kind = "big"
    elif n > 5:
        kind = "medium"
    else:
        kind = "small"
    self.response.payload = {"kind": kind}
`)
	s.Channel("branches", "branches", "", "/branches", nil)
	c := dial(t, s.DebugAddr())
	if r := c.attach(servertest.Password); !r.GetResponse().Success {
		t.Fatal(r.GetResponse().Message)
	}
	c.ok(&dap.SetBreakpointsRequest{Request: request("setBreakpoints"), Arguments: dap.SetBreakpointsArguments{
		Source: dap.Source{Path: "/src/branches.star"}, Breakpoints: []dap.SourceBreakpoint{{Line: 6}}}})
	c.ok(&dap.PauseRequest{Request: request("pause"), Arguments: dap.PauseArguments{ThreadId: 1}})

	answered := make(chan string, 3)
	call := func(n int) {
		r := servertest.Do(t, "GET", fmt.Sprintf("%s/branches?n=%d", s.API, n), "", nil)
		answered <- string(r.Body)
	}
	go call(20)
	stop := c.stopped()
	if fr := c.top(stop.ThreadId); stop.Reason != "pause" || fr.Line != 2 {
		t.Fatalf("pause: %+v %+v", stop, fr)
	}
	c.ok(&dap.ContinueRequest{Request: request("continue"), Arguments: dap.ContinueArguments{ThreadId: stop.ThreadId}})
	if a := <-answered; a != `{"kind":"big"}` {
		t.Errorf("big: %s", a)
	}
	// The breakpoint's branch does not run for n = 1: no stop.
	go call(1)
	if a := <-answered; a != `{"kind":"small"}` {
		t.Errorf("small: %s", a)
	}
	go call(7)
	stop = c.stopped()
	fr := c.top(stop.ThreadId)
	if stop.Reason != "breakpoint" || fr.Line != 6 || c.eval(fr.Id, "n") != "7" {
		t.Fatalf("medium: %+v %+v", stop, fr)
	}
	c.ok(&dap.NextRequest{Request: request("next"), Arguments: dap.NextArguments{ThreadId: stop.ThreadId}})
	stop = c.stopped()
	if fr := c.top(stop.ThreadId); fr.Line != 9 {
		t.Fatalf("next after the branch: line %d", fr.Line)
	}
	resp := c.ok(&dap.ScopesRequest{Request: request("scopes"), Arguments: dap.ScopesArguments{FrameId: c.top(stop.ThreadId).Id}}).(*dap.ScopesResponse)
	if v := c.vars(resp.Body.Scopes[0].VariablesReference); v["kind"].Value != `"medium"` {
		t.Errorf("locals: %+v", v)
	}
	c.ok(&dap.ContinueRequest{Request: request("continue"), Arguments: dap.ContinueArguments{ThreadId: stop.ThreadId}})
	if a := <-answered; a != `{"kind":"medium"}` {
		t.Errorf("medium: %s", a)
	}
}

// An address without a host is on the loopback interface.
func TestDebugLoopbackByDefault(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Settings: "development: true\ndebug_listen: \":0\"\n"})
	if host, _, _ := net.SplitHostPort(s.DebugAddr()); host != "127.0.0.1" {
		t.Errorf("the debugger listens on %s", s.DebugAddr())
	}
}
