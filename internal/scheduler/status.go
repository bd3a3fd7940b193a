package scheduler

import (
	"context"
	"strings"
	"time"
)

// JobStatus is a job's configuration with what the scheduler knows of its
// runs, as the admin API and plexus.scheduler.job.get-list show it.
type JobStatus struct {
	*Job
	// Plan says in words when the job runs.
	Plan string `json:"plan"`
	// NextRun is when the job runs next (jitter included), or null.
	NextRun *time.Time `json:"next_run_utc"`
	// LastRun is when the last finished run started, or null.
	LastRun *time.Time `json:"last_run_utc"`
	// LastOutcome is "ok", "error", or empty before the first run.
	LastOutcome string `json:"last_outcome"`
	// LastDurationMS is how long the last run took, or null.
	LastDurationMS *float64 `json:"last_duration_ms"`
	// LastCID is the correlation ID of the last run.
	LastCID string `json:"last_cid"`
	// Running says a run is going on now.
	Running bool `json:"running"`
	// RunCount counts the scheduled runs started since the plan was set
	// (what repeats is compared with).
	RunCount int64 `json:"run_count"`
	// FailureCount counts the runs that failed.
	FailureCount int64 `json:"failure_count"`
	// SkippedCount counts the scheduled runs skipped because the previous
	// run was still going.
	SkippedCount int64 `json:"skipped_count"`
	// History holds the last HistorySize runs, newest first (only for one
	// job).
	History []Run `json:"history,omitempty"`
}

// List returns the status of every job, sorted by name, optionally only
// those of one service or whose names contain query.
func (s *Scheduler) List(service, query string) []JobStatus {
	s.catchUp()
	objs := s.rt.State().Objects(Kind)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]JobStatus, 0, len(objs))
	for _, o := range objs {
		cfg := o.(*Job)
		if (service != "" && cfg.Service != service) || (query != "" && !strings.Contains(cfg.Name, query)) {
			continue
		}
		out = append(out, s.statusLocked(cfg))
	}
	return out
}

// Status returns one job's status with its run history.
func (s *Scheduler) Status(ctx context.Context, name string) (JobStatus, error) {
	s.catchUp()
	obj, ok := s.rt.State().Object(Kind, name)
	if !ok {
		return JobStatus{}, ErrNoJob
	}
	s.mu.Lock()
	js := s.statusLocked(obj.(*Job))
	started := s.started && !s.stopping
	s.mu.Unlock()
	js.History = []Run{}
	if started {
		h, err := s.state.history(ctx, name)
		if err != nil {
			return JobStatus{}, err
		}
		js.History = h
	}
	return js, nil
}

func (s *Scheduler) statusLocked(cfg *Job) JobStatus {
	js := JobStatus{Job: cfg}
	j := s.jobs[cfg.Name]
	p := (*plan)(nil)
	if j != nil && j.cfg == cfg {
		p = j.plan
	} else {
		p, _ = cfg.plan()
	}
	if p != nil {
		js.Plan = p.describe(cfg)
	}
	if j == nil {
		return js
	}
	if !j.fireAt.IsZero() {
		t := j.fireAt.UTC()
		js.NextRun = &t
	}
	if !j.st.LastRun.IsZero() {
		t, ms := j.st.LastRun.UTC(), float64(j.st.LastDuration.Microseconds())/1000
		js.LastRun, js.LastDurationMS = &t, &ms
	}
	js.LastOutcome, js.LastCID, js.Running = j.st.LastOutcome, j.st.LastCID, j.running.Load()
	js.RunCount, js.FailureCount, js.SkippedCount = j.st.RunCount, j.st.FailureCount, j.st.SkippedCount
	return js
}
