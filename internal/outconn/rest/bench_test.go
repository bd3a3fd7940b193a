package rest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchConcurrency is how many clients the proxy benchmark runs at once.
const benchConcurrency = 16

// hammer sends n GET requests to target from benchConcurrency goroutines
// and returns how long they took. Any failure stops the benchmark.
func hammer(b *testing.B, client *http.Client, target string, n int) time.Duration {
	b.Helper()
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				resp, err := client.Get(target)
				if err != nil {
					failed.Store(err.Error())
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Store(fmt.Sprintf("%s: %d", target, resp.StatusCode))
					return
				}
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		b.Fatal(f)
	}
	return time.Since(start)
}

// BenchmarkProxy measures the path channel → service → outgoing REST →
// backend against httputil.ReverseProxy in front of the same backend, in
// the same run, and reports each one's requests per second and their
// ratio. "plain" is a ReverseProxy as its package makes it, on
// http.DefaultTransport; "pooled" gives it a transport with the same pool
// as the connection's, for a like-for-like comparison. The service is
// written in Go (go) or Starlark (star). plexus-opened-conns and
// plexus-closed-conns count the backend's connections opened and closed
// while Plexus was measured, after the warm-up: without churn none closes
// (and few if any open, as the pool grows to the concurrency), where the
// plain proxy's default of 2 idle connections per host keeps opening new
// ones.
//
//	go test -run '^$' -bench Proxy -benchtime 20000x ./internal/outconn/rest
func BenchmarkProxy(b *testing.B) {
	const pool = 64
	backend := newBackendB(b)
	s := start(b)
	putConn(b, s, "Backend", map[string]any{"host": backend.URL, "url_path": "/items/{id}", "pool_size": pool, "data_format": "raw"})
	deployStar(b, s, "proxy.star", `
def handle(self):
    r = self.out.rest["Backend"].conn.get(self.cid, {"id": self.request.http.params["id"]})
    self.response.status_code = r.status_code
    self.response.content_type = r.headers.get("Content-Type")
    self.response.payload = r.text
`)
	s.Channel("proxy-star", "proxy", "GET", "/star/{id}", nil)

	target, _ := url.Parse(backend.URL)
	plain := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
	b.Cleanup(plain.Close)
	rp := httputil.NewSingleHostReverseProxy(target)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost, t.MaxConnsPerHost = pool, pool, pool
	rp.Transport = t
	pooled := httptest.NewServer(rp)
	b.Cleanup(pooled.Close)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchConcurrency * 2}}
	b.Cleanup(client.CloseIdleConnections)
	targets := []struct{ name, url string }{
		{"go", s.API + "/proxy/42"},
		{"star", s.API + "/star/42"},
		{"plain", plain.URL + "/items/42"},
		{"pooled", pooled.URL + "/items/42"},
	}
	for _, tg := range targets { // warm up every path and its pools
		hammer(b, client, tg.url, 2000)
	}
	took := make([][]time.Duration, len(targets))
	opened := make([]int64, len(targets))
	closed := make([]int64, len(targets))
	closedSoFar := func() int64 { return backend.accepted.Load() - backend.open.Load() }
	b.ResetTimer()
	// Rounds alternate the targets so that a busy moment of the machine
	// does not fall on one of them only; the ratios reported are the
	// medians of the rounds' ratios.
	const rounds = 8
	for range rounds {
		n := max(b.N/rounds, 1)
		for i, tg := range targets {
			acc, cl := backend.accepted.Load(), closedSoFar()
			took[i] = append(took[i], hammer(b, client, tg.url, n))
			opened[i] += backend.accepted.Load() - acc
			closed[i] += closedSoFar() - cl
		}
	}
	b.StopTimer()
	rate := func(i int) float64 {
		var total time.Duration
		for _, d := range took[i] {
			total += d
		}
		return float64(max(b.N/rounds, 1)*rounds) / total.Seconds()
	}
	ratio := func(i, j int) float64 {
		rs := make([]float64, rounds)
		for r := range rounds {
			rs[r] = took[j][r].Seconds() / took[i][r].Seconds()
		}
		slices.Sort(rs)
		return (rs[rounds/2-1] + rs[rounds/2]) / 2
	}
	b.ReportMetric(rate(0), "go-req/s")
	b.ReportMetric(rate(1), "star-req/s")
	b.ReportMetric(rate(2), "plain-proxy-req/s")
	b.ReportMetric(rate(3), "pooled-proxy-req/s")
	b.ReportMetric(ratio(0, 2), "go/plain")
	b.ReportMetric(ratio(0, 3), "go/pooled")
	b.ReportMetric(ratio(1, 3), "star/pooled")
	b.ReportMetric(float64(opened[0]+opened[1]), "plexus-opened-conns")
	b.ReportMetric(float64(closed[0]+closed[1]), "plexus-closed-conns")
	b.ReportMetric(float64(opened[2]), "plain-proxy-opened-conns")
}

// newBackendB is a backend answering a small JSON document, counting its
// connections.
func newBackendB(b *testing.B) *backend {
	bk := &backend{}
	bk.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id": "42", "name": "Jane Doe", "status": "active"}`)
	}))
	bk.Config.ConnState = bk.connState
	bk.Start()
	b.Cleanup(bk.Close)
	return bk
}
