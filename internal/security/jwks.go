package security

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// How a JWKS is cached: kept for jwksMaxAge, and fetched again sooner when
// a token names a key it does not hold (a key rotated in), but at most once
// per jwksRefetchEvery, so tokens with made-up key ids cannot make Plexus
// hammer the identity provider.
const (
	jwksMaxAge       = time.Hour
	jwksRefetchEvery = 10 * time.Second
	jwksMaxSize      = 1 << 20
	jwksTimeout      = 10 * time.Second
	// jwtLeeway absorbs clock differences with the token's issuer.
	jwtLeeway = 30 * time.Second
)

// jwtMethods are the signature algorithms accepted in incoming JWTs.
var jwtMethods = []string{"RS256", "ES256"}

// keySet is a JWKS fetched from a URL and cached. It is safe for
// concurrent use.
type keySet struct {
	url    string
	client *http.Client
	// now is the clock, replaced in tests.
	now func() time.Time

	mu       sync.Mutex
	keys     map[string]jwt.VerificationKey // by kid ("" for keys without one)
	all      []jwt.VerificationKey
	fetched  time.Time // last successful fetch
	tried    time.Time // last attempt
	inflight chan struct{}
}

func newKeySet(url string) *keySet {
	return &keySet{url: url, client: &http.Client{Timeout: jwksTimeout}, now: time.Now}
}

// lookup returns the keys that may have signed a token with a kid: the
// key with that id, or every key when the token names none. A missing or
// stale set is fetched first, one fetch at a time; a caller that finds a
// fetch under way waits for it.
func (ks *keySet) lookup(ctx context.Context, kid string) (any, error) {
	for attempt := 0; attempt < 2; attempt++ {
		ks.mu.Lock()
		now := ks.now()
		fresh := ks.keys != nil && now.Sub(ks.fetched) < jwksMaxAge
		if fresh {
			if k, ok := ks.found(kid); ok {
				ks.mu.Unlock()
				return k, nil
			}
		}
		if wait := ks.inflight; wait != nil {
			ks.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if attempt > 0 || now.Sub(ks.tried) < jwksRefetchEvery {
			// Fetched just now, or too recently to fetch again: use what
			// is there, stale or not.
			k, ok := ks.found(kid)
			ks.mu.Unlock()
			if !ok {
				return nil, errors.New("no key of the JWKS has the token's kid")
			}
			return k, nil
		}
		wait := make(chan struct{})
		ks.inflight, ks.tried = wait, now
		ks.mu.Unlock()
		// The fetch serves every waiting request: the one that started
		// it going away must not cancel it (the client's timeout bounds it).
		ks.fetch(context.WithoutCancel(ctx))
		ks.mu.Lock()
		ks.inflight = nil
		close(wait)
		ks.mu.Unlock()
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if k, ok := ks.found(kid); ok {
		return k, nil
	}
	return nil, errors.New("no key of the JWKS has the token's kid")
}

// found returns the cached keys for a kid; ks.mu is held.
func (ks *keySet) found(kid string) (any, bool) {
	if kid == "" {
		if len(ks.all) == 0 {
			return nil, false
		}
		return jwt.VerificationKeySet{Keys: slices.Clone(ks.all)}, true
	}
	k, ok := ks.keys[kid]
	return k, ok
}

// fetch reads the JWKS and replaces the cached keys; on failure the old
// keys stay.
func (ks *keySet) fetch(ctx context.Context) {
	keys, err := fetchJWKS(ctx, ks.client, ks.url)
	if err != nil || len(keys) == 0 {
		return
	}
	byKid := make(map[string]jwt.VerificationKey, len(keys))
	all := make([]jwt.VerificationKey, 0, len(keys))
	for _, k := range keys {
		byKid[k.kid] = k.key
		all = append(all, k.key)
	}
	ks.mu.Lock()
	ks.keys, ks.all, ks.fetched = byKid, all, ks.now()
	ks.mu.Unlock()
}

type jwk struct {
	kid string
	key jwt.VerificationKey
}

// fetchJWKS reads a JSON Web Key Set, or an OpenID configuration whose
// jwks_uri names one.
func fetchJWKS(ctx context.Context, client *http.Client, url string) ([]jwk, error) {
	for hop := 0; hop < 2; hop++ {
		doc, err := getJSON(ctx, client, url)
		if err != nil {
			return nil, err
		}
		var set struct {
			Keys    []json.RawMessage `json:"keys"`
			JWKSURI string            `json:"jwks_uri"`
		}
		if err := json.Unmarshal(doc, &set); err != nil {
			return nil, fmt.Errorf("reading JWKS %s: %w", url, err)
		}
		if set.Keys == nil && set.JWKSURI != "" && httpURL(set.JWKSURI) {
			url = set.JWKSURI
			continue
		}
		return parseJWKS(doc)
	}
	return nil, fmt.Errorf("reading JWKS %s: the OpenID configuration's jwks_uri holds no keys", url)
}

func getJSON(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetching JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching JWKS %s: status %d", url, resp.StatusCode)
	}
	return io.ReadAll(io.LimitReader(resp.Body, jwksMaxSize))
}

// parseJWKS reads the signature keys of a JSON Web Key Set: RSA keys and
// P-256 EC keys; other keys, and keys whose use is not sig, are skipped.
func parseJWKS(doc []byte) ([]jwk, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			N   string `json:"n"`
			E   string `json:"e"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Y   string `json:"y"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("reading JWKS: %w", err)
	}
	var out []jwk
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		switch k.Kty {
		case "RSA":
			n, err1 := b64int(k.N)
			e, err2 := b64int(k.E)
			if err1 != nil || err2 != nil || n.BitLen() < 2048 || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31 {
				continue
			}
			out = append(out, jwk{kid: k.Kid, key: &rsa.PublicKey{N: n, E: int(e.Int64())}})
		case "EC":
			if k.Crv != "P-256" {
				continue
			}
			x, err1 := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.X, "="))
			y, err2 := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.Y, "="))
			if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
				continue
			}
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
			if err != nil {
				continue
			}
			out = append(out, jwk{kid: k.Kid, key: pub})
		}
	}
	return out, nil
}

