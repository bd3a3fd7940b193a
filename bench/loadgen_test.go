package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestGoLoadgenCountsRequestsAndErrors(t *testing.T) {
	var served, failed, withBody atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if string(body) == `{"a":1}` && r.Header.Get("Content-Type") == "application/json" && r.Method == http.MethodPost {
			withBody.Add(1)
		}
		// Every fourth request fails: a 503, or a 302 that is no success
		// either.
		switch n := served.Add(1); {
		case n%8 == 0:
			failed.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		case n%4 == 0:
			failed.Add(1)
			w.WriteHeader(http.StatusFound)
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()

	lg := &goLoadgen{connections: 4}
	res, err := lg.Run(context.Background(), srv.URL+"/x", Request{Method: http.MethodPost, Path: "/x", Body: []byte(`{"a":1}`)}, 0, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Requests != served.Load() {
		t.Errorf("Requests = %d; the server answered %d", res.Requests, served.Load())
	}
	if withBody.Load() != served.Load() {
		t.Errorf("%d of %d requests carried the JSON body", withBody.Load(), served.Load())
	}
	if res.Errors != failed.Load() {
		t.Errorf("Errors = %d; the server answered %d non-2xx", res.Errors, failed.Load())
	}
	if got := res.Statuses[http.StatusServiceUnavailable] + res.Statuses[http.StatusFound]; got != failed.Load() {
		t.Errorf("Statuses = %v; want %d non-2xx in all", res.Statuses, failed.Load())
	}
	if res.ReqPerSec <= 0 || res.P50 <= 0 || res.P50 > res.P99 || res.P99 > res.Max {
		t.Errorf("implausible result: %+v", res)
	}
}

func TestGoLoadgenCountsTransportErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close() // no answer at all
		}
	}))
	defer srv.Close()

	lg := &goLoadgen{connections: 2}
	res, err := lg.Run(context.Background(), srv.URL, Request{Method: http.MethodGet, Path: "/"}, 0, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 0 || res.Errors == 0 || res.FirstError == "" {
		t.Errorf("got %d requests, %d errors, first error %q; want 0 requests and errors with a message", res.Requests, res.Errors, res.FirstError)
	}
}

func TestGoLoadgenWarmupIsDiscarded(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served.Add(1) }))
	defer srv.Close()

	lg := &goLoadgen{connections: 2}
	res, err := lg.Run(context.Background(), srv.URL, Request{Method: http.MethodGet, Path: "/"}, 100*time.Millisecond, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Requests >= served.Load() {
		t.Errorf("measured %d of %d requests served; the warmup's should not count", res.Requests, served.Load())
	}
}

func TestGoLoadgenStopsWhenCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	lg := &goLoadgen{connections: 2}
	if _, err := lg.Run(ctx, srv.URL, Request{Method: http.MethodGet, Path: "/"}, 0, time.Minute); err == nil {
		t.Fatal("Run returned no error after its context ended")
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := percentile(ds, tc.p); got != tc.want {
			t.Errorf("percentile(1..100ms, %v) = %v; want %v", tc.p, got, tc.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile(nil) = %v; want 0", got)
	}
}

func TestParseWrk(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Result
	}{
		{"wrk-clean.txt", Result{
			Requests: 392694, Elapsed: 10 * time.Second, ReqPerSec: 39256.71,
			P50: 1390 * time.Microsecond, P90: 3110 * time.Microsecond, P99: 7020 * time.Microsecond, Max: 31060 * time.Microsecond,
		}},
		{"wrk-errors.txt", Result{
			Requests: 35921, Errors: 3 + 17 + 120, Elapsed: 5010 * time.Millisecond, ReqPerSec: 7170.06,
			P50: 541 * time.Microsecond, P90: 1480 * time.Microsecond, P99: 12310 * time.Microsecond, Max: 1020 * time.Millisecond,
			FirstError: "wrk socket errors: connect 0, read 3, write 0, timeout 17",
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			out, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseWrk(out)
			if err != nil {
				t.Fatal(err)
			}
			// Parsed decimals may be off by a rounding error.
			for _, d := range []struct {
				name      string
				got, want time.Duration
			}{{"Elapsed", got.Elapsed, tc.want.Elapsed}, {"P50", got.P50, tc.want.P50}, {"P90", got.P90, tc.want.P90}, {"P99", got.P99, tc.want.P99}, {"Max", got.Max, tc.want.Max}} {
				if diff := d.got - d.want; diff < -time.Microsecond || diff > time.Microsecond {
					t.Errorf("%s = %v; want %v", d.name, d.got, d.want)
				}
			}
			if got.Requests != tc.want.Requests || got.Errors != tc.want.Errors || got.ReqPerSec != tc.want.ReqPerSec || got.FirstError != tc.want.FirstError {
				t.Errorf("got requests %d, errors %d, req/s %v, first error %q; want %d, %d, %v, %q",
					got.Requests, got.Errors, got.ReqPerSec, got.FirstError, tc.want.Requests, tc.want.Errors, tc.want.ReqPerSec, tc.want.FirstError)
			}
		})
	}
}

func TestParseWrkRefusesIncompleteOutput(t *testing.T) {
	out, err := os.ReadFile(filepath.Join("testdata", "wrk-clean.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for name, cut := range map[string]string{
		"no latency distribution": "  Latency Distribution\n     50%    1.39ms\n     75%    2.08ms\n     90%    3.11ms\n     99%    7.02ms\n",
		"no Requests/sec":         "Requests/sec:  39256.71\n",
		"no total":                "  392694 requests in 10.00s, 62.55MB read\n",
	} {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(string(out), cut) {
				t.Fatalf("the sample does not hold %q", cut)
			}
			if _, err := parseWrk([]byte(strings.Replace(string(out), cut, "", 1))); err == nil {
				t.Error("parseWrk accepted incomplete output")
			}
		})
	}
}

func TestParseWrkDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"812.00us": 812 * time.Microsecond,
		"1.23ms":   1230 * time.Microsecond,
		"2.50s":    2500 * time.Millisecond,
		"1.50m":    90 * time.Second,
		"1.00h":    time.Hour,
	} {
		got, err := parseWrkDuration(in)
		if err != nil || got != want {
			t.Errorf("parseWrkDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "12", "1.2x", "msms"} {
		if _, err := parseWrkDuration(in); err == nil {
			t.Errorf("parseWrkDuration(%q) succeeded", in)
		}
	}
}

func TestWrkScript(t *testing.T) {
	got := wrkScript(Request{Method: http.MethodPost, Body: []byte("{\"a\":\"b\\\\c]]\"}\n")})
	for _, want := range []string{
		`wrk.method = "POST"`,
		`wrk.body = "{\034a\034:\034b\092\092c]]\034}\010"`,
		`wrk.headers["Content-Type"] = "application/json"`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("script lacks %s:\n%s", want, got)
		}
	}
	if got := wrkScript(Request{Method: http.MethodGet}); strings.Contains(got, "wrk.body") || strings.Contains(got, "Content-Type") {
		t.Errorf("a request without a body got a body or a Content-Type:\n%s", got)
	}
}
