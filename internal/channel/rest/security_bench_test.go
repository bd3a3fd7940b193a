package rest_test

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/plexushq/plexus/internal/servertest"
)

// BenchmarkPipelineAuth measures what the security stages cost: the JSON
// echo through the whole pipeline, open and behind Basic Auth plus a rate
// limit by client address, and a bare handler doing the echo behind the
// same Basic Auth check with a constant-time compare. The difference
// between auth and open is the overhead of the stages.
func BenchmarkPipelineAuth(b *testing.B) {
	s := servertest.Start(b, servertest.Options{Settings: "log:\n  access: true\n"})
	s.Put("security", "bench", map[string]any{"type": "basic_auth", "username": "bench", "password": "bench-password-1"})
	s.Channel("echo", "plexus.helpers.echo", "POST", "/api/echo", nil)
	s.Channel("echo-auth", "plexus.helpers.echo", "POST", "/api/echo-auth", map[string]any{
		"security": "bench", "rate_limiting": []map[string]any{{"rate": 1e9, "burst": 1e9}}})
	h := s.Server.APIHandler()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("bench:bench-password-1"))
	bareAuth := func(w http.ResponseWriter, r *http.Request) {
		user, password, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte("bench"))&subtle.ConstantTimeCompare([]byte(password), []byte("bench-password-1")) != 1 {
			http.Error(w, "unauthorized", 401)
			return
		}
		bareEcho(w, r)
	}
	for _, c := range []struct {
		name    string
		handler http.Handler
		path    string
	}{
		{"plexus-open", h, "/api/echo"},
		{"plexus-auth", h, "/api/echo-auth"},
		{"bare-auth", http.HandlerFunc(bareAuth), "/api/echo-auth"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				r := httptest.NewRequest("POST", c.path, bytes.NewReader([]byte(echoBody)))
				r.Header.Set("Authorization", auth)
				c.handler.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
