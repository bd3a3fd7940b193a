package scheduler

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/leader"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/metrics"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/store"
	"github.com/plexushq/plexus/sdk/service"
)

// Errors of the scheduler's operations.
var (
	// ErrNoJob is returned for a job name that is not configured.
	ErrNoJob = errors.New("no such scheduler job")
	// ErrRunning is returned by Execute while the job's previous run is
	// still going.
	ErrRunning = errors.New("the job's previous run is still going")
	// ErrStopped is returned once the scheduler is shutting down.
	ErrStopped = errors.New("the scheduler is not running")

	// errStopping is why runs still going when the scheduler closes are
	// cancelled.
	errStopping = errors.New("the server is stopping")
)

// LeaderElection is the name of the election of the node that fires jobs.
const LeaderElection = "plexus.scheduler"

// maxSleep bounds how long the loop sleeps, so a jump of the wall clock
// (an NTP step, a resumed virtual machine) delays runs by at most this:
// timers measure elapsed time, plans are in wall-clock time.
const maxSleep = time.Minute

// How runs come about.
const (
	viaSchedule = "schedule"
	viaManual   = "manual"
)

// Options configure a Scheduler.
type Options struct {
	// Logger receives the scheduler's log lines.
	Logger *slog.Logger
	// Metrics registers the scheduler's collectors; nil keeps them
	// unregistered.
	Metrics *metrics.Metrics
	// Clock is the time source (default SystemClock).
	Clock Clock
	// Leader decides whether this node fires jobs: only the leader of the
	// election named LeaderElection fires them, and every node keeps the
	// schedule, so a node that becomes leader fires the next due runs at
	// once. Default: leader.For the store.
	Leader leader.Leader
	// Seed seeds the jitter of every job (default random).
	Seed uint64
}

// Scheduler fires scheduler jobs. It is one goroutine holding a min-heap of
// next-fire times and one timer armed for the earliest, so between fires it
// does nothing at all. It is safe for concurrent use.
//
// Its lifecycle: New (its built-in services exist from here), Attach (it
// follows the runtime from here, before the configuration is loaded),
// Start (it fires from here), Shutdown or Close.
type Scheduler struct {
	opts   Options
	clock  Clock
	log    *slog.Logger
	m      *collectors
	leader leader.Leader

	rt    *live.Runtime
	pipe  *dispatch.Pipeline
	st    *store.Store
	state *stateStore

	mu         sync.Mutex
	jobs       map[string]*job
	queue      jobQueue
	pending    *live.State         // the newest configuration not yet followed
	stored     map[string]runState // run state loaded at start, until the first follow
	deactivate map[string]bool     // jobs whose completed plan awaits is_active=false
	started    bool
	stopping   bool

	// Runs report their end here rather than under mu, so 10,000 runs
	// ending at once do not queue on mu ahead of the loop; the loop (or a
	// view) records them in one batch.
	doneMu   sync.Mutex
	done     []completion
	recorded []completion // the slice done had before, for reuse; under mu
	inFlight atomic.Int64
	workers  *pool[runTask]
	batch    []runTask // runs fireDueLocked is about to submit
	later    []*job    // jobs fireDueLocked puts back in the queue

	wake       chan struct{}
	deactWake  chan struct{}
	stop       chan struct{}
	loopDone   chan struct{}
	deactDone  chan struct{}
	stopOnce   sync.Once
	closeOnce  sync.Once
	runs       sync.WaitGroup
	runCtx     context.Context
	cancelRuns context.CancelCauseFunc
}

// job is a scheduler job as the engine holds it.
type job struct {
	name string
	cfg  *Job
	ch   *dispatch.Channel // the job as the pipeline runs it
	plan *plan             // nil if the configuration does not parse (never after Apply)
	st   runState

	next   time.Time // the planned run: a grid or cron time; zero when none
	fireAt time.Time // next plus jitter: when it fires
	index  int       // in the queue, -1 when not queued
	rng    *rand.Rand

	running      atomic.Bool // a run is going on; cleared by the run itself
	fireWhenDone bool        // a one-time job fell due during a manual run
}

