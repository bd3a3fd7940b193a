package rest_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/plexushq/plexus/internal/servertest"
)

const echoBody = `{"user_id":"123","user_name":"my.user","segment":"RNZ","is_active":true,"score":12.5}`

// bareEcho is what a hand-written net/http handler does for the same
// request: a correlation ID, JSON decoded and encoded again.
func bareEcho(w http.ResponseWriter, r *http.Request) {
	var id [12]byte
	rand.Read(id[:])
	w.Header().Set("X-Plexus-CID", hex.EncodeToString(id[:]))
	body, _ := io.ReadAll(r.Body)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// BenchmarkPipeline compares the whole REST pipeline (routing, payload,
// input, service, response, metrics, access log) with a bare handler doing
// the same work, both in-process, so the difference is Plexus's overhead.
func BenchmarkPipeline(b *testing.B) {
	s := servertest.Start(b, servertest.Options{Settings: "log:\n  access: true\n"})
	s.Channel("echo", "plexus.helpers.echo", "POST", "/api/echo", nil)
	h := s.Server.APIHandler()
	for name, handler := range map[string]http.Handler{"plexus": h, "bare": http.HandlerFunc(bareEcho)} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				r := httptest.NewRequest("POST", "/api/echo", bytes.NewReader([]byte(echoBody)))
				handler.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
