// Package scheduler runs services on a schedule: kind scheduler declares
// one-time, interval-based and cron-style jobs with Zato's field names, and
// the Scheduler fires them through the normal invocation pipeline with
// channel type "scheduler".
//
// The Scheduler is one goroutine with a min-heap of next-fire times and one
// timer re-armed to the earliest of them, so it costs nothing between fires.
// It follows the configuration through live.Runtime.Watch; when a job completes
// its plan (a one-time job ran, an interval or cron job reached repeats) it
// makes the job inactive through live.Runtime.Apply, the one change path, after
// recording the run in its own tables of the store, so a restart never runs
// a completed job again. Runs missed while the server was down are not
// replayed. Run state and a bounded run history per job live in the store;
// leadership (which node of a cluster fires) is package leader's election.
package scheduler

import (
	"fmt"
	"time"
	_ "time/tzdata" // IANA time zones in the binary, whatever the host has

	"github.com/plexushq/plexus/internal/registry"
)

// Kind is the kind id of scheduler jobs (Zato's enmasse section name).
const Kind = "scheduler"

// Job types.
const (
	OneTime       = "one_time"
	IntervalBased = "interval_based"
	CronStyle     = "cron_style"
)

// maxInterval bounds the interval of interval-based jobs.
const maxInterval = 100 * 365 * 24 * time.Hour

// Job is the configuration of a scheduler job (Zato's field names).
type Job struct {
	Name           string `json:"name" label:"Name" group:"Job" placeholder:"crm.nightly-sync" doc:"Unique name of the job."`
	IsActive       bool   `json:"is_active" label:"Active" group:"Job" doc:"Whether the job runs. An inactive job is kept but never fires; a job becomes inactive by itself when its plan is complete (a one-time job after its run, an interval or cron job after repeats runs) and can be made active again, which starts its plan afresh."`
	Service        string `json:"service" label:"Service" group:"Job" ref:"service" required:"true" doc:"Name of the service the job invokes, with channel type scheduler. The service's generic handler runs, so a service with only per-verb handlers fails with 405."`
	JobType        string `json:"job_type" label:"Type" group:"Plan" enum_labels:"One time|At intervals|Cron schedule" required:"true" enum:"one_time|interval_based|cron_style" doc:"one_time runs once at start_date; interval_based runs on the grid start_date + n × interval, the interval being weeks + days + hours + minutes + seconds; cron_style runs at the times cron_definition names."`
	StartDate      string `json:"start_date" label:"Start" group:"Plan" placeholder:"2026-01-01T02:00:00" doc:"When the plan starts, in ISO 8601: 2026-01-01T02:00:00, with or without seconds, a fraction or a UTC offset (Z, +02:00); a date alone means midnight. Without an offset it is read in timezone. Required for one_time jobs (a past one runs at once if it never ran). An interval_based job without it is aligned to the clock (every 5 minutes runs at :00, :05, …); a cron_style job does not run before it."`
	Weeks          int64  `json:"weeks" label:"Weeks" group:"Interval" when:"job_type=interval_based" min:"0" doc:"Weeks in the interval of an interval_based job; a week is 7 days."`
	Days           int64  `json:"days" label:"Days" group:"Interval" when:"job_type=interval_based" min:"0" doc:"Days in the interval of an interval_based job; a day is 24 hours, whatever the time zone does."`
	Hours          int64  `json:"hours" label:"Hours" group:"Interval" when:"job_type=interval_based" min:"0" doc:"Hours in the interval of an interval_based job."`
	Minutes        int64  `json:"minutes" label:"Minutes" group:"Interval" when:"job_type=interval_based" min:"0" doc:"Minutes in the interval of an interval_based job."`
	Seconds        int64  `json:"seconds" label:"Seconds" group:"Interval" when:"job_type=interval_based" min:"0" doc:"Seconds in the interval of an interval_based job."`
	Repeats        int64  `json:"repeats" label:"Repeats" group:"Plan" when:"job_type=interval_based|cron_style" min:"0" unit:"runs" doc:"How many runs an interval_based or cron_style job makes before it becomes inactive; 0 or empty runs it without end."`
	CronDefinition string `json:"cron_definition" label:"Cron expression" group:"Plan" when:"job_type=cron_style" placeholder:"00 3-6 * * 1-5" doc:"Standard 5-field cron expression of a cron_style job: minute, hour, day of month, month, day of week, e.g. 00 3-6 * * 1-5 (on the hour from 3 to 6 a.m., Monday to Friday). Read in timezone. A time that a daylight saving change skips runs when the clock jumps; a time that occurs twice runs at its first occurrence only, unless the hour field matches every hour (*)."`
	Extra          string `json:"extra" label:"Payload" group:"Job" widget:"code" doc:"Data the service receives on every run as its payload and raw request, exactly as written: JSON, XML, plain text or anything else; the scheduler never parses it."`
	Timezone       string `json:"timezone" label:"Time zone" group:"Plan" placeholder:"Europe/Warsaw" doc:"IANA time zone, e.g. Europe/Warsaw, in which start_date without an offset and cron_definition are read; empty means UTC."`
	JitterMS       int64  `json:"jitter_ms" label:"Jitter" group:"Plan" advanced:"true" min:"0" unit:"milliseconds" doc:"Random delay of up to this many milliseconds added to each scheduled run, to spread jobs that share a schedule; 0 runs them on time. It must be shorter than the interval."`
}

