// Command bench is the whole-server load benchmark of Plexus. Run it from
// the repository root:
//
//	go run ./bench [flags]
//
// It builds the plexus binary and a bare net/http baseline server
// (bench/baseline) into a temporary directory, starts both as separate
// processes, and measures each scenario against Plexus and then against
// the baseline under the same load, with wrk when it is on PATH or with a
// built-in Go load generator. It prints req/s, latency percentiles and
// errors for each, the ratio of Plexus's req/s to the baseline's, the idle
// RSS of the plexus process and the time Plexus takes to start with
// 10,000 channels in its store. docs/benchmarks.md explains the flags and
// how to read the results.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/plexushq/plexus/bench/internal/benchutil"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "bench: interrupted; servers stopped")
		os.Exit(130)
	default:
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// options are the command-line flags.
type options struct {
	duration     time.Duration
	warmup       time.Duration
	rounds       int
	connections  int
	scenarios    string
	loadgen      string
	jsonPath     string
	coldChannels int
	accessLog    bool
	keep         bool
	postgres     string
	redis        string
	// cluster, a PostgreSQL URL, runs the cluster measurement instead.
	cluster        string
	clusterChanges int
}

// parseOptions reads the flags; usage and flag errors go to stderr.
func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each target is measured in each scenario")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "load sent before each measurement and discarded")
	fs.IntVar(&o.rounds, "rounds", 2, "rounds per scenario, each measuring Plexus then the baseline; the best round of each is reported")
	fs.IntVar(&o.connections, "connections", 64, "concurrent keep-alive connections the load generator keeps busy")
	fs.StringVar(&o.scenarios, "scenarios", "all", "comma-separated scenarios to run: "+strings.Join(scenarioNames(), ", "))
	fs.StringVar(&o.loadgen, "loadgen", "auto", "load generator: auto (wrk when on PATH, else go), wrk or go")
	fs.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.IntVar(&o.coldChannels, "cold-channels", 10000, "channels loaded before the cold start measurement; 0 skips it")
	fs.BoolVar(&o.accessLog, "access-log", true, "keep Plexus's access log on (the default setting); false writes log.access: false to plexus.yaml")
	fs.StringVar(&o.cluster, "cluster", "", "a PostgreSQL URL: measure a cluster of 3 nodes on it instead (change and deploy to visible, leader takeover; see docs/cluster.md)")
	fs.IntVar(&o.clusterChanges, "cluster-changes", 1000, "changes measured by -cluster (deploys: a tenth as many)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (binaries, environment, server logs)")
	fs.StringVar(&o.redis, "redis", redisFromEnv(), "host:port of the Redis server of the kvdb-redis scenario (default: PLEXUS_TEST_REDIS's); empty skips it")
	fs.StringVar(&o.postgres, "postgres", os.Getenv("PLEXUS_TEST_POSTGRES"), "PostgreSQL URL of the sql-select scenario (default $PLEXUS_TEST_POSTGRES); empty skips it")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./bench [flags]\n\n"+
			"Measures Plexus against a bare net/http baseline under the same load.\n"+
			"See docs/benchmarks.md.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("parsing flags: unexpected argument %q", fs.Arg(0))
	case o.duration <= 0:
		return o, errors.New("parsing flags: -duration must be positive")
	case o.warmup < 0:
		return o, errors.New("parsing flags: -warmup must not be negative")
	case o.rounds < 1:
		return o, errors.New("parsing flags: -rounds must be at least 1")
	case o.connections < 1:
		return o, errors.New("parsing flags: -connections must be at least 1")
	case o.clusterChanges < 10:
		return o, errors.New("parsing flags: -cluster-changes must be at least 10")
	case o.coldChannels < 0:
		return o, errors.New("parsing flags: -cold-channels must not be negative")
	}
	return o, nil
}

