package dispatch

import (
	"fmt"
	"net/netip"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/ratelimit"
	"github.com/plexushq/plexus/internal/security"
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
