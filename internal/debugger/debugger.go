// Package debugger serves the Debug Adapter Protocol for Starlark
// services: a client (VS Code, any DAP client) attaches with the admin
// password, sets breakpoints in .star files, and each invocation that
// reaches one stops there — its locals, self.request and self.response
// shown, expressions evaluated, stepped over, into and out of — while
// every other request keeps being served. It runs in development mode
// only (plexus start --debug ADDR).
//
// One client is attached at a time. Each invocation of a Starlark service
// is a DAP thread, numbered from 2; thread 1 stands for the server, and
// pausing it stops the next invocation that runs a statement.
package debugger

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-dap"
	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/starlark"
)

// Bounds of what a client is shown.
const (
	// MaxChildren is how many elements of a list, dict or object the
	// variables view shows.
	MaxChildren = 100
	// MaxValue is how many characters of a value are shown.
	MaxValue = 1000
	// MaxMessage bounds what a client may send before a message ends.
	MaxMessage = 4<<20 + 4<<10
	// AttachWithin is how long a client has to attach before it is
	// disconnected.
	AttachWithin = 30 * time.Second
)

// serverThread is the DAP thread that stands for the server.
const serverThread = 1

// Options configure a Debugger.
type Options struct {
	// Compiler compiles the services debugged; the Debugger calls its
	// Debug before any file is compiled.
	Compiler *starlark.Compiler
	// Admit checks the admin password a client attaches with, from the
	// client's address.
	Admit  func(ctx context.Context, addr netip.Addr, password string) bool
	Logger *slog.Logger
}

// Debugger is the DAP server. It is safe for concurrent use.
type Debugger struct {
	opts     Options
	attached atomic.Bool

	mu          sync.Mutex
	sess        *session
	breakpoints map[string]map[int]bool // by the client's path
	localRoot   string
	threads     map[*sl.Thread]*thread
	byID        map[int]*thread
	nextID      int
	pauseNext   bool
	refs        map[int]ref
	nextRef     int
	ln          net.Listener
	closed      bool
}

// thread is one invocation of a service.
type thread struct {
	id     int
	st     *sl.Thread
	inv    *starlark.Invocation
	mode   int
	depth  int // the call depth it stopped at
	resume chan struct{}
}

// Stepping modes.
const (
	running = iota
	stepIn
	stepOver
	stepOut
	pausing
)

// New returns a debugger and makes opts.Compiler instrument what it
// compiles.
func New(opts Options) *Debugger {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Debugger{opts: opts, breakpoints: map[string]map[int]bool{}, threads: map[*sl.Thread]*thread{},
		byID: map[int]*thread{}, nextID: serverThread + 1, refs: map[int]ref{}, nextRef: 1}
	opts.Compiler.Debug(d)
	return d
}

// Serve accepts clients on ln until Close.
func (d *Debugger) Serve(ln net.Listener) error {
	d.mu.Lock()
	d.ln = ln
	d.mu.Unlock()
	for {
		conn, err := ln.Accept()
		if err != nil {
			d.mu.Lock()
			closed := d.closed
			d.mu.Unlock()
			if closed {
				return nil
			}
			return err
		}
		go d.serveConn(conn)
	}
}

// Close stops accepting clients, detaches the one attached and lets every
// stopped invocation go on.
func (d *Debugger) Close() {
	d.mu.Lock()
	d.closed = true
	ln, sess := d.ln, d.sess
	d.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	if sess != nil {
		sess.conn.Close()
	}
}

// Line implements starlark.Debugger: it stops the invocation at a
// breakpoint, after a step or when paused, until the client resumes it or
// the request ends.
func (d *Debugger) Line(st *sl.Thread) {
	if !d.attached.Load() {
		return
	}
	fr := st.DebugFrame(1)
	pos := fr.Position()
	depth := st.CallStackDepth()
	d.mu.Lock()
	t := d.threads[st]
	if t == nil {
		t = &thread{id: d.nextID, st: st, inv: starlark.InvocationOf(st)}
		d.nextID++
		d.threads[st], d.byID[t.id] = t, t
	}
	reason := ""
	switch {
	case d.pauseNext || t.mode == pausing:
		reason, d.pauseNext = "pause", false
	case t.mode == stepIn, t.mode == stepOver && depth <= t.depth, t.mode == stepOut && depth < t.depth:
		reason = "step"
	case d.breakpointAt(pos.Filename(), int(pos.Line)):
		reason = "breakpoint"
	}
	sess := d.sess
	if reason == "" || sess == nil {
		d.mu.Unlock()
		return
	}
	t.mode, t.depth, t.resume = running, depth, make(chan struct{})
	resume := t.resume
	d.mu.Unlock()
	sess.send(&dap.StoppedEvent{Event: event("stopped"), Body: dap.StoppedEventBody{
		Reason: reason, ThreadId: t.id, Description: fmt.Sprintf("%s (cid %s) at %s:%d", t.inv.Service, t.inv.CID, pos.Filename(), pos.Line)}})
	select {
	case <-resume:
	case <-t.inv.Context.Done():
	}
	d.mu.Lock()
	d.forget(t.id)
	t.resume = nil
	d.mu.Unlock()
}

