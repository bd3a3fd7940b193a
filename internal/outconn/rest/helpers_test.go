package rest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/sdk/service"
)

// seen is one request a backend received.
type seen struct {
	Method     string
	RequestURI string
	Header     http.Header
	Body       string
	At         time.Time
}

// backend is a real local HTTP server that records what it receives and
// answers with its handler (by default a JSON echo of the request).
type backend struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []seen
	handler atomic.Pointer[http.HandlerFunc]
	// accepted counts the TCP connections that carried a request (not the
	// connection's reachability probes, which send nothing); open those
	// not closed yet.
	accepted, open atomic.Int64
	active         sync.Map // net.Conn that carried a request
	// busy counts the connections that carried a request and are still
	// open; peak is the most there were at once.
	busy, peak atomic.Int64
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(b.serve))
	b.Config.ConnState = b.connState
	b.Start()
	t.Cleanup(b.Close)
	return b
}

func (b *backend) connState(c net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		b.open.Add(1)
	case http.StateActive:
		if _, seen := b.active.LoadOrStore(c, true); !seen {
			b.accepted.Add(1)
			n := b.busy.Add(1)
			for p := b.peak.Load(); n > p && !b.peak.CompareAndSwap(p, n); p = b.peak.Load() {
			}
		}
	case http.StateClosed, http.StateHijacked:
		b.open.Add(-1)
		if _, was := b.active.LoadAndDelete(c); was {
			b.busy.Add(-1)
		}
	}
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.reqs = append(b.reqs, seen{Method: r.Method, RequestURI: r.RequestURI, Header: r.Header.Clone(), Body: string(body), At: time.Now()})
	b.mu.Unlock()
	if h := b.handler.Load(); h != nil {
		(*h)(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "uri": r.RequestURI, "body": string(body)})
}

// handle replaces the backend's answer.
func (b *backend) handle(h http.HandlerFunc) { b.handler.Store(&h) }

// last returns the last request received.
func (b *backend) last(t *testing.T) seen {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reqs) == 0 {
		t.Fatal("the backend received nothing")
	}
	return b.reqs[len(b.reqs)-1]
}

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.reqs)
}

func (b *backend) all() []seen {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]seen(nil), b.reqs...)
}

// callService calls the connection its input names with the verb, data,
// params and headers it names, and returns what it got back (without the
// parsed data when no_data is true).
var callService = service.Func("test.call", "Calls an outgoing REST connection.", func(s *service.Context) error {
	in := s.Request.Input
	conn := s.Out().REST(in.String("conn"))
	params, _ := in["params"].(map[string]any)
	var opts []service.CallOption
	if h, ok := in["headers"].(map[string]any); ok {
		hs := map[string]string{}
		for k, v := range h {
			hs[k] = fmt.Sprint(v)
		}
		opts = append(opts, service.Headers(hs))
	}
	data := in["data"]
	cid := s.CID
	var resp *service.RESTResponse
	var err error
	switch in.String("method") {
	case "GET":
		resp, err = conn.Get(cid, params, opts...)
	case "HEAD":
		resp, err = conn.Head(cid, params, opts...)
	case "OPTIONS":
		resp, err = conn.Options(cid, params, opts...)
	case "DELETE":
		resp, err = conn.Delete(cid, params, opts...)
	case "POST":
		resp, err = conn.Post(cid, data, params, opts...)
	case "SEND":
		resp, err = conn.Send(cid, data, params, opts...)
	case "PUT":
		resp, err = conn.Put(cid, data, params, opts...)
	case "PATCH":
		resp, err = conn.Patch(cid, data, params, opts...)
	case "PING":
		resp, err = conn.Ping(cid)
	default:
		resp, err = conn.Call(in.String("method"), cid, data, params, opts...)
	}
	if err != nil {
		return err
	}
	var d any
	if in["no_data"] != true {
		if d, err = resp.Data(); err != nil {
			return err
		}
	}
	hdr := map[string]string{}
	for k := range resp.Header {
		hdr[k] = resp.Header.Get(k)
	}
	s.Response.Payload = map[string]any{"status": resp.StatusCode, "ok": resp.OK(), "text": resp.Text(), "data": d, "headers": hdr, "connection": resp.Connection}
	return nil
})

// proxyService answers GET /proxy/{id} with what the connection "Backend"
// answers for the same id: the benchmarks' channel → service → outgoing
// REST path.
var proxyService = service.Func("test.proxy", "Proxies to the connection Backend.", func(s *service.Context) error {
	resp, err := s.Out().REST("Backend").Get(s.CID, map[string]any{"id": s.Request.HTTP.Params["id"]})
	if err != nil {
		return err
	}
	s.Response.StatusCode = resp.StatusCode
	s.Response.ContentType = resp.Header.Get("Content-Type")
	s.Response.Payload = resp.Body
	return nil
})

// start starts a server with the test services on channels /call and
// /proxy/{id}.
func start(t testing.TB) *servertest.Server {
	t.Helper()
	s := servertest.Start(t, servertest.Options{Services: []any{callService, proxyService}})
	s.Channel("call", "test.call", "POST", "/call", nil)
	s.Channel("proxy", "test.proxy", "GET", "/proxy/{id}", nil)
	return s
}

// putConn creates or replaces an outgoing REST connection.
func putConn(t testing.TB, s *servertest.Server, name string, obj map[string]any) {
	t.Helper()
	putObject(t, s, "outgoing_rest", name, obj)
}

func putObject(t testing.TB, s *servertest.Server, kind, name string, obj map[string]any) {
	t.Helper()
	data, _ := json.Marshal(obj)
	r := s.AdminCall("PUT", admin.Prefix+"/objects/"+kind+"/"+url.PathEscape(name), string(data))
	if r.StatusCode != http.StatusOK && r.StatusCode != http.StatusCreated {
		t.Fatalf("PUT %s %s: %d %s", kind, name, r.StatusCode, r.Body)
	}
}

// call invokes test.call through its channel and returns the status and
// the decoded answer.
func call(t testing.TB, s *servertest.Server, in map[string]any) (int, map[string]any, *servertest.Response) {
	t.Helper()
	data, _ := json.Marshal(in)
	r := s.Call("POST", "/call", string(data), http.Header{"Content-Type": {"application/json"}})
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("answer is not JSON: %d %s", r.StatusCode, r.Body)
	}
	return r.StatusCode, m, r
}

func mustContain(t testing.TB, what, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s lacks %q:\n%s", what, p, s)
		}
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func jsonString(v any) (string, error) {
	data, err := json.Marshal(v)
	return string(data), err
}