// runTask is a run about to start.
type runTask struct {
	j                  *job
	cfg                *Job
	ch                 *dispatch.Channel
	planned            time.Time
	via, id            string
	durable, completes bool
}

// submitEvery is how many due runs fireDueLocked gathers before it hands
// them to the workers, so the first runs start while the rest are being
// dispatched.
const submitEvery = 64

// completion is a run that ended, not yet recorded in its job's state.
type completion struct {
	j   *job
	run Run
}

// New returns a scheduler. Its services (Services) may be registered at
// once; it does nothing until Attach and Start.
func New(opts Options) *Scheduler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.Seed == 0 {
		opts.Seed = rand.Uint64()
	}
	s := &Scheduler{
		opts:       opts,
		clock:      opts.Clock,
		log:        opts.Logger,
		jobs:       map[string]*job{},
		deactivate: map[string]bool{},
		wake:       make(chan struct{}, 1),
		deactWake:  make(chan struct{}, 1),
		stop:       make(chan struct{}),
		loopDone:   make(chan struct{}),
		deactDone:  make(chan struct{}),
	}
	s.workers = newPool(s.run)
	s.runCtx, s.cancelRuns = context.WithCancelCause(context.Background())
	s.m = newCollectors(s, opts.Metrics)
	return s
}

// Attach connects the scheduler to the server: it follows every change of
// rt from here on (call it before rt.Load), runs services through the
// pipeline p and keeps run state in st.
func (s *Scheduler) Attach(st *store.Store, rt *live.Runtime, p *dispatch.Pipeline) {
	s.st, s.rt, s.pipe = st, rt, p
	s.state = newStateStore(st, s.log)
	if s.opts.Leader == nil {
		s.opts.Leader = leader.For(st.Dialect(), st.DB(), LeaderElection, s.log)
	}
	s.leader = s.opts.Leader
	rt.Watch(s.observe)
}

