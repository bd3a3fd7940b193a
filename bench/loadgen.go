package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request is the one request a load generator sends over and over.
type Request struct {
	// Method is the HTTP method, e.g. GET.
	Method string
	// Path is the URL path, e.g. /hello.
	Path string
	// Body is sent as application/json when it is not empty.
	Body []byte
	// Header holds more request headers, such as Authorization.
	Header map[string]string
}

// Result is what one measurement of one target saw. Requests counts every
// response, whatever its status; Errors counts non-2xx responses plus
// transport errors (wrk counts 3xx as success, and only it).
type Result struct {
	Requests  int64
	Errors    int64
	Elapsed   time.Duration
	ReqPerSec float64
	// P50, P90 and P99 are latency percentiles; Max is the slowest.
	P50, P90, P99, Max time.Duration
	// Statuses counts the responses of each non-2xx status (Go generator
	// only; wrk reports their total).
	Statuses map[int]int64
	// FirstError is the first transport error, to explain Errors.
	FirstError string
}

// MarshalJSON writes the result with durations in milliseconds.
func (r Result) MarshalJSON() ([]byte, error) {
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	statuses := map[string]int64{}
	for code, n := range r.Statuses {
		statuses[strconv.Itoa(code)] = n
	}
	return json.Marshal(struct {
		Requests   int64            `json:"requests"`
		Errors     int64            `json:"errors"`
		Seconds    float64          `json:"seconds"`
		ReqPerSec  float64          `json:"req_per_s"`
		P50        float64          `json:"p50_ms"`
		P90        float64          `json:"p90_ms"`
		P99        float64          `json:"p99_ms"`
		Max        float64          `json:"max_ms"`
		Statuses   map[string]int64 `json:"non_2xx_statuses,omitempty"`
		FirstError string           `json:"first_error,omitempty"`
	}{r.Requests, r.Errors, r.Elapsed.Seconds(), math.Round(r.ReqPerSec*10) / 10,
		ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max), statuses, r.FirstError})
}

// Loadgen measures one target with one request. Run sends warmup's worth
// of load and discards it, then measures for the duration. Runs are
// sequential; a Loadgen need not be safe for concurrent use.
type Loadgen interface {
	Name() string
	Run(ctx context.Context, url string, req Request, warmup, duration time.Duration) (Result, error)
}

// goLoadgen is the built-in load generator: a fixed number of goroutines,
// each sending requests back to back over its own keep-alive connection.
type goLoadgen struct {
	connections int
}

func (g *goLoadgen) Name() string { return "go (built-in)" }

