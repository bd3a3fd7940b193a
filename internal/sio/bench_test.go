package sio_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/sdk/service"
)

// typedEcho declares ten elements of mixed types and returns its input.
type typedEcho struct{}

func (typedEcho) Name() string { return "bench.typed-echo" }

func (typedEcho) SimpleIO() service.SimpleIO {
	elems := []service.Elem{
		service.Int("cust_id"), service.Text("name"), service.Bool("is_active"), service.Float("score"),
		service.Int("item_count"), service.Text("region"), service.Date("since"), service.Text("email"),
		service.Decimal("balance"), service.UUID("ref"),
	}
	return service.SimpleIO{InputRequired: elems, OutputRequired: elems}
}

func (typedEcho) Handle(s *service.Context) error {
	s.Response.Payload = map[string]any(s.Request.Input)
	return nil
}

const echoBody = `{"cust_id": 123, "name": "Jane Doe", "is_active": true, "score": 4.5, "item_count": 7,
 "region": "EMEA", "since": "2020-01-31", "email": "jane@example.com", "balance": "1200.50",
 "ref": "0190a8f8-7c2e-7b61-9e36-5f3c1b2a4d5e"}`

// BenchmarkEcho compares a ten-field typed echo with the untyped echo
// through the same pipeline (the REST handler, in process), and reports
// the typed one's overhead in percent.
func BenchmarkEcho(b *testing.B) {
	s := servertest.Start(b, servertest.Options{Services: []any{typedEcho{}}, Settings: "log:\n  level: warn\n  access: false\n"})
	s.Channel("untyped", "plexus.helpers.echo", "POST", "/echo", nil)
	s.Channel("typed", "bench.typed-echo", "POST", "/typed-echo", nil)
	h := s.Server.APIHandler()
	call := func(path string) {
		req := httptest.NewRequest("POST", path, strings.NewReader(echoBody))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
	}
	b.Run("untyped", func(b *testing.B) {
		for b.Loop() {
			call("/echo")
		}
	})
	b.Run("typed", func(b *testing.B) {
		for b.Loop() {
			call("/typed-echo")
		}
	})
	b.Run("overhead", func(b *testing.B) {
		overhead(b, call)
	})
}

// BenchmarkEchoHTTP is BenchmarkEcho over loopback HTTP against the
// running server, as the load benchmark measures it.
func BenchmarkEchoHTTP(b *testing.B) {
	s := servertest.Start(b, servertest.Options{Services: []any{typedEcho{}}, Settings: "log:\n  level: warn\n  access: false\n"})
	s.Channel("untyped", "plexus.helpers.echo", "POST", "/echo", nil)
	s.Channel("typed", "bench.typed-echo", "POST", "/typed-echo", nil)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	call := func(path string) {
		resp, err := client.Post(s.API+path, "application/json", strings.NewReader(echoBody))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	overhead(b, call)
}

// overhead calls /echo and /typed-echo in turn, so both see the same
// machine state, and reports how much longer the typed one took.
func overhead(b *testing.B, call func(path string)) {
	var untyped, typed time.Duration
	for b.Loop() {
		t0 := time.Now()
		call("/echo")
		t1 := time.Now()
		call("/typed-echo")
		untyped += t1.Sub(t0)
		typed += time.Since(t1)
	}
	b.ReportMetric(100*(float64(typed)-float64(untyped))/float64(untyped), "overhead-%")
}
