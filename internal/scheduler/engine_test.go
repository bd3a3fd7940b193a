package scheduler

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/store"
)

// Interval jobs run on the grid start_date + n·interval, whatever the time
// they are created or the steps the clock takes.
func TestIntervalGrid(t *testing.T) {
	h := newHarness(t, harnessOptions{clock: newFakeClock(at("2026-01-01T10:00:00.25Z"))})
	h.put(&Job{Name: "grid", IsActive: true, Service: "t.record", JobType: IntervalBased, StartDate: "2026-01-01T09:59:59.5Z", Seconds: 2})
	if got := nextRun(h.status("grid")); got != "2026-01-01T10:00:01.5Z" {
		t.Fatalf("first run %s, want the next grid point 10:00:01.5", got)
	}
	// Uneven steps of 70 ms: every run still lands on the grid.
	h.step(10*time.Second, 70*time.Millisecond)
	calls := h.waitCalls(5)
	h.noCalls()
	h.idle()
	history := h.status("grid").History
	if len(history) != 5 {
		t.Fatalf("history has %d runs, want 5", len(history))
	}
	for i, r := range history {
		want := at("2026-01-01T10:00:09.5Z").Add(-time.Duration(i) * 2 * time.Second)
		if !r.Planned.Equal(want) {
			t.Errorf("run %d planned at %s, want %s", i, r.Planned.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
		}
		if r.Started.Sub(r.Planned) < 0 || r.Started.Sub(r.Planned) >= 70*time.Millisecond {
			t.Errorf("run %d started %s after it was due", i, r.Started.Sub(r.Planned))
		}
	}
	for _, c := range calls {
		if c.job != "grid" || c.channelType != "scheduler" {
			t.Errorf("call %+v", c)
		}
	}
	if got := nextRun(h.status("grid")); got != "2026-01-01T10:00:11.5Z" {
		t.Errorf("next run %s", got)
	}
}

// An interval job without start_date is aligned to the clock; a start
// date without an offset is read in the job's time zone.
func TestIntervalAnchors(t *testing.T) {
	h := newHarness(t, harnessOptions{clock: newFakeClock(at("2026-01-01T10:03:17Z"))})
	h.put(&Job{Name: "every5m", IsActive: true, Service: "t.record", JobType: IntervalBased, Minutes: 5})
	h.put(&Job{Name: "warsaw", IsActive: true, Service: "t.record", JobType: IntervalBased, Days: 1, StartDate: "2026-01-01T13:00:00", Timezone: "Europe/Warsaw"})
	h.put(&Job{Name: "future", IsActive: true, Service: "t.record", JobType: IntervalBased, Hours: 1, StartDate: "2026-03-01T00:00:00+02:00"})
	for name, want := range map[string]string{
		"every5m": "2026-01-01T10:05:00Z",
		"warsaw":  "2026-01-01T12:00:00Z",
		"future":  "2026-02-28T22:00:00Z",
	} {
		if got := nextRun(h.status(name)); got != want {
			t.Errorf("%s: next run %s, want %s", name, got, want)
		}
	}
}

// After downtime the missed runs are not replayed and the phase is kept.
func TestNoReplayAfterDowntime(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.put(&Job{Name: "minutely", IsActive: true, Service: "t.record", JobType: IntervalBased, StartDate: "2026-01-01T09:00:30Z", Minutes: 1})
	h.step(time.Minute, time.Second)
	h.waitCalls(1)
	h.idle()
	h.close()

	h.clk.Advance(90*time.Minute + 10*time.Second) // down from 10:01 to 11:31:10
	h = h.restart()
	h.tick()
	h.noCalls()
	if got := nextRun(h.status("minutely")); got != "2026-01-01T11:31:30Z" {
		t.Fatalf("after downtime the next run is %s, want 11:31:30 (the phase kept)", got)
	}
	h.step(20*time.Second, time.Second)
	if c := h.waitCalls(1)[0]; !c.at.Equal(at("2026-01-01T11:31:30Z")) {
		t.Errorf("ran at %s", c.at.Format(time.RFC3339))
	}
	h.noCalls()
	if js := h.status("minutely"); js.RunCount != 2 {
		t.Errorf("run count %d, want 2 (one before, one after the downtime)", js.RunCount)
	}
}

// After repeats runs a job becomes inactive through the one change path;
// made active again, it runs its plan afresh.
func TestRepeatsMakeJobInactive(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.put(&Job{Name: "thrice", IsActive: true, Service: "t.record", JobType: IntervalBased, Seconds: 1, Repeats: 3})
	h.step(5*time.Second, time.Second)
	h.waitCalls(3)
	h.waitInactive("thrice")
	h.noCalls()
	js := h.status("thrice")
	if js.RunCount != 3 || js.NextRun != nil || js.IsActive {
		t.Fatalf("after 3 runs: %+v next %s", js, nextRun(js))
	}
	// The store has it too, so a restart keeps it inactive.
	h = h.restart()
	if h.job("thrice").IsActive {
		t.Fatal("inactive job is active after a restart")
	}
	h.step(3*time.Second, time.Second)
	h.noCalls()
	// Resumed, it runs three more times.
	if err := h.s.SetActive(context.Background(), "thrice", true, "test"); err != nil {
		t.Fatal(err)
	}
	h.step(5*time.Second, time.Second)
	h.waitCalls(3)
	h.waitInactive("thrice")
	h.noCalls()
}

// Pausing and resuming a job that has not completed its plan keeps its
// run count.
func TestPauseKeepsRunCount(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.put(&Job{Name: "five", IsActive: true, Service: "t.record", JobType: IntervalBased, Seconds: 1, Repeats: 5})
	h.step(2*time.Second, time.Second)
	h.waitCalls(2)
	h.idle()
	if err := h.s.SetActive(context.Background(), "five", false, "test"); err != nil {
		t.Fatal(err)
	}
	h.step(10*time.Second, time.Second)
	h.noCalls()
	if err := h.s.SetActive(context.Background(), "five", true, "test"); err != nil {
		t.Fatal(err)
	}
	h.step(10*time.Second, time.Second)
	h.waitCalls(3)
	h.waitInactive("five")
	h.noCalls()
}

// A one-time job runs once at start_date, at once if that is past and it
// never ran, then becomes inactive, persistently: a restart does not run
// it again.
func TestOneTimeJob(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.put(&Job{Name: "past", IsActive: true, Service: "t.record", JobType: OneTime, StartDate: "2025-06-01T00:00:00Z", Extra: "late"})
	h.put(&Job{Name: "future", IsActive: true, Service: "t.record", JobType: OneTime, StartDate: "2026-01-01T10:00:05Z"})
	h.tick()
	if c := h.waitCalls(1)[0]; c.job != "past" || !c.at.Equal(start) {
		t.Fatalf("past one-time job: %+v", c)
	}
	h.waitInactive("past")
	h.step(4*time.Second, time.Second)
	h.noCalls()
	h.step(time.Second, time.Second)
	if c := h.waitCalls(1)[0]; c.job != "future" || !c.at.Equal(at("2026-01-01T10:00:05Z")) {
		t.Fatalf("future one-time job: %+v", c)
	}
	h.waitInactive("future")
	h = h.restart()
	h.step(time.Minute, time.Second)
	h.noCalls()
	for _, name := range []string{"past", "future"} {
		if js := h.status(name); js.IsActive || js.NextRun != nil || js.LastOutcome != OutcomeOK {
			t.Errorf("%s after restart: active %v next %s outcome %q", name, js.IsActive, nextRun(js), js.LastOutcome)
		}
	}
	// Made active again, it runs again (its start date is past).
	if err := h.s.SetActive(context.Background(), "past", true, "test"); err != nil {
		t.Fatal(err)
	}
	h.tick()
	h.waitCalls(1)
	h.waitInactive("past")
}

// A crash after a one-time job's run was recorded but before the job was
// made inactive neither runs it again nor leaves it active; a job made
// active again after it was made inactive does run.
func TestOneTimeCrashRecovery(t *testing.T) {
	// Configure both jobs on a node that does not lead, so neither runs.
	h := newHarness(t, harnessOptions{leader: &stubLeader{}})
	ran := &Job{Name: "ran", IsActive: true, Service: "t.record", JobType: OneTime, StartDate: "2025-06-01T00:00:00Z"}
	again := &Job{Name: "again", IsActive: true, Service: "t.record", JobType: OneTime, StartDate: "2025-06-01T00:00:00Z"}
	h.put(ran)
	h.put(again)
	h.tick()
	h.noCalls()
	h.close()
	// Leave the run state a crash leaves behind: "ran" was recorded as done
	// but is still active; "again" was made inactive and then active again
	// by a user.
	st, err := store.Open(context.Background(), "", h.dir)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := ran.plan()
	ss := newStateStore(st, h.s.log)
	ss.start()
	ss.put("ran", runState{Plan: p.fingerprint, RunCount: 1, Done: true}, nil, false)
	ss.put("again", runState{Plan: p.fingerprint, RunCount: 1, Done: true, Deactivated: true}, nil, false)
	ss.close()
	st.Close()

	h = newHarness(t, harnessOptions{clock: h.clk, dir: h.dir})
	h.tick()
	if c := h.waitCalls(1)[0]; c.job != "again" {
		t.Fatalf("ran %s, want only the job made active again", c.job)
	}
	h.waitInactive("ran")
	h.waitInactive("again")
	h.noCalls()
	if !strings.Contains(h.rtSummaries(), "scheduler: scheduler jobs completed their plans") {
		t.Errorf("the deactivation did not go through Apply:\n%s", h.rtSummaries())
	}
}

// rtSummaries returns the revision summaries in the store.
func (h *harness) rtSummaries() string {
	rows, err := h.st.DB().Query("SELECT source || ': ' || summary FROM revisions ORDER BY rev")
	if err != nil {
		h.t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var s string
		rows.Scan(&s)
		b.WriteString(s + "\n")
	}
	return b.String()
}

// A job whose previous run is still going is skipped, logged and counted;
// the next run after it ends is the next point of its plan.
func TestOverlapIsSkipped(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.put(&Job{Name: "slow", IsActive: true, Service: "t.block", JobType: IntervalBased, Seconds: 1})
	h.stepNoWait(time.Second, time.Second)
	h.waitCalls(1)
	h.stepNoWait(3*time.Second, 500*time.Millisecond)
	js := h.status("slow")
	if !js.Running || js.SkippedCount != 3 || js.RunCount != 1 {
		t.Fatalf("while running: running %v skipped %d runs %d", js.Running, js.SkippedCount, js.RunCount)
	}
	if n := len(strings.Split(strings.TrimSpace(grep(h.log.String(), "run skipped")), "\n")); n != 3 {
		t.Errorf("%d skip lines logged, want 3:\n%s", n, h.log)
	}
	if got := testutil.ToFloat64(h.s.m.skipped.WithLabelValues("slow")); got != 3 {
		t.Errorf("skipped metric %v", got)
	}
	if _, err := h.s.Execute("slow"); !errors.Is(err, ErrRunning) {
		t.Errorf("execute while running: %v", err)
	}
	h.release <- struct{}{}
	h.idle()
	if got := nextRun(h.status("slow")); got != "2026-01-01T10:00:05Z" {
		t.Errorf("next run %s: no catch-up burst, the next grid point", got)
	}
	h.stepNoWait(time.Second, time.Second)
	h.waitCalls(1)
	h.release <- struct{}{}
	h.idle()
	if js := h.status("slow"); js.RunCount != 2 || js.SkippedCount != 3 {
		t.Errorf("after: runs %d skipped %d", js.RunCount, js.SkippedCount)
	}
	// A deleted job's series go with it.
	h.delete("slow")
	if n := testutil.CollectAndCount(h.s.m.skipped); n != 0 {
		t.Errorf("%d skipped series remain after the job was deleted", n)
	}
}

func grep(text, part string) string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Contains(line, part) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// Create, edit and delete reschedule at once.
func TestLiveEdits(t *testing.T) {
	h := newHarness(t, harnessOptions{clock: newFakeClock(at("2026-01-01T10:00:01Z"))})
	h.put(&Job{Name: "live", IsActive: true, Service: "t.record", JobType: IntervalBased, StartDate: "2026-01-01T10:00:00Z", Seconds: 10, Extra: "v1"})
	if got := nextRun(h.status("live")); got != "2026-01-01T10:00:10Z" {
		t.Fatalf("created: next %s", got)
	}
	// A shorter interval applies at once.
	h.put(&Job{Name: "live", IsActive: true, Service: "t.record", JobType: IntervalBased, StartDate: "2026-01-01T10:00:00Z", Seconds: 3, Extra: "v1"})
	if got := nextRun(h.status("live")); got != "2026-01-01T10:00:03Z" {
		t.Fatalf("edited interval: next %s", got)
	}
	// Changing what it runs keeps when it runs.
	h.put(&Job{Name: "live", IsActive: true, Service: "t.other", JobType: IntervalBased, StartDate: "2026-01-01T10:00:00Z", Seconds: 3, Extra: "v2"})
	if got := nextRun(h.status("live")); got != "2026-01-01T10:00:03Z" {
		t.Fatalf("edited service: next %s", got)
	}
	h.step(2*time.Second, time.Second)
	if c := h.waitCalls(1)[0]; c.service != "t.other" || c.raw != "v2" {
		t.Fatalf("after edit: %+v", c)
	}
	// Switched to cron, then deleted.
	h.put(&Job{Name: "live", IsActive: true, Service: "t.other", JobType: CronStyle, CronDefinition: "0 12 * * *"})
	if got := nextRun(h.status("live")); got != "2026-01-01T12:00:00Z" {
		t.Fatalf("edited to cron: next %s", got)
	}
	h.idle()
	if len(h.status("live").History) != 1 {
		t.Fatal("no history before delete")
	}
	h.delete("live")
	h.step(3*time.Hour, time.Minute)
	h.noCalls()
	if _, err := h.s.Status(context.Background(), "live"); !errors.Is(err, ErrNoJob) {
		t.Fatalf("deleted job: %v", err)
	}
	// Deleted for good: a new job of the same name starts with nothing.
	h.put(&Job{Name: "live", IsActive: true, Service: "t.record", JobType: IntervalBased, Hours: 1})
	if js := h.status("live"); len(js.History) != 0 || js.LastRun != nil || js.RunCount != 0 {
		t.Errorf("re-created job inherited runs: %+v", js)
	}
	h.s.state.flush(context.Background())
	var n int
	h.st.DB().QueryRow("SELECT COUNT(*) FROM scheduler_job_history").Scan(&n)
	if n != 0 {
		t.Errorf("%d history rows left after delete", n)
	}
}

// A run gets the job's extra verbatim as payload and raw request, channel
// type scheduler named after the job, and a fresh cid.
func TestRunRequest(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	extra := `<order id="1">{"not": "parsed"}</order>`
	h.put(&Job{Name: "payload", IsActive: true, Service: "t.record", JobType: IntervalBased, Seconds: 1, Extra: extra})
	h.put(&Job{Name: "json", IsActive: true, Service: "t.record", JobType: IntervalBased, Seconds: 1, Extra: `{"a": 1}`})
	h.step(2*time.Second, time.Second)
	seen := map[string]bool{}
	for _, c := range h.waitCalls(4) {
		want := extra
		if c.job == "json" {
			want = `{"a": 1}`
		}
		if c.raw != want || c.payload != want {
			t.Errorf("%s: raw %q payload %#v, want the extra verbatim", c.job, c.raw, c.payload)
		}
		if c.channelType != "scheduler" || !cid.Valid(c.cid) || seen[c.cid] {
			t.Errorf("%s: channel %q cid %q", c.job, c.channelType, c.cid)
		}
		seen[c.cid] = true
	}
}

// Execute runs a job now without changing its plan.
func TestExecuteNow(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.put(&Job{Name: "hourly", IsActive: true, Service: "t.record", JobType: IntervalBased, Hours: 1, Repeats: 2, Extra: "x"})
	before := h.status("hourly")
	id, err := h.s.Execute("hourly")
	if err != nil {
		t.Fatal(err)
	}
	if c := h.waitCalls(1)[0]; c.cid != id || c.raw != "x" {
		t.Fatalf("executed: %+v", c)
	}
	h.idle()
	js := h.status("hourly")
	if nextRun(js) != nextRun(before) || js.RunCount != 0 || js.History[0].Via != "manual" || js.LastCID != id {
		t.Fatalf("execute changed the plan: next %s→%s runs %d history %+v", nextRun(before), nextRun(js), js.RunCount, js.History)
	}
	if _, err := h.s.Execute("nope"); !errors.Is(err, ErrNoJob) {
		t.Errorf("unknown job: %v", err)
	}
	// Inactive jobs can be executed too.
	h.put(&Job{Name: "off", Service: "t.record", JobType: IntervalBased, Hours: 1})
	if _, err := h.s.Execute("off"); err != nil {
		t.Fatal(err)
	}
	h.waitCalls(1)
}

// A one-time job that falls due while it is being executed by hand runs
// right after.
func TestOneTimeDueDuringManualRun(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.put(&Job{Name: "once", IsActive: true, Service: "t.block", JobType: OneTime, StartDate: "2026-01-01T10:00:02Z"})
	if _, err := h.s.Execute("once"); err != nil {
		t.Fatal(err)
	}
	h.waitCalls(1)
	h.stepNoWait(5*time.Second, time.Second)
	if js := h.status("once"); js.SkippedCount != 1 || js.NextRun != nil {
		t.Fatalf("while the manual run goes: skipped %d next %s", js.SkippedCount, nextRun(js))
	}
	h.release <- struct{}{} // the loop runs it as soon as the manual run ends
	if js := h.waitCalls(1); js[0].job != "once" {
		t.Fatal(js)
	}
	h.release <- struct{}{}
	h.waitInactive("once")
}

// Failing runs are recorded with their reason; a service with only verb
// handlers fails with 405.
func TestFailedRuns(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.put(&Job{Name: "fails", IsActive: true, Service: "t.fail", JobType: IntervalBased, Seconds: 1})
	h.put(&Job{Name: "verbs", IsActive: true, Service: "t.verb-only", JobType: IntervalBased, Seconds: 1})
	h.step(time.Second, time.Second)
	h.waitCalls(1)
	h.idle()
	for name, want := range map[string]string{"fails": "400 Element missing: x", "verbs": "405 Service t.verb-only answers only POST"} {
		js := h.status(name)
		if js.LastOutcome != OutcomeError || js.FailureCount != 1 || !strings.HasPrefix(js.History[0].Details, want) {
			t.Errorf("%s: %s %d %+v", name, js.LastOutcome, js.FailureCount, js.History)
		}
	}
	if got := testutil.ToFloat64(h.s.m.runs.WithLabelValues(OutcomeError)); got != 2 {
		t.Errorf("error runs metric %v", got)
	}
}

// Runs go through the request pipeline: each has an access log line with
// kind scheduler and the job's name, and the channel metrics count them
// under the kind alone, not per job.
func TestRunsThroughThePipeline(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.put(&Job{Name: "ok", IsActive: true, Service: "t.record", JobType: IntervalBased, Seconds: 1})
	h.put(&Job{Name: "fails", IsActive: true, Service: "t.fail", JobType: IntervalBased, Seconds: 1})
	h.step(time.Second, time.Second)
	calls := h.waitCalls(2)
	h.idle()
	for _, c := range calls {
		line := ""
		for l := range strings.SplitSeq(h.log.String(), "\n") {
			if strings.Contains(l, "msg=request") && strings.Contains(l, "cid="+c.cid) {
				line = l
			}
		}
		status := map[string]string{"ok": "status=200", "fails": "status=400"}[c.job]
		for _, want := range []string{"kind=scheduler", "channel=" + c.job, "service=" + c.service, status} {
			if !strings.Contains(line, want) {
				t.Errorf("access log line of %s lacks %q: %q", c.job, want, line)
			}
		}
	}
	if got := testutil.ToFloat64(h.m.Requests.WithLabelValues(Kind, "")); got != 2 {
		t.Errorf("requests of kind scheduler: %v", got)
	}
	if got := testutil.ToFloat64(h.m.Errors.WithLabelValues(Kind, "", "400")); got != 1 {
		t.Errorf("errors of kind scheduler: %v", got)
	}
	if n, _ := testutil.GatherAndCount(h.m.Registry, "plexus_channel_requests_total"); n != 1 {
		t.Errorf("%d series of plexus_channel_requests_total, want the kind's one", n)
	}
}

// Jitter delays each run by a random amount below jitter_ms.
func TestJitter(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.put(&Job{Name: "jittery", IsActive: true, Service: "t.record", JobType: IntervalBased, Seconds: 10, JitterMS: 3000})
	delays := map[time.Duration]bool{}
	for range 20 {
		js := h.status("jittery")
		due := h.s.jobs["jittery"].next
		d := js.NextRun.Sub(due)
		if d < 0 || d >= 3*time.Second || due.Sub(start)%(10*time.Second) != 0 {
			t.Fatalf("run due %s fires %s later", due, d)
		}
		delays[d] = true
		h.step(js.NextRun.Sub(h.clk.Now()), 500*time.Millisecond)
		if c := h.waitCalls(1)[0]; !c.at.Equal(*js.NextRun) {
			t.Fatalf("ran at %s, want %s", c.at, js.NextRun)
		}
	}
	if len(delays) < 10 {
		t.Errorf("only %d different delays in 20 runs", len(delays))
	}
}

// stubLeader is a Leader a test switches.
type stubLeader struct {
	leading bool
	changes chan struct{}
}

func (l *stubLeader) Leading() bool                   { return l.leading }
func (l *stubLeader) Changes() <-chan struct{}        { return l.changes }
func (l *stubLeader) Start(ctx context.Context) error { return nil }
func (l *stubLeader) Close() error                    { return nil }

// Only the leader fires; a node that becomes leader fires from the next
// run of each plan, with the run state the store holds.
func TestOnlyLeaderFires(t *testing.T) {
	l := &stubLeader{changes: make(chan struct{}, 1)}
	h := newHarness(t, harnessOptions{leader: l})
	h.put(&Job{Name: "led", IsActive: true, Service: "t.record", JobType: IntervalBased, Seconds: 1})
	h.put(&Job{Name: "once", IsActive: true, Service: "t.record", JobType: OneTime, StartDate: "2026-01-01T10:00:01Z"})
	h.step(3*time.Second, time.Second)
	h.noCalls()
	h.s.mu.Lock()
	l.leading = true
	h.s.mu.Unlock()
	h.s.leadershipChanged()
	h.tick()
	if c := h.waitCalls(1)[0]; c.job != "once" {
		t.Fatalf("the one-time job did not run when leadership came: %+v", c)
	}
	h.step(time.Second, time.Second)
	if c := h.waitCalls(1)[0]; c.job != "led" || !c.at.Equal(at("2026-01-01T10:00:04Z")) {
		t.Fatalf("after becoming leader: %+v", c)
	}
}

// Cron jobs run at their wall-clock times in their time zone, across
// daylight saving changes.
func TestCronJobAcrossDST(t *testing.T) {
	h := newHarness(t, harnessOptions{clock: newFakeClock(at("2024-03-09T17:00:00Z"))})
	h.put(&Job{Name: "nightly", IsActive: true, Service: "t.record", JobType: CronStyle, CronDefinition: "30 2 * * *", Timezone: "America/New_York"})
	h.put(&Job{Name: "weekdays", IsActive: true, Service: "t.record", JobType: CronStyle, CronDefinition: "00 3-6 * * 1-5", Timezone: "America/New_York"})
	// 02:30 does not exist on 10 March: it runs when the clock jumps to 03:00 EDT.
	if got := nextRun(h.status("nightly")); got != "2024-03-10T07:00:00Z" {
		t.Fatalf("in the gap: %s", got)
	}
	if got := nextRun(h.status("weekdays")); got != "2024-03-11T07:00:00Z" {
		t.Fatalf("weekdays: %s, want Monday 03:00 EDT", got)
	}
	h.step(15*time.Hour, time.Minute)
	h.waitCalls(1)
	if got := nextRun(h.status("nightly")); got != "2024-03-11T06:30:00Z" {
		t.Fatalf("after the gap: %s", got)
	}
	var runs []string
	h.step(28*time.Hour, time.Minute)
	for _, c := range h.waitCalls(5) {
		runs = append(runs, c.job+"@"+c.at.Format("15:04"))
	}
	if got := strings.Join(runs, " "); got != "nightly@06:30 weekdays@07:00 weekdays@08:00 weekdays@09:00 weekdays@10:00" {
		t.Errorf("a day after: %s", got)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		job  Job
		want string // "" is valid
	}{
		{Job{JobType: IntervalBased, Seconds: 2}, ""},
		{Job{JobType: IntervalBased}, "seconds: an interval_based job needs an interval"},
		{Job{JobType: IntervalBased, Seconds: -1, Minutes: 1}, "seconds: must not be negative"},
		{Job{JobType: IntervalBased, Weeks: 1 << 60}, "longer than 100 years"},
		{Job{JobType: IntervalBased, Seconds: 1, JitterMS: 1000}, "jitter_ms: 1000 ms is not shorter than the interval (1s)"},
		{Job{JobType: IntervalBased, Seconds: 1, CronDefinition: "* * * * *"}, "only cron_style jobs have a cron_definition"},
		{Job{JobType: IntervalBased, Seconds: 1, StartDate: "tomorrow"}, `start_date: cannot read "tomorrow"`},
		{Job{JobType: IntervalBased, Seconds: 1, StartDate: "1066-10-14T09:00:00"}, "year 1066 is out of range"},
		{Job{JobType: IntervalBased, Seconds: 1, Timezone: "Mars/Olympus"}, `timezone: unknown time zone "Mars/Olympus"`},
		{Job{JobType: IntervalBased, Seconds: 1, Timezone: "Local"}, "timezone: Local depends on the machine"},
		{Job{JobType: OneTime}, "start_date: a one_time job needs a start_date"},
		{Job{JobType: OneTime, StartDate: "2026-01-01", Seconds: 5}, "only interval_based jobs have an interval"},
		{Job{JobType: OneTime, StartDate: "2026-01-01", Repeats: 3}, "a one_time job runs once"},
		{Job{JobType: OneTime, StartDate: "2026-01-01 08:00"}, ""},
		{Job{JobType: CronStyle, CronDefinition: "00 3-6 * * 1-5", Timezone: "Europe/Warsaw"}, ""},
		{Job{JobType: CronStyle}, "a cron_style job needs a cron_definition"},
		{Job{JobType: CronStyle, CronDefinition: "0 3 * *"}, "it has 4 fields, want 5"},
		{Job{JobType: CronStyle, CronDefinition: "*/5 * * * * *"}, "it has 6 fields, want 5"},
		{Job{JobType: CronStyle, CronDefinition: "@daily"}, "write the five fields, e.g. 0 0 * * *"},
		{Job{JobType: CronStyle, CronDefinition: "0 61 * * *"}, `hour field "61": 61 is not in 0-23`},
		{Job{JobType: CronStyle, CronDefinition: "TZ=UTC 0 3 * * *"}, "set the job's timezone field instead"},
		{Job{JobType: CronStyle, CronDefinition: "0 0 30 2 *"}, "never matches a date"},
		{Job{JobType: CronStyle, CronDefinition: "0 3 * * *", Minutes: 5}, "only interval_based jobs have an interval"},
		{Job{JobType: CronStyle, CronDefinition: "0 3 * * *", Repeats: -2}, "repeats: must not be negative"},
	} {
		c.job.Name, c.job.Service = "j", "s"
		var msgs []string
		k, _ := registry.Lookup(Kind)
		for _, err := range append(k.CheckFields(&c.job), c.job.Validate()...) {
			msgs = append(msgs, err.Error())
		}
		got := strings.Join(msgs, "; ")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%+v: got %q, want %q", c.job, got, c.want)
		}
	}
}