// observe is the runtime's watcher: it hands the new state to the loop.
// It runs inside Apply, so it only records the state and wakes the loop.
func (s *Scheduler) observe(_, next *live.State) {
	s.mu.Lock()
	s.pending = next
	s.mu.Unlock()
	signal(s.wake)
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Start loads the run state, takes part in the leader election and starts
// firing jobs.
func (s *Scheduler) Start(ctx context.Context) error {
	if s.rt == nil {
		return errors.New("starting the scheduler: Attach was not called")
	}
	if err := s.leader.Start(ctx); err != nil {
		return fmt.Errorf("starting the scheduler: %w", err)
	}
	stored, err := s.state.load(ctx)
	if err != nil {
		s.leader.Close()
		return fmt.Errorf("starting the scheduler: %w", err)
	}
	s.mu.Lock()
	s.stored, s.started = stored, true
	if s.pending == nil {
		s.pending = s.rt.State()
	}
	s.mu.Unlock()
	s.state.start()
	go s.loop()
	go s.deactivator()
	return nil
}

// loop is the scheduler's goroutine: it follows configuration changes,
// fires the runs that are due and sleeps until the next one.
func (s *Scheduler) loop() {
	defer close(s.loopDone)
	timer := s.clock.NewTimer()
	defer timer.Stop()
	for {
		s.mu.Lock()
		now := s.clock.Now()
		s.catchUpLocked(now)
		s.fireDueLocked(now)
		wait := time.Duration(-1)
		if len(s.queue) > 0 {
			wait = max(s.queue[0].fireAt.Sub(now), 0)
		}
		s.mu.Unlock()
		if wait < 0 || wait > maxSleep {
			wait = maxSleep
		}
		timer.Reset(wait)
		select {
		case <-s.stop:
			return
		case <-s.wake:
		case <-timer.C():
		case <-s.leader.Changes():
			s.leadershipChanged()
		}
	}
}

// followLocked brings the jobs in line with a configuration state.
// Unchanged objects keep their pointers across states, so only new and
// changed jobs cost anything.
func (s *Scheduler) followLocked(st *live.State, now time.Time) {
	objs := st.Objects(Kind)
	seen := make(map[string]bool, len(objs))
	for _, o := range objs {
		cfg := o.(*Job)
		seen[cfg.Name] = true
		if j := s.jobs[cfg.Name]; j == nil || j.cfg != cfg {
			s.updateLocked(j, cfg, now)
		}
	}
	for name, j := range s.jobs {
		if !seen[name] {
			s.queue.remove(j)
			delete(s.jobs, name)
			delete(s.deactivate, name)
			s.state.delete(name)
		}
	}
	if s.stored != nil {
		// Run state of jobs that were deleted while it was not followed.
		for name := range s.stored {
			s.state.delete(name)
		}
		s.stored = nil
	}
}

// updateLocked takes in a new or changed job.
func (s *Scheduler) updateLocked(j *job, cfg *Job, now time.Time) {
	p, errs := cfg.plan()
	if len(errs) > 0 {
		s.log.Error("scheduler job does not validate; it will not run", "job", cfg.Name, "problem", errors.Join(errs...).Error())
		p = nil
	}
	created := j == nil
	if created {
		j = &job{name: cfg.Name, index: -1, rng: s.newRand(cfg.Name)}
		if st, ok := s.stored[cfg.Name]; ok {
			j.st = st
			delete(s.stored, cfg.Name)
		}
		s.jobs[cfg.Name] = j
	}
	old := j.cfg
	j.cfg, j.plan, j.ch = cfg, p, jobChannel(cfg)
	fingerprint := ""
	if p != nil {
		fingerprint = p.fingerprint
	}
	dirty := false
	restart := func() {
		j.st.Plan, j.st.RunCount, j.st.Done, j.st.Deactivated = fingerprint, 0, false, false
		j.fireWhenDone, dirty = false, true
	}
	switch {
	case j.st.Plan != fingerprint:
		restart() // a new plan starts afresh
	case cfg.IsActive && j.st.Done && j.st.Deactivated:
		restart() // made active again after completing its plan
	case cfg.IsActive && j.st.Done:
		// Complete but still active: the change making it inactive is
		// pending, or was lost in a crash after the run was recorded.
		s.requestDeactivationLocked(j.name)
	case !cfg.IsActive && j.st.Done && !j.st.Deactivated:
		j.st.Deactivated, dirty = true, true
	}
	if dirty {
		s.state.put(j.name, j.st, nil, false)
	}
	if created || dirty || old.IsActive != cfg.IsActive || old.JitterMS != cfg.JitterMS || j.index < 0 {
		s.planLocked(j, now)
	}
}

// planLocked computes a job's first run from now.
func (s *Scheduler) planLocked(j *job, now time.Time) {
	if j.plan == nil || !j.cfg.IsActive || j.st.Done || j.fireWhenDone {
		s.setNextLocked(j, time.Time{})
		return
	}
	s.setNextLocked(j, j.plan.first(now, j.st.Done))
}

// setNextLocked queues a job for its next planned run, with its jitter,
// or takes it out of the queue when next is zero.
func (s *Scheduler) setNextLocked(j *job, next time.Time) {
	if s.timeLocked(j, next) {
		s.queue.set(j)
	} else {
		s.queue.remove(j)
	}
}

// timeLocked sets a job's next planned run and when it fires, jitter
// included, and reports whether it has one (next is not zero).
func (s *Scheduler) timeLocked(j *job, next time.Time) bool {
	j.next, j.fireAt = next, next
	if next.IsZero() {
		return false
	}
	if j.plan.jitter > 0 {
		j.fireAt = next.Add(time.Duration(j.rng.Int64N(int64(j.plan.jitter))))
	}
	return true
}

func (s *Scheduler) newRand(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(s.opts.Seed, h.Sum64()))
}

