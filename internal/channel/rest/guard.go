package rest

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/textproto"
	"strconv"
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/ratelimit"
	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/runtime"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/sdk/service"
)

// Guard is what the security stages of the pipeline share across
// channels: which proxies' X-Forwarded-For to believe, the record of
// failed authentications by address, and the JWT sessions. A nil Guard
// believes no proxy, slows nobody down and refuses session tokens.
type Guard struct {
	// Trusted are the address ranges of trusted reverse proxies
	// (plexus.yaml trusted_proxies).
	Trusted []netip.Prefix
	// Failures slows down and locks out addresses that keep failing to
	// authenticate (plexus.yaml auth_failures); nil turns that off.
	Failures *ratelimit.Failures
	// Sessions checks the tokens of jwt definitions.
	Sessions *security.Sessions
}

// Details of the refusals of the security stages. None says which part
// of the credentials was wrong.
const (
	detailsForbidden    = "You are not allowed to access this resource"
	detailsUnauthorized = "Unauthorized"
	detailsTooMany      = "Too many requests"
)

// validateGuard checks a channel's rate-limiting rules.
func validateGuard(c *Channel) []error {
	var errs []error
	for i, r := range c.RateLimiting {
		if err := r.Validate(); err != nil {
			errs = append(errs, registry.FieldProblem("rate_limiting", "rule %d: %v", i+1, err))
		}
	}
	seen := map[string]bool{}
	for _, g := range c.Groups {
		if seen[g] {
			errs = append(errs, registry.FieldProblem("groups", "%s is listed twice", redact.Quote(g)))
		}
		seen[g] = true
	}
	return errs
}

// start builds a channel's running form: its rate limiter, which keeps the
// usage of each client address while the channel is unchanged and starts
// afresh when the channel changes.
func provision(_ *registry.Env, obj registry.Object) (any, error) {
	l, err := ratelimit.New(obj.(*Channel).RateLimiting)
	if err != nil {
		return nil, registry.FieldProblem("rate_limiting", "%v", err)
	}
	return l, nil
}

// guard runs the security stages of a channel, before the body is read:
// the address allow-list and the channel's rate limit (keyed by client
// address), authentication, and the identity's rate limits. It answers a
// refused request itself and returns false; otherwise it returns the
// identity the request authenticated as.
func (h *Handler) guard(w http.ResponseWriter, r *http.Request, x *exchange, st *runtime.State, rt *route) (service.Security, bool) {
	if !rt.guarded {
		return service.Security{}, true
	}
	g := h.Guard
	if g == nil {
		g = &Guard{}
	}
	now := time.Now()
	addr := ratelimit.ClientAddr(r, g.Trusted)
	if !h.admitAddress(w, x, rt, addr, now) {
		return service.Security{}, false
	}
	if rt.Security == "" && len(rt.Groups) == 0 {
		return service.Security{}, true
	}
	out, ok := h.authenticate(w, r, x, st, rt, g, addr, now)
	if !ok {
		return service.Security{}, false
	}
	if !h.limitIdentity(w, x, rt, &out, addr, now) {
		return service.Security{}, false
	}
	id := out.Identity
	return service.Security{Name: id.Name, Type: id.Type, Username: id.Username}, true
}

// admitAddress is the allow-list and channel rate-limit stage: the
// channel's rules, keyed by client address.
func (h *Handler) admitAddress(w http.ResponseWriter, x *exchange, rt *route, addr netip.Addr, now time.Time) bool {
	if rt.limiter.Empty() {
		return true
	}
	d := rt.limiter.Check(addr.String(), addr, now)
	return h.admitDecision(w, x, rt, d, "address not allowed", "channel rate limit", addr)
}

