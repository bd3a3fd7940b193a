package rest_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// whoami answers with the identity the channel's security admitted.
var whoami = service.Func("test.whoami", "", func(s *service.Context) error {
	s.Response.Payload = s.Channel.Security
	return nil
})

// noFailures turns the lock-out off, so tests that fail on purpose are not
// slowed down.
const noFailures = "auth_failures:\n  slow_after: 0\n  lock_after: 0\n"

func basic(user, password string) http.Header {
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}}
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// refused checks a refusal: its status, the envelope with the cid of the
// X-Plexus-CID header, and the details.
func refused(t *testing.T, r *servertest.Response, status int, details string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", r.StatusCode, status, r.Body)
	}
	m := r.JSON(t)
	if m["result"] != "Error" || m["cid"] != r.Header.Get("X-Plexus-CID") || m["cid"] == "" || m["details"] != details {
		t.Errorf("envelope %s (cid header %s)", r.Body, r.Header.Get("X-Plexus-CID"))
	}
}

func identity(t *testing.T, r *servertest.Response) service.Security {
	t.Helper()
	if r.StatusCode != 200 {
		t.Fatalf("status %d: %s", r.StatusCode, r.Body)
	}
	var id service.Security
	if err := json.Unmarshal(r.Body, &id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestBasicAuth(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: []any{whoami}, Settings: noFailures})
	s.Put("security", "billing", map[string]any{"type": "basic_auth", "username": "billing", "password": "s3cret-b!", "realm": "Billing API"})
	s.Channel("who", "test.whoami", "GET", "/who", map[string]any{"security": "billing"})

	refusal := func(name string, auth plexustest.Credentials) plexustest.Scenario {
		return plexustest.Scenario{
			Name: name, URL: "/who", Auth: auth,
			WantStatus: 401,
			WantBody:   plexustest.Envelope("Unauthorized"),
			WantHeader: map[string]string{"WWW-Authenticate": `Basic realm="Billing API"`},
			WantLog:    []plexustest.LogLine{{"request refused", "status=401"}},
		}
	}
	for _, sc := range []plexustest.Scenario{
		{
			Name: "right password", URL: "/who", Auth: plexustest.Basic("billing", "s3cret-b!"),
			WantBody: plexustest.JSON(`{"name": "billing", "type": "basic_auth", "username": "billing"}`),
		},
		refusal("wrong password", plexustest.Basic("billing", "s3cret-b?")),
		refusal("wrong user", plexustest.Basic("billin", "s3cret-b!")),
		refusal("empty password", plexustest.Basic("billing", "")),
		refusal("no header", nil),
		refusal("other scheme", plexustest.Bearer("s3cret-b!")),
		refusal("malformed", func(r *http.Request) { r.Header.Set("Authorization", "Basic !!!") }),
		{
			// An inactive definition refuses everyone; a change takes
			// effect on the next request.
			Name: "inactive definition",
			Before: func(t testing.TB, s *plexustest.Server) {
				s.Put("security", "billing", map[string]any{"type": "basic_auth", "username": "billing", "password": "******", "is_active": false})
			},
			URL: "/who", Auth: plexustest.Basic("billing", "s3cret-b!"),
			WantStatus: 401, WantBody: plexustest.Envelope("Unauthorized"),
		},
	} {
		sc.Run(t, s.Harness)
	}
	if strings.Contains(s.Log.String(), "s3cret") {
		t.Errorf("the log shows a password:\n%s", s.Log)
	}
}

func TestAPIKey(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: []any{whoami}, Settings: noFailures})
	s.Put("security", "crm", map[string]any{"type": "apikey", "password": "k-123456", "header": "X-CRM-Key"})
	s.Channel("who", "test.whoami", "", "/who", map[string]any{"security": "crm"})
	refusal := func(name string, auth plexustest.Credentials) plexustest.Scenario {
		return plexustest.Scenario{
			Name: name, URL: "/who", Auth: auth,
			WantStatus: 401, WantBody: plexustest.Envelope("Unauthorized"),
			WantHeader: map[string]string{"WWW-Authenticate": ""}, // an API key has no challenge
		}
	}
	for _, sc := range []plexustest.Scenario{
		{Name: "the key", URL: "/who", Auth: plexustest.APIKey("X-CRM-Key", "k-123456"), WantBody: plexustest.JSONSubset(`{"name": "crm", "type": "apikey"}`)},
		refusal("a shorter key", plexustest.APIKey("X-Crm-Key", "k-12345")),
		refusal("a longer key", plexustest.APIKey("X-Crm-Key", "k-1234567")),
		refusal("another header", plexustest.APIKey("X-API-Key", "k-123456")),
		refusal("no key", nil),
		refusal("the key twice", func(r *http.Request) { r.Header["X-Crm-Key"] = []string{"k-123456", "k-123456"} }),
	} {
		sc.Run(t, s.Harness)
	}
}