func init() {
	registry.Register(registry.Kind{
		ID:      Kind,
		Title:   "Scheduler job",
		Summary: "Runs a service once, at intervals or on a cron schedule, with channel type scheduler.",
		// Zato's job fields that Plexus spells differently or does not
		// support yet (ZATO-BEHAVIOUR §9.1).
		ZatoFields: map[string]string{
			"service_name": "service",
			"id":           registry.ZatoUnsupported, "service_id": registry.ZatoUnsupported, "max_repeats": registry.ZatoUnsupported,
			"max_execution_time_ms": registry.ZatoUnsupported,
			"on_success_service":    registry.ZatoUnsupported, "on_success_job": registry.ZatoUnsupported,
			"on_error_service": registry.ZatoUnsupported, "on_error_job": registry.ZatoUnsupported,
		},
		Order: 50,
		New:   func() registry.Object { return &Job{IsActive: true} },
		Examples: []string{
			`{"name": "crm.nightly-sync", "service": "plexus.helpers.input-logger", "job_type": "interval_based", "start_date": "2026-01-01T02:00:00", "days": 1, "timezone": "Europe/Warsaw", "extra": "{\"mode\": \"full\"}"}`,
			`{"name": "billing.weekday-mornings", "service": "plexus.helpers.input-logger", "job_type": "cron_style", "cron_definition": "00 3-6 * * 1-5", "timezone": "America/New_York"}`,
			`{"name": "migration.once", "service": "plexus.helpers.input-logger", "job_type": "one_time", "start_date": "2026-06-01T12:00:00Z", "extra": "<run mode=\"dry\"/>"}`,
			`{"name": "heartbeat", "service": "plexus.ping", "job_type": "interval_based", "seconds": 30, "repeats": 10, "jitter_ms": 500}`,
		},
		Actions: actions,
	})
}

// Validate checks what the field tags cannot: the fields each job type
// needs and allows, the interval, the cron expression, the time zone and
// the start date.
func (j *Job) Validate() []error {
	_, errs := j.plan()
	return errs
}

// interval returns the interval of an interval-based job, or an error when
// it overflows.
func (j *Job) interval() (time.Duration, error) {
	const maxSeconds = int64(maxInterval / time.Second)
	total := int64(0)
	for _, part := range []struct {
		n    int64
		unit int64
	}{{j.Weeks, 7 * 86400}, {j.Days, 86400}, {j.Hours, 3600}, {j.Minutes, 60}, {j.Seconds, 1}} {
		if part.n < 0 {
			continue // reported per field
		}
		if part.n > maxSeconds/part.unit {
			return 0, fmt.Errorf("the interval must not be longer than 100 years")
		}
		total += part.n * part.unit
		if total > maxSeconds {
			return 0, fmt.Errorf("the interval must not be longer than 100 years")
		}
	}
	return time.Duration(total) * time.Second, nil
}

// hasInterval reports whether any interval field is set.
func (j *Job) hasInterval() bool {
	return j.Weeks != 0 || j.Days != 0 || j.Hours != 0 || j.Minutes != 0 || j.Seconds != 0
}