// admitDecision answers 403 or 429 (with Retry-After) when a limiter's
// decision refuses the request, logging forbidden or limited as the
// reason, and reports whether it was admitted.
func (h *Handler) admitDecision(w http.ResponseWriter, x *exchange, rt *route, d ratelimit.Decision, forbidden, limited string, addr netip.Addr) bool {
	switch d.Outcome {
	case ratelimit.Forbidden:
		h.refuse(w, x, rt, http.StatusForbidden, detailsForbidden, forbidden, addr)
		return false
	case ratelimit.Limited:
		w.Header().Set("Retry-After", ratelimit.RetryAfter(d.RetryAfter))
		h.refuse(w, x, rt, http.StatusTooManyRequests, detailsTooMany, limited, addr)
		return false
	}
	return true
}

// authenticate is the security stage: a locked-out address is refused
// without its credentials being checked; a failure is counted against the
// address and, past auth_failures.slow_after, answered only after a delay,
// waited for without holding any lock.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request, x *exchange, st *runtime.State, rt *route, g *Guard, addr netip.Addr, now time.Time) (security.Outcome, bool) {
	if locked, left := g.Failures.Locked(addr, now); locked {
		w.Header().Set("Retry-After", ratelimit.RetryAfter(left))
		h.refuse(w, x, rt, http.StatusTooManyRequests, detailsTooMany, "address locked out after failed authentications", addr)
		return security.Outcome{}, false
	}
	in := &security.Inbound{Presented: security.ParseAuthorization(r.Header.Get("Authorization")), Headers: textproto.MIMEHeader(r.Header), Sessions: g.Sessions, Now: now, Ctx: r.Context()}
	if r.TLS != nil {
		in.Certificates, in.Verified = r.TLS.PeerCertificates, len(r.TLS.VerifiedChains) > 0
	}
	out := security.Check(st, rt.Security, rt.Groups, in)
	if out.Result == security.Passed {
		return out, true
	}
	if out.Broken != "" {
		h.Logger.Error("channel's security is missing", "cid", x.cid, "channel", rt.Name, "problem", out.Broken)
	}
	reason := "no credentials"
	if out.Result == security.Failed {
		reason = "wrong credentials"
		ratelimit.Wait(r.Context(), g.Failures.Fail(addr, now))
	}
	for _, c := range out.Challenges {
		w.Header().Add("WWW-Authenticate", c)
	}
	h.refuse(w, x, rt, http.StatusUnauthorized, detailsUnauthorized, reason, addr)
	return out, false
}

// limitIdentity is the identity rate-limit stage: the limits of the
// definition and groups that admitted the request, keyed by identity. The
// tightest one's usage goes out in X-RateLimit-Limit and
// X-RateLimit-Remaining, on refusals and admissions alike.
func (h *Handler) limitIdentity(w http.ResponseWriter, x *exchange, rt *route, out *security.Outcome, addr netip.Addr, now time.Time) bool {
	d := out.Limit(addr, now)
	if d.Limit > 0 {
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(max(d.Remaining, 0)))
	}
	return h.admitDecision(w, x, rt, d, "address not allowed for the identity", "identity rate limit", addr)
}

// refuse answers the envelope of a refused request and logs why, with the
// cid the caller sees, never with the credentials.
func (h *Handler) refuse(w http.ResponseWriter, x *exchange, rt *route, status int, details, reason string, addr netip.Addr) {
	x.status = status
	reply.Envelope(w, status, x.cid, details)
	name := ""
	if rt != nil {
		name = rt.Name
	}
	h.Logger.Info("request refused", "cid", x.cid, "channel", name, "status", status, "reason", reason, "client", addr.String())
}

// NewGuard builds the Guard of a server's settings: trusted_proxies and
// auth_failures.
func NewGuard(s *config.Settings, sessions *security.Sessions) (*Guard, error) {
	trusted, err := ratelimit.ParsePrefixes(s.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("reading trusted_proxies: %w", err)
	}
	return &Guard{Trusted: trusted, Sessions: sessions, Failures: ratelimit.NewFailures(s.AuthFailures)}, nil
}