// A definition made without its password (as Zato's enmasse files allow)
// authenticates nobody, whatever a request sends, until one is set.
func TestNoPasswordYet(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: []any{whoami}, Settings: noFailures})
	s.Put("security", "billing", map[string]any{"type": "basic_auth", "username": "billing"})
	s.Put("security", "crm", map[string]any{"type": "apikey"})
	s.Channel("basic", "test.whoami", "", "/basic", map[string]any{"security": "billing"})
	s.Channel("key", "test.whoami", "", "/key", map[string]any{"security": "crm"})
	for name, h := range map[string]http.Header{
		"empty password":   basic("billing", ""),
		"empty username":   basic("", ""),
		"some password":    basic("billing", "guess"),
		"no header":        nil,
		"empty key":        {"X-Api-Key": {""}},
		"empty key, twice": {"X-Api-Key": {"", ""}},
	} {
		for _, path := range []string{"/basic", "/key"} {
			if r := s.Call("GET", path, "", h); r.StatusCode != 401 {
				t.Errorf("%s on %s: %d %s", name, path, r.StatusCode, r.Body)
			}
		}
	}
	for name, pw := range map[string]string{"billing": "b-pass-1", "crm": "k-123456"} {
		if r := s.AdminCall("POST", "/admin/api/v1/objects/security/"+name+"/password", `{"password": "`+pw+`"}`); r.StatusCode != 200 {
			t.Fatalf("change-password %s: %d %s", name, r.StatusCode, r.Body)
		}
	}
	identity(t, s.Call("GET", "/basic", "", basic("billing", "b-pass-1")))
	identity(t, s.Call("GET", "/key", "", http.Header{"X-Api-Key": {"k-123456"}}))
}

// A channel listing groups admits any member of any of them, as that
// member; a channel with both security and groups needs both.
func TestGroups(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: []any{whoami}, Settings: noFailures})
	s.Put("security", "a.basic", map[string]any{"type": "basic_auth", "username": "a", "password": "pa-1", "realm": "Partners"})
	s.Put("security", "b.key", map[string]any{"type": "apikey", "password": "kb-1"})
	s.Put("security", "c.basic", map[string]any{"type": "basic_auth", "username": "c", "password": "pc-1"})
	s.Put("groups", "partners", map[string]any{"members": []string{"a.basic", "b.key"}})
	s.Put("groups", "others", map[string]any{"members": []string{"c.basic"}})
	s.Put("groups", "empty", map[string]any{"members": []string{}})
	s.Channel("who", "test.whoami", "", "/who", map[string]any{"groups": []string{"partners", "others"}})
	s.Channel("both", "test.whoami", "", "/both", map[string]any{"security": "b.key", "groups": []string{"others"}})
	s.Channel("nobody", "test.whoami", "", "/nobody", map[string]any{"groups": []string{"empty"}})

	for h, want := range map[*http.Header]string{
		{"Authorization": basic("a", "pa-1")["Authorization"]}: "a.basic",
		{"X-Api-Key": {"kb-1"}}:                                "b.key",
		{"Authorization": basic("c", "pc-1")["Authorization"]}: "c.basic",
	} {
		if id := identity(t, s.Call("GET", "/who", "", *h)); id.Name != want {
			t.Errorf("%v: identity %+v, want %s", *h, id, want)
		}
	}
	r := s.Call("GET", "/who", "", basic("a", "pc-1"))
	refused(t, r, 401, "Unauthorized")
	if got := r.Header.Values("WWW-Authenticate"); len(got) != 2 || got[0] != `Basic realm="Partners"` || got[1] != `Basic realm="Plexus"` {
		t.Errorf("challenges %q", got)
	}
	refused(t, s.Call("GET", "/nobody", "", basic("a", "pa-1")), 401, "Unauthorized")

	h := basic("c", "pc-1")
	refused(t, s.Call("GET", "/both", "", h), 401, "Unauthorized")
	h.Set("X-Api-Key", "kb-1")
	if id := identity(t, s.Call("GET", "/both", "", h)); id.Name != "c.basic" {
		t.Errorf("both: %+v", id)
	}

	// A definition in a group cannot be deleted.
	r = s.AdminCall("DELETE", "/admin/api/v1/objects/security/c.basic", "")
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), "others") {
		t.Errorf("deleting a member: %d %s", r.StatusCode, r.Body)
	}
}

