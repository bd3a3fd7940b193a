package wsx_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/internal/wsx"
)

// A channel secured by a bearer_token definition with a JWKS admits a
// client whose upgrade carries a JWT its provider signed, in the
// Authorization header or in ?token=, with the subject as the client's
// user, and refuses the upgrade with any other token.
func TestBearerJWKS(t *testing.T) {
	key, jwksURL := testenv.JWKS(t)
	s := servertest.Start(t, servertest.Options{Settings: "auth_failures:\n  slow_after: 0\n  lock_after: 0\n"})
	s.Deploy("echo.star", echoSvc)
	s.Put("security", "idp", map[string]any{"type": "bearer_token", "jwks_url": jwksURL, "audience": "live", "issuer": "https://idp.test/"})
	s.Put(wsx.ChannelKind, "live", map[string]any{"url_path": "/ws/live", "service": "test.echo", "protocol": "json", "security": "idp"})
	sign := func(aud string, exp time.Duration) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": "https://idp.test/", "aud": aud, "sub": "alice", "exp": time.Now().Add(exp).Unix()})
		tok.Header["kid"] = "k1"
		str, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return str
	}
	good := sign("live", time.Hour)
	for how, c := range map[string]func() (path string, h http.Header){
		"header": func() (string, http.Header) { return "/ws/live", http.Header{"Authorization": {"Bearer " + good}} },
		"query":  func() (string, http.Header) { return "/ws/live?token=" + url.QueryEscape(good), nil },
	} {
		path, h := c()
		conn := mustDial(t, s, path, h)
		send(t, conn, map[string]any{"n": 1})
		if m := recv(t, conn); m["user"] != "alice" {
			t.Errorf("token in the %s: reply %v", how, m)
		}
	}
	for name, tok := range map[string]string{"another audience": sign("billing", time.Hour), "expired": sign("live", -time.Hour), "not a JWT": "a.b.c"} {
		if _, resp, err := dial(t, s, "/ws/live", http.Header{"Authorization": {"Bearer " + tok}}); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s token in the header: %v %v", name, resp, err)
		}
		if _, resp, err := dial(t, s, "/ws/live?token="+url.QueryEscape(tok), nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s token in the query: %v %v", name, resp, err)
		}
	}
	if _, resp, err := dial(t, s, "/ws/live", nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %v %v", resp, err)
	}
}
