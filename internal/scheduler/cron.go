package scheduler

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/redact"
)

// cronField describes one of the five fields of a cron expression.
type cronField struct {
	name     string
	min, max int
	names    []string // names of the values from min on (months, days)
}

var cronFields = [5]cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day of month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	// Sunday is 0 or 7.
	{name: "day of week", min: 0, max: 7, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

// cronSpec is a parsed expression: a bit per value of each field, and
// whether the day fields start with *, which decides how they combine.
type cronSpec struct {
	minute, hour, dom, month, dow uint64
	domStar, dowStar              bool
}

// cronSchedule is a 5-field cron expression read in a time zone.
//
// Daylight saving time: the expression is matched against the wall clock.
// A matching time that the clock skips (spring forward) runs once, at the
// instant of the jump; a matching time that the clock shows twice (fall
// back) runs at its first occurrence only, unless the expression names
// every hour (its hour field is *), in which case it also runs in the
// repeated hour, as it runs in every other hour.
type cronSchedule struct {
	spec     cronSpec // matched against wall-clock times held in UTC
	loc      *time.Location
	allHours bool
}

// parseCron parses a 5-field expression as Vixie cron (and cronie) read
// it: numbers, names of months and days, *, ranges a-b, lists a,b and
// steps */n and a-b/n. Day of month and day of week combine as in Vixie
// cron: when either field starts with * a day must match both, otherwise
// a day matching either runs. Everything else is refused: ranges that wrap
// around (22-2), a/n without a range, ?, L, W, #, H, ~, @daily and a
// seconds field.
func parseCron(expr string, loc *time.Location) (*cronSchedule, error) {
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, fmt.Errorf("%s names a time zone: set the job's timezone field instead", redact.Quote(expr))
	}
	spec, err := parseCronSpec(expr)
	if err != nil {
		return nil, fmt.Errorf("%s is not a valid cron expression: %w", redact.Quote(expr), err)
	}
	const every24 = 1<<24 - 1
	c := &cronSchedule{spec: spec, loc: loc, allHours: spec.hour&every24 == every24}
	if c.next(time.Now()).IsZero() {
		return nil, fmt.Errorf("%s never matches a date", redact.Quote(expr))
	}
	return c, nil
}

// parseCronSpec parses the five fields of an expression.
func parseCronSpec(expr string) (cronSpec, error) {
	var s cronSpec
	if strings.HasPrefix(expr, "@") {
		return s, errors.New("shortcuts such as @daily are not supported: write the five fields, e.g. 0 0 * * * for @daily")
	}
	fields := strings.Fields(expr)
	if len(fields) != len(cronFields) {
		return s, fmt.Errorf("it has %d fields, want 5: minute hour day-of-month month day-of-week (no seconds)", len(fields))
	}
	masks := [5]*uint64{&s.minute, &s.hour, &s.dom, &s.month, &s.dow}
	for i, f := range fields {
		m, err := cronFields[i].parse(f)
		if err != nil {
			return s, fmt.Errorf("%s field %s: %w", cronFields[i].name, redact.Quote(f), err)
		}
		*masks[i] = m
	}
	if s.dow&(1<<7) != 0 { // Sunday as 7
		s.dow = s.dow&^(1<<7) | 1
	}
	s.domStar, s.dowStar = fields[2][0] == '*', fields[4][0] == '*'
	return s, nil
}

