package ratelimit

import (
	"net/netip"
	"sync"
	"time"
)

// Failures slows down and then locks out addresses that keep failing to
// authenticate: after SlowAfter failures within Window each further
// failure is answered only after Delay, and after LockAfter failures the
// address is refused for LockFor without its credentials being checked.
// It is safe for concurrent use; the zero SlowAfter or LockAfter turns
// that stage off.
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

// Locked reports whether addr is locked out, and for how long.
func (f *Failures) Locked(addr netip.Addr, now time.Time) (bool, time.Duration) {
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
	f.mu.Lock()
	defer f.mu.Unlock()
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

// Succeed forgets an address's failures.
func (f *Failures) Succeed(addr netip.Addr) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.entries, addr)
}
