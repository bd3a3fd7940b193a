package dispatch

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/ratelimit"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/sdk/service"
)

// Guard is what the security stages share across channels: which
// proxies' X-Forwarded-For to believe, the record of failed
// authentications by address, and the JWT sessions. The zero Guard
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
	// Shared keeps the usage of rate limits in Redis (plexus.yaml
	// rate_limiting.redis); nil keeps it in memory.
	Shared *ratelimit.Shared
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

// sharedLimits keeps rate limits' usage in the outgoing Redis connection
// with a name, looked up in the current configuration at each check; a
// check that fails is logged at most once a minute.
func sharedLimits(rt *live.Runtime, name string, log *slog.Logger) *ratelimit.Shared {
	var lastLog atomic.Int64
	return &ratelimit.Shared{
		Client: func() goredis.UniversalClient {
			v, ok := rt.State().Running(service.KindOutgoingRedis, name)
			if !ok {
				return nil
			}
			c, ok := v.(interface {
				Client() goredis.UniversalClient
			})
			if !ok {
				return nil
			}
			return c.Client()
		},
		OnError: func(err error) {
			now := time.Now().Unix()
			if last := lastLog.Load(); now-last >= 60 && lastLog.CompareAndSwap(last, now) {
				log.Warn("rate limits: Redis cannot be reached; each server counts its own usage meanwhile", "connection", name, "error", err.Error())
			}
		},
	}
}
