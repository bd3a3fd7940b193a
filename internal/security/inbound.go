package security

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// Result is the outcome of checking a request against one definition.
type Result int

// Results of a check.
const (
	// Missing: the request carries no credentials of the definition's
	// kind (no Authorization header, no client certificate).
	Missing Result = iota
	// Failed: the request carries credentials of the definition's kind,
	// and they are wrong.
	Failed
	// Passed: the credentials are the definition's.
	Passed
)

// Inbound is a request being authenticated: the credentials its channel
// adapter found, whatever carried them, and its headers or properties.
// Checks read only these, never the transport's own request, so every
// channel kind is authenticated the same way.
type Inbound struct {
	// Presented is what the request presented to prove who sent it.
	Presented
	// Headers are the request's headers or properties; an apikey
	// definition reads its key from the one it names.
	Headers textproto.MIMEHeader
	// Sessions checks Plexus-issued JWT session tokens; nil refuses them.
	Sessions *Sessions
	// Now is the time of the check.
	Now time.Time
	// Ctx bounds the lookups a check may make (a session read, a JWKS
	// fetch).
	Ctx context.Context
}

// Identity is who a request authenticated as: the definition that
// admitted it and the username it carried.
type Identity struct {
	Name     string
	Type     string
	Username string
}

// Authenticate checks a request against the definition. An inactive
// definition fails every request. The comparison of secrets takes the same
// time whatever part of them is wrong.
func (c *Credentials) Authenticate(in *Inbound) (Identity, Result) {
	user, res := c.spec.inbound(c, in)
	if res == Passed && !c.active {
		res = Failed
	}
	if res != Passed {
		return Identity{}, res
	}
	return Identity{Name: c.name, Type: c.typ, Username: user}, Passed
}

// equalDigest compares the SHA-256 of a value with a digest in constant
// time; comparing digests keeps the length of the secret from showing.
func equalDigest(value string, digest [32]byte) int {
	d := sha256.Sum256([]byte(value))
	return subtle.ConstantTimeCompare(d[:], digest[:])
}

func basicValue(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func basicChallenge(realm string) string {
	if realm == "" {
		realm = "Plexus"
	}
	return `Basic realm=` + strconv.Quote(realm)
}

func basicInbound(c *Credentials, in *Inbound) (string, Result) {
	switch {
	case in.BadBasic:
		return "", Failed // Basic, but malformed
	case !in.Basic:
		return "", Missing // none, or another scheme: not this definition's business
	}
	// Both halves are always compared, so the time taken does not tell
	// whether the username was right.
	if equalDigest(in.Username, c.userDigest)&equalDigest(in.Password, c.secretDigest) == 1 && !c.def.lacksPassword() {
		return in.Username, Passed
	}
	return "", Failed
}

func apiKeyInbound(c *Credentials, in *Inbound) (string, Result) {
	vals := in.Headers.Values(c.def.apiKeyHeader())
	if len(vals) == 0 {
		return "", Missing
	}
	if len(vals) == 1 && equalDigest(vals[0], c.secretDigest) == 1 && !c.def.lacksPassword() {
		return c.def.Username, Passed
	}
	return "", Failed
}

func bearerInbound(c *Credentials, in *Inbound) (string, Result) {
	token := in.Token
	if token == "" {
		return "", Missing
	}
	if c.def.StaticToken != "" && equalDigest(token, c.secretDigest) == 1 {
		return c.def.Username, Passed
	}
	if c.keys == nil || strings.Count(token, ".") != 2 {
		return "", Failed
	}
	sub, err := c.verifyJWT(in.Ctx, token, in.Now)
	if err != nil {
		return "", Failed
	}
	return sub, Passed
}

func sessionInbound(c *Credentials, in *Inbound) (string, Result) {
	token := in.Token
	if token == "" {
		return "", Missing
	}
	if in.Sessions == nil {
		return "", Failed
	}
	if err := in.Sessions.Check(in.Ctx, token, c.name, c.def.Username, c.def.ttl(), in.Now); err != nil {
		return "", Failed
	}
	return c.def.Username, Passed
}

func mtlsInbound(c *Credentials, in *Inbound) (string, Result) {
	if len(in.Certificates) == 0 {
		return "", Missing
	}
	// Only a certificate the listener verified against its client CA
	// counts.
	if !in.Verified {
		return "", Failed
	}
	cert := in.Certificates[0]
	ok := 1
	if c.fingerprint != nil {
		sum := sha256.Sum256(cert.Raw)
		ok &= subtle.ConstantTimeCompare(sum[:], c.fingerprint)
	}
	if c.subjectDN != "" && normalizeDN(cert.Subject.String()) != c.subjectDN {
		ok = 0
	}
	if ok != 1 {
		return "", Failed
	}
	return cert.Subject.CommonName, Passed
}

// parseFingerprint reads a SHA-256 fingerprint in hex, with or without
// colons, in any case.
func parseFingerprint(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	clean := strings.NewReplacer(":", "", " ", "").Replace(strings.TrimSpace(s))
	b, err := hex.DecodeString(strings.ToLower(clean))
	if err != nil || len(b) != sha256.Size {
		return nil, errors.New("expected a SHA-256 fingerprint: 64 hex digits, colons allowed")
	}
	return b, nil
}

// normalizeDN makes a subject DN comparable: no spaces around the commas
// and equals signs, and one case.
func normalizeDN(s string) string {
	if s == "" {
		return ""
	}
	parts := strings.Split(s, ",")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if ok {
			p = strings.TrimSpace(k) + "=" + strings.TrimSpace(v)
		}
		parts[i] = strings.ToLower(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

// FingerprintOf returns the SHA-256 fingerprint of a DER certificate, in
// the colon-separated upper-case hex that openssl prints.
func FingerprintOf(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(hex.EncodeToString([]byte{x})))
	}
	return b.String()
}