// redisFromEnv returns the host:port of PLEXUS_TEST_REDIS, or "".
func redisFromEnv() string {
	u, err := url.Parse(os.Getenv("PLEXUS_TEST_REDIS"))
	if err != nil || u.Host == "" {
		return ""
	}
	if u.Port() == "" {
		return u.Host + ":6379"
	}
	return u.Host
}

func scenarioNames() []string {
	var names []string
	for _, s := range scenarios() {
		names = append(names, s.Name)
	}
	return names
}

// report is everything one run measured; -json writes it.
type report struct {
	Started time.Time `json:"started"`
	Machine struct {
		OS        string `json:"os"`
		Arch      string `json:"arch"`
		CPUs      int    `json:"cpus"`
		CPU       string `json:"cpu,omitempty"`
		GoVersion string `json:"go_version"`
		// LoadAvg is the 1-minute load average before the run (Linux).
		LoadAvg float64 `json:"load_avg,omitempty"`
	} `json:"machine"`
	Settings struct {
		Loadgen     string  `json:"loadgen"`
		Connections int     `json:"connections"`
		DurationS   float64 `json:"duration_s"`
		WarmupS     float64 `json:"warmup_s"`
		Rounds      int     `json:"rounds"`
		AccessLog   bool    `json:"access_log"`
	} `json:"settings"`
	// IdleRSSMB is the RSS of each server after start, before any load.
	IdleRSSMB map[string]float64 `json:"idle_rss_mb"`
	Scenarios []scenarioReport   `json:"scenarios"`
	ColdStart *coldReport        `json:"cold_start,omitempty"`
}

// scenarioReport is one scenario's results: for each target, its best
// round.
type scenarioReport struct {
	Name     string `json:"name"`
	Plexus   Result `json:"plexus"`
	Baseline Result `json:"baseline"`
	// Ratio is Plexus's req/s divided by the baseline's.
	Ratio float64 `json:"ratio"`
	// Against names the baseline when it is Plexus itself (typed-echo).
	Against string `json:"against,omitempty"`
	// Rounds holds the req/s of every round, by target.
	Rounds map[string][]float64 `json:"rounds_req_per_s"`
}

// coldReport is the cold start measurement.
type coldReport struct {
	Channels int `json:"channels"`
	// LoadS is how long creating the channels through the admin API took.
	LoadS float64 `json:"load_s"`
	// StartMS is the time from exec of plexus start to the first 200
	// answer on one of the channels.
	StartMS float64 `json:"start_ms"`
	// RSSMB is the RSS of the restarted server after that answer.
	RSSMB float64 `json:"rss_mb,omitempty"`
}

// bench is one run: the temporary directory, the servers it started and
// how to reach them.
type bench struct {
	opts options
	out  io.Writer
	tmp  string
	root string // the repository root

	plexusBin, baselineBin string
	envDir                 string
	password               string
	apiAddr, adminAddr     string
	baselineAddr           string
	backendAddr            string // the proxy scenario's backend
	sqlTable               string // the sql-select scenario's table
	plexus, baseline       *process
	admin                  *adminClient

	mu    sync.Mutex
	procs []*process // every process started, stopped on exit
	// cleanups run when the run ends, after the processes stopped.
	cleanups []func()
}

