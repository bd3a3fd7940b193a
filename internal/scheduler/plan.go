package scheduler

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/internal/registry"
)

// plan is a job's schedule, parsed: when it runs, regardless of what it
// runs.
type plan struct {
	jobType  string
	loc      *time.Location
	start    time.Time // zero when start_date is empty
	anchor   time.Time // first grid point of an interval-based job
	interval time.Duration
	cron     *cronSchedule
	repeats  int64
	jitter   time.Duration
	// fingerprint identifies the plan: the run counter and the completed
	// flag belong to one fingerprint, and a new one starts them afresh.
	fingerprint string
}

// plan parses and checks the job's schedule, reporting every problem.
func (j *Job) plan() (*plan, []error) {
	var errs []error
	problem := func(field, format string, args ...any) {
		errs = append(errs, registry.FieldProblem(field, format, args...))
	}
	p := &plan{jobType: j.JobType, loc: time.UTC, repeats: j.Repeats, jitter: time.Duration(j.JitterMS) * time.Millisecond}
	if j.Timezone != "" {
		loc, err := loadLocation(j.Timezone)
		if err != nil {
			problem("timezone", "%v", err)
		} else {
			p.loc = loc
		}
	}
	if j.StartDate != "" {
		t, err := parseStartDate(j.StartDate, p.loc)
		if err != nil {
			problem("start_date", "%v", err)
		}
		p.start = t
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"weeks", j.Weeks}, {"days", j.Days}, {"hours", j.Hours}, {"minutes", j.Minutes}, {"seconds", j.Seconds}, {"repeats", j.Repeats}, {"jitter_ms", j.JitterMS}} {
		if f.v < 0 {
			problem(f.name, "must not be negative")
		}
	}
	switch j.JobType {
	case OneTime:
		if j.StartDate == "" {
			problem("start_date", "a one_time job needs a start_date: when it runs")
		}
		if j.hasInterval() {
			problem("seconds", "only interval_based jobs have an interval; leave weeks, days, hours, minutes and seconds empty")
		}
		if j.CronDefinition != "" {
			problem("cron_definition", "only cron_style jobs have a cron_definition")
		}
		if j.Repeats > 1 {
			problem("repeats", "a one_time job runs once; leave repeats empty")
		}
	case IntervalBased:
		d, err := j.interval()
		switch {
		case err != nil:
			problem("seconds", "%v", err)
		case d <= 0:
			problem("seconds", "an interval_based job needs an interval: set weeks, days, hours, minutes or seconds")
		case p.jitter >= d:
			problem("jitter_ms", "%d ms is not shorter than the interval (%s), so runs would overtake each other", j.JitterMS, d)
		}
		p.interval = d
		if j.CronDefinition != "" {
			problem("cron_definition", "only cron_style jobs have a cron_definition")
		}
		p.anchor = p.start
		if p.anchor.IsZero() {
			p.anchor = time.Date(1970, 1, 1, 0, 0, 0, 0, p.loc)
		}
	case CronStyle:
		if j.CronDefinition == "" {
			problem("cron_definition", "a cron_style job needs a cron_definition, e.g. 00 3-6 * * 1-5")
		} else if c, err := parseCron(j.CronDefinition, p.loc); err != nil {
			problem("cron_definition", "%v", err)
		} else {
			p.cron = c
		}
		if j.hasInterval() {
			problem("seconds", "only interval_based jobs have an interval; leave weeks, days, hours, minutes and seconds empty")
		}
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%d\x00%d\x00%d\x00%d\x00%d\x00%d\x00%s",
		j.JobType, j.StartDate, j.Timezone, j.Weeks, j.Days, j.Hours, j.Minutes, j.Seconds, j.Repeats, j.CronDefinition))
	p.fingerprint = hex.EncodeToString(h[:8])
	return p, errs
}

// loadLocation loads an IANA time zone, refusing "Local", whose meaning
// depends on the machine.
func loadLocation(name string) (*time.Location, error) {
	if name == "Local" {
		return nil, fmt.Errorf("Local depends on the machine; name an IANA time zone such as Europe/Warsaw, or leave it empty for UTC")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %s; use an IANA name such as Europe/Warsaw or America/New_York", redact.Quote(name))
	}
	return loc, nil
}

// Layouts of start_date: ISO 8601 with a T or a space, with or without
// seconds, a fraction and an offset.
var (
	offsetLayouts = []string{
		"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04Z07:00",
		"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04Z07:00",
		"2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04Z0700",
		"2006-01-02 15:04:05.999999999Z0700", "2006-01-02 15:04Z0700",
	}
	localLayouts = []string{
		"2006-01-02T15:04:05.999999999", "2006-01-02T15:04",
		"2006-01-02 15:04:05.999999999", "2006-01-02 15:04",
		"2006-01-02",
	}
)

