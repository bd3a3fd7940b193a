// Package ratelimit admits or refuses requests by rules of client address
// ranges: each rule matches CIDR ranges and limits them with a token bucket
// (rate per second with a burst) and/or a fixed window (N per second,
// minute, hour or day), or blocks them. Rules are checked in order and the
// first whose ranges contain the client's address applies; an address that
// no rule matches is refused, which makes rules an IP allow-list too.
package ratelimit

import (
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/plexushq/plexus/internal/redact"
)

// Rule is one rate-limiting rule, as configured on channels and security
// definitions.
type Rule struct {
	CIDR       []string `json:"cidr" label:"Addresses" placeholder:"10.0.0.0/8" doc:"Address ranges the rule applies to, e.g. 10.0.0.0/8 or 2001:db8::/32; empty applies to every address."`
	Rate       float64  `json:"rate" label:"Rate" min:"0" unit:"requests per second" doc:"Requests per second refilled into the token bucket; 0 for no bucket."`
	Burst      int      `json:"burst" label:"Burst" min:"0" unit:"requests" doc:"Size of the token bucket: requests admitted at once after a quiet period. Defaults to the rate rounded up."`
	Limit      int      `json:"limit" label:"Requests per window" min:"0" unit:"requests" doc:"Requests admitted per fixed window of limit_unit; 0 for no window."`
	LimitUnit  string   `json:"limit_unit" label:"Window" enum_labels:"Second|Minute|Hour|Day" enum:"second|minute|hour|day" doc:"Length of the fixed window counting requests against limit."`
	Disallowed bool     `json:"disallowed" label:"Refuse these addresses" doc:"Refuse the matched addresses outright (403)."`
}

// Rules are the rate-limiting rules of a configuration object, checked by
// the registry through Validate.
type Rules []Rule

// Validate checks every rule; each error names the rule by its position.
func (rs Rules) Validate() []error {
	var errs []error
	for i, r := range rs {
		if err := r.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("rule %d: %w", i+1, err))
		}
	}
	return errs
}