// run runs the benchmark with command-line args, printing to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	if opts.cluster != "" {
		return runCluster(ctx, opts, stdout)
	}
	selected, err := selectScenarios(opts.scenarios)
	if err != nil {
		return err
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "plexus-bench-")
	if err != nil {
		return fmt.Errorf("creating the temporary directory: %w", err)
	}
	defer func() {
		if opts.keep {
			fmt.Fprintf(stdout, "\nKept %s (binaries, environment, server logs).\n", tmp)
			return
		}
		os.RemoveAll(tmp)
	}()
	b := &bench{opts: opts, out: stdout, tmp: tmp, root: root, envDir: filepath.Join(tmp, "env"), password: "bench-" + rand.Text()}
	defer b.stopAll()

	started := time.Now()
	lg, err := newLoadgen(opts.loadgen, opts.connections, tmp)
	if err != nil {
		return err
	}
	rep := newReport(opts, lg)
	b.printHeader(rep)
	if err := b.build(ctx); err != nil {
		return err
	}
	if err := b.startServers(ctx); err != nil {
		return err
	}
	rep.IdleRSSMB = b.idleRSS()
	fmt.Fprintln(stdout)
	for _, s := range selected {
		if s.NeedsRedis && opts.redis == "" {
			fmt.Fprintf(stdout, "Skipping %s: no Redis (-redis, or PLEXUS_TEST_REDIS)\n", s.Name)
			continue
		}
		if s.NeedsPostgres && opts.postgres == "" {
			fmt.Fprintf(stdout, "Skipping %s: no PostgreSQL (-postgres, or PLEXUS_TEST_POSTGRES)\n", s.Name)
			continue
		}
		sr, err := b.measure(ctx, lg, s)
		if err != nil {
			return err
		}
		rep.Scenarios = append(rep.Scenarios, sr)
	}
	printResults(stdout, rep)
	if opts.coldChannels > 0 {
		cold, err := b.coldStart(ctx, opts.coldChannels)
		if err != nil {
			return err
		}
		rep.ColdStart = cold
	}
	if opts.jsonPath != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding the JSON results: %w", err)
		}
		if err := os.WriteFile(opts.jsonPath, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing the JSON results: %w", err)
		}
		fmt.Fprintf(stdout, "\nWrote %s\n", opts.jsonPath)
	}
	fmt.Fprintf(stdout, "\nDone in %s.\n", round(time.Since(started)))
	return nil
}

// moduleRoot returns the directory of the go.mod that holds cmd/plexus.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the repository root with go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	root := filepath.Dir(gomod)
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("finding the repository root: not inside a Go module; run go run ./bench from the Plexus repository")
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "plexus")); err != nil {
		return "", fmt.Errorf("finding the repository root: %s has no cmd/plexus; run go run ./bench from the Plexus repository", root)
	}
	return root, nil
}

func newReport(opts options, lg Loadgen) *report {
	rep := &report{Started: time.Now().UTC().Truncate(time.Second)}
	rep.Machine.OS, rep.Machine.Arch = runtime.GOOS, runtime.GOARCH
	rep.Machine.CPUs, rep.Machine.CPU = runtime.NumCPU(), cpuModel()
	rep.Machine.GoVersion = runtime.Version()
	rep.Machine.LoadAvg = loadAverage()
	rep.Settings.Loadgen = lg.Name()
	rep.Settings.Connections = opts.connections
	rep.Settings.DurationS, rep.Settings.WarmupS = opts.duration.Seconds(), opts.warmup.Seconds()
	rep.Settings.Rounds = opts.rounds
	rep.Settings.AccessLog = opts.accessLog
	return rep
}

// cpuModel returns the CPU's model name from /proc/cpuinfo, or "".
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.Lines(string(data)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAverage returns the 1-minute load average from /proc/loadavg, or 0.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var avg float64
	fmt.Sscan(string(data), &avg)
	return avg
}

func (b *bench) printHeader(rep *report) {
	m, s := rep.Machine, rep.Settings
	access := "on (default)"
	if !s.AccessLog {
		access = "off (-access-log=false)"
	}
	fmt.Fprintf(b.out, "Plexus load benchmark\n")
	fmt.Fprintf(b.out, "  machine      %s/%s, %d CPUs %s, %s\n", m.OS, m.Arch, m.CPUs, m.CPU, m.GoVersion)
	rounds := fmt.Sprintf("%d rounds", s.Rounds)
	if s.Rounds == 1 {
		rounds = "1 round"
	}
	fmt.Fprintf(b.out, "  load         %s, %d connections, %s warmup + %s per target per round, %s per scenario\n",
		s.Loadgen, s.Connections, b.opts.warmup, b.opts.duration, rounds)
	fmt.Fprintf(b.out, "  access log   %s\n", access)
	fmt.Fprintf(b.out, "  work dir     %s\n", b.tmp)
	if m.LoadAvg > float64(m.CPUs)/2 {
		fmt.Fprintf(b.out, "  note         the machine is busy before the run starts (load average %.1f on %d CPUs): expect noisy numbers\n", m.LoadAvg, m.CPUs)
	}
}