func b64int(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(b) == 0 {
		return nil, errors.New("bad integer")
	}
	return new(big.Int).SetBytes(b), nil
}

// claim is one required claim: a name, and a value when it must equal one.
type claim struct {
	name, value string
	hasValue    bool
}

func parseClaims(specs []string) []claim {
	out := make([]claim, 0, len(specs))
	for _, s := range specs {
		name, value, ok := strings.Cut(s, "=")
		out = append(out, claim{name: strings.TrimSpace(name), value: strings.TrimSpace(value), hasValue: ok})
	}
	return out
}

// matches reports whether a token's claims hold the required claim. A
// list claim matches when it contains the value; a string claim with
// spaces (OAuth2 scope) when one of its words is the value.
func (c claim) matches(claims jwt.MapClaims) bool {
	v, ok := claims[c.name]
	if !ok || v == nil {
		return false
	}
	if !c.hasValue {
		return true
	}
	switch x := v.(type) {
	case string:
		return x == c.value || slices.Contains(strings.Fields(x), c.value)
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok && s == c.value {
				return true
			}
		}
		return false
	case bool:
		return fmt.Sprint(x) == c.value
	case float64:
		return strings.TrimSuffix(fmt.Sprintf("%f", x), ".000000") == c.value || fmt.Sprint(x) == c.value
	}
	return false
}

// verifyJWT checks an incoming JWT: signed with RS256 or ES256 by a key of
// the definition's JWKS, unexpired, for its audience and issuer, carrying
// its required claims. It returns the token's subject.
func (c *Credentials) verifyJWT(ctx context.Context, token string, now time.Time) (string, error) {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(jwtMethods),
		jwt.WithExpirationRequired(),
		jwt.WithAudience(c.def.Audience),
		jwt.WithLeeway(jwtLeeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	}
	if c.def.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(c.def.Issuer))
	}
	claims := jwt.MapClaims{}
	_, err := jwt.NewParser(opts...).ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return c.keys.lookup(ctx, kid)
	})
	if err != nil {
		return "", fmt.Errorf("verifying JWT: %w", err)
	}
	for _, cl := range c.claims {
		if !cl.matches(claims) {
			return "", fmt.Errorf("verifying JWT: claim %q missing or different", cl.name)
		}
	}
	sub, _ := claims["sub"].(string)
	return sub, nil
}