// fireDueLocked fires every run due at now. Jobs go back in the queue
// once every due one is out, so each of a burst of jobs due at the same
// instant costs the heap O(1) rather than O(log n).
func (s *Scheduler) fireDueLocked(now time.Time) {
	leading := s.leader.Leading()
	for len(s.queue) > 0 && !s.queue[0].fireAt.After(now) {
		j := s.queue.pop()
		planned, due := j.fireAt, j.next
		var next time.Time
		switch {
		case !leading:
			// Another node fires it; keep the schedule to take over.
			next = j.plan.after(due, now)
		case j.running.Load():
			j.st.SkippedCount++
			s.m.skipped.WithLabelValues(j.name).Inc()
			s.log.Warn("scheduler job run skipped: its previous run is still going", "job", j.name, "planned", planned.UTC().Format(time.RFC3339Nano))
			if j.plan.jobType == OneTime {
				j.fireWhenDone = true // it must run once: right after the running one
			} else {
				next = j.plan.after(due, now)
			}
		default:
			j.st.RunCount++
			completes := j.plan.jobType == OneTime || (j.plan.repeats > 0 && j.st.RunCount >= j.plan.repeats)
			if completes {
				j.st.Done = true
			} else {
				next = j.plan.after(due, now)
			}
			// A run that counts towards completing a plan is recorded
			// before it starts, so a crash never runs it twice.
			durable := j.plan.jobType == OneTime || j.plan.repeats > 0
			s.batch = append(s.batch, s.newRunLocked(j, planned, viaSchedule, durable, completes))
			if len(s.batch) == submitEvery {
				s.submitLocked()
			}
		}
		if s.timeLocked(j, next) {
			s.later = append(s.later, j)
		}
	}
	s.submitLocked()
	for _, j := range s.later {
		s.queue.set(j)
	}
	clear(s.later)
	s.later = s.later[:0]
}

// submitLocked hands the gathered runs to the workers.
func (s *Scheduler) submitLocked() {
	if len(s.batch) > 0 {
		s.workers.submit(s.batch...)
		clear(s.batch)
		s.batch = s.batch[:0]
	}
}

// newRunLocked marks a job running and returns its run for the workers.
// The run gets its CID from the worker unless the caller sets it.
func (s *Scheduler) newRunLocked(j *job, planned time.Time, via string, durable, completes bool) runTask {
	j.running.Store(true)
	s.inFlight.Add(1)
	s.runs.Add(1)
	if durable {
		s.state.put(j.name, j.st, nil, false)
	}
	return runTask{j: j, cfg: j.cfg, ch: j.ch, planned: planned, via: via, durable: durable, completes: completes}
}

// run runs a job's service through the invocation pipeline and records
// the outcome.
func (s *Scheduler) run(t runTask) {
	defer s.runs.Done()
	if t.id == "" {
		t.id = cid.New()
	}
	planned := t.planned.UTC().Truncate(time.Microsecond)
	if t.durable {
		// A run that counts towards completing a plan starts only once it
		// is recorded: one that cannot be recorded does not start, rather
		// than risk running again after a restart.
		if err := s.state.flush(s.runCtx); err != nil {
			s.log.Error("scheduler run not started: it could not be recorded first", "job", t.cfg.Name, "cid", t.id, "error", err.Error())
			s.complete(t.j, Run{CID: t.id, Via: t.via, Planned: planned, Started: s.clock.Now().UTC().Truncate(time.Microsecond),
				Outcome: OutcomeError, Details: "not started: recording the run failed: " + err.Error()})
			return
		}
		if t.completes {
			s.mu.Lock()
			s.requestDeactivationLocked(t.j.name)
			s.mu.Unlock()
		}
	}
	started := s.clock.Now()
	if t.via == viaSchedule {
		s.m.lateness.Observe(started.Sub(t.planned).Seconds())
	}
	err := s.invoke(t)
	r := Run{CID: t.id, Via: t.via, Planned: planned, Started: started.UTC().Truncate(time.Microsecond), DurationMS: float64(s.clock.Now().Sub(started).Microseconds()) / 1000, Outcome: OutcomeOK}
	if err != nil {
		r.Outcome, r.Details = OutcomeError, details(err)
	}
	s.m.duration.Observe(r.DurationMS / 1000)
	s.complete(t.j, r)
}

