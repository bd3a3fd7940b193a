package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/dashboard"
	"github.com/plexushq/plexus/internal/password"
	"github.com/plexushq/plexus/internal/servertest"
)

// browser is a client of the Dashboard that keeps its cookies (Secure
// ones included, over plain HTTP to 127.0.0.1, as browsers do) and the
// CSRF token of the last page.
type browser struct {
	t       testing.TB
	base    string
	client  *http.Client
	mu      sync.Mutex
	cookies map[string]*http.Cookie
	csrf    string
}

func newBrowser(t testing.TB, base string) *browser {
	return &browser{t: t, base: base, cookies: map[string]*http.Cookie{}, client: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is one answer.
type page struct {
	Status int
	Header http.Header
	Body   string
	// Cookies are those the answer set.
	Cookies []*http.Cookie
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(method, path string, form url.Values, header http.Header) *page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return b.send(req)
}

// send sends a request with the browser's cookies.
func (b *browser) send(req *http.Request) *page {
	b.t.Helper()
	b.mu.Lock()
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	b.mu.Unlock()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	p := &page{Status: resp.StatusCode, Header: resp.Header, Body: string(data), Cookies: resp.Cookies()}
	b.mu.Lock()
	for _, c := range p.Cookies {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	if m := csrfRe.FindStringSubmatch(p.Body); m != nil {
		b.csrf = m[1]
	}
	b.mu.Unlock()
	return p
}

func (b *browser) get(path string) *page { b.t.Helper(); return b.do("GET", path, nil, nil) }

// post sends a form with the CSRF token of the last page.
func (b *browser) post(path string, form url.Values) *page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf") {
		form.Set("csrf", b.csrf)
	}
	return b.do("POST", path, form, nil)
}

// login logs in with the admin password.
func (b *browser) login(pw string) *page {
	b.t.Helper()
	b.get("/login")
	return b.post("/login", url.Values{"password": {pw}})
}

// start starts a server and logs in to its Dashboard.
func start(t *testing.T) (*servertest.Server, *browser) {
	s := servertest.Start(t, servertest.Options{})
	b := newBrowser(t, s.Admin)
	if p := b.login(servertest.Password); p.Status != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", p.Status, p.Body)
	}
	b.get("/")
	return s, b
}

func TestLogin(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	b := newBrowser(t, s.Admin)
	if p := b.get("/kinds/security"); p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/login?next=%2Fkinds%2Fsecurity" {
		t.Fatalf("without a session: %d %q", p.Status, p.Header.Get("Location"))
	}
	login := b.get("/login")
	if login.Status != 200 || !strings.Contains(login.Body, `type="password"`) || !strings.Contains(login.Body, `<label for="password">`) {
		t.Fatalf("login page: %d\n%s", login.Status, login.Body)
	}
	if p := b.post("/login", url.Values{"password": {"wrong-password"}}); p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "Wrong password") {
		t.Fatalf("wrong password: %d\n%s", p.Status, p.Body)
	}
	p := b.post("/login", url.Values{"password": {servertest.Password}, "next": {"/kinds/security"}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/kinds/security" {
		t.Fatalf("login: %d %q\n%s", p.Status, p.Header.Get("Location"), p.Body)
	}
	var sc *http.Cookie
	for _, c := range p.Cookies {
		if c.Name == dashboard.SessionCookie {
			sc = c
		}
	}
	if sc == nil || !sc.HttpOnly || sc.Secure || sc.SameSite != http.SameSiteStrictMode || len(sc.Value) < 40 {
		t.Fatalf("session cookie over HTTP %+v", sc)
	}
	// Behind a TLS proxy, the cookies are Secure.
	tls := newBrowser(t, s.Admin)
	tls.get("/login")
	p = tls.do("POST", "/login", url.Values{"password": {servertest.Password}, "csrf": {tls.csrf}}, http.Header{"X-Forwarded-Proto": {"https"}})
	if len(p.Cookies) == 0 || !p.Cookies[0].Secure {
		t.Fatalf("session cookie over HTTPS %+v", p.Cookies)
	}
	if p := b.get("/kinds/security"); p.Status != 200 || !strings.Contains(p.Body, "Security definition") {
		t.Fatalf("after login: %d\n%s", p.Status, p.Body)
	}
	if p := b.get("/"); p.Header.Get("Content-Security-Policy") == "" || p.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("security headers: %v", p.Header)
	}
	// Logging out ends the session on the server, not just in the
	// browser: the old cookie no longer opens a page.
	old := sc.Value
	if p := b.post("/logout", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.Status)
	}
	b.cookies[dashboard.SessionCookie] = &http.Cookie{Name: dashboard.SessionCookie, Value: old}
	if p := b.get("/"); p.Status != http.StatusSeeOther {
		t.Fatalf("after logout: %d", p.Status)
	}
	if !strings.Contains(s.Log.String(), "Dashboard login failed") {
		t.Fatalf("the failed login is not logged:\n%s", s.Log)
	}
	// The admin API is still served behind its own credentials.
	if r := s.AdminCall("GET", admin.Prefix+"/kinds", ""); r.StatusCode != 200 {
		t.Fatalf("admin API: %d", r.StatusCode)
	}
}