var units = map[string]time.Duration{"second": time.Second, "minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}

// Validate checks a rule; field names are the JSON ones.
func (r Rule) Validate() error {
	for _, c := range r.CIDR {
		if _, err := parsePrefix(c); err != nil {
			return fmt.Errorf("cidr: %s is not an address range such as 10.0.0.0/8", redact.Quote(c))
		}
	}
	if r.Rate < 0 || math.IsNaN(r.Rate) || math.IsInf(r.Rate, 0) {
		return fmt.Errorf("rate: must be a positive number of requests per second")
	}
	if r.Burst < 0 {
		return fmt.Errorf("burst: must not be negative")
	}
	if r.Limit < 0 {
		return fmt.Errorf("limit: must not be negative")
	}
	if r.Limit > 0 {
		if _, ok := units[r.LimitUnit]; !ok {
			return fmt.Errorf("limit_unit: must be second, minute, hour or day when limit is set")
		}
	}
	return nil
}

// parsePrefix reads a CIDR range or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

type rule struct {
	Rule
	prefixes []netip.Prefix
	window   time.Duration
	burst    float64
}

func (r *rule) contains(a netip.Addr) bool {
	if len(r.prefixes) == 0 {
		return true
	}
	a = a.Unmap()
	for _, p := range r.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Outcome is what a check decided.
type Outcome int

// Outcomes of a check.
const (
	Allowed   Outcome = iota
	Limited           // over a limit: 429 with Retry-After
	Forbidden         // no rule admits the address, or a rule blocks it: 403
)

// Decision is the result of a check.
type Decision struct {
	Outcome Outcome
	// RetryAfter says when to try again, for Limited.
	RetryAfter time.Duration
	// Limit and Remaining describe the tightest limit that applied (0 and
	// -1 when no limit applied), for X-RateLimit-* headers.
	Limit     int
	Remaining int
}

// state is the usage of one key under one rule.
type state struct {
	mu          sync.Mutex
	tokens      float64
	last        time.Time
	windowStart time.Time
	count       int
	seen        time.Time
}

// Limiter applies a list of rules, keeping usage per key (a client address
// or an identity). It is safe for concurrent use.
type Limiter struct {
	rules []*rule

	mu     sync.Mutex
	states map[stateKey]*state
	sweep  time.Time
}

type stateKey struct {
	rule int
	key  string
}

// New compiles rules into a Limiter; no rules means every request passes.
func New(rules []Rule) (*Limiter, error) {
	l := &Limiter{states: map[stateKey]*state{}}
	for i, r := range rules {
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("rule %d: %w", i+1, err)
		}
		cr := &rule{Rule: r, window: units[r.LimitUnit], burst: float64(r.Burst)}
		if cr.burst == 0 && r.Rate > 0 {
			cr.burst = math.Ceil(r.Rate)
		}
		for _, c := range r.CIDR {
			p, _ := parsePrefix(c)
			cr.prefixes = append(cr.prefixes, p)
		}
		l.rules = append(l.rules, cr)
	}
	return l, nil
}

// Empty reports whether the limiter has no rules.
func (l *Limiter) Empty() bool { return l == nil || len(l.rules) == 0 }

// Check decides whether a request from addr, counted under key, passes at
// time now, and counts it when it does.
func (l *Limiter) Check(key string, addr netip.Addr, now time.Time) Decision {
	i, d, count := l.match(addr)
	if !count {
		return d
	}
	return l.rules[i].take(l.state(i, key, now), now)
}

// match finds the first rule whose ranges contain addr. count reports
// that the request is counted under rule i; otherwise d is the decision,
// made without counting: forbidden, or allowed with no limit.
func (l *Limiter) match(addr netip.Addr) (i int, d Decision, count bool) {
	if l.Empty() {
		return 0, Decision{Outcome: Allowed, Remaining: -1}, false
	}
	for i, r := range l.rules {
		if !r.contains(addr) {
			continue
		}
		if r.Disallowed {
			return 0, Decision{Outcome: Forbidden, Remaining: -1}, false
		}
		if r.Rate == 0 && r.Limit == 0 {
			return 0, Decision{Outcome: Allowed, Remaining: -1}, false
		}
		return i, Decision{}, true
	}
	return 0, Decision{Outcome: Forbidden, Remaining: -1}, false
}

func (l *Limiter) state(i int, key string, now time.Time) *state {
	k := stateKey{i, key}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.states[k]
	if s == nil {
		s = &state{tokens: l.rules[i].burst, last: now}
		if w := l.rules[i].window; w > 0 {
			s.windowStart = now.Truncate(w)
		}
		l.states[k] = s
	}
	s.seen = now
	if now.Sub(l.sweep) > time.Minute {
		l.sweep = now
		l.forget(now)
	}
	return s
}

// forget drops the usage of keys idle long enough that their bucket is
// full and their window over, so memory follows active clients only.
func (l *Limiter) forget(now time.Time) {
	for k, s := range l.states {
		r := l.rules[k.rule]
		idle := time.Hour
		if r.window > idle {
			idle = r.window
		}
		if now.Sub(s.seen) > idle {
			delete(l.states, k)
		}
	}
}

// take consumes one request from a key's bucket and window, both or
// neither.
func (r *rule) take(s *state, now time.Time) Decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := Decision{Outcome: Allowed, Remaining: -1}
	if r.Rate > 0 {
		if elapsed := now.Sub(s.last).Seconds(); elapsed > 0 {
			s.tokens = math.Min(r.burst, s.tokens+elapsed*r.Rate)
			s.last = now
		}
		if s.tokens < 1 {
			d.Outcome = Limited
			d.RetryAfter = time.Duration((1 - s.tokens) / r.Rate * float64(time.Second))
		}
		d.Limit, d.Remaining = int(r.burst), int(s.tokens)
	}
	if r.Limit > 0 {
		if now.Sub(s.windowStart) >= r.window {
			s.windowStart = now.Truncate(r.window)
			s.count = 0
		}
		if s.count >= r.Limit {
			d.Outcome = Limited
			if wait := s.windowStart.Add(r.window).Sub(now); wait > d.RetryAfter {
				d.RetryAfter = wait
			}
		}
		if d.Remaining < 0 || r.Limit-s.count < d.Remaining {
			d.Limit, d.Remaining = r.Limit, r.Limit-s.count
		}
	}
	if d.Outcome == Allowed {
		if r.Rate > 0 {
			s.tokens--
		}
		if r.Limit > 0 {
			s.count++
		}
		d.Remaining--
		if d.Remaining < 0 {
			d.Remaining = 0
		}
	}
	return d
}