// Done implements starlark.Debugger.
func (d *Debugger) Done(st *sl.Thread) {
	d.mu.Lock()
	t := d.threads[st]
	if t != nil {
		delete(d.threads, st)
		delete(d.byID, t.id)
		d.forget(t.id)
	}
	sess := d.sess
	d.mu.Unlock()
	if t != nil && sess != nil {
		sess.send(&dap.ThreadEvent{Event: event("thread"), Body: dap.ThreadEventBody{Reason: "exited", ThreadId: t.id}})
	}
}

// breakpointAt reports whether a client's breakpoint is at a line of a
// deployed file: the client's path is the file's, or ends with it.
func (d *Debugger) breakpointAt(file string, line int) bool {
	for p, lines := range d.breakpoints {
		if lines[line] && (p == file || strings.HasSuffix(p, "/"+file)) {
			return true
		}
	}
	return false
}

// clientPath returns the path the client knows a deployed file by.
func (d *Debugger) clientPath(file string) string {
	for p := range d.breakpoints {
		if p == file || strings.HasSuffix(p, "/"+file) {
			return p
		}
	}
	if d.localRoot != "" {
		return path.Join(d.localRoot, file)
	}
	return file
}

// detach forgets the client's breakpoints and lets every stopped
// invocation go on.
func (d *Debugger) detach(s *session) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sess != s {
		return
	}
	d.sess = nil
	d.attached.Store(false)
	clear(d.breakpoints)
	d.pauseNext = false
	for _, t := range d.byID {
		t.mode = running
		if t.resume != nil {
			close(t.resume)
			t.resume = nil
		}
	}
	clear(d.refs)
}

// ref is what a variablesReference stands for: the locals or globals of
// a frame, or a value.
type ref struct {
	thread int
	depth  int
	kind   int
	v      sl.Value
}

const (
	refLocals = iota
	refGlobals
	refValue
	refFrame
)

// newRef allocates a reference, under d.mu.
func (d *Debugger) newRef(r ref) int {
	id := d.nextRef
	d.nextRef++
	d.refs[id] = r
	return id
}

// forget drops the references of a thread that goes on, under d.mu.
func (d *Debugger) forget(id int) {
	for k, r := range d.refs {
		if r.thread == id {
			delete(d.refs, k)
		}
	}
}

// session is one attached client.
type session struct {
	d      *Debugger
	conn   net.Conn
	addr   netip.Addr
	r      *bufio.Reader
	wmu    sync.Mutex
	seq    int
	authed bool
}

func (s *session) send(m dap.Message) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.seq++
	switch x := m.(type) {
	case dap.ResponseMessage:
		x.GetResponse().Seq = s.seq
	case dap.EventMessage:
		x.GetEvent().Seq = s.seq
	}
	dap.WriteProtocolMessage(s.conn, m)
}

func event(name string) dap.Event {
	return dap.Event{ProtocolMessage: dap.ProtocolMessage{Type: "event"}, Event: name}
}

func response(req *dap.Request) dap.Response {
	return dap.Response{ProtocolMessage: dap.ProtocolMessage{Type: "response"}, Command: req.Command, RequestSeq: req.Seq, Success: true}
}

func (s *session) fail(req *dap.Request, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r := response(req)
	r.Success, r.Message = false, msg
	s.send(&dap.ErrorResponse{Response: r, Body: dap.ErrorResponseBody{Error: &dap.ErrorMessage{Format: msg, ShowUser: true}}})
}