// Repeated failures from one address are slowed down and then locked out
// for a while, whatever credentials follow.
func TestLockOut(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: []any{whoami},
		Settings: "auth_failures:\n  slow_after: 2\n  lock_after: 4\n  window: 1m\n  delay: 200ms\n  lock_for: 1m\n"})
	s.Put("security", "billing", map[string]any{"type": "basic_auth", "username": "billing", "password": "right-pw"})
	s.Channel("who", "test.whoami", "", "/who", map[string]any{"security": "billing"})
	identity(t, s.Call("GET", "/who", "", basic("billing", "right-pw")))
	// No credentials at all is not a guess.
	for range 5 {
		refused(t, s.Call("GET", "/who", "", nil), 401, "Unauthorized")
	}
	var took []time.Duration
	for range 4 {
		start := time.Now()
		refused(t, s.Call("GET", "/who", "", basic("billing", "guess")), 401, "Unauthorized")
		took = append(took, time.Since(start))
	}
	if took[2] < 200*time.Millisecond || took[3] < 200*time.Millisecond {
		t.Errorf("failures past slow_after were not slowed: %v", took)
	}
	r := s.Call("GET", "/who", "", basic("billing", "right-pw"))
	refused(t, r, 429, "Too many requests")
	if ra := r.Header.Get("Retry-After"); ra != "60" && ra != "59" {
		t.Errorf("Retry-After %q", ra)
	}
	s.Log.WaitFor(t, "address locked out")
}

// Session tokens: log-in, use (which slides the expiry), log-out (which
// revokes), restart (which keeps them); a service creates one on behalf of
// a user.
func TestJWTSessions(t *testing.T) {
	onBehalf := service.Func("test.token-for", "", func(s *service.Context) error {
		t, err := s.CreateJWT(s.Request.Input.String("username"))
		if err != nil {
			return service.BadRequest("%v", err)
		}
		s.Response.Payload = t
		return nil
	})
	s := servertest.Start(t, servertest.Options{Services: []any{whoami, onBehalf}, Settings: noFailures})
	s.Put("security", "app", map[string]any{"type": "jwt", "username": "frontend", "password": "fe-pass-1", "ttl": "1h"})
	s.Channel("who", "test.whoami", "", "/who", map[string]any{"security": "app"})
	s.Channel("token", "test.token-for", "POST", "/token", nil)

	r := s.Call("POST", "/plexus/jwt/log-in", `{"username": "frontend", "password": "fe-pass-1"}`, nil)
	if r.StatusCode != 200 {
		t.Fatalf("log-in: %d %s", r.StatusCode, r.Body)
	}
	token, _ := r.JSON(t)["token"].(string)
	if !strings.HasPrefix(token, security.TokenPrefix) || r.Header.Get("Authorization") != "Bearer "+token {
		t.Fatalf("log-in answer %s, Authorization %q", r.Body, r.Header.Get("Authorization"))
	}
	if id := identity(t, s.Call("GET", "/who", "", bearer(token))); id != (service.Security{Name: "app", Type: "jwt", Username: "frontend"}) {
		t.Errorf("identity %+v", id)
	}
	for _, body := range []string{`{"username": "frontend", "password": "fe-pass-2"}`, `{"username": "backend", "password": "fe-pass-1"}`} {
		r := s.Call("POST", "/plexus/jwt/log-in", body, nil)
		refused(t, r, 401, "Unauthorized")
		if r.Header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("log-in refusal without a challenge")
		}
	}
	tampered := token[:len(token)-2] + "AA"
	for _, tok := range []string{tampered, "pxs1.bm90IGEgdG9rZW4", "garbage"} {
		refused(t, s.Call("GET", "/who", "", bearer(tok)), 401, "Unauthorized")
	}

	// The session survives a restart.
	s = s.Restart()
	identity(t, s.Call("GET", "/who", "", bearer(token)))

	// Log-out revokes it.
	r = s.Call("POST", "/plexus/jwt/log-out", "", bearer(token))
	if r.StatusCode != 200 {
		t.Fatalf("log-out: %d %s", r.StatusCode, r.Body)
	}
	refused(t, s.Call("GET", "/who", "", bearer(token)), 401, "Unauthorized")
	refused(t, s.Call("POST", "/plexus/jwt/log-out", "", nil), 400, "No JWT found")

	// A service creates a token on a user's behalf.
	r = s.Call("POST", "/token", `{"username": "frontend"}`, nil)
	var st service.SessionToken
	if err := json.Unmarshal(r.Body, &st); err != nil || st.Token == "" {
		t.Fatalf("on behalf: %d %s", r.StatusCode, r.Body)
	}
	identity(t, s.Call("GET", "/who", "", bearer(st.Token)))
	if r := s.Call("POST", "/token", `{"username": "nobody"}`, nil); r.StatusCode != 400 {
		t.Errorf("on behalf of an unknown user: %d %s", r.StatusCode, r.Body)
	}
}

