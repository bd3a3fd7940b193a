package ratelimit

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func mustNew(t testing.TB, rules ...Rule) *Limiter {
	l, err := New(rules)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestTokenBucket(t *testing.T) {
	l := mustNew(t, Rule{Rate: 2, Burst: 3})
	a := addr("10.0.0.1")
	for i := range 3 {
		if d := l.Check("k", a, t0); d.Outcome != Allowed || d.Remaining != 2-i || d.Limit != 3 {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	d := l.Check("k", a, t0)
	if d.Outcome != Limited || d.RetryAfter != 500*time.Millisecond {
		t.Fatalf("over the burst: %+v", d)
	}
	// Another key has its own bucket.
	if d := l.Check("other", a, t0); d.Outcome != Allowed {
		t.Fatalf("other key: %+v", d)
	}
	// Half a second later one token is back.
	if d := l.Check("k", a, t0.Add(500*time.Millisecond)); d.Outcome != Allowed {
		t.Fatalf("after refill: %+v", d)
	}
	if d := l.Check("k", a, t0.Add(500*time.Millisecond)); d.Outcome != Limited {
		t.Fatalf("second after refill: %+v", d)
	}
}

func TestFixedWindow(t *testing.T) {
	l := mustNew(t, Rule{Limit: 2, LimitUnit: "minute"})
	a := addr("10.0.0.1")
	start := t0.Add(10 * time.Second)
	l.Check("k", a, start)
	l.Check("k", a, start)
	d := l.Check("k", a, start.Add(time.Second))
	if d.Outcome != Limited || d.RetryAfter != 49*time.Second {
		t.Fatalf("over the window: %+v", d)
	}
	if d := l.Check("k", a, t0.Add(time.Minute)); d.Outcome != Allowed || d.Remaining != 1 {
		t.Fatalf("next window: %+v", d)
	}
}

// Rules apply in order, the first matching one wins, and an address no
// rule matches is refused.
func TestRulesAndAllowList(t *testing.T) {
	l := mustNew(t,
		Rule{CIDR: []string{"10.0.0.66"}, Disallowed: true},
		Rule{CIDR: []string{"10.0.0.0/8"}},
		Rule{CIDR: []string{"192.168.0.0/16", "2001:db8::/32"}, Rate: 1, Burst: 1},
	)
	for a, want := range map[string]Outcome{
		"10.0.0.66": Forbidden, "10.1.2.3": Allowed, "192.168.1.1": Allowed, "2001:db8::1": Allowed,
		"8.8.8.8": Forbidden, "::ffff:10.1.2.3": Allowed,
	} {
		if d := l.Check(a, addr(a), t0); d.Outcome != want {
			t.Errorf("%s: %v, want %v", a, d.Outcome, want)
		}
	}
	if d := l.Check("192.168.1.1", addr("192.168.1.1"), t0); d.Outcome != Limited {
		t.Errorf("second request in the limited range: %v", d.Outcome)
	}
	if d := (*Limiter)(nil).Check("x", addr("8.8.8.8"), t0); d.Outcome != Allowed {
		t.Error("no rules must admit everything")
	}
}

func TestValidate(t *testing.T) {
	for _, r := range []Rule{
		{CIDR: []string{"10.0.0.0/33"}}, {Rate: -1}, {Burst: -1}, {Limit: 5}, {Limit: 5, LimitUnit: "week"}, {Limit: -1},
	} {
		if _, err := New([]Rule{r}); err == nil {
			t.Errorf("%+v accepted", r)
		}
	}
}

// Under concurrent load a bucket admits exactly its burst, never more.
func TestNoOvershoot(t *testing.T) {
	l := mustNew(t, Rule{Rate: 1, Burst: 100, Limit: 1000, LimitUnit: "hour"})
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if l.Check("k", addr("10.0.0.1"), t0).Outcome == Allowed {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != 100 {
		t.Fatalf("admitted %d of 1600 with a burst of 100", allowed.Load())
	}
}

func TestForgetsIdleKeys(t *testing.T) {
	l := mustNew(t, Rule{Rate: 1})
	for i := range 100 {
		l.Check(string(rune('a'+i)), addr("10.0.0.1"), t0)
	}
	l.Check("late", addr("10.0.0.1"), t0.Add(2*time.Hour))
	if len(l.states) != 1 {
		t.Fatalf("%d states kept", len(l.states))
	}
}

func TestClientAddr(t *testing.T) {
	trusted, _ := ParsePrefixes([]string{"10.0.0.0/8"})
	for _, c := range []struct {
		peer, xff, want string
		trusted         bool
	}{
		{"203.0.113.7:1234", "1.2.3.4", "203.0.113.7", true},             // untrusted peer: header ignored
		{"10.0.0.5:1234", "1.2.3.4", "1.2.3.4", true},                    // trusted proxy
		{"10.0.0.5:1234", "6.6.6.6, 1.2.3.4, 10.0.0.9", "1.2.3.4", true}, // spoofed left part ignored
		{"10.0.0.5:1234", "", "10.0.0.5", true},
		{"10.0.0.5:1234", "garbage", "10.0.0.5", true},
		{"10.0.0.5:1234", "1.2.3.4", "10.0.0.5", false},
		{"[::ffff:10.0.0.5]:1234", "1.2.3.4", "1.2.3.4", true},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		tr := trusted
		if !c.trusted {
			tr = nil
		}
		if got := ClientAddr(r, tr); got.String() != c.want {
			t.Errorf("%s %q: %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
}

func TestFailures(t *testing.T) {
	f := &Failures{SlowAfter: 2, LockAfter: 4, Window: time.Minute, Delay: time.Second, LockFor: 5 * time.Minute}
	a := addr("10.0.0.1")
	var delays []time.Duration
	for range 4 {
		delays = append(delays, f.Fail(a, t0))
	}
	if delays[0] != 0 || delays[1] != 0 || delays[2] != time.Second {
		t.Errorf("delays %v", delays)
	}
	if locked, left := f.Locked(a, t0.Add(time.Minute)); !locked || left != 4*time.Minute {
		t.Errorf("locked %v %v", locked, left)
	}
	if locked, _ := f.Locked(a, t0.Add(6*time.Minute)); locked {
		t.Error("lock does not expire")
	}
	if locked, _ := f.Locked(addr("10.0.0.2"), t0); locked {
		t.Error("another address is locked")
	}
	if d := f.Fail(a, t0.Add(7*time.Minute)); d != 0 {
		t.Errorf("count did not expire with the window: delay %v", d)
	}
	var none *Failures
	if locked, _ := none.Locked(a, t0); locked || none.Fail(a, t0) != 0 {
		t.Error("a nil tracker slows down or locks out")
	}
}

// Attempt counts before the check: the attempt that reaches lock_after
// locks the address for those after it, and Forgive takes a right one
// back, with the lock-out it set.
func TestFailuresAttempt(t *testing.T) {
	f := &Failures{SlowAfter: 1, LockAfter: 3, Window: time.Minute, Delay: time.Second, LockFor: 5 * time.Minute}
	a := addr("10.0.0.1")
	var delays []time.Duration
	for range 3 {
		d, locked := f.Attempt(a, t0)
		if locked != 0 {
			t.Fatalf("attempt %d refused before lock_after", len(delays)+1)
		}
		delays = append(delays, d)
	}
	if fmt.Sprint(delays) != "[0s 1s 1s]" {
		t.Errorf("delays %v", delays)
	}
	if _, locked := f.Attempt(a, t0); locked != 5*time.Minute {
		t.Fatalf("fourth attempt while three run: locked %v", locked)
	}
	// The third was right: the address is no longer locked, and the
	// refused fourth was not counted.
	f.Forgive(a)
	if locked, _ := f.Locked(a, t0); locked {
		t.Fatal("a right attempt left its lock-out")
	}
	if _, locked := f.Attempt(a, t0); locked != 0 {
		t.Fatal("refused attempts were counted")
	}
	if locked, _ := f.Locked(a, t0); !locked {
		t.Fatal("the third failure did not lock")
	}
	// Forgiving below zero or an unknown address changes nothing.
	for range 5 {
		f.Forgive(a)
	}
	f.Forgive(addr("10.0.0.9"))
	if d, locked := f.Attempt(a, t0); d != 0 || locked != 0 {
		t.Errorf("after forgiving every attempt: delay %v, locked %v", d, locked)
	}
	var none *Failures
	if d, locked := none.Attempt(a, t0); d != 0 || locked != 0 {
		t.Error("a nil tracker slows down or locks out")
	}
	none.Forgive(a)
}

func FuzzRule(f *testing.F) {
	f.Add("10.0.0.0/8", 1.5, 3, 10, "minute", "10.1.1.1")
	f.Add("::/0", 0.0, 0, 0, "", "::1")
	f.Fuzz(func(t *testing.T, cidr string, rate float64, burst, limit int, unit, a string) {
		l, err := New([]Rule{{CIDR: []string{cidr}, Rate: rate, Burst: burst, Limit: limit, LimitUnit: unit}})
		if err != nil {
			return
		}
		ad, err := netip.ParseAddr(a)
		if err != nil {
			return
		}
		d := l.Check("k", ad, t0)
		if d.Outcome == Limited && d.RetryAfter <= 0 {
			t.Fatalf("limited without a retry time: %+v", d)
		}
	})
}

func BenchmarkCheck(b *testing.B) {
	l := mustNew(b, Rule{CIDR: []string{"10.0.0.0/8"}, Rate: 1e9, Burst: 1e9})
	a := addr("10.1.2.3")
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		l.Check("10.1.2.3", a, now)
	}
}

func TestRetryAfter(t *testing.T) {
	for d, want := range map[int64]string{0: "1", 1: "1", 999_999_999: "1", 1_000_000_001: "2", 60_000_000_000: "60"} {
		if got := RetryAfter(time.Duration(d)); got != want {
			t.Errorf("%d: %s, want %s", d, got, want)
		}
	}
}
