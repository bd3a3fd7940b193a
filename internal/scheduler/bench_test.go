package scheduler

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/invoke"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/metrics"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/store"
	"github.com/plexushq/plexus/sdk/service"
)

// BenchmarkLateness schedules 10,000 interval jobs at 1 s with the real
// clock, a real SQLite store and a trivial service, and prints how late
// each run's service started (the distribution over every run) and the CPU
// the process used. It runs for PLEXUS_BENCH_SECONDS (default 10) per
// case, whatever b.N:
//
//	go test -run '^$' -bench Lateness -benchtime 1x ./internal/scheduler
//
// "baseline" is no scheduler at all: one goroutine with a timer waking at
// the same 10,000 instants a second and doing nothing, so its lateness is
// what the machine itself adds, measured in the same run. "spread" gives
// the jobs start dates spread over the second, as jobs created at
// different times have; "burst" gives them all the same start date, so
// 10,000 runs fall due at the same instant every second; "idle" plans them
// an hour away and measures the CPU used while nothing is due.
func BenchmarkLateness(b *testing.B) {
	seconds := 10
	if s, err := strconv.Atoi(os.Getenv("PLEXUS_BENCH_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	const jobs = 10_000
	for _, c := range []struct {
		name     string
		spread   time.Duration // start dates spread over this
		interval string
	}{
		{"baseline", time.Second, ""},
		{"spread", time.Second, `"seconds": 1`},
		{"burst", 0, `"seconds": 1`},
		{"idle", 0, `"hours": 1`},
	} {
		b.Run(c.name, func(b *testing.B) {
			var lateness []time.Duration
			if c.name == "baseline" {
				lateness = runBaseline(b, jobs, time.Duration(seconds)*time.Second)
			} else {
				lateness = runLatenessBench(b, jobs, c.spread, c.interval, time.Duration(seconds)*time.Second)
			}
			if c.name == "idle" {
				return
			}
			if len(lateness) == 0 {
				b.Fatal("no runs")
			}
			slices.Sort(lateness)
			pct := func(p float64) time.Duration { return lateness[min(int(p*float64(len(lateness))), len(lateness)-1)] }
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			fmt.Printf("%s: %d runs of %d jobs at 1s over %ds; lateness p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms\n",
				c.name, len(lateness), jobs, seconds, ms(pct(.5)), ms(pct(.9)), ms(pct(.99)), ms(pct(.999)), ms(lateness[len(lateness)-1]))
			b.ReportMetric(ms(pct(.5)), "p50-ms")
			b.ReportMetric(ms(pct(.99)), "p99-ms")
			b.ReportMetric(ms(lateness[len(lateness)-1]), "max-ms")
		})
	}
}

func runLatenessBench(b *testing.B, jobs int, spread time.Duration, interval string, window time.Duration) []time.Duration {
	ctx := context.Background()
	st, err := store.Open(ctx, "", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var logOut io.Writer = io.Discard
	if os.Getenv("PLEXUS_BENCH_LOG") != "" {
		logOut = os.Stderr // warnings and errors, e.g. skipped runs
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	first := time.Now().Truncate(time.Second).Add(3 * time.Second)
	offsets := make(map[string]time.Duration, jobs)
	samples := make([]time.Duration, jobs*(int(window/time.Second)+3))
	var n atomic.Int64
	var measuring atomic.Bool
	trivial := service.Func("bench.trivial", "", func(c *service.Context) error {
		now := time.Now()
		if !measuring.Load() {
			return nil
		}
		late := now.Sub(first.Add(offsets[c.Channel.Name])) % time.Second
		if i := n.Add(1) - 1; int(i) < len(samples) {
			samples[i] = late
		}
		return nil
	})
	svc, err := catalog.FromGo(trivial)
	if err != nil {
		b.Fatal(err)
	}
	m := metrics.New()
	s := New(Options{Logger: logger, Metrics: m})
	rt, err := live.New(live.Options{Store: st, Logger: logger, Settings: config.Default(), Metrics: m, Builtins: []*catalog.Service{svc}})
	if err != nil {
		b.Fatal(err)
	}
	s.Attach(st, rt, dispatch.New(dispatch.Options{Runtime: rt, Invoker: invoke.New(ctx, rt, logger), Logger: logger, Metrics: m}))
	if err := rt.Load(ctx); err != nil {
		b.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	k, _ := lookupKind()
	cs := live.Changeset{Source: "bench"}
	for i := range jobs {
		name := fmt.Sprintf("job%05d", i)
		offsets[name] = spread * time.Duration(i) / time.Duration(jobs)
		startAt := first.Add(offsets[name])
		if strings.Contains(interval, "hours") {
			startAt = startAt.Add(time.Hour) // idle: nothing due within the window
		}
		start := startAt.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
		obj, errs := k.Decode(fmt.Appendf(nil, `{"name": %q, "service": "bench.trivial", "job_type": "interval_based", "start_date": %q, %s}`, name, start, interval))
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		cs.Objects = append(cs.Objects, live.Change{Kind: Kind, Name: name, Object: obj})
	}
	if _, err := rt.Apply(ctx, cs); err != nil {
		b.Fatal(err)
	}
	s.catchUp()
	if err := s.state.flush(ctx); err != nil {
		b.Fatal(err)
	}
	// Measure whole seconds, from the second after the first runs.
	time.Sleep(time.Until(first.Add(time.Second)))
	b.ResetTimer()
	measuring.Store(true)
	cpu0, busy0 := cpuTime(), machineBusy()
	t0 := time.Now()
	time.Sleep(window)
	measuring.Store(false)
	cpu, wall, busy := cpuTime()-cpu0, time.Since(t0), machineBusy()-busy0
	b.StopTimer()
	runs := min(int(n.Load()), len(samples))
	fmt.Printf("%s: CPU %.1f ms per second of wall time (%.1f%% of one core)", b.Name(), float64(cpu.Microseconds())/1000/wall.Seconds(), 100*cpu.Seconds()/wall.Seconds())
	if runs > 0 {
		fmt.Printf(", %.1f µs per run", float64(cpu.Nanoseconds())/1000/float64(runs))
	}
	if busy > 0 {
		fmt.Printf("; other processes used %.0f%% of one core meanwhile", 100*max(busy-cpu, 0).Seconds()/wall.Seconds())
	}
	fmt.Println()
	b.ReportMetric(float64(cpu.Microseconds())/1000/wall.Seconds(), "cpu-ms/s")
	return samples[:runs]
}

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func lookupKind() (*registry.Kind, bool) { return registry.Lookup(Kind) }

// BenchmarkRun measures what one scheduled run costs the scheduler: 10,000
// interval jobs fall due together on a fake clock, are dispatched, run a
// trivial service and are recorded, per iteration.
func BenchmarkRun(b *testing.B) {
	const jobs = 10_000
	h := newHarness(b, harnessOptions{})
	k, _ := lookupKind()
	cs := live.Changeset{Source: "bench"}
	for i := range jobs {
		name := fmt.Sprintf("job%05d", i)
		obj, _ := k.Decode(fmt.Appendf(nil, `{"name": %q, "service": "t.other", "job_type": "interval_based", "seconds": 1}`, name))
		cs.Objects = append(cs.Objects, live.Change{Kind: Kind, Name: name, Object: obj})
	}
	if _, err := h.rt.Apply(context.Background(), cs); err != nil {
		b.Fatal(err)
	}
	h.s.catchUp()
	go func() {
		for range h.calls {
		}
	}()
	b.ResetTimer()
	for b.Loop() {
		h.clk.Advance(time.Second)
		h.tick()
		h.idle()
		h.s.catchUp()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*jobs), "ns/run")
}

// runBaseline wakes one goroutine at the instants 10,000 spread jobs would
// run at, with no scheduler, store or service, and returns how late each
// wake-up was.
func runBaseline(b *testing.B, points int, window time.Duration) []time.Duration {
	step := time.Second / time.Duration(points)
	samples := make([]time.Duration, 0, int(window/step)+1)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	next := time.Now().Truncate(time.Second).Add(time.Second)
	cpu0, busy0, t0 := cpuTime(), machineBusy(), time.Now()
	for end := t0.Add(window); next.Before(end); next = next.Add(step) {
		t.Reset(time.Until(next))
		<-t.C
		samples = append(samples, time.Since(next))
	}
	cpu, wall, busy := cpuTime()-cpu0, time.Since(t0), machineBusy()-busy0
	fmt.Printf("%s: CPU %.1f ms per second of wall time; other processes used %.0f%% of one core meanwhile\n",
		b.Name(), float64(cpu.Microseconds())/1000/wall.Seconds(), 100*max(busy-cpu, 0).Seconds()/wall.Seconds())
	return samples
}

// machineBusy returns the CPU time all processes have used (Linux
// /proc/stat), or 0 where it cannot be read.
func machineBusy() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0
	}
	var ticks int64
	for i, f := range fields[1:9] {
		if i == 3 || i == 4 {
			continue // idle, iowait
		}
		n, _ := strconv.ParseInt(f, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}