// A session whose ttl passes without use ends; use keeps it alive past
// its ttl.
func TestJWTSlidingExpiry(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: []any{whoami}, Settings: noFailures})
	s.Put("security", "app", map[string]any{"type": "jwt", "username": "u", "password": "pw-123", "ttl": "2s"})
	s.Channel("who", "test.whoami", "", "/who", map[string]any{"security": "app"})
	logIn := func() string {
		r := s.Call("POST", "/plexus/jwt/log-in", `{"username": "u", "password": "pw-123"}`, nil)
		tok, _ := r.JSON(t)["token"].(string)
		return tok
	}
	used, idle := logIn(), logIn()
	// Each use extends the used token by 2 s; the margins leave a busy
	// machine over a second per request.
	for range 4 {
		time.Sleep(700 * time.Millisecond)
		identity(t, s.Call("GET", "/who", "", bearer(used)))
	}
	// 2.8 s after log-in: the used token lives on, the idle one has ended.
	refused(t, s.Call("GET", "/who", "", bearer(idle)), 401, "Unauthorized")
	time.Sleep(2100 * time.Millisecond)
	refused(t, s.Call("GET", "/who", "", bearer(used)), 401, "Unauthorized")
}

// mTLS: the client certificate the listener verified, matched by
// fingerprint or subject.
func TestMTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t)
	cert, key := ca.Issue(t, "localhost", false)
	c1, k1 := ca.Issue(t, "billing", true)
	c2, k2 := ca.Issue(t, "crm", true)
	testenv.Write(t, dir, "ca.pem", ca.PEM)
	settings := fmt.Sprintf("tls:\n  cert_file: %s\n  key_file: %s\n  client_ca_file: %s\n%s",
		testenv.Write(t, dir, "cert.pem", cert), testenv.Write(t, dir, "key.pem", key), filepath.Join(dir, "ca.pem"), noFailures)
	s := servertest.Start(t, servertest.Options{Services: []any{whoami}, Settings: settings})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	client := func(certPEM, keyPEM []byte) *http.Client {
		tc := &tls.Config{RootCAs: pool}
		if certPEM != nil {
			pair, _ := tls.X509KeyPair(certPEM, keyPEM)
			tc.Certificates = []tls.Certificate{pair}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	}
	pair, _ := tls.X509KeyPair(c1, k1)
	fp := security.FingerprintOf(pair.Certificate[0])
	s.Put("security", "by-fp", map[string]any{"type": "mtls", "client_cert_fingerprint": strings.ToLower(fp)})
	s.Put("security", "by-dn", map[string]any{"type": "mtls", "client_cert_subject_dn": "CN=billing, O=Plexus Tests"})
	s.Channel("fp", "test.whoami", "", "/fp", map[string]any{"security": "by-fp"})
	s.Channel("dn", "test.whoami", "", "/dn", map[string]any{"security": "by-dn"})
	get := func(c *http.Client, path string) (int, string) {
		resp, err := c.Get(s.API + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var id service.Security
		json.NewDecoder(resp.Body).Decode(&id)
		return resp.StatusCode, id.Username
	}
	for _, c := range []struct {
		client *http.Client
		path   string
		status int
	}{
		{client(c1, k1), "/fp", 200}, {client(c1, k1), "/dn", 200},
		{client(c2, k2), "/fp", 401}, {client(c2, k2), "/dn", 401},
		{client(nil, nil), "/fp", 401}, {client(nil, nil), "/dn", 401},
	} {
		if status, user := get(c.client, c.path); status != c.status || status == 200 && user != "billing" {
			t.Errorf("%s: %d %q, want %d", c.path, status, user, c.status)
		}
	}
}

// The channel's rules are an allow-list and a limit by client address,
// before authentication; a definition's limit is per identity, after, and
// its usage goes out in X-RateLimit-* headers. Every level must admit.
func TestRateLimitHierarchy(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: []any{whoami}, Settings: noFailures})
	s.Put("security", "a", map[string]any{"type": "apikey", "password": "ka-1",
		"rate_limiting": []map[string]any{{"limit": 3, "limit_unit": "hour"}}})
	s.Put("security", "b", map[string]any{"type": "apikey", "password": "kb-1", "header": "X-B-Key"})
	s.Put("groups", "g", map[string]any{"members": []string{"b"}, "rate_limiting": []map[string]any{{"limit": 2, "limit_unit": "hour"}}})
	s.Channel("who", "test.whoami", "", "/who", map[string]any{"security": "a",
		"rate_limiting": []map[string]any{{"cidr": []string{"127.0.0.0/8"}, "limit": 5, "limit_unit": "hour"}}})
	s.Channel("grp", "test.whoami", "", "/grp", map[string]any{"groups": []string{"g"}})
	s.Channel("closed", "test.whoami", "", "/closed", map[string]any{"rate_limiting": []map[string]any{{"cidr": []string{"10.0.0.0/8"}}}})

	refused(t, s.Call("GET", "/closed", "", nil), 403, "You are not allowed to access this resource")

	key := http.Header{"X-Api-Key": {"ka-1"}}
	for i := range 3 {
		r := s.Call("GET", "/who", "", key)
		identity(t, r)
		if r.Header.Get("X-RateLimit-Limit") != "3" || r.Header.Get("X-RateLimit-Remaining") != fmt.Sprint(2-i) {
			t.Errorf("request %d: X-RateLimit %q %q", i, r.Header.Get("X-RateLimit-Limit"), r.Header.Get("X-RateLimit-Remaining"))
		}
	}
	r := s.Call("GET", "/who", "", key) // the identity's fourth: refused by it
	refused(t, r, 429, "Too many requests")
	if r.Header.Get("Retry-After") == "" || r.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("identity limit headers: %v", r.Header)
	}
	// The fifth request from the address passes the channel but fails
	// authentication; the sixth is over the channel's limit, before it.
	refused(t, s.Call("GET", "/who", "", nil), 401, "Unauthorized")
	r = s.Call("GET", "/who", "", key)
	refused(t, r, 429, "Too many requests")
	if r.Header.Get("X-RateLimit-Limit") != "" {
		t.Error("a channel limit sent identity headers")
	}

	// Group limits count per member, after the member's own.
	bkey := http.Header{"X-B-Key": {"kb-1"}}
	identity(t, s.Call("GET", "/grp", "", bkey))
	identity(t, s.Call("GET", "/grp", "", bkey))
	refused(t, s.Call("GET", "/grp", "", bkey), 429, "Too many requests")

	// Changing the channel's rules starts its usage afresh; changing
	// another object does not touch it.
	s.Put("security", "b", map[string]any{"type": "apikey", "password": "kb-2", "header": "X-B-Key"})
	refused(t, s.Call("GET", "/who", "", key), 429, "Too many requests")
	s.Channel("who", "test.whoami", "", "/who", map[string]any{"rate_limiting": []map[string]any{{"limit": 1, "limit_unit": "hour"}}})
	identity(t, s.Call("GET", "/who", "", nil))
}

