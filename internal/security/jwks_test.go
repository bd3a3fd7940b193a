package security

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/plexushq/plexus/internal/registry"
)

// idp is a local identity provider: a JWKS served over HTTP whose keys a
// test rotates, and the private keys to sign tokens with.
type idp struct {
	srv     *httptest.Server
	mu      sync.Mutex
	keys    map[string]any // kid → *rsa.PrivateKey or *ecdsa.PrivateKey
	fetches atomic.Int64
}

func newIDP(t *testing.T) *idp {
	p := &idp{keys: map[string]any{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/openid-configuration" {
			json.NewEncoder(w).Encode(map[string]string{"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/jwks"})
			return
		}
		p.fetches.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		var keys []map[string]string
		b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
		for kid, k := range p.keys {
			switch k := k.(type) {
			case *rsa.PrivateKey:
				keys = append(keys, map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())})
			case *ecdsa.PrivateKey:
				raw, _ := k.PublicKey.Bytes()
				keys = append(keys, map[string]string{"kty": "EC", "kid": kid, "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:])})
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) addRSA(t *testing.T, kid string) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.keys[kid] = k
	p.mu.Unlock()
}

func (p *idp) addEC(kid string) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.mu.Lock()
	p.keys[kid] = k
	p.mu.Unlock()
}

func (p *idp) sign(t *testing.T, kid string, claims jwt.MapClaims) string {
	p.mu.Lock()
	k := p.keys[kid]
	p.mu.Unlock()
	var tok *jwt.Token
	switch k.(type) {
	case *rsa.PrivateKey:
		tok = jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	default:
		tok = jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	}
	tok.Header["kid"] = kid
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startDef(t *testing.T, obj string) *Credentials {
	t.Helper()
	k, _ := registry.Lookup(Kind)
	o, errs := k.Decode([]byte(obj))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if errs := append(k.CheckFields(o), o.Validate()...); len(errs) > 0 {
		t.Fatal(errs)
	}
	r, err := k.Provision(&registry.Env{}, o)
	if err != nil {
		t.Fatal(err)
	}
	return r.(*Credentials)
}

func bearerRequest(token string) *Inbound {
	return &Inbound{Presented: ParseAuthorization("bearer " + token), Now: time.Now(), Ctx: context.Background()}
}

func TestBearerJWKS(t *testing.T) {
	p := newIDP(t)
	p.addRSA(t, "r1")
	p.addEC("e1")
	c := startDef(t, `{"name": "partners", "type": "bearer_token", "jwks_url": "`+p.srv.URL+`/.well-known/openid-configuration",
		"issuer": "https://idp.test/", "audience": "plexus", "claims": ["scope=orders", "tenant"]}`)
	now := time.Now()
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": "https://idp.test/", "aud": []string{"other", "plexus"}, "sub": "user-7",
			"exp": now.Add(time.Hour).Unix(), "scope": "profile orders", "tenant": "acme"}
	}
	with := func(k string, v any) jwt.MapClaims {
		c := good()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	foreign := func(kid string, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
		tok.Header["kid"] = kid
		s, _ := tok.SignedString(stranger)
		return s
	}
	for name, tc := range map[string]struct {
		token string
		want  Result
	}{
		"RS256":          {p.sign(t, "r1", good()), Passed},
		"ES256":          {p.sign(t, "e1", good()), Passed},
		"wrong audience": {p.sign(t, "r1", with("aud", "other")), Failed},
		"wrong issuer":   {p.sign(t, "r1", with("iss", "https://evil.test/")), Failed},
		"expired":        {p.sign(t, "r1", with("exp", now.Add(-time.Hour).Unix())), Failed},
		"no expiry":      {p.sign(t, "r1", with("exp", nil)), Failed},
		"claim value":    {p.sign(t, "r1", with("scope", "profile")), Failed},
		"claim missing":  {p.sign(t, "r1", with("tenant", nil)), Failed},
		"unknown kid":    {foreign("zz", good()), Failed},
		"foreign key":    {foreign("r1", good()), Failed},
		"HS256 with no key": {func() string {
			s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, good()).SignedString([]byte("k"))
			return s
		}(), Failed},
		"not a JWT": {"abc", Failed},
	} {
		id, res := c.Authenticate(bearerRequest(tc.token))
		if res != tc.want {
			t.Errorf("%s: %v, want %v", name, res, tc.want)
		}
		if res == Passed && (id.Username != "user-7" || id.Name != "partners" || id.Type != "bearer_token") {
			t.Errorf("%s: identity %+v", name, id)
		}
	}
	if _, res := c.Authenticate(&Inbound{Ctx: context.Background()}); res != Missing {
		t.Errorf("no token: %v", res)
	}
	// The keys were fetched once (through the OpenID configuration), not
	// per token.
	if n := p.fetches.Load(); n != 1 {
		t.Errorf("%d JWKS fetches", n)
	}
}

