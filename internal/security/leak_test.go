package security_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/sdk/service"
)

// Secrets of every type, made distinctive so that any copy of them can be
// found.
const (
	leakBasic  = "LEAK-basic-pw-7f3a"
	leakAPIKey = "LEAK-apikey-9c1d"
	leakJWT    = "LEAK-jwt-pw-2b8e"
	leakStatic = "LEAK-static-tok-5e6f"
	leakOAuth  = "LEAK-oauth-secret-4d2c"
	leakAccess = "LEAK-oauth-access-8a7b"
)

// One definition of every type is created and used, inbound and
// outbound; then the enmasse export, every admin API answer, the whole
// server log and the raw rows of the store are searched for each secret
// (and for the tokens issued): none may appear.
func TestNoSecretLeaks(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			r.ParseForm()
			if r.PostForm.Get("client_secret") != leakOAuth {
				http.Error(w, "bad client", 401)
				return
			}
			w.Write([]byte(`{"access_token": "` + leakAccess + `", "expires_in": 3600}`))
			return
		}
		mu.Lock()
		seen[r.URL.Path] = r.Header.Get("Authorization")
		mu.Unlock()
		w.Write([]byte(`{}`))
	}))
	defer backend.Close()

	call := service.Func("test.call", "", func(s *service.Context) error {
		for _, name := range []string{"oauth.out", "static.out", "basic.out"} {
			resp, err := s.Out().REST(name).Get(s.CID, nil)
			if err != nil {
				return err
			}
			if resp.StatusCode != 200 {
				return service.BadRequest("%s answered %d", name, resp.StatusCode)
			}
		}
		return nil
	})
	whoami := service.Func("test.whoami", "", func(s *service.Context) error {
		s.Response.Payload = s.Channel.Security
		return nil
	})
	s := servertest.Start(t, servertest.Options{Services: []any{call, whoami}, Settings: "auth_failures:\n  slow_after: 0\n  lock_after: 0\n"})
	s.Put("security", "basic", map[string]any{"type": "basic_auth", "username": "u", "password": leakBasic})
	s.Put("security", "key", map[string]any{"type": "apikey", "password": leakAPIKey})
	s.Put("security", "sessions", map[string]any{"type": "jwt", "username": "fe", "password": leakJWT})
	s.Put("security", "static", map[string]any{"type": "bearer_token", "static_token": leakStatic})
	s.Put("security", "oauth", map[string]any{"type": "bearer_token", "auth_server_url": backend.URL + "/token", "username": "cid", "password": leakOAuth})
	s.Put("security", "cert", map[string]any{"type": "mtls", "client_cert_subject_dn": "CN=x"})
	for _, d := range []string{"basic", "key", "sessions", "static"} {
		s.Channel("in."+d, "test.whoami", "", "/in/"+d, map[string]any{"security": d})
	}
	for name, def := range map[string]string{"oauth.out": "oauth", "static.out": "static", "basic.out": "basic"} {
		s.Put("outgoing_rest", name, map[string]any{"host": backend.URL, "url_path": "/" + def, "security": def})
	}
	s.Channel("call", "test.call", "", "/call", nil)

	// Use every definition, inbound with right and wrong secrets.
	use := func(path string, h http.Header, want int) {
		t.Helper()
		if r := s.Call("GET", path, "", h); r.StatusCode != want {
			t.Fatalf("%s: %d %s", path, r.StatusCode, r.Body)
		}
	}
	use("/in/basic", http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("u:"+leakBasic))}}, 200)
	use("/in/basic", http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("u:"+leakBasic+"x"))}}, 401)
	use("/in/key", http.Header{"X-Api-Key": {leakAPIKey}}, 200)
	use("/in/static", http.Header{"Authorization": {"Bearer " + leakStatic}}, 200)
	r := s.Call("POST", "/plexus/jwt/log-in", `{"username": "fe", "password": "`+leakJWT+`"}`, nil)
	token, _ := r.JSON(t)["token"].(string)
	if token == "" {
		t.Fatalf("log-in: %s", r.Body)
	}
	use("/in/sessions", http.Header{"Authorization": {"Bearer " + token}}, 200)
	s.Call("POST", "/plexus/jwt/log-in", `{"username": "fe", "password": "`+leakJWT+`-wrong"}`, nil)
	use("/call", nil, 200)
	mu.Lock()
	if seen["/oauth"] != "Bearer "+leakAccess || seen["/static"] != "Bearer "+leakStatic {
		t.Errorf("outgoing credentials: %v", seen)
	}
	mu.Unlock()
	s.AdminCall("POST", "/admin/api/v1/objects/security/key/password", `{"password": "`+leakAPIKey+`-2"}`)

	places := map[string]string{}
	for _, path := range []string{
		"/admin/api/v1/objects/security", "/admin/api/v1/objects/security/basic", "/admin/api/v1/objects/security/oauth",
		"/admin/api/v1/objects/security/static", "/admin/api/v1/objects/security/sessions", "/admin/api/v1/objects/security/key",
		"/admin/api/v1/objects/outgoing_rest", "/admin/api/v1/objects/channel_rest", "/admin/api/v1/enmasse/export", "/admin/api/v1/kinds",
	} {
		r := s.AdminCall("GET", path, "")
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d", path, r.StatusCode)
		}
		places["GET "+path] = string(r.Body)
	}
	rows, err := s.Store.DB().Query("SELECT kind, name, body FROM objects UNION ALL SELECT 'session', id, definition || username FROM jwt_sessions")
	if err != nil {
		t.Fatal(err)
	}
	var raw strings.Builder
	for rows.Next() {
		var k, n, b string
		rows.Scan(&k, &n, &b)
		raw.WriteString(k + " " + n + " " + b + "\n")
	}
	rows.Close()
	places["store rows"] = raw.String()
	if !strings.Contains(raw.String(), "enc:v1:") {
		t.Error("the store holds no sealed secrets")
	}
	s.Stop()
	places["server log"] = s.Log.String()

	for where, text := range places {
		for _, secret := range []string{leakBasic, leakAPIKey, leakJWT, leakStatic, leakOAuth, leakAccess, token,
			base64.StdEncoding.EncodeToString([]byte("u:" + leakBasic))} {
			if strings.Contains(text, secret) {
				t.Errorf("%s shows the secret %.20s…", where, secret)
			}
		}
	}
}
