package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/plexushq/plexus/internal/password"
	"github.com/plexushq/plexus/internal/ratelimit"
	"github.com/plexushq/plexus/internal/store"
)

// User is the admin API's user name.
const User = "admin"

// PasswordSetting is the store setting holding the admin password hash.
const PasswordSetting = "admin_password_hash"

// SetPassword stores the hash of a new admin password.
func SetPassword(ctx context.Context, st *store.Store, pw string) error {
	if len(pw) < 8 {
		return errors.New("the admin password must have at least 8 characters")
	}
	return st.SetSetting(ctx, PasswordSetting, password.Hash(pw))
}

// HasPassword reports whether an admin password is set.
func HasPassword(ctx context.Context, st *store.Store) (bool, error) {
	_, ok, err := st.Setting(ctx, PasswordSetting)
	return ok, err
}

// auth checks admin credentials: HTTP Basic as admin, or the bearer token
// local CLI commands read from the environment's secrets directory.
//
// argon2id is deliberately slow, so successful checks are remembered: the
// cache maps the SHA-256 of a password that verified to the hash it
// verified against. A later request with the same password is admitted
// only while the stored hash is unchanged, so resetting the password
// revokes every cached entry at once. Only successes are cached, and the
// cache holds digests, never passwords.
//
// A password that needs argon2id counts as a failure of its address before
// the check starts (and is forgiven when right), and the check runs on the
// server's one bounded verifier, so concurrent wrong passwords lock the
// address out and cost at most the verifier's slots in memory.
type auth struct {
	store    *store.Store
	cliToken string
	failures *ratelimit.Failures
	verifier *password.Verifier

	mu       sync.Mutex
	verified map[[32]byte]string
}

// verdict is what checking a request's admin credentials decided.
type verdict int

const (
	admitted verdict = iota
	missing          // no credentials: 401, not counted
	wrong            // wrong credentials: 401, counted
	locked           // the address is locked out: 429
	busy             // no password check was free in time: 429
)

// check checks a request's credentials from addr. The duration is the
// wait before answering a wrong one, or the Retry-After of a 429.
func (a *auth) check(r *http.Request, addr netip.Addr, now time.Time) (verdict, time.Duration) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return missing, 0
	}
	if token, ok := strings.CutPrefix(h, "Bearer "); ok {
		if a.cliToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(a.cliToken)) == 1 {
			return admitted, 0
		}
		return wrong, a.failures.Fail(addr, now)
	}
	user, pw, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(User)) != 1 {
		return wrong, a.failures.Fail(addr, now)
	}
	hash, ok, err := a.store.Setting(r.Context(), PasswordSetting)
	if err != nil || !ok {
		return wrong, a.failures.Fail(addr, now)
	}
	digest := sha256.Sum256([]byte(pw))
	a.mu.Lock()
	cached := a.verified[digest]
	a.mu.Unlock()
	if cached != "" && subtle.ConstantTimeCompare([]byte(cached), []byte(hash)) == 1 {
		return admitted, 0
	}
	delay, left := a.failures.Attempt(addr, now)
	if left > 0 {
		return locked, left
	}
	match, err := a.verifier.Verify(r.Context(), hash, pw)
	switch {
	case err != nil:
		return busy, time.Second
	case !match:
		return wrong, delay
	}
	a.failures.Forgive(addr)
	a.mu.Lock()
	if len(a.verified) >= 64 {
		clear(a.verified)
	}
	a.verified[digest] = hash
	a.mu.Unlock()
	return admitted, 0
}

// Login checks the admin password a person typed into the Dashboard's
// login form, with the same lock-out, delays and bounded verifier as the
// admin API's credentials. It answers whether the password is right and,
// when it is not, how long to wait: the delay before answering a wrong
// password, or the Retry-After of a refusal (refused is true when the
// address is locked out or no check was free in time). It must be called
// after Handler.
func (a *API) Login(r *http.Request, pw string) (ok, refused bool, wait time.Duration) {
	req := r.Clone(r.Context())
	req.Header = r.Header.Clone()
	v, d := a.checkPassword(req, ratelimit.ClientAddr(r, a.Trusted), pw)
	switch v {
	case admitted:
		return true, false, 0
	case locked, busy:
		return false, true, d
	}
	return false, false, d
}

// Admit checks admin credentials that came another way than an HTTP
// request (the debugger's attach): the admin user's password, or the CLI
// token, from addr, with the same lock-out and slowing down as the admin
// API. It needs Handler to have been called.
func (a *API) Admit(ctx context.Context, addr netip.Addr, password string) bool {
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	v, d := a.checkPassword(r, addr, password)
	if v == wrong {
		ratelimit.Wait(ctx, d)
	}
	return v == admitted
}

// checkPassword checks the admin password (or the CLI token) from addr as
// the admin API checks its credentials, r carrying it as Basic Auth.
func (a *API) checkPassword(r *http.Request, addr netip.Addr, pw string) (verdict, time.Duration) {
	now := time.Now()
	if out, left := a.Failures.Locked(addr, now); out {
		return locked, left
	}
	r.SetBasicAuth(User, pw)
	return a.auth.check(r, addr, now)
}

// TOTPSetting is the store setting holding the admin's TOTP secret,
// sealed with the server key, once enrolled from the Dashboard.
const TOTPSetting = "admin_totp_secret"

// ResetTOTP removes the admin's second factor: the Dashboard then asks
// for the password alone, until a new one is enrolled.
func ResetTOTP(ctx context.Context, st *store.Store) error {
	return st.DeleteSetting(ctx, TOTPSetting)
}
