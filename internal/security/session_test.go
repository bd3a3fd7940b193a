package security

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/store"
	"github.com/plexushq/plexus/internal/testenv"
)

func newSessions(t *testing.T, st *store.Store, key byte) *Sessions {
	t.Helper()
	k := make([]byte, 32)
	k[0] = key
	s, err := NewSessions(st.DB(), st.Rebind, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Sliding expiry, revocation, restarts and the write-behind of expiries,
// on a clock the test moves, in SQLite and in PostgreSQL.
func TestSessionsLifecycle(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testSessionsLifecycle(t, openStore(t)) })
	t.Run("postgres", func(t *testing.T) {
		st, err := store.Open(context.Background(), testenv.Postgres(t), "")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		testSessionsLifecycle(t, st)
	})
}

func testSessionsLifecycle(t *testing.T, st *store.Store) {
	ctx := context.Background()
	s := newSessions(t, st, 1)
	clock := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return clock }
	ttl := 10 * time.Minute
	tok, exp, err := s.Create(ctx, "app", "frontend", ttl)
	if err != nil || !exp.Equal(clock.Add(ttl)) {
		t.Fatal(err, exp)
	}
	check := func(at time.Time) error { return s.Check(ctx, tok, "app", "frontend", ttl, at) }
	// Used every 8 minutes, it outlives its ttl many times over.
	for i := 1; i <= 5; i++ {
		clock = clock.Add(8 * time.Minute)
		if err := check(clock); err != nil {
			t.Fatalf("use %d: %v", i, err)
		}
	}
	// Another definition's or user's check fails.
	if err := s.Check(ctx, tok, "other", "frontend", ttl, clock); !errors.Is(err, ErrBadToken) {
		t.Errorf("other definition: %v", err)
	}
	// The moved expiry reaches the store; a new Sessions (a restart)
	// reads it.
	s.flush()
	s2 := newSessions(t, st, 1)
	if err := s2.Check(ctx, tok, "app", "frontend", ttl, clock.Add(9*time.Minute)); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	// Idle for longer than the ttl: ended.
	if err := check(clock.Add(11 * time.Minute)); !errors.Is(err, ErrNoSession) {
		t.Errorf("idle session: %v", err)
	}
	// Revocation ends it at once, for this node, and for another one
	// (s2) when it reads the store again.
	tok2, _, _ := s.Create(ctx, "app", "frontend", ttl)
	if err := s2.Check(ctx, tok2, "app", "frontend", ttl, clock); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Revoke(ctx, tok2); !ok || err != nil {
		t.Fatalf("revoke: %v %v", ok, err)
	}
	if err := s.Check(ctx, tok2, "app", "frontend", ttl, clock); !errors.Is(err, ErrNoSession) {
		t.Errorf("revoked on this node: %v", err)
	}
	if err := s2.Check(ctx, tok2, "app", "frontend", ttl, clock.Add(s2.recheckEvery)); !errors.Is(err, ErrNoSession) {
		t.Errorf("revoked on another node: %v", err)
	}
	// Another server key cannot read the tokens.
	other := newSessions(t, st, 2)
	if _, err := other.open(tok); !errors.Is(err, ErrBadToken) {
		t.Errorf("another key opened a token: %v", err)
	}
	// The sweep removes expired rows.
	s.sweep(clock.Add(time.Hour))
	var n int
	st.DB().QueryRow("SELECT COUNT(*) FROM jwt_sessions").Scan(&n)
	if n != 0 {
		t.Errorf("%d sessions left after the sweep", n)
	}
}

// Tokens are opaque: neither the username nor the definition can be read
// in them, and every change to one is refused.
func TestTokenOpaque(t *testing.T) {
	s := newSessions(t, openStore(t), 1)
	tok, _, _ := s.Create(context.Background(), "app.definition", "frontend-user", time.Hour)
	if strings.Contains(tok, "frontend") || strings.Contains(tok, "app.") {
		t.Errorf("token shows its claims: %s", tok)
	}
	for i := len(TokenPrefix); i < len(tok); i++ {
		b := []byte(tok)
		b[i] ^= 1
		if _, err := s.open(string(b)); err == nil {
			t.Fatalf("a token changed at %d opens", i)
		}
	}
}

func FuzzOpenToken(f *testing.F) {
	k := make([]byte, 32)
	s, _ := NewSessions(nil, nil, k, nil)
	f.Add(s.seal(claims{SID: "a", Def: "d", Sub: "u"}))
	f.Add("pxs1.")
	f.Add("pxs1.AAAA")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := s.open(token)
		if err == nil && (c.SID == "" || c.Def == "") {
			t.Fatalf("opened %q to %+v", token, c)
		}
	})
}

// OAuth2 client credentials: one request to the token server for many
// concurrent calls, the token kept until shortly before it expires, a new
// one after, and a refused token dropped.
func TestOAuthClientCredentials(t *testing.T) {
	var fetches atomic.Int64
	var mu sync.Mutex
	var lastForm url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := fetches.Add(1)
		r.ParseForm()
		mu.Lock()
		lastForm = r.PostForm
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token": "tok-` + string(rune('0'+n)) + `", "token_type": "Bearer", "expires_in": 300}`))
	}))
	defer srv.Close()
	c := startDef(t, `{"name": "erp", "type": "bearer_token", "auth_server_url": "`+srv.URL+`", "username": "cid", "password": "csecret",
		"scopes": ["a", "b"], "extra_fields": ["audience=erp"]}`)
	clock := time.Now()
	c.tokens.now = func() time.Time { return clock }
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := http.Header{}
			if err := c.Authorize(context.Background(), h); err != nil || h.Get("Authorization") != "Bearer tok-1" {
				t.Errorf("%v %v", err, h)
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	form := lastForm
	mu.Unlock()
	if fetches.Load() != 1 || form.Get("grant_type") != "client_credentials" || form.Get("client_id") != "cid" ||
		form.Get("client_secret") != "csecret" || form.Get("scope") != "a b" || form.Get("audience") != "erp" {
		t.Fatalf("fetches %d, form %v", fetches.Load(), form)
	}
	h := http.Header{}
	clock = clock.Add(269 * time.Second)
	c.Authorize(context.Background(), h)
	if fetches.Load() != 1 {
		t.Error("refetched before the margin")
	}
	clock = clock.Add(2 * time.Second)
	c.Authorize(context.Background(), h)
	if fetches.Load() != 2 || h.Get("Authorization") != "Bearer tok-2" {
		t.Errorf("not refreshed near expiry: %d %v", fetches.Load(), h)
	}
	c.Refused(h)
	c.Authorize(context.Background(), h)
	if fetches.Load() != 3 {
		t.Error("a refused token was kept")
	}
}

func TestOAuthFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error": "invalid_client", "echo": "csecret"}`, 401)
	}))
	defer srv.Close()
	c := startDef(t, `{"name": "erp", "type": "bearer_token", "auth_server_url": "`+srv.URL+`", "username": "cid", "password": "csecret"}`)
	err := c.Authorize(context.Background(), http.Header{})
	if err == nil || strings.Contains(err.Error(), "csecret") || !strings.Contains(err.Error(), "401") {
		t.Fatalf("error %v", err)
	}
}