// Run measures url. The warmup and the measurement share one transport,
// so the measurement starts with warm connections.
func (g *goLoadgen) Run(ctx context.Context, url string, req Request, warmup, duration time.Duration) (Result, error) {
	tr := &http.Transport{
		Proxy:               nil, // never send benchmark traffic through a proxy from the environment
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        g.connections,
		MaxIdleConnsPerHost: g.connections,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // send no Accept-Encoding, as wrk does
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{
		Transport: tr,
		Timeout:   30 * time.Second,
		// A redirect is an answer to count, not to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if warmup > 0 {
		if _, err := g.load(ctx, client, url, req, warmup); err != nil {
			return Result{}, err
		}
	}
	return g.load(ctx, client, url, req, duration)
}

// worker is what one load goroutine saw.
type worker struct {
	latencies []time.Duration
	requests  int64
	errors    int64
	statuses  map[int]int64
	firstErr  error
}

// load sends requests from g.connections goroutines until duration has
// passed. Requests in flight at the deadline are let finish and counted.
func (g *goLoadgen) load(ctx context.Context, client *http.Client, url string, req Request, duration time.Duration) (Result, error) {
	workers := make([]worker, g.connections)
	start := time.Now()
	deadline := start.Add(duration)
	var wg sync.WaitGroup
	for i := range workers {
		w := &workers[i]
		w.latencies = make([]time.Duration, 0, 1<<12)
		w.statuses = map[int]int64{}
		wg.Go(func() { w.run(ctx, client, url, req, deadline) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	res := Result{Elapsed: elapsed, Statuses: map[int]int64{}}
	var all []time.Duration
	for _, w := range workers {
		res.Requests += w.requests
		res.Errors += w.errors
		for code, n := range w.statuses {
			res.Statuses[code] += n
		}
		if w.firstErr != nil && res.FirstError == "" {
			res.FirstError = w.firstErr.Error()
		}
		all = append(all, w.latencies...)
	}
	if len(res.Statuses) == 0 {
		res.Statuses = nil
	}
	res.ReqPerSec = float64(res.Requests) / elapsed.Seconds()
	slices.Sort(all)
	res.P50, res.P90, res.P99 = percentile(all, 50), percentile(all, 90), percentile(all, 99)
	if len(all) > 0 {
		res.Max = all[len(all)-1]
	}
	return res, nil
}

// run sends requests one after another until the deadline.
func (w *worker) run(ctx context.Context, client *http.Client, url string, req Request, deadline time.Time) {
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var body io.Reader
		if len(req.Body) > 0 {
			body = bytes.NewReader(req.Body)
		}
		hr, err := http.NewRequestWithContext(ctx, req.Method, url, body)
		if err != nil {
			w.fail(err)
			return
		}
		if body != nil {
			hr.Header.Set("Content-Type", "application/json")
		}
		for k, v := range req.Header {
			hr.Header.Set(k, v)
		}
		t0 := time.Now()
		resp, err := client.Do(hr)
		if err != nil {
			w.fail(err)
			continue
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			w.fail(err)
			continue
		}
		w.latencies = append(w.latencies, time.Since(t0))
		w.requests++
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			w.errors++
			w.statuses[resp.StatusCode]++
		}
	}
}

func (w *worker) fail(err error) {
	w.errors++
	if w.firstErr == nil {
		w.firstErr = err
	}
}

// percentile returns the p-th percentile of sorted latencies (nearest
// rank), or 0 for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// wrkLoadgen drives wrk (https://github.com/wg/wrk), whose event loop in C
// costs the machine less than the Go generator does.
type wrkLoadgen struct {
	path        string // the wrk binary
	connections int
	// scripts is the directory the Lua scripts are written to.
	scripts string
}

func (g *wrkLoadgen) Name() string { return "wrk (" + g.path + ")" }

// Run measures url with wrk. wrk takes whole seconds, so the warmup and
// the duration are rounded up to the next second.
func (g *wrkLoadgen) Run(ctx context.Context, url string, req Request, warmup, duration time.Duration) (Result, error) {
	script, err := g.writeScript(req)
	if err != nil {
		return Result{}, err
	}
	if warmup > 0 {
		if _, err := g.run(ctx, url, script, warmup); err != nil {
			return Result{}, fmt.Errorf("warming up: %w", err)
		}
	}
	return g.run(ctx, url, script, duration)
}

// writeScript writes the Lua script that makes wrk send req.
func (g *wrkLoadgen) writeScript(req Request) (string, error) {
	name := "wrk-" + strings.ToLower(req.Method) + strings.ReplaceAll(req.Path, "/", "-") + "-*.lua"
	f, err := os.CreateTemp(g.scripts, name)
	if err != nil {
		return "", fmt.Errorf("writing wrk script: %w", err)
	}
	defer f.Close()
	if _, err := io.WriteString(f, wrkScript(req)); err != nil {
		return "", fmt.Errorf("writing wrk script: %w", err)
	}
	return f.Name(), f.Close()
}

// wrkScript returns a Lua script that sets wrk's method, body and headers.
func wrkScript(req Request) string {
	var b strings.Builder
	b.WriteString("-- Written by the Plexus load benchmark (go run ./bench).\n")
	fmt.Fprintf(&b, "wrk.method = %s\n", luaQuote(req.Method))
	if len(req.Body) > 0 {
		fmt.Fprintf(&b, "wrk.body = %s\n", luaQuote(string(req.Body)))
		b.WriteString("wrk.headers[\"Content-Type\"] = \"application/json\"\n")
	}
	keys := make([]string, 0, len(req.Header))
	for k := range req.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "wrk.headers[%s] = %s\n", luaQuote(k), luaQuote(req.Header[k]))
	}
	return b.String()
}

// luaQuote quotes s as a Lua string literal, escaping every byte that is
// not printable ASCII, a quote or a backslash as \ddd.
func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			fmt.Fprintf(&b, "\\%03d", c)
			continue
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}

