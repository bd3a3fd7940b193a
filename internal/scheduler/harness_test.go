package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/invoke"
	"github.com/plexushq/plexus/internal/leader"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/logging"
	"github.com/plexushq/plexus/internal/metrics"
	"github.com/plexushq/plexus/internal/store"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/sdk/service"
)

// fakeClock is a Clock that moves only when a test says so.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c     *fakeClock
	ch    chan time.Time
	at    time.Time
	armed bool
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) NewTimer() Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{c: f, ch: make(chan time.Time, 1)}
	f.timers = append(f.timers, t)
	return t
}

// Advance moves the clock and fires the timers that are due.
func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	for _, t := range f.timers {
		if t.armed && !t.at.After(f.now) {
			t.armed = false
			select {
			case t.ch <- f.now:
			default:
			}
		}
	}
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.drain()
	t.at, t.armed = t.c.now.Add(d), true
	if d <= 0 {
		t.armed = false
		t.ch <- t.c.now
	}
}

func (t *fakeTimer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.armed = false
	t.drain()
}

func (t *fakeTimer) drain() {
	select {
	case <-t.ch:
	default:
	}
}

// call is one invocation of a test service.
type call struct {
	service, cid, job, channelType string
	payload                        any
	raw                            string
	at                             time.Time
}

// harness is a scheduler on a real runtime and store, with a fake clock
// and test services that report their calls.
type harness struct {
	t       testing.TB
	clk     *fakeClock
	dir     string
	dsn     string
	st      *store.Store
	rt      *live.Runtime
	s       *Scheduler
	m       *metrics.Metrics
	log     *testenv.Buffer
	calls   chan call
	release chan struct{} // t.block returns when this is closed or sent to
	leader  leader.Leader
	closed  bool
}

// start is when harness clocks start.
var start = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)

type harnessOptions struct {
	clock  *fakeClock
	dir    string
	dsn    string
	leader leader.Leader
}

func newHarness(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	if o.clock == nil {
		o.clock = newFakeClock(start)
	}
	if o.dir == "" && o.dsn == "" {
		o.dir = t.TempDir()
	}
	h := &harness{t: t, clk: o.clock, dir: o.dir, dsn: o.dsn, log: &testenv.Buffer{}, calls: make(chan call, 10000), release: make(chan struct{}), leader: o.leader, m: metrics.New()}
	ctx := context.Background()
	st, err := store.Open(ctx, o.dsn, o.dir)
	if err != nil {
		t.Fatal(err)
	}
	h.st = st
	logger := slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.s = New(Options{Logger: logger, Metrics: h.m, Clock: h.clk, Seed: 42, Leader: o.leader})
	record := func(name string) func(*service.Context) error {
		return func(c *service.Context) error {
			h.calls <- call{service: name, cid: c.CID, job: c.Channel.Name, channelType: c.Channel.Type, payload: c.Request.Payload, raw: string(c.Request.RawRequest), at: h.clk.Now()}
			return nil
		}
	}
	var svcs []*catalog.Service
	for _, v := range append([]any{
		service.Func("t.record", "", record("t.record")),
		service.Func("t.other", "", record("t.other")),
		service.Func("t.block", "", func(c *service.Context) error {
			record("t.block")(c)
			<-h.release
			return nil
		}),
		service.Func("t.fail", "", func(c *service.Context) error {
			record("t.fail")(c)
			return service.BadRequest("Element missing: x")
		}),
		verbOnly{},
	}, h.s.Services()...) {
		svc, err := catalog.FromGo(v)
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, svc)
	}
	h.rt, err = live.New(live.Options{Store: st, Logger: logger, Settings: config.Default(), Metrics: h.m, Builtins: svcs})
	if err != nil {
		t.Fatal(err)
	}
	inv := invoke.New(ctx, h.rt, logger)
	h.s.Attach(st, h.rt, dispatch.New(dispatch.Options{Runtime: h.rt, Invoker: inv, Logger: logger, Metrics: h.m,
		Access: logging.NewAccess(h.log, config.Default().Log)}))
	if err := h.rt.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.close)
	return h
}

type verbOnly struct{}

func (verbOnly) Name() string                        { return "t.verb-only" }
func (verbOnly) HandlePOST(s *service.Context) error { return nil }

