package security

import (
	"crypto/x509"
	"encoding/base64"
	"strings"
)

// Presented is what a request presented to prove who sent it, as its
// channel adapter found it: an Authorization header, a broker's message
// properties, a TLS handshake. The zero value presents nothing.
type Presented struct {
	// Basic says the request carried a username and a password (HTTP Basic
	// Auth, or the equivalent of another transport).
	Basic              bool
	Username, Password string
	// BadBasic says the request carried Basic credentials that could not
	// be read; they fail every basic_auth definition.
	BadBasic bool
	// Token is the bearer token the request carried, or "".
	Token string
	// Certificates is the client certificate chain the transport
	// received, leaf first.
	Certificates []*x509.Certificate
	// Verified says the transport verified Certificates against its client
	// CA; an unverified certificate fails every mtls definition.
	Verified bool
}

// ParseAuthorization reads the credentials of an Authorization header
// value: Basic (a base64 username:password) or Bearer (a token), the
// scheme's name in any case. A value of another scheme presents neither.
func ParseAuthorization(v string) Presented {
	var p Presented
	switch {
	case hasScheme(v, "Basic"):
		p.Username, p.Password, p.Basic = decodeBasic(v[len("Basic "):])
		p.BadBasic = !p.Basic
	case hasScheme(v, "Bearer"):
		p.Token = strings.TrimSpace(v[len("Bearer "):])
	}
	return p
}

// decodeBasic reads the base64 user:password of a Basic value, as
// net/http's Request.BasicAuth does.
func decodeBasic(enc string) (user, password string, ok bool) {
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", "", false
	}
	user, password, ok = strings.Cut(string(b), ":")
	if !ok {
		return "", "", false
	}
	return user, password, true
}

// hasScheme reports whether an Authorization value uses a scheme: its
// name in any case, then a space.
func hasScheme(h, scheme string) bool {
	return len(h) > len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) && h[len(scheme)] == ' '
}