// parseStartDate reads an ISO 8601 date and time. One without an offset is
// a wall-clock time in loc: a time skipped by a daylight saving change is
// the instant the clock jumps, a time that occurs twice its first
// occurrence.
func parseStartDate(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range offsetLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return checkYear(t)
		}
	}
	for _, layout := range localLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return checkYear(wallTime(t, loc))
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %s as a date and time; write ISO 8601, e.g. 2026-01-01T02:00:00 or 2026-01-01T02:00:00+02:00", redact.Quote(s))
}

func checkYear(t time.Time) (time.Time, error) {
	if t.Year() < 1900 || t.Year() > 9999 {
		return time.Time{}, fmt.Errorf("year %d is out of range (1900 to 9999)", t.Year())
	}
	return t, nil
}

// wallTime returns the instant at which the clocks of loc show the
// wall-clock time civil (a time in UTC standing for the wall clock). A time
// that does not exist (a daylight saving gap) becomes the instant the clock
// jumps over it; a time that occurs twice becomes its first occurrence.
func wallTime(civil time.Time, loc *time.Location) time.Time {
	u, ns := civil.Unix(), int64(civil.Nanosecond())
	// The offsets in force a day either side bracket any one transition.
	_, before := time.Unix(u-86400, 0).In(loc).Zone()
	_, after := time.Unix(u+86400, 0).In(loc).Zone()
	var found time.Time
	for _, off := range []int{before, after} {
		t := time.Unix(u-int64(off), ns).In(loc)
		if _, o := t.Zone(); o == off && (found.IsZero() || t.Before(found)) {
			found = t
		}
	}
	if !found.IsZero() {
		return found
	}
	// In a gap: read with the offset before it, the time falls after the
	// transition, which is the start of its zone period.
	start, _ := time.Unix(u-int64(before), ns).In(loc).ZoneBounds()
	if start.IsZero() {
		return time.Date(civil.Year(), civil.Month(), civil.Day(), civil.Hour(), civil.Minute(), civil.Second(), civil.Nanosecond(), loc)
	}
	return start
}

// first returns when a job with this plan runs first, from now: zero when
// it does not. done says the plan was completed before (a one-time job
// that ran).
func (p *plan) first(now time.Time, done bool) time.Time {
	if done {
		return time.Time{}
	}
	switch p.jobType {
	case OneTime:
		if p.start.After(now) {
			return p.start
		}
		return now // never ran and its time has come: at once
	case IntervalBased:
		if !p.anchor.Before(now) {
			return p.anchor
		}
		return p.gridAfter(now)
	case CronStyle:
		from := now
		if !p.start.IsZero() && p.start.After(from) {
			from = p.start.Add(-time.Nanosecond)
		}
		return p.cron.next(from)
	}
	return time.Time{}
}

// after returns the run following one planned at prev, skipping those
// already past at now (runs are never replayed): zero when there is none.
func (p *plan) after(prev, now time.Time) time.Time {
	from := prev
	if now.After(from) {
		from = now
	}
	switch p.jobType {
	case IntervalBased:
		return p.gridAfter(from)
	case CronStyle:
		return p.cron.next(from)
	}
	return time.Time{}
}

// gridAfter returns the first grid point anchor + n·interval strictly
// after t.
func (p *plan) gridAfter(t time.Time) time.Time {
	if t.Before(p.anchor) {
		return p.anchor
	}
	n := t.Sub(p.anchor)/p.interval + 1
	return p.anchor.Add(n * p.interval)
}

// describe says in words when a job with this plan runs.
func (p *plan) describe(j *Job) string {
	var b strings.Builder
	switch p.jobType {
	case OneTime:
		fmt.Fprintf(&b, "once at %s", p.start.Format(time.RFC3339))
	case IntervalBased:
		fmt.Fprintf(&b, "every %s", formatInterval(j))
		if !p.start.IsZero() {
			fmt.Fprintf(&b, " from %s", p.start.Format(time.RFC3339))
		}
	case CronStyle:
		fmt.Fprintf(&b, "cron %q", j.CronDefinition)
		if p.loc != time.UTC {
			fmt.Fprintf(&b, " in %s", p.loc)
		}
		if !p.start.IsZero() {
			fmt.Fprintf(&b, " from %s", p.start.Format(time.RFC3339))
		}
	}
	if p.repeats > 0 && p.jobType != OneTime {
		fmt.Fprintf(&b, ", %d times", p.repeats)
	}
	return b.String()
}

// formatInterval writes an interval as the job's fields say it: 1w2d3h.
func formatInterval(j *Job) string {
	var b strings.Builder
	for _, part := range []struct {
		n    int64
		unit string
	}{{j.Weeks, "w"}, {j.Days, "d"}, {j.Hours, "h"}, {j.Minutes, "m"}, {j.Seconds, "s"}} {
		if part.n > 0 {
			fmt.Fprintf(&b, "%d%s", part.n, part.unit)
		}
	}
	return b.String()
}
