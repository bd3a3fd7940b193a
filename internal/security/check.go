package security

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/ratelimit"
	"github.com/plexushq/plexus/internal/registry"
)

// Outcome is what checking a request against a channel's security
// decided.
type Outcome struct {
	// Result is Passed, Missing (no credentials of any kind the channel
	// takes) or Failed (credentials given, and wrong).
	Result Result
	// Identity is who the request authenticated as, when it passed.
	Identity Identity
	// Challenges are the WWW-Authenticate values of a refusal.
	Challenges []string
	// Broken names a configuration problem (a definition missing from the
	// state) when the check could not run; it goes to the log only.
	Broken string

	levels []level
}

// level is one identity rate limit that applies to a request.
type level struct {
	limiter *ratelimit.Limiter
	id      string // the limiter's object, for shared usage
	key     string
}

// Check authenticates a request for a channel that names a definition
// and/or groups, looked up by name in st. With a definition, the request
// must pass it; with groups, it must pass one member of one group, which
// becomes its identity. Every member is tried, so the time taken does not
// tell which one came closest.
func Check(st *live.State, definition string, groups []string, in *Inbound) Outcome {
	var out Outcome
	if definition != "" {
		c, ok := credentialsOf(st, definition)
		if !ok {
			return Outcome{Result: Failed, Broken: fmt.Sprintf("no security definition named %q", definition)}
		}
		id, res := c.Authenticate(in)
		if res != Passed {
			return Outcome{Result: res, Challenges: nonEmpty(c.Challenge())}
		}
		out = Outcome{Result: Passed, Identity: id}
		out.levels = append(out.levels, level{c.limiter, Kind + "/" + definition, identityKey(id)})
		if len(groups) == 0 {
			return out
		}
	}
	res, gout := checkGroups(st, groups, in)
	if res != Passed {
		gout.Result = res
		return gout
	}
	out.Result, out.Identity = Passed, gout.Identity
	out.levels = append(out.levels, gout.levels...)
	return out
}

func checkGroups(st *live.State, groups []string, in *Inbound) (Result, Outcome) {
	var out Outcome
	worst := Missing
	for _, gname := range groups {
		v, ok := st.Running(GroupKind, gname)
		if !ok {
			return Failed, Outcome{Broken: fmt.Sprintf("no security group named %q", gname)}
		}
		g := v.(*GroupRunning)
		for _, m := range g.members {
			c, ok := credentialsOf(st, m)
			if !ok {
				continue
			}
			id, res := c.Authenticate(in)
			switch {
			case res == Passed && out.Result != Passed:
				out.Result, out.Identity = Passed, id
				key := identityKey(id)
				out.levels = []level{{c.limiter, Kind + "/" + m, key}, {g.limiter, GroupKind + "/" + g.name, id.Name + "\x00" + key}}
			case res == Failed:
				worst = Failed
			}
			if ch := c.Challenge(); ch != "" && !slices.Contains(out.Challenges, ch) {
				out.Challenges = append(out.Challenges, ch)
			}
		}
	}
	if out.Result == Passed {
		out.Challenges = nil
		return Passed, out
	}
	return worst, out
}

func credentialsOf(st *live.State, name string) (*Credentials, bool) {
	v, ok := st.Running(Kind, name)
	if !ok {
		return nil, false
	}
	c, ok := v.(*Credentials)
	return c, ok
}

// identityKey keys an identity's usage: its definition and username (the
// subject of a JWT), so each user of a JWKS definition has a usage of its
// own.
func identityKey(id Identity) string { return id.Name + "\x00" + id.Username }

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// Limit checks the identity rate limits of a request that passed, in
// order (definition, then member, then group), each counting the request
// only when it is admitted, in sh when it is not nil. It returns the first
// refusal, or the admission of the tightest limit for the X-RateLimit
// headers.
func (o *Outcome) Limit(ctx context.Context, sh *ratelimit.Shared, addr netip.Addr, now time.Time) ratelimit.Decision {
	best := ratelimit.Decision{Outcome: ratelimit.Allowed, Remaining: -1}
	for _, l := range o.levels {
		if l.limiter.Empty() {
			continue
		}
		d := l.limiter.CheckShared(ctx, sh, l.id, l.key, addr, now)
		if d.Outcome != ratelimit.Allowed {
			return d
		}
		if d.Limit > 0 && (best.Limit == 0 || d.Remaining < best.Remaining) {
			best = d
		}
	}
	return best
}

// LogIn checks a username and password against the jwt definitions of a
// state and, when one matches and is active, starts a session. It reports
// false, without saying why, for an unknown user, a wrong password or an
// inactive definition. A password is compared even for an unknown user,
// so the time taken does not tell which users exist.
func LogIn(ctx context.Context, st *live.State, sessions *Sessions, username, password string) (token string, expires time.Time, ok bool, err error) {
	c := findJWT(st, username)
	digest := sha256.Sum256([]byte(password))
	if c == nil {
		subtle.ConstantTimeCompare(digest[:], make([]byte, len(digest)))
		return "", time.Time{}, false, nil
	}
	if subtle.ConstantTimeCompare(digest[:], c.secretDigest[:]) != 1 || !c.active {
		return "", time.Time{}, false, nil
	}
	token, expires, err = sessions.Create(ctx, c.name, c.def.Username, c.def.ttl())
	return token, expires, err == nil, err
}

// CreateToken starts a session on behalf of the username of a jwt
// definition, as a log-in would, without its password: services that
// authenticated a user their own way hand the token to a browser.
func CreateToken(ctx context.Context, st registry.State, sessions *Sessions, username string) (string, time.Time, error) {
	c := findJWT(st, username)
	if c == nil || !c.active {
		return "", time.Time{}, fmt.Errorf("no active jwt security definition has username %q", username)
	}
	return sessions.Create(ctx, c.name, c.def.Username, c.def.ttl())
}

// findJWT returns the jwt definition with a username.
func findJWT(st registry.State, username string) *Credentials {
	if username == "" {
		return nil
	}
	for _, name := range st.Names(Kind) {
		v, _ := st.Running(Kind, name)
		if c, ok := v.(*Credentials); ok && c.typ == "jwt" && c.def.Username == username {
			return c
		}
	}
	return nil
}
