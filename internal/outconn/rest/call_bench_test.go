package rest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/metrics"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// BenchmarkCallREST measures one outgoing call: URL building, headers,
// the HTTP exchange with a local backend over a pooled connection, reading
// the response and the metrics.
func BenchmarkCallREST(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id": "42", "name": "Jane Doe"}`)
	}))
	defer backend.Close()
	cfg := &Config{Name: "Bench", IsActive: true, Host: backend.URL, URLPath: "/items/{id}", DataFormat: "json",
		Timeout: config.Duration(DefaultTimeout), PoolSize: 64, TLSVerify: true, RetryBackoffMultiplier: 2, PingMethod: "HEAD", PingPath: "/"}
	if errs := cfg.Validate(); len(errs) > 0 {
		b.Fatal(errs)
	}
	running, err := provision(&registry.Env{Metrics: metrics.New()}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	c := running.(*Conn)
	defer c.Close()
	params := map[string]any{"id": "42", "verbose": "true"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.bare.CallREST(context.Background(), &service.RESTRequest{Method: "GET", CID: "0123456789abcdef01234567", Params: params})
			if err != nil || resp.StatusCode != 200 {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBuildURL measures filling a url_path and the query string.
func BenchmarkBuildURL(b *testing.B) {
	tpl, _ := parseTemplate("/api/billing/{phone_no}")
	params := map[string]any{"cust_id": "39175", "phone_no": "271637517", "priority": "normal"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.build("Billing", "https://billing.example.com", params); err != nil {
			b.Fatal(err)
		}
	}
}
