package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/plexushq/plexus/internal/store"
)

// HistorySize is how many runs the history of each job keeps.
const HistorySize = 20

// linger is how long queued writes wait to be committed together, unless
// someone waits for them (flush). Runs that must be recorded before they
// start flush; the rest is history and counters, which a crash may lose
// the last linger of.
const linger = 100 * time.Millisecond

// lazyEvery is how long run state that only counts and remembers (the
// state after a run: counters and the last run, which the history row of
// that run also holds) may wait to be written; each job's waits from when
// it was first queued, so jobs' rows spread over time rather than all
// being written at once. On load the history's newest row wins over an
// older state row, so only counters can lag after a crash.
const lazyEvery = 5 * time.Second

// runState is what the scheduler knows about a job's runs. It is kept in
// table scheduler_job_state.
type runState struct {
	Plan         string
	RunCount     int64
	FailureCount int64
	SkippedCount int64
	Done         bool
	Deactivated  bool
	LastRun      time.Time
	LastOutcome  string
	LastDuration time.Duration
	LastCID      string
	HistorySeq   int64
}

// Run is one run of a job, as the history keeps it.
type Run struct {
	CID string `json:"cid"`
	// Via is "schedule" or "manual" (execute now).
	Via string `json:"via"`
	// Planned is when the run was due; Started when the service started.
	Planned time.Time `json:"planned_utc"`
	Started time.Time `json:"started_utc"`
	// DurationMS is how long the service ran.
	DurationMS float64 `json:"duration_ms"`
	// Outcome is "ok" or "error".
	Outcome string `json:"outcome"`
	// Details says why a run failed.
	Details string `json:"details,omitempty"`

	seq int64
}

// Outcomes of runs.
const (
	OutcomeOK    = "ok"
	OutcomeError = "error"
)

// stateStore keeps run state and history in the store. Writes are queued
// and committed by one goroutine in batches (group commit): a write for a
// job replaces any queued one for the same job, so the queue is bounded by
// the number of jobs times HistorySize. flush waits until everything
// queued before it is committed. It is safe for concurrent use.
type stateStore struct {
	st        *store.Store
	log       *slog.Logger
	lazyEvery time.Duration

	mu      sync.Mutex
	pending map[string]*pendingJob // written with the next batch
	lazy    map[string]*lazyState  // written once due
	order   []lazyRef              // lazy states by when they were queued
	waiters []chan error
	closed  bool
	signal  chan struct{} // something is queued
	urgent  chan struct{} // someone waits: commit now
	stopped chan struct{}
}

type pendingJob struct {
	deleted bool
	state   *runState
	history []Run // at most one per slot
}

// lazyState is run state that may wait until since + lazyEvery.
type lazyState struct {
	state runState
	since time.Time // when it was first queued
}

// lazyRef is an entry of the lazy states' order; it is out of date when
// the job's lazy state is no longer l.
type lazyRef struct {
	job string
	l   *lazyState
}

func newStateStore(st *store.Store, log *slog.Logger) *stateStore {
	return &stateStore{st: st, log: log, lazyEvery: lazyEvery, pending: map[string]*pendingJob{}, lazy: map[string]*lazyState{},
		signal: make(chan struct{}, 1), urgent: make(chan struct{}, 1), stopped: make(chan struct{})}
}

// start starts the writer.
func (s *stateStore) start() { go s.writer() }

func (s *stateStore) entry(job string) *pendingJob {
	p := s.pending[job]
	if p == nil {
		p = &pendingJob{}
		s.pending[job] = p
	}
	return p
}

func (s *stateStore) wake() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// put queues a job's run state and, when run is not nil, a history entry.
// A lazy state is written within lazyEvery, unless a state that is not
// lazy is queued for the job; others with the next batch.
func (s *stateStore) put(job string, st runState, run *Run, lazy bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if p := s.pending[job]; lazy && (p == nil || p.state == nil) {
		if l := s.lazy[job]; l != nil {
			l.state = st
		} else {
			l = &lazyState{state: st, since: time.Now()}
			s.lazy[job] = l
			s.order = append(s.order, lazyRef{job, l})
		}
	} else {
		p = s.entry(job)
		if p.state == nil {
			p.state = &st
		} else {
			*p.state = st // only this entry refers to it
		}
		delete(s.lazy, job) // superseded
	}
	if run != nil {
		s.entry(job).addRun(*run, true)
	}
	s.wake()
}