// parse reads a field: a comma-separated list of *, n, a-b, */n or a-b/n.
func (f cronField) parse(field string) (uint64, error) {
	var mask uint64
	for part := range strings.SplitSeq(field, ",") {
		rng, stepStr, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n < 1 || strings.Trim(stepStr, "0123456789") != "" {
				return 0, fmt.Errorf("step %s is not a positive whole number", redact.Quote(stepStr))
			}
			step = n
		}
		lo, hi := f.min, f.max
		switch a, b, isRange := strings.Cut(rng, "-"); {
		case rng == "*":
			if f.max == 7 { // day of week: * is 0-6
				hi = 6
			}
		case isRange:
			var err error
			if lo, err = f.value(a); err != nil {
				return 0, err
			}
			if hi, err = f.value(b); err != nil {
				return 0, err
			}
			if lo > hi {
				return 0, fmt.Errorf("range %s wraps around: write it as two ranges, e.g. %s-%d,%d-%s", rng, a, f.max, f.min, b)
			}
		case hasStep:
			return 0, fmt.Errorf("%s has a step but no range: write %s-%d/%d, or */%d", part, rng, f.max, step, step)
		default:
			v, err := f.value(rng)
			if err != nil {
				return 0, err
			}
			lo, hi = v, v
		}
		for v := lo; v <= hi; v += step {
			mask |= 1 << v
			if step > hi-v {
				break
			}
		}
	}
	return mask, nil
}

// value reads one number or name of the field.
func (f cronField) value(s string) (int, error) {
	switch s {
	case "":
		return 0, errors.New("a value is missing")
	case "?":
		return 0, errors.New("? is not supported: use *")
	}
	for i, name := range f.names {
		if strings.EqualFold(s, name) {
			return f.min + i, nil
		}
	}
	if strings.Trim(s, "0123456789") == "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < f.min || n > f.max {
			return 0, fmt.Errorf("%s is not in %d-%d", s, f.min, f.max)
		}
		return n, nil
	}
	what := "a number"
	if f.names != nil {
		what += " or a name (" + f.names[0] + ", " + f.names[1] + ", …)"
	}
	return 0, fmt.Errorf("%s is not %s; extensions such as L, W, #, H and ~ are not supported", redact.Quote(s), what)
}

// cronSearch is how far ahead next looks for a match: far enough for 29
// February on a given weekday.
const cronSearch = 30 // years

// next returns the first wall-clock time (held in UTC) strictly after t,
// in whole minutes, that the expression matches, or zero when none does
// within cronSearch years.
func (s *cronSpec) next(t time.Time) time.Time {
	t = t.Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(cronSearch, 0, 0)
	for t.Before(limit) {
		y, mo, d := t.Date()
		switch {
		case s.month&(1<<mo) == 0:
			t = time.Date(y, mo+1, 1, 0, 0, 0, 0, time.UTC)
		case !s.day(t):
			t = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
		case s.hour&(1<<t.Hour()) == 0:
			if h, ok := nextBit(s.hour, t.Hour()); ok {
				t = time.Date(y, mo, d, h, 0, 0, 0, time.UTC)
			} else {
				t = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
			}
		case s.minute&(1<<t.Minute()) == 0:
			if m, ok := nextBit(s.minute, t.Minute()); ok {
				t = t.Add(time.Duration(m-t.Minute()) * time.Minute)
			} else {
				t = t.Truncate(time.Hour).Add(time.Hour)
			}
		default:
			return t
		}
	}
	return time.Time{}
}

// nextBit returns the lowest value from on that mask holds.
func nextBit(mask uint64, from int) (int, bool) {
	rest := mask >> from
	return from + bits.TrailingZeros64(rest), rest != 0
}

// day reports whether the expression runs on t's day. As in Vixie cron,
// a day field that starts with * (*, */2) makes the two fields combine
// with AND, else with OR.
func (s *cronSpec) day(t time.Time) bool {
	dom := s.dom&(1<<t.Day()) != 0
	dow := s.dow&(1<<t.Weekday()) != 0
	if s.domStar || s.dowStar {
		return dom && dow
	}
	return dom || dow
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
		m := c.spec.next(from)
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
			if g := c.spec.next(gapFrom.Add(-time.Nanosecond)); !g.IsZero() && g.Before(gapTo) {
				return end
			}
		}
		t, inclusive = end, true
	}
	return time.Time{}
}
