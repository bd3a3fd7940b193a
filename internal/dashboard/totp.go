package dashboard

import "net/http"

// totpSecret returns the enrolled TOTP secret, if any.
func (d *Dashboard) totpSecret(r *http.Request) (string, bool) { return "", false }

// totpValid checks a TOTP code against the secret.
func (d *Dashboard) totpValid(r *http.Request, secret, code string) bool { return false }
