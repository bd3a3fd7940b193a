// Package plexustest starts real Plexus servers inside Go tests and checks
// what they do: the responses to requests, the log lines of each request's
// cid, and the calls services make to remote APIs.
//
// A test starts a server with its Go services, deploys Starlark services
// and configuration, and runs table-driven scenarios:
//
//	func TestGreet(t *testing.T) {
//		s := plexustest.Start(t, plexustest.Options{Services: []any{Greet{}}})
//		s.Channel("greet", "example.greet", "", "/api/greet", nil)
//		for _, sc := range []plexustest.Scenario{{
//			URL:      "/api/greet?name=Jane",
//			WantBody: plexustest.JSONSubset(`{"greeting": "Hello, Jane!"}`),
//			WantLog:  []plexustest.LogLine{{"msg=greeting", "name=Jane"}},
//		}, {
//			URL:        "/api/greet",
//			WantStatus: 400,
//			WantBody:   plexustest.Envelope("Element missing: name"),
//		}} {
//			sc.Run(t, s)
//		}
//	}
//
// See Example for this test, and docs/testing.md for a guide. Each server
// has its own environment directory in t.TempDir(), listens on free
// loopback ports and keeps its store in SQLite, or in a new schema
// of a PostgreSQL database (Options.DB); it stops when the test ends. The
// harness never sleeps: a wait for a log line or for a call to a Backend
// ends when it happens, or fails the test after Options.Timeout.
package plexustest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/password"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/server"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/internal/testhook"
)

// AdminPassword is the password of the user admin on test servers.
const AdminPassword = "test-password"

// DefaultTimeout is how long the harness waits for an event, such as a log
// line or a call to a Backend, before it fails the test, unless
// Options.Timeout says otherwise.
const DefaultTimeout = 10 * time.Second

// The admin password is hashed once per test binary: argon2id is slow by
// design, above all under the race detector.
var (
	hashOnce     sync.Once
	passwordHash string
)

func init() {
	testhook.Server = func(h any) *server.Server { return h.(*Server).srv }
}

// Options configure a test server. The zero value starts a server with
// the default settings, the built-in services only and SQLite.
type Options struct {
	// Services are the Go services to register: values with a Handle
	// method or HandleVERB methods, as plexus.App.Register takes.
	Services []any
	// Settings is written as plexus.yaml, the server's settings, when the
	// environment is created: for example "limits:\n  max_body_size: 1KiB\n".
	Settings string
	// DB is a PostgreSQL URL (postgres://…). The server keeps its store in
	// a new schema of that database, dropped when the test ends, so tests
	// can share one database. Empty: SQLite inside the environment.
	DB string
	// Dir starts the server on an existing environment directory (and
	// DB as it is) instead of creating one; Server.Restart does this.
	Dir string
	// Timeout is how long a wait for an event lasts before it fails the
	// test, and how long the server may take to stop; default
	// DefaultTimeout.
	Timeout time.Duration
}

// Server is a running test server. Its methods fail the test they were
// started with when something goes wrong, and are safe for concurrent use
// by requests; configure it from one goroutine.
type Server struct {
	// URL is the base URL of the API listener, where channels answer,
	// such as http://127.0.0.1:41023.
	URL string
	// AdminURL is the base URL of the admin listener: the admin API
	// (see AdminCall) and /metrics.
	AdminURL string
	// Dir is the environment directory. A service's JSON Schema goes in
	// Dir/schema/json; a .star file saved in Dir/services is picked up
	// and deployed (wait for it with Log.WaitFor).
	Dir string
	// Log holds every line the server logged.
	Log *Log

	srv  *server.Server
	t    testing.TB
	opts Options // DB resolved to the schema in use
	life *life
}