// addRun queues a history entry; newer says it replaces a queued entry
// for the same slot.
func (p *pendingJob) addRun(r Run, newer bool) {
	for i := range p.history {
		if p.history[i].seq%HistorySize == r.seq%HistorySize {
			if newer {
				p.history[i] = r
			}
			return
		}
	}
	p.history = append(p.history, r)
}

// delete queues the removal of a job's state and history.
func (s *stateStore) delete(job string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.pending[job] = &pendingJob{deleted: true}
	delete(s.lazy, job)
	s.wake()
}

// flush waits until everything queued so far is committed.
func (s *stateStore) flush(ctx context.Context) error {
	done := make(chan error, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("writing scheduler state: the scheduler is stopped")
	}
	s.waiters = append(s.waiters, done)
	s.wake()
	signal(s.urgent)
	s.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close commits what is queued and stops the writer.
func (s *stateStore) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.stopped
		return
	}
	s.closed = true
	s.wake()
	signal(s.urgent)
	s.mu.Unlock()
	<-s.stopped
}

func (s *stateStore) writer() {
	defer close(s.stopped)
	gather := time.NewTimer(linger)
	gather.Stop()
	lazy := time.NewTimer(s.lazyEvery)
	lazy.Stop()
	for {
		select {
		case <-s.signal:
			// Let writes gather, unless someone waits.
			gather.Reset(linger)
			select {
			case <-s.urgent:
			case <-gather.C:
			}
			gather.Stop()
		case <-lazy.C:
		}
		batch, waiters, closed, next := s.take()
		var err error
		if len(batch) > 0 {
			err = s.write(batch)
			if err != nil {
				s.log.Error("writing scheduler run state; retrying", "jobs", len(batch), "error", err.Error())
			}
		}
		for _, w := range waiters {
			w <- err
		}
		if closed {
			return
		}
		if err != nil {
			s.requeue(batch)
			gather.Reset(time.Second) // back off before the retry
			<-gather.C
			s.wake()
		}
		if next.IsZero() {
			lazy.Stop()
		} else {
			lazy.Reset(max(time.Until(next), 0))
		}
	}
}

// Upserts of many rows per statement: statements are parsed once per
// chunk rather than once per row, which is most of SQLite's cost.
const (
	stateColumns     = "job, plan, run_count, failure_count, skipped_count, done, deactivated, last_run_us, last_outcome, last_duration_us, last_cid, history_seq"
	stateConflict    = " ON CONFLICT (job) DO UPDATE SET plan = excluded.plan, run_count = excluded.run_count, failure_count = excluded.failure_count, skipped_count = excluded.skipped_count, done = excluded.done, deactivated = excluded.deactivated, last_run_us = excluded.last_run_us, last_outcome = excluded.last_outcome, last_duration_us = excluded.last_duration_us, last_cid = excluded.last_cid, history_seq = excluded.history_seq"
	historyColumns   = "job, slot, seq, cid, via, planned_us, started_us, duration_us, outcome, details"
	historyConflict  = " ON CONFLICT (job, slot) DO UPDATE SET seq = excluded.seq, cid = excluded.cid, via = excluded.via, planned_us = excluded.planned_us, started_us = excluded.started_us, duration_us = excluded.duration_us, outcome = excluded.outcome, details = excluded.details"
	rowsPerStatement = 200
)

// requeue puts back what a failed write held, unless newer writes for
// the same jobs replace it.
func (s *stateStore) requeue(batch map[string]*pendingJob) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for job, old := range batch {
		if s.lazy[job] != nil {
			old.state = nil // a newer state is queued
		}
		cur := s.pending[job]
		if cur == nil {
			s.pending[job] = old
			continue
		}
		if cur.deleted && !old.deleted {
			continue // deleted since: the old writes no longer matter
		}
		cur.deleted = cur.deleted || old.deleted // the delete goes first
		if cur.state == nil {
			cur.state = old.state
		}
		for _, r := range old.history {
			cur.addRun(r, false)
		}
	}
}

