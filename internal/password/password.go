// Package password hashes passwords with argon2id and checks them against
// their hashes. argon2id is slow and memory-hard by design (64 MiB for a
// moment per check), so every check a request can start goes through one
// server-wide Verifier, which bounds how many run at once.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters (RFC 9106's second recommended option, with the
// parallelism of a small server).
const (
	argonTime    = 3
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 2
	argonKeyLen  = 32
)

// Hash returns an argon2id hash of a password in the PHC string format.
func Hash(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	releaseMemory()
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// Check reports whether password matches a hash from Hash, in constant
// time. It is not bounded: checks that requests start go through a
// Verifier.
func Check(hash, password string) bool {
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

// ErrBusy is Verifier.Verify's answer when every slot stayed taken for
// its whole wait.
var ErrBusy = errors.New("too many password checks are running")

// Verifier runs password checks, at most a fixed number at once: the
// others wait for a free slot for a short while, then give up with
// ErrBusy, which callers answer 429. So concurrent log-ins, right or
// wrong, cost the server at most that many times 64 MiB. It is safe for
// concurrent use.
type Verifier struct {
	slots chan struct{}
	wait  time.Duration
}

// NewVerifier returns a verifier running at most n checks at once (at
// least 1), whose callers wait at most wait for a slot.
func NewVerifier(n int, wait time.Duration) *Verifier {
	return &Verifier{slots: make(chan struct{}, max(n, 1)), wait: wait}
}

// Verify reports whether password matches hash. It returns ErrBusy when
// no slot freed up within the verifier's wait, and ctx's error when ctx
// ended first.
func (v *Verifier) Verify(ctx context.Context, hash, password string) (bool, error) {
	select {
	case v.slots <- struct{}{}:
	default:
		t := time.NewTimer(v.wait)
		defer t.Stop()
		select {
		case v.slots <- struct{}{}:
		case <-t.C:
			return false, ErrBusy
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	defer func() { <-v.slots }()
	return Check(hash, password), nil
}