func (d *Debugger) serveConn(conn net.Conn) {
	defer conn.Close()
	addr := netip.Addr{}
	if ap, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err == nil {
		addr = ap.Addr().Unmap()
	}
	in := &budget{r: conn}
	s := &session{d: d, conn: conn, addr: addr, r: bufio.NewReader(in)}
	defer d.detach(s)
	conn.SetReadDeadline(time.Now().Add(AttachWithin))
	for {
		in.left = MaxMessage
		msg, err := dap.ReadProtocolMessage(s.r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				d.opts.Logger.Info("debugger client went away", "client", addr.String(), "error", err.Error())
			}
			return
		}
		req, ok := msg.(dap.RequestMessage)
		if !ok {
			continue
		}
		if !s.handle(req) {
			return
		}
	}
}

// budget reads at most left bytes, so that a client cannot make the
// server buffer an endless header.
type budget struct {
	r    io.Reader
	left int64
}

var errTooLong = errors.New("message too long")

func (b *budget) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errTooLong
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// handle answers one request; false ends the session.
func (s *session) handle(m dap.RequestMessage) bool {
	d, req := s.d, m.GetRequest()
	switch r := m.(type) {
	case *dap.InitializeRequest:
		s.send(&dap.InitializeResponse{Response: response(req), Body: dap.Capabilities{
			SupportsConfigurationDoneRequest: true, SupportsEvaluateForHovers: true}})
		return true
	case *dap.AttachRequest:
		return s.attach(req, r.Arguments)
	case *dap.LaunchRequest:
		return s.attach(req, r.Arguments)
	case *dap.DisconnectRequest:
		d.detach(s)
		s.send(&dap.DisconnectResponse{Response: response(req)})
		return false
	}
	if !s.authed {
		s.fail(req, "attach with the admin password first")
		return true
	}
	switch r := m.(type) {
	case *dap.SetBreakpointsRequest:
		lines := map[int]bool{}
		var bps []dap.Breakpoint
		for _, b := range r.Arguments.Breakpoints {
			lines[b.Line] = true
			bps = append(bps, dap.Breakpoint{Verified: true, Line: b.Line, Source: &r.Arguments.Source})
		}
		d.mu.Lock()
		d.breakpoints[r.Arguments.Source.Path] = lines
		d.mu.Unlock()
		s.send(&dap.SetBreakpointsResponse{Response: response(req), Body: dap.SetBreakpointsResponseBody{Breakpoints: bps}})
	case *dap.SetExceptionBreakpointsRequest:
		s.send(&dap.SetExceptionBreakpointsResponse{Response: response(req)})
	case *dap.ConfigurationDoneRequest:
		s.send(&dap.ConfigurationDoneResponse{Response: response(req)})
	case *dap.ThreadsRequest:
		s.send(&dap.ThreadsResponse{Response: response(req), Body: dap.ThreadsResponseBody{Threads: d.threadList()}})
	case *dap.StackTraceRequest:
		frames, err := d.stack(r.Arguments.ThreadId)
		if err != nil {
			s.fail(req, "%v", err)
			break
		}
		s.send(&dap.StackTraceResponse{Response: response(req), Body: dap.StackTraceResponseBody{StackFrames: frames, TotalFrames: len(frames)}})
	case *dap.ScopesRequest:
		scopes, err := d.scopes(r.Arguments.FrameId)
		if err != nil {
			s.fail(req, "%v", err)
			break
		}
		s.send(&dap.ScopesResponse{Response: response(req), Body: dap.ScopesResponseBody{Scopes: scopes}})
	case *dap.VariablesRequest:
		vars, err := d.variables(r.Arguments.VariablesReference)
		if err != nil {
			s.fail(req, "%v", err)
			break
		}
		s.send(&dap.VariablesResponse{Response: response(req), Body: dap.VariablesResponseBody{Variables: vars}})
	case *dap.EvaluateRequest:
		body, err := d.evaluate(r.Arguments.FrameId, r.Arguments.Expression)
		if err != nil {
			s.fail(req, "%v", err)
			break
		}
		s.send(&dap.EvaluateResponse{Response: response(req), Body: body})
	case *dap.ContinueRequest:
		d.resume(r.Arguments.ThreadId, running)
		s.send(&dap.ContinueResponse{Response: response(req), Body: dap.ContinueResponseBody{AllThreadsContinued: false}})
	case *dap.NextRequest:
		d.resume(r.Arguments.ThreadId, stepOver)
		s.send(&dap.NextResponse{Response: response(req)})
	case *dap.StepInRequest:
		d.resume(r.Arguments.ThreadId, stepIn)
		s.send(&dap.StepInResponse{Response: response(req)})
	case *dap.StepOutRequest:
		d.resume(r.Arguments.ThreadId, stepOut)
		s.send(&dap.StepOutResponse{Response: response(req)})
	case *dap.PauseRequest:
		d.pause(r.Arguments.ThreadId)
		s.send(&dap.PauseResponse{Response: response(req)})
	default:
		s.fail(req, "%s is not supported", req.Command)
	}
	return true
}