// The run state and history work the same on PostgreSQL, and a one-time
// job is not run again after a restart there either.
func TestPostgresRunState(t *testing.T) {
	h := postgresHarness(t)
	h.put(&Job{Name: "pg.once", IsActive: true, Service: "t.record", JobType: OneTime, StartDate: "2025-01-01T00:00:00Z"})
	h.put(&Job{Name: "pg.interval", IsActive: true, Service: "t.fail", JobType: IntervalBased, Seconds: 1, Repeats: 2})
	h.tick()
	h.step(3*time.Second, time.Second)
	h.waitCalls(3)
	h.waitInactive("pg.once")
	h.waitInactive("pg.interval")
	h = h.restart()
	h.step(5*time.Second, time.Second)
	h.noCalls()
	js := h.status("pg.interval")
	if js.RunCount != 2 || js.FailureCount != 2 || len(js.History) != 2 || js.History[0].Outcome != OutcomeError {
		t.Errorf("on PostgreSQL: %+v", js)
	}
}

// A run that must be recorded before it starts does not start when it
// cannot be recorded, so a restart cannot run it twice.
func TestUnrecordedRunDoesNotStart(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.put(&Job{Name: "once", IsActive: true, Service: "t.record", JobType: OneTime, StartDate: "2026-01-01T10:00:01Z"})
	h.s.state.close() // the store can no longer be written
	h.stepNoWait(time.Second, time.Second)
	h.noCalls()
	js := h.s.List("", "once")[0]
	if js.LastOutcome != OutcomeError || !js.IsActive || !strings.Contains(grep(h.log.String(), "not started"), "once") {
		t.Fatalf("outcome %q active %v; log:\n%s", js.LastOutcome, js.IsActive, h.log)
	}
}

// A failed write is retried with what newer writes did not replace.
func TestRequeue(t *testing.T) {
	s := &stateStore{pending: map[string]*pendingJob{}}
	s.pending["newer"] = &pendingJob{state: &runState{RunCount: 5}, history: []Run{{CID: "new", seq: 21}}}
	s.pending["gone"] = &pendingJob{deleted: true}
	s.requeue(map[string]*pendingJob{
		"newer": {state: &runState{RunCount: 4}, history: []Run{{CID: "old", seq: 1}, {CID: "kept", seq: 2}}},
		"gone":  {state: &runState{RunCount: 1}},
		"alone": {state: &runState{RunCount: 2}},
	})
	if p := s.pending["newer"]; p.state.RunCount != 5 || len(p.history) != 2 || p.history[0].CID != "new" || p.history[1].CID != "kept" {
		t.Errorf("newer: %+v", p)
	}
	if p := s.pending["gone"]; !p.deleted || p.state != nil {
		t.Errorf("gone: %+v", p)
	}
	if p := s.pending["alone"]; p.state.RunCount != 2 {
		t.Errorf("alone: %+v", p)
	}
}