func (g *wrkLoadgen) run(ctx context.Context, url, script string, d time.Duration) (Result, error) {
	secs := int(math.Ceil(d.Seconds()))
	threads := max(1, min(runtime.NumCPU(), g.connections))
	cmd := exec.CommandContext(ctx, g.path,
		"-t", strconv.Itoa(threads), "-c", strconv.Itoa(g.connections),
		"-d", strconv.Itoa(secs)+"s", "--latency", "-s", script, url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}
	if err != nil {
		return Result{}, fmt.Errorf("running wrk: %w: %s", err, strings.TrimSpace(stderr.String()+string(out)))
	}
	res, err := parseWrk(out)
	if err != nil {
		return Result{}, fmt.Errorf("reading wrk output: %w\n%s", err, out)
	}
	return res, nil
}

var (
	wrkLatencyStats = regexp.MustCompile(`^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+$`)
	wrkPercentile   = regexp.MustCompile(`^\s*(50|90|99)%\s+(\S+)$`)
	wrkTotal        = regexp.MustCompile(`^\s*(\d+) requests in (\S+), `)
	wrkNon2xx       = regexp.MustCompile(`^\s*Non-2xx or 3xx responses: (\d+)$`)
	wrkSocketErrors = regexp.MustCompile(`^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)$`)
	wrkReqPerSec    = regexp.MustCompile(`^Requests/sec:\s+([\d.]+)$`)
)

// parseWrk reads the output of wrk --latency: the request count, the
// duration, req/s, the 50/90/99th latency percentiles, the maximum
// latency, non-2xx-or-3xx responses and socket errors.
func parseWrk(out []byte) (Result, error) {
	var res Result
	var seen struct{ total, rps, p50, p99 bool }
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \r")
		if m := wrkLatencyStats.FindStringSubmatch(line); m != nil {
			d, err := parseWrkDuration(m[3])
			if err != nil {
				return res, fmt.Errorf("reading the maximum latency: %w", err)
			}
			res.Max = d
		} else if m := wrkPercentile.FindStringSubmatch(line); m != nil {
			d, err := parseWrkDuration(m[2])
			if err != nil {
				return res, fmt.Errorf("reading the %s%% latency: %w", m[1], err)
			}
			switch m[1] {
			case "50":
				res.P50, seen.p50 = d, true
			case "90":
				res.P90 = d
			case "99":
				res.P99, seen.p99 = d, true
			}
		} else if m := wrkTotal.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			d, err := parseWrkDuration(m[2])
			if err != nil {
				return res, fmt.Errorf("reading the test duration: %w", err)
			}
			res.Requests, res.Elapsed, seen.total = n, d, true
		} else if m := wrkNon2xx.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			res.Errors += n
		} else if m := wrkSocketErrors.FindStringSubmatch(line); m != nil {
			var total int64
			for _, s := range m[1:] {
				n, _ := strconv.ParseInt(s, 10, 64)
				total += n
			}
			res.Errors += total
			if total > 0 {
				res.FirstError = "wrk socket errors: " + strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "Socket errors:"))
			}
		} else if m := wrkReqPerSec.FindStringSubmatch(line); m != nil {
			v, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				return res, fmt.Errorf("reading Requests/sec: %w", err)
			}
			res.ReqPerSec, seen.rps = v, true
		}
	}
	switch {
	case !seen.total:
		return res, errors.New(`no "N requests in T" line`)
	case !seen.rps:
		return res, errors.New("no Requests/sec line")
	case !seen.p50 || !seen.p99:
		return res, errors.New("no latency distribution (was wrk run with --latency?)")
	}
	return res, nil
}

// parseWrkDuration reads a duration as wrk prints it: 812.00us, 1.23ms,
// 2.01s, 1.50m or 1.00h.
func parseWrkDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("parsing duration %q: %w", s, err)
			}
			return time.Duration(v * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("parsing duration %q: unknown unit", s)
}

// newLoadgen picks the load generator: kind is auto (wrk when it is on
// PATH, else the built-in one), wrk or go.
func newLoadgen(kind string, connections int, scripts string) (Loadgen, error) {
	switch kind {
	case "go":
		return &goLoadgen{connections: connections}, nil
	case "wrk", "auto":
		path, err := exec.LookPath("wrk")
		if err == nil {
			return &wrkLoadgen{path: path, connections: connections, scripts: scripts}, nil
		}
		if kind == "auto" {
			return &goLoadgen{connections: connections}, nil
		}
		return nil, fmt.Errorf("finding wrk: %w (install it, e.g. apt-get install wrk, or use -loadgen go)", err)
	}
	return nil, fmt.Errorf("-loadgen is %q; want auto, wrk or go", kind)
}