// attachArgs are what attach (or launch) takes.
type attachArgs struct {
	Password     string `json:"password"`
	LocalRoot    string `json:"localRoot"`
	PathMappings []struct {
		LocalRoot string `json:"localRoot"`
	} `json:"pathMappings"`
}

func (s *session) attach(req *dap.Request, raw json.RawMessage) bool {
	var args attachArgs
	json.Unmarshal(raw, &args)
	d := s.d
	if !d.opts.Admit(context.Background(), s.addr, args.Password) {
		d.opts.Logger.Warn("debugger client refused", "client", s.addr.String(), "reason", "wrong admin password")
		s.fail(req, "wrong admin password: attach with {\"password\": …}, the admin password")
		return false
	}
	d.mu.Lock()
	if d.sess != nil && d.sess != s {
		d.mu.Unlock()
		s.fail(req, "another client is attached to the debugger")
		return false
	}
	d.sess, s.authed = s, true
	d.localRoot = args.LocalRoot
	if d.localRoot == "" && len(args.PathMappings) > 0 {
		d.localRoot = args.PathMappings[0].LocalRoot
	}
	d.attached.Store(true)
	d.mu.Unlock()
	s.conn.SetReadDeadline(time.Time{})
	d.opts.Logger.Info("debugger client attached", "client", s.addr.String())
	s.send(&dap.AttachResponse{Response: response(req)})
	s.send(&dap.InitializedEvent{Event: event("initialized")})
	return true
}