// life is what the copies of one Server share.
type life struct {
	mu      sync.Mutex
	stopped bool
}

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = filepath.Join(t.TempDir(), "env")
		if _, err := envdir.Create(opts.Dir); err != nil {
			t.Fatalf("creating the environment: %v", err)
		}
		if opts.Settings != "" {
			if err := os.WriteFile(filepath.Join(opts.Dir, envdir.SettingsFile), []byte(opts.Settings), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if strings.HasPrefix(opts.DB, "postgres://") || strings.HasPrefix(opts.DB, "postgresql://") {
			opts.DB = testenv.Schema(t, opts.DB)
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	log := &Log{timeout: opts.Timeout}
	srv, err := server.Open(context.Background(), server.Options{
		Dir: opts.Dir, Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", DB: opts.DB,
		Services: opts.Services, LogOutput: log,
	})
	if err != nil {
		t.Fatalf("opening the server: %v", err)
	}
	log.flush = func() { srv.FlushLogs() }
	hashOnce.Do(func() { passwordHash = password.Hash(AdminPassword) })
	if err := srv.Store.SetSetting(context.Background(), admin.PasswordSetting, passwordHash); err != nil {
		srv.Close()
		t.Fatalf("setting the admin password: %v", err)
	}
	if err := srv.Start(); err != nil {
		srv.Close()
		t.Fatalf("starting the server: %v\n%s", err, log)
	}
	s := &Server{
		URL: srv.APIScheme() + "://" + srv.APIAddr(), AdminURL: "http://" + srv.AdminAddr(), Dir: opts.Dir, Log: log,
		srv: srv, t: t, opts: opts, life: &life{},
	}
	t.Cleanup(s.Stop)
	return s
}

// bound returns a copy of s that reports to t, such as a subtest's.
func (s *Server) bound(t testing.TB) *Server {
	c := *s
	c.t = t
	return &c
}

// Stop shuts the server down gracefully: requests in flight finish, and
// the store is closed. The end of the test stops it too.
func (s *Server) Stop() {
	s.life.mu.Lock()
	defer s.life.mu.Unlock()
	if s.life.stopped {
		return
	}
	s.life.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.t.Errorf("shutting the server down: %v", err)
	}
}

// Restart stops the server and starts a new one on the same environment
// and store, as plexus start would, with new ports.
func (s *Server) Restart() *Server {
	s.t.Helper()
	s.Stop()
	opts := s.opts
	opts.Dir = s.Dir
	return Start(s.t, opts)
}

// Response is a response with its body read.
type Response struct {
	*http.Response
	// Body is the whole body, as received (compressed if the server
	// compressed it).
	Body []byte

	srv    *Server // the server that answered, if any
	access bool    // an access log line ends the request's records
}

// CID returns the response's X-Plexus-CID header: the cid of the request,
// which every log line of the request carries.
func (r *Response) CID() string { return r.Header.Get(reply.CIDHeader) }

// JSON decodes the body as a JSON object, failing the test if it is not
// one.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("the body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Logs returns the log records that carry the response's cid: what the
// server logged while it served the request (its access log line last).
// Services that run in the background under the cid may log later; wait
// for such lines with Log.WaitFor.
func (r *Response) Logs() []string {
	id := r.CID()
	if r.srv == nil || id == "" {
		return nil
	}
	if r.access {
		// The access line closes the request; it is written before the
		// response ends, and flushed here.
		r.srv.Log.wait(id, accessMark)
	}
	r.srv.Log.sync()
	return r.srv.Log.Lines(id)
}

// Do sends a request to any URL, such as a Backend's, and reads the
// response; a body that is not empty is sent as it is, and header adds
// to the request's headers.
func Do(t testing.TB, method, url, body string, header http.Header) *Response {
	t.Helper()
	req := newRequest(t, method, url, body)
	for k, vs := range header {
		req.Header[k] = vs
	}
	return send(t, req)
}

func newRequest(t testing.TB, method, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("making the request %s %s: %v", method, url, err)
	}
	if body == "" {
		req.Body = http.NoBody
	}
	return req
}

func send(t testing.TB, req *http.Request) *Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the response: %v", req.Method, req.URL, err)
	}
	return &Response{Response: resp, Body: data}
}

// Call sends a request to the API listener: path is a channel's path with
// its query string, such as /api/customers/7?fields=name, or an absolute
// URL. header adds to the request's headers.
func (s *Server) Call(method, path, body string, header http.Header) *Response {
	s.t.Helper()
	r := Do(s.t, method, s.abs(path), body, header)
	s.owns(r)
	return r
}

// abs returns a path on the API listener as a URL, and a URL as it is.
func (s *Server) abs(path string) string {
	if strings.Contains(path, "://") {
		return path
	}
	return s.URL + path
}

// owns remembers the server in a response of one of its listeners, for
// Logs.
func (s *Server) owns(r *Response) {
	u := r.Request.URL.String()
	switch {
	case strings.HasPrefix(u, s.URL+"/"):
		r.srv, r.access = s, s.srv.Settings.Log.Access
	case strings.HasPrefix(u, s.AdminURL+"/"):
		r.srv = s
	}
}

// AdminCall sends a request to the admin listener as the admin (path
// starts with /admin/api/v1/ or is /metrics); a body that is not empty is
// sent as JSON.
func (s *Server) AdminCall(method, path, body string) *Response {
	s.t.Helper()
	req := newRequest(s.t, method, s.AdminURL+path, body)
	s.asAdmin(req)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	r := send(s.t, req)
	s.owns(r)
	return r
}