// build compiles plexus and the baseline into the temporary directory.
func (b *bench) build(ctx context.Context) error {
	start := time.Now()
	fmt.Fprintf(b.out, "\nBuilding plexus and the baseline... ")
	b.plexusBin, b.baselineBin = filepath.Join(b.tmp, "plexus"), filepath.Join(b.tmp, "baseline")
	for bin, pkg := range map[string]string{b.plexusBin: "./bench/server", b.baselineBin: "./bench/baseline"} {
		if err := benchutil.Build(ctx, b.root, bin, pkg); err != nil {
			fmt.Fprintln(b.out)
			return err
		}
	}
	fmt.Fprintf(b.out, "done in %s\n", round(time.Since(start)))
	return nil
}

// startProcess starts a server and remembers it for stopAll.
func (b *bench) startProcess(name, log string, env []string, bin string, args ...string) (*process, error) {
	p, err := startProcess(name, filepath.Join(b.tmp, log), env, bin, args...)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.procs = append(b.procs, p)
	b.mu.Unlock()
	return p, nil
}

// stopAll stops every process started, at the same time.
func (b *bench) stopAll() {
	b.mu.Lock()
	procs := b.procs
	b.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(func() {
			if err := p.stop(); err != nil {
				fmt.Fprintf(b.out, "warning: %v\n", err)
			}
		})
	}
	wg.Wait()
	for _, f := range b.cleanups {
		f()
	}
}

// startServers starts the baseline and Plexus (with plexus quickstart)
// and waits until both answer.
func (b *bench) startServers(ctx context.Context) error {
	var err error
	if b.baselineAddr, err = benchutil.FreeAddr(); err != nil {
		return err
	}
	if b.backendAddr, err = benchutil.FreeAddr(); err != nil {
		return err
	}
	// The proxy scenario's backend: another baseline, answering /hello.
	backend, err := b.startProcess("backend", "backend.log", nil, b.baselineBin, "-listen", b.backendAddr)
	if err != nil {
		return err
	}
	if b.apiAddr, err = benchutil.FreeAddr(); err != nil {
		return err
	}
	if b.adminAddr, err = benchutil.FreeAddr(); err != nil {
		return err
	}
	args := []string{"-listen", b.baselineAddr, "-proxy", "http://" + b.backendAddr + "/hello"}
	if b.opts.postgres != "" {
		var r [4]byte
		rand.Read(r[:])
		b.sqlTable = "plexus_bench_" + hex.EncodeToString(r[:])
		args = append(args, "-postgres", b.opts.postgres, "-sql-table", b.sqlTable, "-sql-pool", strconv.Itoa(sqlPool))
		b.cleanups = append(b.cleanups, func() { dropSQLTable(b.opts.postgres, b.sqlTable) })
	}
	if b.opts.redis != "" {
		args = append(args, "-redis", b.opts.redis, "-redis-pool", strconv.Itoa(redisPool(b.opts.connections)))
	}
	b.baseline, err = b.startProcess("baseline", "baseline.log", nil, b.baselineBin, args...)
	if err != nil {
		return err
	}
	var settings string
	if !b.opts.accessLog {
		settings += "log:\n  access: false\n"
	}
	if b.opts.redis != "" {
		settings += "kvdb:\n  redis: " + kvdbRedisConn + "\n"
	}
	if settings != "" {
		if err := os.MkdirAll(b.envDir, 0o755); err != nil {
			return fmt.Errorf("writing plexus.yaml: %w", err)
		}
		if err := os.WriteFile(filepath.Join(b.envDir, "plexus.yaml"), []byte(settings), 0o644); err != nil {
			return fmt.Errorf("writing plexus.yaml: %w", err)
		}
	}
	b.plexus, err = b.startProcess("plexus", "plexus.log", []string{"PLEXUS_ADMIN_PASSWORD=" + b.password},
		b.plexusBin, "quickstart", b.envDir, "--listen", b.apiAddr, "--admin-listen", b.adminAddr)
	if err != nil {
		return err
	}
	for p, addr := range map[*process]string{b.baseline: b.baselineAddr, backend: b.backendAddr} {
		if err := waitReady(ctx, p, "http://"+addr+"/health", 30*time.Second); err != nil {
			return err
		}
	}
	if err := waitReady(ctx, b.plexus, "http://"+b.adminAddr+"/health", 60*time.Second); err != nil {
		return err
	}
	b.admin = newAdminClient(b.adminAddr, b.password, 4)
	fmt.Fprintf(b.out, "Started plexus (pid %d, API %s, admin %s) and the baseline (pid %d, %s)\n",
		b.plexus.pid(), b.apiAddr, b.adminAddr, b.baseline.pid(), b.baselineAddr)
	return nil
}

