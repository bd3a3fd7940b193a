package ratelimit

import (
	"context"
	"math"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/plexushq/plexus/internal/config"
)

// Failures slows down and then locks out addresses that keep failing to
// authenticate: after SlowAfter failures within Window each further
// failure is answered only after Delay, and after LockAfter failures the
// address is refused for LockFor without its credentials being checked.
// It is safe for concurrent use; the zero SlowAfter or LockAfter turns
// that stage off, and a nil *Failures never slows down or locks out.
type Failures struct {
	SlowAfter int
	LockAfter int
	Window    time.Duration
	Delay     time.Duration
	LockFor   time.Duration

	mu      sync.Mutex
	entries map[netip.Addr]*failure
	sweep   time.Time
}

type failure struct {
	count       int
	first       time.Time
	lockedUntil time.Time
}

// NewFailures returns the tracker plexus.yaml's auth_failures describes,
// or nil when it turns both stages off.
func NewFailures(cfg config.AuthFailures) *Failures {
	if cfg.SlowAfter == 0 && cfg.LockAfter == 0 {
		return nil
	}
	return &Failures{SlowAfter: cfg.SlowAfter, LockAfter: cfg.LockAfter, Window: cfg.Window.D(), Delay: cfg.Delay.D(), LockFor: cfg.LockFor.D()}
}

// Locked reports whether addr is locked out, and for how long.
func (f *Failures) Locked(addr netip.Addr, now time.Time) (bool, time.Duration) {
	if f == nil {
		return false, 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.entries[addr]
	if e == nil || !now.Before(e.lockedUntil) {
		return false, 0
	}
	return true, e.lockedUntil.Sub(now)
}

// Fail records a failed attempt and returns how long to wait before
// answering it.
func (f *Failures) Fail(addr netip.Addr, now time.Time) time.Duration {
	if f == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failLocked(addr, now)
}

// Attempt is for checks too expensive to run before the attempt counts
// (argon2id): it counts an attempt from addr as failed before its
// credentials are checked, so attempts running at once count too: the one
// that reaches LockAfter locks the address at once and those after it are
// refused before their check starts. It returns how long addr stays locked
// out when it already is (the attempt is then refused and not counted),
// else the wait to answer a failure with. Call Forgive when the
// credentials turn out right.
func (f *Failures) Attempt(addr netip.Addr, now time.Time) (delay, locked time.Duration) {
	if f == nil {
		return 0, 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if e := f.entries[addr]; e != nil && now.Before(e.lockedUntil) {
		return 0, e.lockedUntil.Sub(now)
	}
	return f.failLocked(addr, now), 0
}

// Forgive takes back an attempt that Attempt counted and whose credentials
// were right, with the lock-out it set, if any.
func (f *Failures) Forgive(addr netip.Addr) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.entries[addr]
	if e == nil {
		return
	}
	e.count = max(e.count-1, 0)
	if f.LockAfter > 0 && e.count < f.LockAfter {
		e.lockedUntil = time.Time{}
	}
}

// failLocked counts a failure and returns the wait to answer it with.
func (f *Failures) failLocked(addr netip.Addr, now time.Time) time.Duration {
	if f.entries == nil {
		f.entries = map[netip.Addr]*failure{}
	}
	if now.Sub(f.sweep) > time.Minute {
		f.sweep = now
		for a, e := range f.entries {
			if now.Sub(e.first) > f.Window && !now.Before(e.lockedUntil) {
				delete(f.entries, a)
			}
		}
	}
	e := f.entries[addr]
	if e == nil || now.Sub(e.first) > f.Window && !now.Before(e.lockedUntil) {
		e = &failure{first: now}
		f.entries[addr] = e
	}
	e.count++
	if f.LockAfter > 0 && e.count >= f.LockAfter {
		e.lockedUntil = now.Add(f.LockFor)
	}
	if f.SlowAfter > 0 && e.count > f.SlowAfter {
		return f.Delay
	}
	return 0
}

// RetryAfter renders a wait as Retry-After seconds, rounded up, at least 1.
func RetryAfter(d time.Duration) string {
	return strconv.FormatInt(max(1, int64(math.Ceil(d.Seconds()))), 10)
}

// Wait waits for d or until ctx is done, whichever comes first.
func Wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
