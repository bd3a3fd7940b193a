package scheduler

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plexushq/plexus/internal/metrics"
)

// collectors are the scheduler's Prometheus metrics. Counts per job are
// in the admin API; here only skips carry the job's name, and only for
// jobs that overlap, so 10,000 jobs do not make 10,000 series.
type collectors struct {
	runs     *prometheus.CounterVec
	ok, fail prometheus.Counter // runs' children, looked up once
	skipped  *prometheus.CounterVec
	lateness prometheus.Histogram
	duration prometheus.Histogram
}

func newCollectors(s *Scheduler, m *metrics.Metrics) *collectors {
	c := &collectors{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plexus_scheduler_runs_total",
			Help: "Scheduler job runs finished, scheduled or executed by hand, by outcome (ok or error).",
		}, []string{"outcome"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plexus_scheduler_skipped_total",
			Help: "Scheduled runs skipped because the job's previous run was still going, per job.",
		}, []string{"job"}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "plexus_scheduler_lateness_seconds",
			Help:    "Time from when a scheduled run was due (jitter included) to when its service started.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "plexus_scheduler_run_duration_seconds",
			Help:    "Time scheduler job runs took.",
			Buckets: []float64{.0001, .001, .01, .1, .5, 1, 5, 10, 30, 60, 300, 1800, 3600},
		}),
	}
	c.ok, c.fail = c.runs.WithLabelValues(OutcomeOK), c.runs.WithLabelValues(OutcomeError)
	if m == nil {
		return c
	}
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "plexus_scheduler_jobs_scheduled",
		Help: "Scheduler jobs with a next run planned.",
	}, func() float64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		return float64(len(s.queue))
	})
	running := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "plexus_scheduler_runs_in_flight",
		Help: "Scheduler job runs going on now.",
	}, func() float64 { return float64(s.inFlight.Load()) })
	m.Registry.MustRegister(c.runs, c.lateness, c.duration, active, running)
	// A deleted job's series go with it.
	if err := m.RegisterObjects(Kind, "job", c.skipped); err != nil {
		panic(err)
	}
	return c
}

// outcome returns the counter of runs with an outcome.
func (c *collectors) outcome(o string) prometheus.Counter {
	if o == OutcomeOK {
		return c.ok
	}
	return c.fail
}