// idleRSS reads the RSS of both servers, before any load or admin call.
func (b *bench) idleRSS() map[string]float64 {
	rss := map[string]float64{}
	for _, p := range []*process{b.plexus, b.baseline} {
		mb, err := p.rssMB()
		if err != nil {
			fmt.Fprintf(b.out, "Idle RSS of %s: unavailable (%v)\n", p.name, err)
			continue
		}
		rss[p.name] = math.Round(mb*10) / 10
	}
	if len(rss) == 2 {
		fmt.Fprintf(b.out, "Idle RSS: plexus %.1f MB (baseline %.1f MB)\n", rss["plexus"], rss["baseline"])
	}
	return rss
}

// measure sets up one scenario and checks that both targets answer it
// correctly. Then, for each round, it measures Plexus and then the
// baseline, and keeps the best round of each.
func (b *bench) measure(ctx context.Context, lg Loadgen, s Scenario) (scenarioReport, error) {
	sr := scenarioReport{Name: s.Name, Rounds: map[string][]float64{}}
	if err := s.Setup(ctx, b.admin, setupEnv{Backend: "http://" + b.backendAddr, Connections: b.opts.connections,
		Postgres: b.opts.postgres, SQLTable: b.sqlTable, Redis: b.opts.redis}); err != nil {
		return sr, fmt.Errorf("setting up scenario %s: %w", s.Name, err)
	}
	targets := []struct {
		name   string
		base   string
		req    Request
		proc   *process
		rounds []Result
	}{
		{name: "plexus", base: "http://" + b.apiAddr, req: s.Plexus, proc: b.plexus},
		{name: "baseline", base: "http://" + b.baselineAddr, req: s.Baseline, proc: b.baseline},
	}
	if s.AgainstPlexus {
		targets[1].base, targets[1].proc = targets[0].base, b.plexus
		sr.Against = "plexus " + s.Baseline.Path
	}
	for _, t := range targets {
		if err := checkTarget(ctx, t.base, t.req, s.Check); err != nil {
			return sr, fmt.Errorf("checking scenario %s on %s: %w\n%s", s.Name, t.name, err, t.proc.failure())
		}
	}
	for round := 1; round <= b.opts.rounds; round++ {
		for i := range targets {
			t := &targets[i]
			fmt.Fprintf(b.out, "Measuring %-10s on %-8s", s.Name, t.name)
			if b.opts.rounds > 1 {
				fmt.Fprintf(b.out, " (round %d of %d)", round, b.opts.rounds)
			}
			fmt.Fprint(b.out, " ... ")
			res, err := lg.Run(ctx, t.base+t.req.Path, t.req, b.opts.warmup, b.opts.duration)
			if err != nil {
				fmt.Fprintln(b.out)
				return sr, fmt.Errorf("measuring scenario %s on %s: %w", s.Name, t.name, err)
			}
			t.rounds = append(t.rounds, res)
			sr.Rounds[t.name] = append(sr.Rounds[t.name], math.Round(res.ReqPerSec))
			fmt.Fprintf(b.out, "%8.0f req/s, %d errors\n", res.ReqPerSec, res.Errors)
		}
	}
	sr.Plexus, sr.Baseline = best(targets[0].rounds), best(targets[1].rounds)
	if sr.Baseline.ReqPerSec > 0 {
		sr.Ratio = math.Round(sr.Plexus.ReqPerSec/sr.Baseline.ReqPerSec*1000) / 1000
	}
	return sr, nil
}

