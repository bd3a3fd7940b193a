package security_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/servertest"
)

// A Starlark service creates a session token on a user's behalf with
// self.security.jwt.create, and a channel secured by the definition admits
// it as that user.
func TestStarlarkCreateToken(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	s.Put("security", "app", map[string]any{"type": "jwt", "username": "browser", "password": "pw-4567"})
	src := `"""Creates a session token for the browser."""
name = "test.token"

def handle(self):
    self.response.payload = {"token": self.security.jwt.create("browser")}
`
	who := `name = "test.who"

def handle(self):
    self.response.payload = self.channel.security.to_dict()
`
	for file, code := range map[string]string{"token.star": src, "who.star": who} {
		body, _ := json.Marshal(map[string]string{"file": file, "source": code})
		if r := s.AdminCall("POST", "/admin/api/v1/deploy", string(body)); r.StatusCode != 200 {
			t.Fatalf("deploy: %d %s", r.StatusCode, r.Body)
		}
	}
	s.Channel("token", "test.token", "POST", "/token", nil)
	s.Channel("who", "test.who", "GET", "/who", map[string]any{"security": "app"})
	r := s.Call("POST", "/token", "", nil)
	token, _ := r.JSON(t)["token"].(string)
	if !strings.HasPrefix(token, "pxs1.") {
		t.Fatalf("token: %d %s", r.StatusCode, r.Body)
	}
	r = s.Call("GET", "/who", "", http.Header{"Authorization": {"Bearer " + token}})
	if r.StatusCode != 200 || r.JSON(t)["username"] != "browser" || r.JSON(t)["type"] != "jwt" {
		t.Errorf("who: %d %s", r.StatusCode, r.Body)
	}
}
