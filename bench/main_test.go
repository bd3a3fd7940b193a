package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestBenchmarkEndToEnd runs the whole benchmark briefly: it builds both
// binaries, starts both servers, measures every scenario, loads a few
// channels for the cold start and writes the JSON results.
func TestBenchmarkEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts real servers; skipped with -short")
	}
	jsonPath := filepath.Join(t.TempDir(), "results.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"-duration", "300ms", "-warmup", "0", "-cold-channels", "50", "-loadgen", "go", "-json", jsonPath}, &stdout, &stderr)
	t.Logf("output:\n%s%s", stdout.String(), stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout.String(), "WARNING") {
		t.Error("the run printed a warning")
	}

	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Scenarios []struct {
			Name             string
			Plexus, Baseline struct {
				Requests  int64   `json:"requests"`
				Errors    int64   `json:"errors"`
				ReqPerSec float64 `json:"req_per_s"`
			}
			Ratio  float64
			Rounds map[string][]float64 `json:"rounds_req_per_s"`
		}
		IdleRSSMB map[string]float64 `json:"idle_rss_mb"`
		ColdStart *struct {
			Channels int     `json:"channels"`
			StartMS  float64 `json:"start_ms"`
		} `json:"cold_start"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("decoding the JSON results: %v\n%s", err, data)
	}
	want := 0
	for _, s := range scenarios() {
		if !s.NeedsPostgres || os.Getenv("PLEXUS_TEST_POSTGRES") != "" {
			want++
		}
	}
	if len(rep.Scenarios) != want {
		t.Errorf("%d scenarios in the results; want %d", len(rep.Scenarios), want)
	}
	for _, s := range rep.Scenarios {
		for target, r := range map[string]struct {
			Requests  int64   `json:"requests"`
			Errors    int64   `json:"errors"`
			ReqPerSec float64 `json:"req_per_s"`
		}{"plexus": s.Plexus, "baseline": s.Baseline} {
			if r.ReqPerSec <= 0 || r.Requests == 0 || r.Errors != 0 {
				t.Errorf("%s on %s: %d requests, %v req/s, %d errors; want requests and no errors", s.Name, target, r.Requests, r.ReqPerSec, r.Errors)
			}
		}
		if s.Ratio <= 0 {
			t.Errorf("%s: ratio %v", s.Name, s.Ratio)
		}
		if len(s.Rounds["plexus"]) != 2 || len(s.Rounds["baseline"]) != 2 {
			t.Errorf("%s: rounds %v; want 2 per target", s.Name, s.Rounds)
		}
	}
	if rep.ColdStart == nil || rep.ColdStart.Channels != 50 || rep.ColdStart.StartMS <= 0 {
		t.Errorf("cold start = %+v; want 50 channels and a positive time", rep.ColdStart)
	}
	if runtime.GOOS == "linux" && (rep.IdleRSSMB["plexus"] <= 0 || rep.IdleRSSMB["baseline"] <= 0) {
		t.Errorf("idle RSS = %v; want both servers", rep.IdleRSSMB)
	}
}

func TestParseOptions(t *testing.T) {
	o, err := parseOptions(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.duration != 10*time.Second || o.warmup != 2*time.Second || o.rounds != 2 || o.connections != 64 || o.coldChannels != 10000 ||
		o.loadgen != "auto" || o.scenarios != "all" || !o.accessLog || o.keep || o.jsonPath != "" {
		t.Errorf("defaults = %+v", o)
	}
	for _, args := range [][]string{
		{"-duration", "0s"}, {"-rounds", "0"}, {"-connections", "0"}, {"-warmup", "-1s"}, {"-cold-channels", "-1"}, {"extra"}, {"-nope"},
	} {
		if _, err := parseOptions(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseOptions(%q) accepted bad flags", args)
		}
	}
}

func TestBestKeepsTheFastestRoundAndEveryError(t *testing.T) {
	got := best([]Result{
		{ReqPerSec: 100, Errors: 2, Statuses: map[int]int64{503: 2}, P50: time.Millisecond},
		{ReqPerSec: 300, Errors: 1, Statuses: map[int]int64{503: 1}, FirstError: "reset", P50: 3 * time.Millisecond},
		{ReqPerSec: 200, P50: 2 * time.Millisecond},
	})
	if got.ReqPerSec != 300 || got.P50 != 3*time.Millisecond {
		t.Errorf("best picked %v req/s, p50 %v; want the 300 req/s round", got.ReqPerSec, got.P50)
	}
	if got.Errors != 3 || got.Statuses[503] != 3 || got.FirstError != "reset" {
		t.Errorf("best kept errors %d, statuses %v, first error %q; want every round's", got.Errors, got.Statuses, got.FirstError)
	}
	if clean := best([]Result{{ReqPerSec: 1}, {ReqPerSec: 2}}); clean.Errors != 0 || clean.Statuses != nil {
		t.Errorf("best of clean rounds = %+v", clean)
	}
}

func TestPrintResultsWarnsAboutErrors(t *testing.T) {
	rep := &report{Scenarios: []scenarioReport{{
		Name:     "hello",
		Plexus:   Result{ReqPerSec: 900, Errors: 3, Statuses: map[int]int64{503: 3}},
		Baseline: Result{ReqPerSec: 1000, Errors: 1, FirstError: "connection reset by peer"},
		Ratio:    0.9,
	}}}
	var out bytes.Buffer
	printResults(&out, rep)
	for _, want := range []string{"WARNING", "hello on plexus: 3 errors; non-2xx answers by status: map[503:3]", "hello on baseline: 1 errors; first transport error: connection reset by peer", "0.90"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	rep.Scenarios[0].Plexus.Errors, rep.Scenarios[0].Baseline.Errors = 0, 0
	out.Reset()
	printResults(&out, rep)
	if strings.Contains(out.String(), "WARNING") {
		t.Errorf("a run without errors printed a warning:\n%s", out.String())
	}
}