// complete reports the end of a run to the loop, without taking mu. The
// loop is woken only once no more runs wait for a worker, so recording a
// burst of runs does not take CPU from the runs still to start.
func (s *Scheduler) complete(j *job, r Run) {
	s.m.outcome(r.Outcome).Inc()
	s.doneMu.Lock()
	s.done = append(s.done, completion{j, r})
	s.doneMu.Unlock()
	j.running.Store(false)
	s.inFlight.Add(-1)
	if !s.workers.waiting() {
		signal(s.wake)
	}
}

// jobChannel returns a job as the pipeline runs it: a raw channel of
// type scheduler, whose requests are counted under the kind alone, so
// 10,000 jobs do not make 10,000 series.
func jobChannel(cfg *Job) *dispatch.Channel {
	return &dispatch.Channel{Type: service.ChannelScheduler, Name: cfg.Name, Service: cfg.Service, DataFormat: dispatch.FormatRaw, KindSeries: true}
}

// jobRun is one run of a job through the pipeline, as its transport: the
// payload is the job's extra, and the reply is the run's outcome.
type jobRun struct {
	dispatch.Exchange
	extra string
}

// Payload returns the job's extra.
func (r *jobRun) Payload(int64) ([]byte, error) { return []byte(r.extra), nil }

// Fill adds nothing: a run has no transport details.
func (r *jobRun) Fill(*dispatch.Exchange, *service.Request) error { return nil }

// Send sends nothing: invoke reads the reply once the pipeline is done.
func (r *jobRun) Send(*dispatch.Reply) (int, error) { return 0, nil }

// invoke runs the job's service through the pipeline, with the job's
// extra as the payload and raw request, and the service's generic
// handler. A reply of 400 or more fails the run.
func (s *Scheduler) invoke(t runTask) error {
	x := &jobRun{extra: t.cfg.Extra}
	x.CID = t.id
	x.Begin(s.runCtx, x)
	x.Kind, x.Channel = Kind, t.ch
	s.pipe.Serve(&x.Exchange)
	if err := x.Reply.Err; err != nil {
		return err
	}
	if x.Reply.Status >= 400 {
		err := service.NewError(x.Reply.Status, "The service answered %d", x.Reply.Status)
		reply.LogError(s.log.With("cid", x.CID, "service", t.cfg.Service, "job", t.cfg.Name), err)
		return err
	}
	if s.log.Enabled(s.runCtx, slog.LevelDebug) {
		s.log.Debug("scheduler job ran", "cid", x.CID, "service", t.cfg.Service, "job", t.cfg.Name)
	}
	return nil
}

// details says why a run failed, briefly: the status, message and cause
// of a *service.Error.
func details(err error) string {
	var se *service.Error
	msg := err.Error()
	if errors.As(err, &se) {
		msg = se.Error()
	}
	if len(msg) > 1000 {
		msg = msg[:1000] + "…"
	}
	return msg
}

// recordLocked records the runs that ended in their jobs' state and
// history.
func (s *Scheduler) recordLocked(now time.Time) {
	s.doneMu.Lock()
	done := s.done
	s.done = s.recorded[:0]
	s.doneMu.Unlock()
	defer func() {
		clear(done)
		s.recorded = done // its capacity serves the next runs
	}()
	for _, c := range done {
		j, r := c.j, c.run
		if s.jobs[j.name] != j {
			continue // deleted while it ran
		}
		j.st.LastRun, j.st.LastOutcome, j.st.LastCID = r.Started, r.Outcome, r.CID
		j.st.LastDuration = time.Duration(r.DurationMS * float64(time.Millisecond))
		if r.Outcome != OutcomeOK {
			j.st.FailureCount++
		}
		j.st.HistorySeq++
		r.seq = j.st.HistorySeq
		s.state.put(j.name, j.st, &r, true)
		if j.fireWhenDone && !j.running.Load() {
			j.fireWhenDone = false
			s.planLocked(j, now)
		}
	}
}

