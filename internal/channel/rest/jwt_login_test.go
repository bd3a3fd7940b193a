package rest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/servertest"
)

// The log-in takes the credentials as the documented curl sends them (a
// JSON body with curl -d's form content type), as JSON and as a form.
func TestJWTLogInBodies(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Settings: noFailures})
	s.Put("security", "app", map[string]any{"type": "jwt", "username": "frontend", "password": "fe-pass-1", "ttl": "1h"})
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for _, c := range []struct {
		body   string
		header http.Header
		status int
	}{
		{`{"username": "frontend", "password": "fe-pass-1"}`, form, 200}, // curl -d '{…}'
		{` {"username": "frontend", "password": "fe-pass-1"}`, http.Header{"Content-Type": {"application/json"}}, 200},
		{`{"username": "frontend", "password": "fe-pass-1"}`, nil, 200},
		{`username=frontend&password=fe-pass-1`, form, 200},
		{`username=frontend&password=fe-pass-1`, http.Header{"Content-Type": {"Application/X-WWW-Form-Urlencoded; charset=utf-8"}}, 200},
		{`{"username": "frontend", "password": "wrong-pass"}`, form, 401},
		{`username=frontend&password=fe-pass-1`, nil, 400},
		{`{"username": ""}`, form, 400},
	} {
		r := s.Call("POST", "/plexus/jwt/log-in", c.body, c.header)
		if r.StatusCode != c.status {
			t.Errorf("%s with %v: %d %s, want %d", c.body, c.header, r.StatusCode, r.Body, c.status)
		}
		if c.status == 200 && !strings.Contains(string(r.Body), `"token":"pxs1.`) {
			t.Errorf("%s: %s", c.body, r.Body)
		}
	}
}