func TestLoginLockOut(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Settings: "auth_failures:\n  lock_after: 3\n  slow_after: 100\n  lock_for: 1h\n"})
	b := newBrowser(t, s.Admin)
	var last *page
	for range 4 {
		last = b.login("wrong-password")
	}
	if last.Status != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" || !strings.Contains(last.Body, "Too many failed logins") {
		t.Fatalf("after 4 wrong passwords: %d %v\n%s", last.Status, last.Header, last.Body)
	}
	// The lock-out is the admin API's: the right password is refused
	// too, and so are the admin API's calls from the address.
	if p := b.login(servertest.Password); p.Status != http.StatusTooManyRequests {
		t.Fatalf("right password while locked out: %d", p.Status)
	}
	if r := s.AdminCall("GET", admin.Prefix+"/kinds", ""); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("admin API while locked out: %d", r.StatusCode)
	}
}

func TestCSRF(t *testing.T) {
	s, b := start(t)
	form := url.Values{"name": {"csrf-test"}, "host": {"http://127.0.0.1:1"}, "url_path": {"/x"}}
	for name, tc := range map[string]struct {
		form   url.Values
		header http.Header
	}{
		"no token":     {form: form},
		"wrong token":  {form: with(form, "csrf", "not-the-token")},
		"other origin": {form: with(form, "csrf", b.csrf), header: http.Header{"Origin": {"http://evil.example"}}},
		"cross-site":   {form: with(form, "csrf", b.csrf), header: http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		"wrong header": {form: form, header: http.Header{"X-Csrf-Token": {"nope"}}},
	} {
		p := b.do("POST", "/kinds/outgoing_rest/new", tc.form, tc.header)
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "form token") {
			t.Errorf("%s: %d\n%s", name, p.Status, p.Body)
		}
	}
	for _, path := range []string{"/logout", "/kinds/outgoing_rest/objects/x/delete"} {
		if p := b.do("POST", path, url.Values{}, nil); p.Status != http.StatusForbidden {
			t.Errorf("POST %s without a token: %d", path, p.Status)
		}
	}
	if _, ok := s.Runtime.State().Object("outgoing_rest", "csrf-test"); ok {
		t.Fatal("a request without the CSRF token changed the configuration")
	}
	// The token in a header (as htmx sends it) is accepted, from the
	// same origin.
	p := b.do("POST", "/kinds/outgoing_rest/new", form, http.Header{"X-Csrf-Token": {b.csrf}, "Origin": {s.Admin}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("with the token in a header: %d\n%s", p.Status, p.Body)
	}
	if _, ok := s.Runtime.State().Object("outgoing_rest", "csrf-test"); !ok {
		t.Fatal("not created")
	}
	// The login form has a token of its own.
	other := newBrowser(t, s.Admin)
	if p := other.do("POST", "/login", url.Values{"password": {servertest.Password}}, nil); p.Status != http.StatusForbidden {
		t.Fatalf("login without the form's token: %d", p.Status)
	}
}

func with(v url.Values, key, value string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = vs
	}
	out.Set(key, value)
	return out
}

// clock is a settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestSessionExpiry(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	api := &admin.API{Runtime: s.Runtime, Store: s.Store, Pipeline: s.Pipeline, Logger: s.Logger, Settings: s.Settings,
		Metrics: s.Metrics, CLIToken: "token-of-this-test", Failures: s.Pipeline.Guard.Failures,
		Passwords: password.NewVerifier(2, time.Second)}
	c := &clock{now: time.Now()}
	d := &dashboard.Dashboard{API: api, Admin: api.Handler(), Logger: s.Logger, IdleTimeout: 10 * time.Minute, MaxAge: time.Hour, MaxSessions: 2, Now: c.Now}
	srv := serve(t, d.Handler())
	b := newBrowser(t, srv)
	if p := b.login(servertest.Password); p.Status != http.StatusSeeOther {
		t.Fatalf("login: %d", p.Status)
	}
	// Used every 9 minutes, the session lives until its hour is up.
	for range 6 {
		c.add(9 * time.Minute)
		if p := b.get("/"); p.Status != 200 {
			t.Fatalf("within the timeouts: %d", p.Status)
		}
	}
	c.add(7 * time.Minute) // 61 minutes old
	if p := b.get("/"); p.Status != http.StatusSeeOther {
		t.Fatalf("past the absolute timeout: %d", p.Status)
	}
	b.login(servertest.Password)
	c.add(10 * time.Minute)
	if p := b.get("/"); p.Status != http.StatusSeeOther {
		t.Fatalf("past the idle timeout: %d", p.Status)
	}
	// Beyond MaxSessions, a login ends the least recently used session.
	b1, b2, b3 := newBrowser(t, srv), newBrowser(t, srv), newBrowser(t, srv)
	b1.login(servertest.Password)
	c.add(time.Second)
	b2.login(servertest.Password)
	c.add(time.Second)
	b3.login(servertest.Password)
	if p1, p2, p3 := b1.get("/"), b2.get("/"), b3.get("/"); p1.Status != http.StatusSeeOther || p2.Status != 200 || p3.Status != 200 {
		t.Fatalf("sessions beyond the limit: %d %d %d", p1.Status, p2.Status, p3.Status)
	}
}

// serve serves h on a loopback port until the test ends.
func serve(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