// requestDeactivationLocked queues making a completed job inactive.
func (s *Scheduler) requestDeactivationLocked(name string) {
	s.deactivate[name] = true
	signal(s.deactWake)
}

// deactivator makes jobs that completed their plans inactive, through the
// one change path, so the store, the admin API and enmasse all show it.
func (s *Scheduler) deactivator() {
	defer close(s.deactDone)
	for {
		select {
		case <-s.stop:
			return
		case <-s.deactWake:
			s.deactivateCompleted()
		}
	}
}

// deactivateCompleted applies is_active=false to the completed jobs whose
// configuration is still the one that completed. The check and the Apply
// are not atomic: an edit committed between them (microseconds) would be
// replaced by the deactivated copy of the older configuration. Closing
// that needs a conditional change in the runtime (a revision precondition
// on live.Change).
func (s *Scheduler) deactivateCompleted() {
	s.mu.Lock()
	current := s.rt.State()
	var changes []live.Change
	for name := range s.deactivate {
		j := s.jobs[name]
		if j == nil || !j.st.Done || j.st.Deactivated || !j.cfg.IsActive {
			continue
		}
		if obj, ok := current.Object(Kind, name); !ok || obj != registry.Object(j.cfg) {
			continue // changed since; following the change decides again
		}
		cp := *j.cfg
		cp.IsActive = false
		changes = append(changes, live.Change{Kind: Kind, Name: name, Object: &cp})
	}
	clear(s.deactivate)
	s.mu.Unlock()
	if len(changes) == 0 {
		return
	}
	slices.SortFunc(changes, func(a, b live.Change) int { return strings.Compare(a.Name, b.Name) })
	if err := s.applyDeactivation(changes); err == nil || len(changes) == 1 {
		return
	}
	// One refused job must not keep the others active.
	for _, ch := range changes {
		s.applyDeactivation([]live.Change{ch})
	}
}

