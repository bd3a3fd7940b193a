package rest

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzLogInCredentials feeds the log-in body parser arbitrary bodies as
// JSON and as forms: it never panics, and admits only a non-empty username.
func FuzzLogInCredentials(f *testing.F) {
	f.Add(`{"username": "u", "password": "p"}`, false)
	f.Add(`username=u&password=p`, true)
	f.Add(`{"username": 1}`, false)
	f.Fuzz(func(t *testing.T, body string, form bool) {
		r := httptest.NewRequest("POST", LogInPath, strings.NewReader(body))
		if form {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		user, _, ok := logInCredentials(r)
		if ok && user == "" {
			t.Fatalf("admitted an empty username from %q", body)
		}
	})
}