// Under concurrent load a channel admits its burst and not one more.
func TestRateLimitConcurrent(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: []any{whoami}, Settings: noFailures + "log:\n  access: false\n"})
	s.Channel("who", "test.whoami", "", "/who", map[string]any{"rate_limiting": []map[string]any{{"rate": 0.001, "burst": 25}}})
	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				resp, err := client.Get(s.API + "/who")
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case 200:
					ok.Add(1)
				case 429:
					limited.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 25 || limited.Load() != 135 {
		t.Fatalf("admitted %d, limited %d of 160 with a burst of 25", ok.Load(), limited.Load())
	}
}

// X-Forwarded-For sets the client address only when the peer is a trusted
// proxy.
func TestTrustedProxies(t *testing.T) {
	rules := map[string]any{"rate_limiting": []map[string]any{{"cidr": []string{"203.0.113.0/24"}}}}
	for _, c := range []struct {
		settings string
		status   int
	}{
		{noFailures, 403},
		{noFailures + "trusted_proxies: [127.0.0.1/32]\n", 200},
		{noFailures + "trusted_proxies: [10.0.0.0/8]\n", 403},
	} {
		s := servertest.Start(t, servertest.Options{Services: []any{whoami}, Settings: c.settings})
		s.Channel("who", "test.whoami", "", "/who", rules)
		r := s.Call("GET", "/who", "", http.Header{"X-Forwarded-For": {"203.0.113.9"}})
		if r.StatusCode != c.status {
			t.Errorf("%q: %d, want %d", c.settings, r.StatusCode, c.status)
		}
		s.Stop()
	}
}

