// Package redact makes values safe to echo in an error or a problem: a
// value a user wrote comes back cut to a short prefix, with the secret
// parts of URLs in it masked, so a refused value neither leaks a password
// nor turns a 50 MB mistake into a 50 MB error.
package redact

import (
	"strconv"
	"strings"
)

// MaxShown is how many characters of a value an error shows; a longer
// value is cut and ends with "…".
const MaxShown = 64

// Mask replaces each secret a value holds.
const Mask = "******"

// Quote returns v double-quoted for an error text: its secrets masked
// (see Secrets), then cut to its first MaxShown characters and "…".
func Quote(v string) string {
	return strconv.Quote(Short(Secrets(v)))
}

// Short cuts v to its first MaxShown characters, adding "…" when it is
// longer.
func Short(v string) string {
	n := 0
	for i := range v {
		if n == MaxShown {
			return v[:i] + "…"
		}
		n++
	}
	return v
}

// Secrets masks the secret parts of the URLs in v: the password of a
// scheme://user:password@host userinfo, and the value of every query
// parameter whose name looks like a secret (token, key, secret,
// password, signature, credential, auth and the like). Everything else
// is kept as written.
func Secrets(v string) string {
	if i := strings.Index(v, "://"); i >= 0 {
		v = v[:i+3] + userinfo(v[i+3:])
	}
	if q := strings.IndexByte(v, '?'); q >= 0 {
		v = v[:q+1] + query(v[q+1:])
	}
	return v
}

// userinfo masks the password of the authority that starts rest.
func userinfo(rest string) string {
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return rest
	}
	colon := strings.IndexByte(rest[:at], ':')
	if colon < 0 {
		return rest
	}
	return rest[:colon+1] + Mask + rest[at:]
}

// query masks the values of secret-looking parameters of a query string,
// up to its #fragment.
func query(q string) string {
	end := strings.IndexByte(q, '#')
	if end < 0 {
		end = len(q)
	}
	var b strings.Builder
	for rest := q[:end]; rest != ""; {
		pair := rest
		sep := strings.IndexAny(rest, "&;")
		if sep >= 0 {
			pair, rest = rest[:sep], rest[sep:]
		} else {
			rest = ""
		}
		if name, _, ok := strings.Cut(pair, "="); ok && SecretName(name) {
			pair = name + "=" + Mask
		}
		b.WriteString(pair)
		if rest != "" {
			b.WriteByte(rest[0])
			rest = rest[1:]
		}
	}
	return b.String() + q[end:]
}

// secretWords are the parts of parameter names that mark their values as
// secrets.
var secretWords = []string{"token", "key", "secret", "pass", "pwd", "sig", "credential", "auth", "session", "code"}

// SecretName reports whether a parameter or field name looks like it holds
// a secret, such as access_token, api_key, X-Amz-Signature or password.
func SecretName(name string) bool {
	name = strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}