// best returns the round with the most req/s, with the errors of every
// round: load from elsewhere on the machine only ever slows a round down,
// so the fastest round is the closest to what the server can do, while an
// error in any round makes the whole measurement suspect.
func best(rounds []Result) Result {
	var out Result
	var errs int64
	statuses := map[int]int64{}
	firstErr := ""
	for i, r := range rounds {
		if i == 0 || r.ReqPerSec > out.ReqPerSec {
			out = r
		}
		errs += r.Errors
		for code, n := range r.Statuses {
			statuses[code] += n
		}
		if firstErr == "" {
			firstErr = r.FirstError
		}
	}
	out.Errors, out.FirstError, out.Statuses = errs, firstErr, statuses
	if len(statuses) == 0 {
		out.Statuses = nil
	}
	return out
}

// checkTarget sends one request and verifies the answer: 200, a valid
// X-Plexus-CID and the body the scenario expects.
func checkTarget(ctx context.Context, base string, req Request, check func(sent, got []byte) error) error {
	hr, err := http.NewRequestWithContext(ctx, req.Method, base+req.Path, bytes.NewReader(req.Body))
	if err != nil {
		return err
	}
	if len(req.Body) > 0 {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range req.Header {
		hr.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s answered %s: %s", req.Method, req.Path, resp.Status, body)
	}
	if id := resp.Header.Get("X-Plexus-CID"); !validCID(id) {
		return fmt.Errorf("%s %s answered X-Plexus-CID %q; want 24 hex characters", req.Method, req.Path, id)
	}
	return check(req.Body, body)
}

// printResults prints the results table, the ratios and, when any request
// failed, a warning.
func printResults(w io.Writer, rep *report) {
	width := len("scenario")
	for _, s := range rep.Scenarios {
		width = max(width, len(s.Name))
	}
	row := func(cells ...string) {
		fmt.Fprintf(w, "  %-*s  %-8s  %9s  %9s  %9s  %7s\n", width, cells[0], cells[1], cells[2], cells[3], cells[4], cells[5])
	}
	type target struct {
		name string
		res  Result
	}
	fmt.Fprintln(w)
	row("scenario", "target", "req/s", "p50", "p99", "errors")
	var failed []string
	for _, s := range rep.Scenarios {
		for _, t := range []target{{"plexus", s.Plexus}, {"baseline", s.Baseline}} {
			row(s.Name, t.name, fmt.Sprintf("%.0f", t.res.ReqPerSec), ms(t.res.P50), ms(t.res.P99), strconv.FormatInt(t.res.Errors, 10))
			if t.res.Errors > 0 {
				msg := fmt.Sprintf("  %s on %s: %d errors", s.Name, t.name, t.res.Errors)
				if len(t.res.Statuses) > 0 {
					msg += fmt.Sprintf("; non-2xx answers by status: %v", t.res.Statuses)
				}
				if t.res.FirstError != "" {
					msg += "; first transport error: " + t.res.FirstError
				}
				failed = append(failed, msg)
			}
		}
	}
	fmt.Fprintln(w, "\nplexus req/s ÷ baseline req/s (1.00 would match bare net/http):")
	for _, s := range rep.Scenarios {
		fmt.Fprintf(w, "  %-*s  %.2f", width, s.Name, s.Ratio)
		if s.Against != "" {
			fmt.Fprintf(w, "   (the baseline here is %s)", s.Against)
		}
		fmt.Fprintln(w)
	}
	if len(failed) > 0 {
		fmt.Fprintln(w, "\nWARNING: requests failed (non-2xx answers or transport errors), so the numbers above are not trustworthy:")
		fmt.Fprintln(w, strings.Join(failed, "\n"))
		fmt.Fprintln(w, "  Run again with -keep to keep the server logs.")
	}
}

// round rounds a duration for people: to the millisecond under a second,
// else to a tenth of a second.
func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// coldStart loads n channels through the admin API, stops Plexus, starts
// it again with plexus start and measures the time from exec to the first
// 200 answer on the last channel created.
func (b *bench) coldStart(ctx context.Context, n int) (*coldReport, error) {
	fmt.Fprintf(b.out, "\nCold start: importing %d channels with one enmasse import\n", n)
	start := time.Now()
	if err := b.loadChannels(ctx, n); err != nil {
		return nil, err
	}
	rep := &coldReport{Channels: n, LoadS: time.Since(start).Seconds()}
	fmt.Fprintf(b.out, "Created %d channels in %s (%.0f/s)\n", n, round(time.Since(start)), float64(n)/rep.LoadS)
	if err := b.plexus.stop(); err != nil {
		return nil, err
	}
	url := "http://" + b.apiAddr + coldPath(n-1)
	client := &http.Client{Timeout: 100 * time.Millisecond, Transport: &http.Transport{Proxy: nil}}
	t0 := time.Now()
	// The admin password is set already; plexus start without
	// PLEXUS_ADMIN_PASSWORD is how an existing environment is started.
	p, err := b.startProcess("plexus", "plexus-restart.log", nil,
		b.plexusBin, "start", b.envDir, "--listen", b.apiAddr, "--admin-listen", b.adminAddr)
	if err != nil {
		return nil, err
	}
	b.plexus = p
	for {
		if ok, _ := answers200(ctx, client, url); ok {
			break
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if p.exited() || time.Since(t0) > time.Minute {
			return nil, fmt.Errorf("measuring the cold start: no 200 from %s within a minute; %s", url, p.failure())
		}
		time.Sleep(time.Millisecond)
	}
	rep.StartMS = math.Round(float64(time.Since(t0).Microseconds())) / 1000
	rss, err := p.rssMB()
	if err == nil {
		rep.RSSMB = math.Round(rss*10) / 10
	}
	fmt.Fprintf(b.out, "Cold start with %d channels: %.0f ms from exec to the first 200", n, rep.StartMS)
	if err == nil {
		fmt.Fprintf(b.out, " (RSS then %.1f MB)", rss)
	}
	fmt.Fprintln(b.out)
	return rep, nil
}

// coldPath returns the URL path of the i-th cold start channel.
func coldPath(i int) string { return fmt.Sprintf("/cold/%05d", i) }

// loadChannels creates n channels on plexus.ping in one enmasse import,
// as a deployment of a large configuration would.
func (b *bench) loadChannels(ctx context.Context, n int) error {
	var y strings.Builder
	y.WriteString("channel_rest:\n")
	for i := range n {
		fmt.Fprintf(&y, "  - name: cold.%05d\n    service: plexus.ping\n    url_path: %s\n    method: GET\n", i, coldPath(i))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.admin.base+"/admin/api/v1/enmasse/import", strings.NewReader(y.String()))
	if err != nil {
		return fmt.Errorf("loading channels: %w", err)
	}
	req.SetBasicAuth("admin", b.admin.password)
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := b.admin.http.Do(req)
	if err != nil {
		return fmt.Errorf("loading channels: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("loading channels: the admin API answered %s: %s", resp.Status, answer)
	}
	return nil
}