func (s *Scheduler) applyDeactivation(changes []live.Change) error {
	names := make([]string, len(changes))
	for i, ch := range changes {
		names[i] = ch.Name
	}
	summary := "scheduler jobs completed their plans: " + strings.Join(names, ", ")
	if len(names) > 5 {
		summary = fmt.Sprintf("scheduler jobs completed their plans: %s and %d more", strings.Join(names[:5], ", "), len(names)-5)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := s.rt.Apply(ctx, live.Changeset{Source: "scheduler", Summary: summary, Objects: changes})
	if err != nil {
		s.log.Error("making completed scheduler jobs inactive", "jobs", strings.Join(names, ","), "error", err.Error())
	}
	return err
}

// leadershipChanged re-plans every job when this node becomes the
// leader, from the run state in the store, which the previous leader kept.
func (s *Scheduler) leadershipChanged() {
	if !s.leader.Leading() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.catchUp() // what this node knows goes to the store first
	if err := s.state.flush(ctx); err != nil {
		s.log.Error("re-planning scheduler jobs after becoming leader", "error", err.Error())
		return
	}
	stored, err := s.state.load(ctx)
	if err != nil {
		s.log.Error("re-planning scheduler jobs after becoming leader", "error", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for name, j := range s.jobs {
		if st, ok := stored[name]; ok && !j.running.Load() && ahead(st, j.st) {
			j.st = st
		}
		if j.plan != nil && j.st.Plan != j.plan.fingerprint {
			j.st.Plan, j.st.RunCount, j.st.Done, j.st.Deactivated = j.plan.fingerprint, 0, false, false
		}
		s.planLocked(j, now)
	}
}

// ahead reports whether stored run state is newer than what this node
// holds: another leader ran the job since. Older stored state (read
// before this node's latest runs were written) is ignored.
func ahead(stored, held runState) bool {
	return stored.HistorySeq > held.HistorySeq || (stored.Plan == held.Plan && stored.RunCount > held.RunCount) ||
		(stored.Plan == held.Plan && stored.Done && !held.Done)
}

// catchUp follows a configuration change at once, so whoever made it sees
// the job rescheduled in the answer; the loop then re-arms its timer.
func (s *Scheduler) catchUp() {
	s.mu.Lock()
	if s.started && !s.stopping {
		s.catchUpLocked(s.clock.Now())
	}
	s.mu.Unlock()
	signal(s.wake)
}

// catchUpLocked records the runs that ended and follows the newest
// configuration.
func (s *Scheduler) catchUpLocked(now time.Time) {
	s.recordLocked(now)
	if s.pending != nil {
		st := s.pending
		s.pending = nil
		s.followLocked(st, now)
	}
}

// Execute runs a job now, without changing its plan, and returns the run's
// CID. It refuses a job whose previous run is still going.
func (s *Scheduler) Execute(name string) (string, error) {
	id := cid.New()
	return id, s.ExecuteAs(name, id)
}

// ExecuteAs is Execute with the run's CID given.
func (s *Scheduler) ExecuteAs(name, id string) error {
	s.catchUp()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.stopping {
		return ErrStopped
	}
	j := s.jobs[name]
	switch {
	case j == nil:
		return ErrNoJob
	case j.running.Load():
		return ErrRunning
	}
	t := s.newRunLocked(j, s.clock.Now(), viaManual, false, false)
	t.id = id
	s.workers.submit(t)
	return nil
}

// SetActive makes a job active or inactive through the one change path.
// Making a job that completed its plan active again starts the plan
// afresh.
func (s *Scheduler) SetActive(ctx context.Context, name string, active bool, source string) error {
	obj, ok := s.rt.State().Object(Kind, name)
	if !ok {
		return ErrNoJob
	}
	cfg := obj.(*Job)
	if cfg.IsActive == active {
		return nil
	}
	cp := *cfg
	cp.IsActive = active
	verb := "resume"
	if !active {
		verb = "pause"
	}
	if _, err := s.rt.Apply(ctx, live.Changeset{Source: source, Summary: fmt.Sprintf("%s scheduler job %q", verb, name),
		Objects: []live.Change{{Kind: Kind, Name: name, Object: &cp}}}); err != nil {
		return err
	}
	s.catchUp()
	return nil
}

// Shutdown stops firing jobs and waits for runs in flight until ctx ends,
// then closes the scheduler.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	s.stopLoop()
	done := make(chan struct{})
	go func() {
		s.runs.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("waiting for scheduler job runs: %w", ctx.Err())
	}
	return errors.Join(err, s.Close())
}

// Close stops firing jobs, cancels runs in flight, writes the run state
// and leaves the leader election.
func (s *Scheduler) Close() error {
	s.stopLoop()
	var err error
	s.closeOnce.Do(func() {
		s.cancelRuns(errStopping)
		s.workers.close()
		s.mu.Lock()
		started := s.started
		s.mu.Unlock()
		if started {
			// Runs that ended since the loop last looked are recorded
			// before the writer's last commit.
			s.mu.Lock()
			s.recordLocked(s.clock.Now())
			s.mu.Unlock()
			s.state.close()
			err = s.leader.Close()
		}
	})
	return err
}

func (s *Scheduler) stopLoop() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopping = true
		started := s.started
		s.mu.Unlock()
		close(s.stop)
		if started {
			<-s.loopDone
			<-s.deactDone
		}
	})
}

// Leading reports whether this node fires the jobs now: it leads the
// election named LeaderElection.
func (s *Scheduler) Leading() bool { return s.leader != nil && s.leader.Leading() }
