// Package servertest starts real Plexus servers for tests: a new
// environment in a temporary directory, listeners on free loopback ports,
// and helpers to call both listeners and to read the server's log.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/password"
	"github.com/plexushq/plexus/internal/server"
)

// Password is the admin password of test servers.
const Password = "test-password"

// argon2id is slow by design, above all under the race detector, so the
// test password is hashed once per process.
var (
	hashOnce     sync.Once
	passwordHash string
)

// Options configure a test server.
type Options struct {
	// Services are Go services to register.
	Services []any
	// Dir reuses an environment (for restarts); empty creates one.
	Dir string
	// Settings is written as plexus.yaml when the environment is created.
	Settings string
	// DB is a postgres:// URL; empty uses SQLite.
	DB string
}

// Server is a running test server.
type Server struct {
	*server.Server
	// API and Admin are the base URLs of the two listeners.
	API, Admin string
	Dir        string
	Log        *Log
	opts       Options
	t          testing.TB
	stopped    bool
}

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir() + "/env"
		if _, err := envdir.Create(opts.Dir); err != nil {
			t.Fatal(err)
		}
		if opts.Settings != "" {
			if err := os.WriteFile(opts.Dir+"/"+envdir.SettingsFile, []byte(opts.Settings), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	log := &Log{}
	srv, err := server.Open(context.Background(), server.Options{
		Dir: opts.Dir, Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", DB: opts.DB,
		Services: opts.Services, LogOutput: log,
	})
	if err != nil {
		t.Fatalf("opening server: %v", err)
	}
	hashOnce.Do(func() { passwordHash = password.Hash(Password) })
	if err := srv.Store.SetSetting(context.Background(), admin.PasswordSetting, passwordHash); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		srv.Close()
		t.Fatalf("starting server: %v", err)
	}
	s := &Server{Server: srv, API: srv.APIScheme() + "://" + srv.APIAddr(), Admin: "http://" + srv.AdminAddr(), Dir: opts.Dir, Log: log, opts: opts, t: t}
	t.Cleanup(s.Stop)
	return s
}

// Stop shuts the server down gracefully.
func (s *Server) Stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		s.t.Errorf("shutting down: %v", err)
	}
}

// Restart stops the server and starts a new one on the same environment.
func (s *Server) Restart() *Server {
	s.t.Helper()
	s.Stop()
	opts := s.opts
	opts.Dir = s.Dir
	return Start(s.t, opts)
}

// Response is a buffered HTTP response.
type Response struct {
	*http.Response
	Body []byte
}

// JSON decodes the body into a map.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Do sends a request and buffers the response.
func Do(t testing.TB, method, url string, body string, header http.Header) *Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == "" {
		req.Body = http.NoBody
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Response: resp, Body: data}
}

// Call sends a request to the API listener.
func (s *Server) Call(method, path, body string, header http.Header) *Response {
	s.t.Helper()
	return Do(s.t, method, s.API+path, body, header)
}

// AdminCall sends a request to the admin listener, authenticated with the
// CLI token (Basic Auth is tested on its own, so tests do not pay argon2id
// for every server).
func (s *Server) AdminCall(method, path, body string) *Response {
	s.t.Helper()
	h := http.Header{"Authorization": {"Bearer " + s.Server.Admin.CLIToken}}
	if body != "" {
		h.Set("Content-Type", "application/json")
	}
	return Do(s.t, method, s.Admin+path, body, h)
}

// Put creates or replaces an object through the admin API and fails the
// test unless it is accepted.
func (s *Server) Put(kind, name string, obj any) {
	s.t.Helper()
	data, err := json.Marshal(obj)
	if err != nil {
		s.t.Fatal(err)
	}
	r := s.AdminCall("PUT", admin.Prefix+"/objects/"+kind+"/"+name, string(data))
	if r.StatusCode != http.StatusOK && r.StatusCode != http.StatusCreated {
		s.t.Fatalf("PUT %s %s: %d %s", kind, name, r.StatusCode, r.Body)
	}
}

// Channel creates a REST channel for a service on a path (method may be
// empty for any verb).
func (s *Server) Channel(name, service, method, urlPath string, extra map[string]any) {
	s.t.Helper()
	obj := map[string]any{"service": service, "url_path": urlPath, "method": method}
	for k, v := range extra {
		obj[k] = v
	}
	s.Put("channel_rest", name, obj)
}

// Log collects output, such as a server's log. It is safe for concurrent
// use.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Lines returns the logged records that contain every one of parts. A
// record is a line with the lines after it that start with a tab (the
// further lines of a multi-line value, such as a backtrace).
func (l *Log) Lines(parts ...string) []string {
	var records []string
	for line := range strings.SplitSeq(l.String(), "\n") {
		if n := len(records); n > 0 && strings.HasPrefix(line, "\t") {
			records[n-1] += "\n" + line
		} else {
			records = append(records, line)
		}
	}
	var out []string
	for _, line := range records {
		ok := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				ok = false
				break
			}
		}
		if ok && line != "" {
			out = append(out, line)
		}
	}
	return out
}

// WaitFor waits until a record (see Lines) with every one of parts is
// logged and returns it, failing the test after a few seconds.
func (l *Log) WaitFor(t testing.TB, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if lines := l.Lines(parts...); len(lines) > 0 {
			return lines[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no log line contains %q; the log:\n%s", parts, l.String())
	return ""
}