// close stops the scheduler as a server does, and closes the store.
func (h *harness) close() {
	if h.closed {
		return
	}
	h.closed = true
	select {
	case <-h.release:
	default:
		close(h.release)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.s.Shutdown(ctx); err != nil {
		h.t.Errorf("shutting the scheduler down: %v", err)
	}
	h.st.Close()
}

// restart stops this scheduler and starts a new one on the same store,
// with the same clock.
func (h *harness) restart() *harness {
	h.t.Helper()
	h.close()
	return newHarness(h.t, harnessOptions{clock: h.clk, dir: h.dir, dsn: h.dsn, leader: h.leader})
}

// put creates or replaces a job through the one change path.
func (h *harness) put(j *Job) {
	h.t.Helper()
	if _, err := h.rt.Apply(context.Background(), live.Changeset{Source: "test", Objects: []live.Change{{Kind: Kind, Name: j.Name, Object: j}}}); err != nil {
		h.t.Fatalf("putting job %s: %v", j.Name, err)
	}
	h.s.catchUp()
}

func (h *harness) delete(name string) {
	h.t.Helper()
	if _, err := h.rt.Apply(context.Background(), live.Changeset{Source: "test", Objects: []live.Change{{Kind: Kind, Name: name}}}); err != nil {
		h.t.Fatalf("deleting job %s: %v", name, err)
	}
	h.s.catchUp()
}

// tick does what the loop does when woken: follow the configuration and
// fire what is due, before it returns.
func (h *harness) tick() {
	s := h.s
	s.mu.Lock()
	now := s.clock.Now()
	s.catchUpLocked(now)
	s.fireDueLocked(now)
	s.mu.Unlock()
	signal(s.wake)
}

// step advances the clock by d in increments of at most inc, firing what
// falls due at each and letting those runs finish before the next.
func (h *harness) step(d, inc time.Duration) {
	for d > 0 {
		n := min(d, inc)
		h.clk.Advance(n)
		h.tick()
		h.idle()
		d -= n
	}
}

// stepNoWait is step without waiting for runs, for runs that block.
func (h *harness) stepNoWait(d, inc time.Duration) {
	for d > 0 {
		n := min(d, inc)
		h.clk.Advance(n)
		h.tick()
		d -= n
	}
}

// waitCalls waits for n more calls of test services.
func (h *harness) waitCalls(n int) []call {
	h.t.Helper()
	var out []call
	for len(out) < n {
		select {
		case c := <-h.calls:
			out = append(out, c)
		case <-time.After(5 * time.Second):
			h.t.Fatalf("got %d calls, want %d; log:\n%s", len(out), n, h.log)
		}
	}
	return out
}

// noCalls checks that no test service is called (settling briefly).
func (h *harness) noCalls() {
	h.t.Helper()
	h.idle()
	select {
	case c := <-h.calls:
		h.t.Fatalf("unexpected call of %s for job %s at %s", c.service, c.job, c.at.Format(time.RFC3339Nano))
	default:
	}
}

// idle waits until no run is going. (It polls: the loop may start runs
// meanwhile, so the WaitGroup, which Shutdown waits on once the loop has
// stopped, cannot be used.)
func (h *harness) idle() {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := h.s.inFlight.Load()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d runs still going; log:\n%s", n, h.log)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// status returns a job's status.
func (h *harness) status(name string) JobStatus {
	h.t.Helper()
	js, err := h.s.Status(context.Background(), name)
	if err != nil {
		h.t.Fatalf("status of %s: %v", name, err)
	}
	return js
}

// job returns the configured job.
func (h *harness) job(name string) *Job {
	h.t.Helper()
	obj, ok := h.rt.State().Object(Kind, name)
	if !ok {
		h.t.Fatalf("job %s is not configured", name)
	}
	return obj.(*Job)
}

// waitInactive waits until the configuration shows the job inactive.
func (h *harness) waitInactive(name string) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.job(name).IsActive {
		if time.Now().After(deadline) {
			h.t.Fatalf("job %s is still active; log:\n%s", name, h.log)
		}
		time.Sleep(time.Millisecond)
	}
	h.s.catchUp()
}

func nextRun(js JobStatus) string {
	if js.NextRun == nil {
		return "none"
	}
	return js.NextRun.Format(time.RFC3339Nano)
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(fmt.Sprintf("bad test time %q: %v", s, err))
	}
	return t
}

// postgresHarness is newHarness on a fresh PostgreSQL schema.
func postgresHarness(t testing.TB) *harness {
	return newHarness(t, harnessOptions{dsn: testenv.Postgres(t)})
}
