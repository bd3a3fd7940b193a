package plexustest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
)

// Scenario is one request to a test server and what must come of it: the
// response's status, body and headers, the log lines of the request's
// cid, and the calls its services made to backends. Run runs it. The
// zero values of the fields that say what must come check nothing, but a
// status of 200.
type Scenario struct {
	// Name names the scenario's subtest; default: the method and URL.
	Name string

	// Method is the request's method; default: POST when Body is set,
	// else GET.
	Method string
	// URL is a channel's path on the API listener with its query string,
	// such as /api/customers/7?fields=name, or an absolute URL.
	URL string
	// Service, instead of URL, invokes the service through the admin API
	// (POST /admin/api/v1/services/{name}/invoke) with Body as its
	// payload and the harness's admin credentials; Method, when set,
	// picks its verb handler.
	Service string
	// Body is the request's body, sent as it is.
	Body string
	// Header holds request headers, such as Content-Type.
	Header map[string]string
	// Auth adds the credentials a channel's security asks for.
	Auth Credentials

	// Before runs before the request, with a server that reports to the
	// scenario's test: for example to change configuration or a
	// backend's answers.
	Before func(t testing.TB, s *Server)

	// WantStatus is the response's status; default 200.
	WantStatus int
	// WantBody checks the body: JSON, JSONSubset, Contains, Text,
	// Envelope, or any Match.
	WantBody Match
	// WantHeader holds response headers and their values; an empty value
	// means the header must be absent.
	WantHeader map[string]string
	// WantLog lists log records the request must log: each is a record
	// that carries the request's cid and contains every one of its
	// parts. Records logged in the background after the response are
	// waited for.
	WantLog []LogLine
	// WantCalls are the calls that the request's services must have made
	// to backends: for each backend named, the requests it received with
	// the request's cid, in order, and no more.
	WantCalls []Call

	// Check runs after the other checks, for anything else; r.Logs()
	// has the request's log records.
	Check func(t testing.TB, r *Response)
}

// LogLine is the parts that one log record must contain, such as
// {"msg=greeting", "name=Jane"}.
type LogLine []string

// Call is a call that a scenario's request must make to a Backend.
type Call struct {
	Backend *Backend
	// Method is the call's method; empty: any.
	Method string
	// Path is the path with the query string, as sent; empty: any.
	Path string
	// Header holds headers the call must carry, with their values; an
	// empty value means the header must be absent.
	Header map[string]string
	// Body checks the call's body; nil: any.
	Body Match
}

// Credentials add credentials to a request.
type Credentials func(*http.Request)

// Basic returns HTTP Basic Auth credentials.
func Basic(username, password string) Credentials {
	return func(r *http.Request) { r.SetBasicAuth(username, password) }
}