// A token signed with a key rotated in after the JWKS was cached makes
// the set be fetched again, at most once per throttle period.
func TestJWKSRotation(t *testing.T) {
	p := newIDP(t)
	p.addRSA(t, "old")
	c := startDef(t, `{"name": "d", "type": "bearer_token", "jwks_url": "`+p.srv.URL+`/jwks", "audience": "plexus"}`)
	clock := time.Now()
	c.keys.now = func() time.Time { return clock }
	claims := func() jwt.MapClaims {
		return jwt.MapClaims{"aud": "plexus", "sub": "u", "exp": clock.Add(time.Hour).Unix()}
	}
	check := func(tok string) Result {
		in := bearerRequest(tok)
		in.Now = clock
		_, res := c.Authenticate(in)
		return res
	}
	if check(p.sign(t, "old", claims())) != Passed || p.fetches.Load() != 1 {
		t.Fatalf("first token: fetches %d", p.fetches.Load())
	}
	p.addRSA(t, "new")
	// Within the throttle period the unknown kid fails without a fetch...
	clock = clock.Add(time.Second)
	if check(p.sign(t, "new", claims())) != Failed || p.fetches.Load() != 1 {
		t.Fatalf("within the throttle: fetches %d", p.fetches.Load())
	}
	// ...after it, one fetch brings the new key in.
	clock = clock.Add(jwksRefetchEvery)
	var wg sync.WaitGroup
	tok := p.sign(t, "new", claims())
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if check(tok) != Passed {
				t.Error("rotated key refused")
			}
		}()
	}
	wg.Wait()
	if p.fetches.Load() != 2 {
		t.Fatalf("after rotation: %d fetches", p.fetches.Load())
	}
	// The old key, removed by the provider, goes when the set is fetched
	// again after its maximum age.
	p.mu.Lock()
	delete(p.keys, "old")
	p.mu.Unlock()
	clock = clock.Add(jwksMaxAge)
	if check(p.sign(t, "new", claims())) != Passed {
		t.Fatal("new key refused after refresh")
	}
	p.addRSA(t, "old") // a different key under the old kid
	if p.fetches.Load() != 3 {
		t.Errorf("%d fetches after the maximum age", p.fetches.Load())
	}
}

func TestSubjectAndFingerprint(t *testing.T) {
	if normalizeDN("CN=billing, O=Plexus Tests") != normalizeDN("cn=billing,o=plexus tests") {
		t.Error("DN normalisation")
	}
	fp := "AB:cd:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
	if b, err := parseFingerprint(fp); err != nil || len(b) != 32 {
		t.Errorf("fingerprint: %v", err)
	}
	for _, bad := range []string{"AB:CD", "zz" + fp[2:], fp + "00"} {
		if _, err := parseFingerprint(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseJWKS(f *testing.F) {
	f.Add(`{"keys": [{"kty": "RSA", "kid": "a", "n": "AQAB", "e": "AQAB"}, {"kty": "EC", "crv": "P-256", "x": "", "y": ""}]}`)
	f.Add(`{"keys": null}`)
	f.Fuzz(func(t *testing.T, doc string) {
		keys, _ := parseJWKS([]byte(doc))
		for _, k := range keys {
			if k.key == nil {
				t.Fatal("nil key")
			}
		}
	})
}

func FuzzClaimsAndDN(f *testing.F) {
	f.Add("scope=orders", "CN=a, O=b")
	f.Fuzz(func(t *testing.T, spec, dn string) {
		cl := parseClaims([]string{spec})
		cl[0].matches(jwt.MapClaims{"scope": "orders x", "n": 1.0, "l": []any{"a"}})
		if normalizeDN(normalizeDN(dn)) != normalizeDN(dn) {
			t.Fatalf("normalizeDN is not idempotent for %q", dn)
		}
		parseFingerprint(dn)
	})
}