func (d *Debugger) threadList() []dap.Thread {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := []dap.Thread{{Id: serverThread, Name: "Plexus server"}}
	ids := make([]int, 0, len(d.byID))
	for id := range d.byID {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	for _, id := range ids {
		t := d.byID[id]
		out = append(out, dap.Thread{Id: id, Name: fmt.Sprintf("%s (cid %s)", t.inv.Service, t.inv.CID)})
	}
	return out
}

// stopped returns a stopped thread, under d.mu.
func (d *Debugger) stopped(id int) (*thread, error) {
	t := d.byID[id]
	if t == nil || t.resume == nil {
		return nil, fmt.Errorf("thread %d is not stopped", id)
	}
	return t, nil
}

func (d *Debugger) stack(id int) ([]dap.StackFrame, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, err := d.stopped(id)
	if err != nil {
		return nil, err
	}
	var out []dap.StackFrame
	for depth := 1; depth < t.st.CallStackDepth(); depth++ {
		fr := t.st.DebugFrame(depth)
		fn, ok := fr.Callable().(*sl.Function)
		if !ok {
			continue
		}
		pos := fr.Position()
		p := d.clientPath(pos.Filename())
		out = append(out, dap.StackFrame{Id: d.newRef(ref{thread: id, depth: depth, kind: refFrame}), Name: fn.Name(),
			Source: &dap.Source{Name: path.Base(p), Path: p}, Line: int(pos.Line), Column: int(pos.Col)})
	}
	return out, nil
}

// frame returns the thread and depth of a frame id, under d.mu.
func (d *Debugger) frame(id int) (*thread, int, error) {
	r, ok := d.refs[id]
	if !ok || r.kind != refFrame {
		return nil, 0, fmt.Errorf("no frame %d: the invocation went on", id)
	}
	t, err := d.stopped(r.thread)
	return t, r.depth, err
}

func (d *Debugger) scopes(frameID int) ([]dap.Scope, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, depth, err := d.frame(frameID)
	if err != nil {
		return nil, err
	}
	scopes := []dap.Scope{{Name: "Locals", PresentationHint: "locals", VariablesReference: d.newRef(ref{thread: t.id, depth: depth, kind: refLocals})}}
	fr := t.st.DebugFrame(depth)
	for i := range fr.NumLocals() {
		if b, v := fr.Local(i); b.Name == "self" && v != nil {
			scopes = append(scopes, dap.Scope{Name: "self", VariablesReference: d.newRef(ref{thread: t.id, kind: refValue, v: v})})
		}
	}
	scopes = append(scopes, dap.Scope{Name: "Globals", VariablesReference: d.newRef(ref{thread: t.id, depth: depth, kind: refGlobals}), Expensive: true})
	return scopes, nil
}

func (d *Debugger) variables(id int) ([]dap.Variable, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.refs[id]
	if !ok {
		return nil, fmt.Errorf("no variables %d: the invocation went on", id)
	}
	t, err := d.stopped(r.thread)
	if err != nil {
		return nil, err
	}
	var named []namedValue
	switch r.kind {
	case refLocals:
		fr := t.st.DebugFrame(r.depth)
		for i := range fr.NumLocals() {
			if b, v := fr.Local(i); v != nil {
				named = append(named, namedValue{b.Name, v})
			}
		}
	case refGlobals:
		fn := t.st.DebugFrame(r.depth).Callable().(*sl.Function)
		g := fn.Globals()
		for _, k := range g.Keys() {
			named = append(named, namedValue{k, g[k]})
		}
	case refValue:
		named = children(r.v)
	}
	out := make([]dap.Variable, 0, len(named))
	for _, n := range named {
		out = append(out, d.variable(t.id, n.name, n.v))
	}
	return out, nil
}

type namedValue struct {
	name string
	v    sl.Value
}

// variable describes a value, with a reference to its children when it
// has any, under d.mu.
func (d *Debugger) variable(thread int, name string, v sl.Value) dap.Variable {
	out := dap.Variable{Name: name, Value: show(v), Type: v.Type()}
	if hasChildren(v) {
		out.VariablesReference = d.newRef(ref{thread: thread, kind: refValue, v: v})
	}
	return out
}

// show returns a value's text, cut to MaxValue characters.
func show(v sl.Value) string {
	s := v.String()
	if r := []rune(s); len(r) > MaxValue {
		return string(r[:MaxValue]) + "…"
	}
	return s
}

func hasChildren(v sl.Value) bool {
	switch x := v.(type) {
	case sl.String, sl.Bytes, sl.Int, sl.Float, sl.Bool, sl.NoneType, sl.Callable:
		return false
	case sl.Indexable:
		return x.Len() > 0
	case sl.IterableMapping:
		return true
	case sl.HasAttrs:
		return len(x.AttrNames()) > 0
	}
	return false
}

// children returns the elements of a list or tuple, the entries of a
// dict, or the attributes of an object (self, self.request, …), at most
// MaxChildren.
func children(v sl.Value) []namedValue {
	var out []namedValue
	switch x := v.(type) {
	case sl.IterableMapping:
		for _, kv := range x.Items() {
			if len(out) == MaxChildren {
				break
			}
			out = append(out, namedValue{kv[0].String(), kv[1]})
		}
		return out
	case sl.Indexable:
		for i := range min(x.Len(), MaxChildren) {
			out = append(out, namedValue{fmt.Sprint(i), x.Index(i)})
		}
		return out
	case sl.HasAttrs:
		for _, name := range x.AttrNames() {
			if len(out) == MaxChildren {
				break
			}
			a, err := x.Attr(name)
			switch {
			case err != nil:
				a = sl.String("<" + err.Error() + ">")
			case a == nil:
				continue
			}
			if _, fn := a.(sl.Callable); fn {
				continue
			}
			out = append(out, namedValue{name, a})
		}
	}
	return out
}

func (d *Debugger) evaluate(frameID int, expr string) (dap.EvaluateResponseBody, error) {
	d.mu.Lock()
	t, depth, err := d.frame(frameID)
	d.mu.Unlock()
	if err != nil {
		return dap.EvaluateResponseBody{}, fmt.Errorf("evaluate needs a stopped frame: %w", err)
	}
	v, err := d.opts.Compiler.Eval(t.st, depth, expr)
	if err != nil {
		return dap.EvaluateResponseBody{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	vr := d.variable(t.id, expr, v)
	return dap.EvaluateResponseBody{Result: vr.Value, Type: vr.Type, VariablesReference: vr.VariablesReference}, nil
}

// resume lets a stopped thread go on in a mode: running to the next
// breakpoint, or stopping after a step.
func (d *Debugger) resume(id, mode int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.byID[id]
	if t == nil || t.resume == nil {
		return
	}
	t.mode = mode
	close(t.resume)
	t.resume = nil
	d.forget(id)
}

// pause stops a running thread at its next statement; the server thread
// stops the next invocation that runs one.
func (d *Debugger) pause(id int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t := d.byID[id]; t != nil {
		t.mode = pausing
		return
	}
	d.pauseNext = true
}