// Bearer returns a bearer token, such as a JWT.
func Bearer(token string) Credentials {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// APIKey returns an API key sent in header.
func APIKey(header, key string) Credentials {
	return func(r *http.Request) { r.Header.Set(header, key) }
}

// Run sends the scenario's request to s and checks the outcome, in a
// subtest when t is a *testing.T. A failure shows every way the outcome
// differs, with the request, the response and the log records of its cid.
func (sc Scenario) Run(t testing.TB, s *Server) {
	t.Helper()
	if tt, ok := t.(*testing.T); ok {
		tt.Run(sc.name(), func(t *testing.T) {
			t.Helper()
			sc.run(t, s, "")
		})
		return
	}
	sc.run(t, s, sc.name()+": ")
}

func (sc Scenario) name() string {
	if sc.Name != "" {
		return sc.Name
	}
	if sc.Service != "" {
		return "invoke " + sc.Service
	}
	return sc.method() + " " + sc.URL
}

func (sc Scenario) method() string {
	switch {
	case sc.Method != "":
		return sc.Method
	case sc.Body != "":
		return "POST"
	}
	return "GET"
}

func (sc Scenario) run(t testing.TB, s *Server, prefix string) {
	t.Helper()
	s = s.bound(t)
	if sc.Before != nil {
		sc.Before(t, s)
	}
	req := sc.request(t, s)
	r := send(t, req)
	s.owns(r)

	var problems []string
	want := sc.WantStatus
	if want == 0 {
		want = http.StatusOK
	}
	if r.StatusCode != want {
		problems = append(problems, fmt.Sprintf("status %d, want %d", r.StatusCode, want))
	}
	for _, k := range slices.Sorted(maps.Keys(sc.WantHeader)) {
		got, w := r.Header.Values(k), sc.WantHeader[k]
		switch {
		case w == "" && len(got) > 0:
			problems = append(problems, fmt.Sprintf("header %s is %q, want none", k, got))
		case w != "" && (len(got) != 1 || got[0] != w):
			problems = append(problems, fmt.Sprintf("header %s is %q, want %q", k, got, w))
		}
	}
	if sc.WantBody != nil {
		if err := sc.WantBody(r.Body); err != nil {
			problems = append(problems, err.Error())
		}
	}
	problems = append(problems, checkEnvelopeCID(r)...)
	id := r.CID()
	for _, parts := range sc.WantLog {
		if _, ok := s.Log.wait(append([]string{id}, parts...)...); !ok {
			problems = append(problems, fmt.Sprintf("no log record of cid %s contains all of %q", id, []string(parts)))
		}
	}
	problems = append(problems, sc.checkCalls(s, id)...)
	if len(problems) > 0 {
		t.Errorf("%s%s\n\n%s", prefix, strings.Join(problems, "\n"), s.report(req, sc.Body, r))
	}
	if sc.Check != nil {
		failed := t.Failed()
		defer func() {
			if !failed && t.Failed() {
				t.Logf("%sthe checks failed on:\n%s", prefix, s.report(req, sc.Body, r))
			}
		}()
		sc.Check(t, r)
	}
}

// request builds the scenario's request.
func (sc Scenario) request(t testing.TB, s *Server) *http.Request {
	t.Helper()
	if sc.Service != "" {
		u := s.AdminURL + admin.Prefix + "/services/" + url.PathEscape(sc.Service) + "/invoke"
		if sc.Method != "" {
			u += "?verb=" + url.QueryEscape(sc.Method)
		}
		req := newRequest(t, "POST", u, sc.Body)
		sc.addHeaders(req)
		s.asAdmin(req)
		return req
	}
	req := newRequest(t, sc.method(), s.abs(sc.URL), sc.Body)
	sc.addHeaders(req)
	if sc.Auth != nil {
		sc.Auth(req)
	}
	return req
}

func (sc Scenario) addHeaders(req *http.Request) {
	for k, v := range sc.Header {
		req.Header.Set(k, v)
	}
}

// checkEnvelopeCID checks that an error envelope carries the cid of the
// X-Plexus-CID header, as every error answer must.
func checkEnvelopeCID(r *Response) []string {
	var env struct {
		Result string `json:"result"`
		CID    string `json:"cid"`
	}
	if json.Unmarshal(r.Body, &env) != nil || env.Result != "Error" || env.CID == "" {
		return nil
	}
	if env.CID != r.CID() {
		return []string{fmt.Sprintf("the error envelope's cid is %q, but X-Plexus-CID is %q", env.CID, r.CID())}
	}
	return nil
}

// checkCalls compares the calls each backend named in WantCalls received
// under the cid with those wanted.
func (sc Scenario) checkCalls(s *Server, id string) []string {
	var backends []*Backend
	wanted := map[*Backend][]Call{}
	for _, c := range sc.WantCalls {
		if _, ok := wanted[c.Backend]; !ok {
			backends = append(backends, c.Backend)
		}
		wanted[c.Backend] = append(wanted[c.Backend], c)
	}
	var problems []string
	for _, b := range backends {
		want := wanted[b]
		got := b.wait(s.opts.Timeout, id, len(want))
		for i, w := range want[:min(len(got), len(want))] {
			for _, p := range w.mismatch(got[i]) {
				problems = append(problems, fmt.Sprintf("backend %s, call %d (%s %s): %s", b.URL, i+1, got[i].Method, got[i].Path, p))
			}
		}
		if len(got) != len(want) {
			var calls []string
			for _, c := range want {
				calls = append(calls, c.String())
			}
			problems = append(problems, fmt.Sprintf("backend %s received %d calls with the request's cid, want %d (%s); every call it received:\n%s",
				b.URL, len(got), len(want), strings.Join(calls, ", "), b.describe()))
		}
	}
	return problems
}

// mismatch says how a received request differs from the call.
func (c Call) mismatch(r Request) []string {
	var out []string
	if c.Method != "" && r.Method != c.Method {
		out = append(out, fmt.Sprintf("method %s, want %s", r.Method, c.Method))
	}
	if c.Path != "" && r.Path != c.Path {
		out = append(out, fmt.Sprintf("path %s, want %s", r.Path, c.Path))
	}
	for _, k := range slices.Sorted(maps.Keys(c.Header)) {
		if got := r.Header.Get(k); got != c.Header[k] {
			out = append(out, fmt.Sprintf("header %s is %q, want %q", k, got, c.Header[k]))
		}
	}
	if c.Body != nil {
		if err := c.Body(r.Body); err != nil {
			out = append(out, err.Error())
		}
	}
	return out
}

// String describes the call.
func (c Call) String() string {
	s := strings.TrimSpace(c.Method + " " + c.Path)
	if s == "" {
		return "any call"
	}
	return s
}

// describe lists the requests the backend received.
func (b *Backend) describe() string {
	var sb strings.Builder
	for _, r := range b.Requests() {
		fmt.Fprintf(&sb, "  %s %s (cid %s) %s\n", r.Method, r.Path, r.CID, shorten(string(r.Body), 200))
	}
	if sb.Len() == 0 {
		return "  none"
	}
	return strings.TrimSuffix(sb.String(), "\n")
}

// report shows a request, its response and the log records of its cid.
func (s *Server) report(req *http.Request, body string, r *Response) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "request:\n  %s %s\n", req.Method, req.URL)
	writeHeader(&sb, req.Header)
	if body != "" {
		fmt.Fprintf(&sb, "  \n  %s\n", indent(shorten(body, 2000)))
	}
	fmt.Fprintf(&sb, "response:\n  %s\n", r.Status)
	writeHeader(&sb, r.Header)
	if len(r.Body) > 0 {
		fmt.Fprintf(&sb, "  \n  %s\n", indent(shorten(string(r.Body), 4000)))
	}
	id := r.CID()
	if id == "" {
		return sb.String()
	}
	logs := r.Logs()
	fmt.Fprintf(&sb, "log records of cid %s:\n", id)
	if len(logs) == 0 {
		sb.WriteString("  none\n")
	}
	for _, l := range logs {
		fmt.Fprintf(&sb, "  %s\n", indent(l))
	}
	return sb.String()
}

func writeHeader(sb *strings.Builder, h http.Header) {
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			fmt.Fprintf(sb, "  %s: %s\n", k, v)
		}
	}
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n  ") }
