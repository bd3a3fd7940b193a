package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"

	"github.com/plexushq/plexus/internal/store"
)

// User is the admin API's user name.
const User = "admin"

// PasswordSetting is the store setting holding the admin password hash.
const PasswordSetting = "admin_password_hash"

// argon2id parameters (RFC 9106's second recommended option, with the
// parallelism of a small server).
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
	argonKeyLen  = 32
)

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	releaseMemory()
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// VerifyPassword reports whether password matches a hash from
// HashPassword, in constant time.
func VerifyPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	releaseMemory()
	return subtle.ConstantTimeCompare(got, want) == 1
}

// releaseMemory returns argon2id's 64 MiB to the operating system at once,
// so one log-in does not leave an idle server three times its size.
func releaseMemory() { debug.FreeOSMemory() }

// SetPassword stores the hash of a new admin password.
func SetPassword(ctx context.Context, st *store.Store, password string) error {
	if len(password) < 8 {
		return errors.New("the admin password must have at least 8 characters")
	}
	return st.SetSetting(ctx, PasswordSetting, HashPassword(password))
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
type auth struct {
	store    *store.Store
	cliToken string

	mu       sync.Mutex
	verified map[[32]byte]string
}

func newAuth(st *store.Store, cliToken string) *auth {
	return &auth{store: st, cliToken: cliToken, verified: map[[32]byte]string{}}
}

func (a *auth) check(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if token, ok := strings.CutPrefix(h, "Bearer "); ok {
		return a.cliToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(a.cliToken)) == 1
	}
	user, password, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(User)) != 1 {
		return false
	}
	hash, ok, err := a.store.Setting(r.Context(), PasswordSetting)
	if err != nil || !ok {
		return false
	}
	digest := sha256.Sum256([]byte(password))
	a.mu.Lock()
	cached := a.verified[digest]
	a.mu.Unlock()
	if cached != "" && subtle.ConstantTimeCompare([]byte(cached), []byte(hash)) == 1 {
		return true
	}
	if !VerifyPassword(hash, password) {
		return false
	}
	a.mu.Lock()
	if len(a.verified) >= 64 {
		clear(a.verified)
	}
	a.verified[digest] = hash
	a.mu.Unlock()
	return true
}