// Changing a password through the admin API takes effect on the next
// request, and the answer never shows it.
func TestChangePassword(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: []any{whoami}, Settings: noFailures})
	s.Put("security", "billing", map[string]any{"type": "basic_auth", "username": "billing", "password": "old-pass"})
	s.Put("security", "cert", map[string]any{"type": "mtls"})
	s.Channel("who", "test.whoami", "", "/who", map[string]any{"security": "billing"})
	identity(t, s.Call("GET", "/who", "", basic("billing", "old-pass")))
	r := s.AdminCall("POST", "/admin/api/v1/objects/security/billing/password", `{"password": "new-pass"}`)
	if r.StatusCode != 200 || strings.Contains(string(r.Body), "new-pass") {
		t.Fatalf("change-password: %d %s", r.StatusCode, r.Body)
	}
	refused(t, s.Call("GET", "/who", "", basic("billing", "old-pass")), 401, "Unauthorized")
	identity(t, s.Call("GET", "/who", "", basic("billing", "new-pass")))
	for path, status := range map[string]int{
		"/admin/api/v1/objects/security/nobody/password": 404,
		"/admin/api/v1/objects/security/cert/password":   400,
	} {
		if r := s.AdminCall("POST", path, `{"password": "x-pass"}`); r.StatusCode != status {
			t.Errorf("%s: %d %s", path, r.StatusCode, r.Body)
		}
	}
	if r := s.AdminCall("POST", "/admin/api/v1/objects/security/billing/password", `{"password": ""}`); r.StatusCode != 400 {
		t.Errorf("empty password: %d", r.StatusCode)
	}
	if strings.Contains(s.Log.String(), "new-pass") {
		t.Error("the log shows the new password")
	}
}

// A bearer_token definition with a JWKS admits JWTs its provider signed,
// through the whole pipeline, with the subject as username.
func TestBearerJWKSChannel(t *testing.T) {
	key, jwksURL := testenv.JWKS(t)
	s := servertest.Start(t, servertest.Options{Services: []any{whoami}, Settings: noFailures})
	s.Put("security", "idp", map[string]any{"type": "bearer_token", "jwks_url": jwksURL, "audience": "orders", "issuer": "https://idp.test/"})
	s.Channel("who", "test.whoami", "", "/who", map[string]any{"security": "idp"})
	sign := func(aud string, exp time.Duration) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": "https://idp.test/", "aud": aud, "sub": "alice", "exp": time.Now().Add(exp).Unix()})
		tok.Header["kid"] = "k1"
		str, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return str
	}
	if id := identity(t, s.Call("GET", "/who", "", bearer(sign("orders", time.Hour)))); id != (service.Security{Name: "idp", Type: "bearer_token", Username: "alice"}) {
		t.Errorf("identity %+v", id)
	}
	for _, tok := range []string{sign("billing", time.Hour), sign("orders", -time.Hour), "a.b.c"} {
		r := s.Call("GET", "/who", "", bearer(tok))
		refused(t, r, 401, "Unauthorized")
		if r.Header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("challenge %q", r.Header.Get("WWW-Authenticate"))
		}
	}
}