// take returns what to write now: everything when someone waits, else
// all but the lazy states that may wait longer, and when the next of
// those is due. It costs what it takes, not what stays queued.
func (s *stateStore) take() (batch map[string]*pendingJob, waiters []chan error, closed bool, next time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	batch, waiters, closed = s.pending, s.waiters, s.closed
	s.pending, s.waiters = map[string]*pendingJob{}, nil
	all := closed || len(waiters) > 0
	due := time.Now().Add(-s.lazyEvery)
	n := 0
	for _, r := range s.order {
		if s.lazy[r.job] == r.l {
			if !all && r.l.since.After(due) {
				next = r.l.since.Add(s.lazyEvery)
				break
			}
			p := batch[r.job]
			if p == nil {
				p = &pendingJob{}
				batch[r.job] = p
			}
			if p.state == nil {
				st := r.l.state
				p.state = &st
			}
			delete(s.lazy, r.job)
		}
		n++
	}
	clear(s.order[:n])
	s.order = s.order[n:]
	return batch, waiters, closed, next
}

func (s *stateStore) write(batch map[string]*pendingJob) (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tx, err := s.st.DB().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	var deleted []any
	var states, runs [][]any
	for job, p := range batch {
		if p.deleted {
			deleted = append(deleted, job)
		}
		if st := p.state; st != nil {
			states = append(states, []any{job, st.Plan, st.RunCount, st.FailureCount, st.SkippedCount, boolInt(st.Done), boolInt(st.Deactivated),
				micros(st.LastRun), st.LastOutcome, st.LastDuration.Microseconds(), st.LastCID, st.HistorySeq})
		}
		for _, r := range p.history {
			runs = append(runs, []any{job, r.seq % HistorySize, r.seq, r.CID, r.Via, micros(r.Planned), micros(r.Started), int64(r.DurationMS * 1000), r.Outcome, r.Details})
		}
	}
	exec := func(q string, args []any) error {
		if _, err := tx.ExecContext(ctx, s.st.Rebind(q), args...); err != nil {
			return fmt.Errorf("writing scheduler run state: %w", err)
		}
		return nil
	}
	for chunk := range slices.Chunk(deleted, rowsPerStatement) {
		in := strings.Repeat("?, ", len(chunk)-1) + "?"
		if err := exec("DELETE FROM scheduler_job_state WHERE job IN ("+in+")", chunk); err != nil {
			return err
		}
		if err := exec("DELETE FROM scheduler_job_history WHERE job IN ("+in+")", chunk); err != nil {
			return err
		}
	}
	for _, t := range []struct {
		rows                  [][]any
		table, cols, conflict string
	}{
		{states, "scheduler_job_state", stateColumns, stateConflict},
		{runs, "scheduler_job_history", historyColumns, historyConflict},
	} {
		// Full chunks share one prepared statement; the rest is one more.
		full := len(t.rows) / rowsPerStatement * rowsPerStatement
		if full > 0 {
			q, _ := upsert(t.table, t.cols, t.conflict, t.rows[:rowsPerStatement])
			stmt, err := tx.PrepareContext(ctx, s.st.Rebind(q))
			if err != nil {
				return fmt.Errorf("writing scheduler run state: %w", err)
			}
			for chunk := range slices.Chunk(t.rows[:full], rowsPerStatement) {
				if _, err := stmt.ExecContext(ctx, slices.Concat(chunk...)...); err != nil {
					stmt.Close()
					return fmt.Errorf("writing scheduler run state: %w", err)
				}
				goruntime.Gosched() // let the scheduler's loop in between
			}
			stmt.Close()
		}
		if rest := t.rows[full:]; len(rest) > 0 {
			q, args := upsert(t.table, t.cols, t.conflict, rest)
			if err := exec(q, args); err != nil {
				return err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing scheduler run state: %w", err)
	}
	return nil
}

// upsert returns one INSERT … ON CONFLICT statement for rows.
func upsert(table, cols, conflict string, rows [][]any) (string, []any) {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
	row := "(" + strings.Repeat("?, ", len(rows[0])-1) + "?)"
	args := make([]any, 0, len(rows)*len(rows[0]))
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
		args = append(args, r...)
	}
	b.WriteString(conflict)
	return b.String(), args
}

// load reads the run state of every job.
func (s *stateStore) load(ctx context.Context) (map[string]runState, error) {
	rows, err := s.st.DB().QueryContext(ctx, `SELECT job, plan, run_count, failure_count, skipped_count, done, deactivated,
		last_run_us, last_outcome, last_duration_us, last_cid, history_seq FROM scheduler_job_state`)
	if err != nil {
		return nil, fmt.Errorf("loading scheduler run state: %w", err)
	}
	defer rows.Close()
	out := map[string]runState{}
	for rows.Next() {
		var job string
		var st runState
		var done, deactivated, lastRun, lastDuration int64
		if err := rows.Scan(&job, &st.Plan, &st.RunCount, &st.FailureCount, &st.SkippedCount, &done, &deactivated,
			&lastRun, &st.LastOutcome, &lastDuration, &st.LastCID, &st.HistorySeq); err != nil {
			return nil, fmt.Errorf("loading scheduler run state: %w", err)
		}
		st.Done, st.Deactivated = done != 0, deactivated != 0
		st.LastRun, st.LastDuration = fromMicros(lastRun), time.Duration(lastDuration)*time.Microsecond
		out[job] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loading scheduler run state: %w", err)
	}
	// A state row may be older than the newest run of its history (it is
	// written lazily): the history wins for the last run and numbering.
	last, err := s.st.DB().QueryContext(ctx, `SELECT h.job, h.seq, h.cid, h.outcome, h.started_us, h.duration_us
		FROM scheduler_job_history h JOIN (SELECT job, MAX(seq) AS seq FROM scheduler_job_history GROUP BY job) m
		ON h.job = m.job AND h.seq = m.seq`)
	if err != nil {
		return nil, fmt.Errorf("loading scheduler run history: %w", err)
	}
	defer last.Close()
	for last.Next() {
		var job, id, outcome string
		var seq, started, duration int64
		if err := last.Scan(&job, &seq, &id, &outcome, &started, &duration); err != nil {
			return nil, fmt.Errorf("loading scheduler run history: %w", err)
		}
		st, ok := out[job]
		if !ok || st.HistorySeq >= seq {
			continue
		}
		st.HistorySeq, st.LastCID, st.LastOutcome = seq, id, outcome
		st.LastRun, st.LastDuration = fromMicros(started), time.Duration(duration)*time.Microsecond
		out[job] = st
	}
	if err := last.Err(); err != nil {
		return nil, fmt.Errorf("loading scheduler run history: %w", err)
	}
	return out, nil
}

// history returns a job's recorded runs, newest first, after committing
// what is queued.
func (s *stateStore) history(ctx context.Context, job string) ([]Run, error) {
	if err := s.flush(ctx); err != nil {
		return nil, err
	}
	rows, err := s.st.DB().QueryContext(ctx, s.st.Rebind(`SELECT seq, cid, via, planned_us, started_us, duration_us, outcome, details
		FROM scheduler_job_history WHERE job = ? ORDER BY seq DESC`), job)
	if err != nil {
		return nil, fmt.Errorf("reading the history of job %q: %w", job, err)
	}
	defer rows.Close()
	out := []Run{}
	for rows.Next() {
		var r Run
		var planned, started, duration int64
		if err := rows.Scan(&r.seq, &r.CID, &r.Via, &planned, &started, &duration, &r.Outcome, &r.Details); err != nil {
			return nil, fmt.Errorf("reading the history of job %q: %w", job, err)
		}
		r.Planned, r.Started, r.DurationMS = fromMicros(planned), fromMicros(started), float64(duration)/1000
		out = append(out, r)
	}
	return out, rows.Err()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
