package plexustest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/reply"
)

// Backend is a real HTTP server on a loopback port that stands in for a
// remote API: it records every request it receives and answers with the
// handlers given to Handle, or else 200 and an empty JSON object. Services
// reach it through an outgoing REST connection whose host is its URL (see
// Server.Backend). It is safe for concurrent use.
type Backend struct {
	// URL is the backend's base URL, such as http://127.0.0.1:40321.
	URL string

	srv      *httptest.Server
	mu       sync.Mutex
	requests []Request
	changed  chan struct{} // closed and replaced on every request
	handlers map[string]http.HandlerFunc
	mux      atomic.Pointer[http.ServeMux]
}

// Request is a request a Backend received.
type Request struct {
	Method string
	// Path is the path with the query string, as sent, such as
	// /api/billing/271637517?cust_id=39175.
	Path   string
	Header http.Header
	Body   []byte
	// CID is the X-Plexus-CID header: the cid of the request whose
	// service made the call.
	CID string
}

// NewBackend starts a backend that stops when the test ends.
func NewBackend(t testing.TB) *Backend {
	b := &Backend{handlers: map[string]http.HandlerFunc{}}
	b.mux.Store(http.NewServeMux())
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	b.URL = b.srv.URL
	t.Cleanup(b.srv.Close)
	return b
}

// Backend starts a backend and points the outgoing REST connection conn at
// it, creating or replacing the connection with its host set to the
// backend's URL and the other fields given (such as "url_path", default
// "/", "security" or "data_format"; nil: none).
func (s *Server) Backend(conn string, fields map[string]any) *Backend {
	s.t.Helper()
	b := NewBackend(s.t)
	obj := map[string]any{"host": b.URL, "url_path": "/"}
	for k, v := range fields {
		obj[k] = v
	}
	s.Put("outgoing_rest", conn, obj)
	return b
}

// Handle answers the requests that match pattern, a net/http ServeMux
// pattern such as "GET /api/customers/{id}", with h, instead of whatever
// handled that pattern before. See Reply.
func (b *Backend) Handle(pattern string, h http.HandlerFunc) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.handlers[pattern] = h
	mux := http.NewServeMux()
	for p, h := range b.handlers {
		mux.HandleFunc(p, h)
	}
	b.mux.Store(mux)
}

// Reply returns a handler that answers status and body, as JSON when body
// is JSON, else as text/plain.
func Reply(status int, body string) http.HandlerFunc {
	ctype := "text/plain; charset=utf-8"
	if json.Valid([]byte(body)) {
		ctype = "application/json"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func (b *Backend) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.requests = append(b.requests, Request{Method: r.Method, Path: r.RequestURI, Header: r.Header.Clone(), Body: body, CID: r.Header.Get(reply.CIDHeader)})
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	b.mu.Unlock()
	if h, pattern := b.mux.Load().Handler(r); pattern != "" {
		h.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, "{}")
}

// Requests returns the requests received so far, in order.
func (b *Backend) Requests() []Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Request(nil), b.requests...)
}

// wait waits until the backend has received n requests with a cid, and
// returns all of them with that cid, the ones received since included.
func (b *Backend) wait(timeout time.Duration, cid string, n int) []Request {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		var got []Request
		for _, r := range b.requests {
			if r.CID == cid {
				got = append(got, r)
			}
		}
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		changed := b.changed
		b.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-deadline.C:
			return got
		}
	}
}