// WaitMetrics returns the server's /metrics once it has every one of lines
// (a counter may be updated a moment after what the test saw happen); it
// fails the test, showing the plexus_ metrics, after Options.Timeout.
func (s *Server) WaitMetrics(lines ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(s.opts.Timeout)
	for {
		body := string(s.AdminCall("GET", "/metrics", "").Body)
		missing := slices.IndexFunc(lines, func(l string) bool { return !strings.Contains(body, l) })
		if missing < 0 {
			return body
		}
		if time.Now().After(deadline) {
			var ours []string
			for _, l := range strings.Split(body, "\n") {
				if strings.HasPrefix(l, "plexus_") {
					ours = append(ours, l)
				}
			}
			s.t.Fatalf("/metrics lacks %q after %s:\n%s", lines[missing], s.opts.Timeout, strings.Join(ours, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// asAdmin authenticates a request to the admin listener with the CLI's
// token, which costs no password hashing.
func (s *Server) asAdmin(req *http.Request) {
	req.Header.Set("Authorization", "Bearer "+s.srv.Admin.CLIToken)
}

// Put creates or replaces a configuration object through the admin API:
// kind is an enmasse section name (channel_rest, outgoing_rest, security,
// scheduler…) and obj holds its fields. It fails the test unless the
// change is applied; the next request sees it.
func (s *Server) Put(kind, name string, obj any) {
	s.t.Helper()
	data, err := json.Marshal(obj)
	if err != nil {
		s.t.Fatalf("encoding %s %s: %v", kind, name, err)
	}
	r := s.AdminCall("PUT", admin.Prefix+"/objects/"+url.PathEscape(kind)+"/"+url.PathEscape(name), string(data))
	if r.StatusCode != http.StatusOK && r.StatusCode != http.StatusCreated {
		s.t.Fatalf("PUT %s %s: %d %s", kind, name, r.StatusCode, r.Body)
	}
}

// DB returns the PostgreSQL URL of the schema the server's store is in
// ("" with SQLite): start a second server of a cluster on the same store
// with Options{Dir: a copy of s.Dir, DB: s.DB()}, the copy giving it the
// same server key.
func (s *Server) DB() string { return s.opts.DB }

// WaitState waits until the object of a kind with a name reports state
// (running, degraded, connecting, stopped) in the admin API, as a
// connection or a channel that runs in the background does, and returns
// its status: {"state", "error", "since"}. It fails the test after 30
// seconds (or Options.Timeout, when longer), showing the last status.
func (s *Server) WaitState(kind, name, state string) map[string]any {
	s.t.Helper()
	path := admin.Prefix + "/objects/" + url.PathEscape(kind) + "/" + url.PathEscape(name)
	deadline := time.Now().Add(max(30*time.Second, s.opts.Timeout))
	for {
		st, _ := s.AdminCall("GET", path, "").JSON(s.t)["status"].(map[string]any)
		if st != nil && st["state"] == state {
			return st
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s %s never became %s: %v", kind, name, state, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Channel mounts a service on a REST channel: method limits it to one
// verb (empty: every verb), and fields adds other channel fields, such as
// "security" or "data_format" (nil: none).
func (s *Server) Channel(name, service, method, urlPath string, fields map[string]any) {
	s.t.Helper()
	obj := map[string]any{"service": service, "url_path": urlPath, "method": method}
	for k, v := range fields {
		obj[k] = v
	}
	s.Put("channel_rest", name, obj)
}

// Deploy deploys a service file, such as a Starlark service, from its
// source, as plexus deploy does: file names it (get_customer.star). It
// fails the test if the deploy is refused, and returns the deploy's
// warnings.
func (s *Server) Deploy(file, source string) []string {
	s.t.Helper()
	return s.deploy([]admin.SourceFile{{File: file, Source: source}})
}

// DeployFiles deploys service files together, each under its base name.
// It fails the test if the deploy is refused, and returns the warnings.
func (s *Server) DeployFiles(paths ...string) []string {
	s.t.Helper()
	var files []admin.SourceFile
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			s.t.Fatalf("deploying: %v", err)
		}
		files = append(files, admin.SourceFile{File: filepath.Base(p), Source: string(src)})
	}
	return s.deploy(files)
}

func (s *Server) deploy(files []admin.SourceFile) []string {
	s.t.Helper()
	body, _ := json.Marshal(admin.DeployRequest{Files: files})
	r := s.AdminCall("POST", admin.Prefix+"/deploy", string(body))
	if r.StatusCode != http.StatusOK {
		s.t.Fatalf("deploy refused: %d %s", r.StatusCode, r.Body)
	}
	var res admin.DeployResult
	if err := json.Unmarshal(r.Body, &res); err != nil {
		s.t.Fatalf("deploy: %v: %s", err, r.Body)
	}
	return res.Warnings
}

// Import applies an enmasse file, given as YAML, as plexus enmasse import
// does: every object is created or replaced in one change. It fails the
// test, listing every problem, if the import is refused.
func (s *Server) Import(yaml string) {
	s.t.Helper()
	req := newRequest(s.t, "POST", s.AdminURL+admin.Prefix+"/enmasse/import", yaml)
	s.asAdmin(req)
	req.Header.Set("Content-Type", "application/yaml")
	if r := send(s.t, req); r.StatusCode != http.StatusOK {
		s.t.Fatalf("enmasse import refused: %d %s", r.StatusCode, r.Body)
	}
}
