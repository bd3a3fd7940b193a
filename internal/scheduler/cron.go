package scheduler

import (
	"fmt"
	"strings"
	"time"

	cron "github.com/netresearch/go-cron"

	"github.com/plexushq/plexus/internal/redact"
)

// cronParser reads standard 5-field expressions: no seconds, no
// descriptors, no extensions.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// cronSchedule is a 5-field cron expression read in a time zone.
//
// Daylight saving time: the expression is matched against the wall clock.
// A matching time that the clock skips (spring forward) runs once, at the
// instant of the jump; a matching time that the clock shows twice (fall
// back) runs at its first occurrence only, unless the expression names
// every hour (its hour field is *), in which case it also runs in the
// repeated hour, as it runs in every other hour.
type cronSchedule struct {
	spec     *cron.SpecSchedule // matched against wall-clock times held in UTC
	loc      *time.Location
	allHours bool
}

// parseCron parses a 5-field expression. Day of month and day of week
// combine as in POSIX cron: when both are restricted, a day matching
// either runs.
func parseCron(expr string, loc *time.Location) (*cronSchedule, error) {
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, fmt.Errorf("%s names a time zone: set the job's timezone field instead", redact.Quote(expr))
	}
	s, err := cronParser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("%s is not a 5-field cron expression (minute hour day-of-month month day-of-week): %s", redact.Quote(expr), redact.Short(err.Error()))
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("%s is not a 5-field cron expression", redact.Quote(expr))
	}
	cp := *spec
	cp.Location = time.UTC
	cp.DowOrDom = true
	const every24 = 1<<24 - 1
	c := &cronSchedule{spec: &cp, loc: loc, allHours: cp.Hour&every24 == every24}
	if c.next(time.Now()).IsZero() {
		return nil, fmt.Errorf("%s never matches a date", redact.Quote(expr))
	}
	return c, nil
}

// civil returns the wall-clock time of instant t at offset off, held in
// UTC.
func civil(t time.Time, off int) time.Time {
	return time.Unix(t.Unix()+int64(off), int64(t.Nanosecond())).UTC()
}

// instant returns the instant whose wall-clock time at offset off is c.
func instant(c time.Time, off int, loc *time.Location) time.Time {
	return time.Unix(c.Unix()-int64(off), int64(c.Nanosecond())).In(loc)
}

// next returns the first instant strictly after t at which the schedule
// runs, or zero when it never does (within the parser's search limit).
//
// It walks the periods of constant UTC offset of the time zone: within one
// the wall clock and the instant move together, so the next wall-clock
// match is the next instant. Between two, a gap (spring forward) runs once
// at the transition if any wall-clock time in it matches, and an overlap
// (fall back) is the start of a period whose first wall-clock times were
// already shown by the period before.
func (c *cronSchedule) next(t time.Time) time.Time {
	t = t.In(c.loc)
	inclusive := false
	for range 64 {
		_, off := t.Zone()
		start, end := t.ZoneBounds()
		from := civil(t, off)
		if inclusive {
			from = from.Add(-time.Nanosecond)
		}
		m := c.spec.Next(from)
		if m.IsZero() {
			return time.Time{}
		}
		at := instant(m, off, c.loc)
		if end.IsZero() || at.Before(end) {
			if !c.allHours && !start.IsZero() {
				if _, prevOff := start.Add(-time.Nanosecond).Zone(); prevOff > off {
					repeatedUntil := civil(start, off).Add(time.Duration(prevOff-off) * time.Second)
					if m.Before(repeatedUntil) {
						t, inclusive = at, false // shown before the clocks went back
						continue
					}
				}
			}
			return at
		}
		// No match before the next transition: look in its gap, if any,
		// then go on from the transition.
		end = end.In(c.loc)
		if _, newOff := end.Zone(); newOff > off {
			gapFrom, gapTo := civil(end, off), civil(end, newOff)
			if g := c.spec.Next(gapFrom.Add(-time.Nanosecond)); !g.IsZero() && g.Before(gapTo) {
				return end
			}
		}
		t, inclusive = end, true
	}
	return time.Time{}
}
