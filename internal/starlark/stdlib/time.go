package stdlib

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones work on machines without a tz database

	sl "go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// timeModule is time: datetimes with time zones, durations, and parsing
// and formatting in Python's strftime directives or Go's layouts.
func timeModule() sl.Value {
	m := fns("time", map[string]builtinFunc{
		"now":            timeNow,
		"utcnow":         timeUTCNow,
		"time":           timeUnixFloat,
		"parse":          timeParse,
		"strptime":       timeStrptime,
		"from_timestamp": timeFromTimestamp,
		"fromtimestamp":  timeFromTimestamp,
		"datetime":       timeDatetime,
		"duration":       timeDuration,
		"timedelta":      timeTimedelta,
		"fs_safe_now":    timeFSSafeNow,
		"zone":           timeZone,
	})
	return module("time", m)
}

// location returns the zone a tz argument names: a tz database name
// ("Europe/Warsaw"), "UTC", or a fixed offset ("+02:00").
func location(fn string, v sl.Value) (*time.Location, error) {
	switch x := v.(type) {
	case sl.NoneType:
		return time.UTC, nil
	case sl.String:
		return loadLocation(fn, string(x))
	}
	return nil, fmt.Errorf("%s: tz: got %s, want a time zone name such as \"Europe/Warsaw\"", fn, v.Type())
}

func loadLocation(fn, name string) (*time.Location, error) {
	switch name {
	case "", "UTC", "utc", "Z", "GMT":
		return time.UTC, nil
	case "Local", "local":
		return nil, fmt.Errorf("%s: tz: name the zone, as in \"Europe/Warsaw\": a service's times do not depend on the server's zone", fn)
	}
	if name[0] == '+' || name[0] == '-' {
		if off, ok := parseOffset(name); ok {
			return time.FixedZone(name, off), nil
		}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%s: unknown time zone %q: use a tz database name such as \"Europe/Warsaw\" or \"America/New_York\", \"UTC\", or an offset such as \"+02:00\"", fn, name)
	}
	return loc, nil
}

// parseOffset reads ±HH, ±HHMM or ±HH:MM (and ±HH:MM:SS), in seconds.
func parseOffset(s string) (int, bool) {
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	digits := strings.ReplaceAll(s[1:], ":", "")
	if len(digits) != 2 && len(digits) != 4 && len(digits) != 6 {
		return 0, false
	}
	var parts [3]int
	for i := 0; i < len(digits); i += 2 {
		n, err := strconv.Atoi(digits[i : i+2])
		if err != nil || n > 59 && i > 0 || n > 23 && i == 0 {
			return 0, false
		}
		parts[i/2] = n
	}
	return sign * (parts[0]*3600 + parts[1]*60 + parts[2]), true
}

func timeNow(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var tz sl.Value = sl.None
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "tz?", &tz); err != nil {
		return nil, err
	}
	loc, err := location(b.Name(), tz)
	if err != nil {
		return nil, err
	}
	return Time(now(thread).Truncate(time.Microsecond).In(loc)), nil
}

func timeUTCNow(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	if err := sl.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return Time(now(thread).Truncate(time.Microsecond).UTC()), nil
}

func timeUnixFloat(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	if err := sl.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return sl.Float(float64(now(thread).UnixNano()) / 1e9), nil
}

// timeFSSafeNow is Zato's fs_safe_now: the current UTC time in ISO 8601
// with every character unsafe in file names made _.
func timeFSSafeNow(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	if err := sl.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	t := now(thread).UTC().Truncate(time.Microsecond)
	iso := t.Format("2006-01-02T15:04:05")
	if t.Nanosecond() != 0 {
		iso = t.Format("2006-01-02T15:04:05.000000")
	}
	return sl.String(strings.NewReplacer("-", "_", ":", "_", ".", "_").Replace(iso)), nil
}

func timeZone(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var name string
	if err := sl.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &name); err != nil {
		return nil, err
	}
	loc, err := loadLocation(b.Name(), name)
	if err != nil {
		return nil, err
	}
	return sl.String(loc.String()), nil
}

func timeParse(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var s string
	var format, tz sl.Value = sl.None, sl.None
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "s", &s, "format?", &format, "tz?", &tz); err != nil {
		return nil, err
	}
	return parseWith(thread, b.Name(), s, format, tz)
}

func timeStrptime(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var s, format string
	var tz sl.Value = sl.None
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "s", &s, "format", &format, "tz?", &tz); err != nil {
		return nil, err
	}
	return parseWith(thread, b.Name(), s, sl.String(format), tz)
}

func parseWith(thread *sl.Thread, fn, s string, format, tz sl.Value) (sl.Value, error) {
	if err := spendBytes(thread, len(s), fn); err != nil {
		return nil, err
	}
	loc, err := location(fn, tz)
	if err != nil {
		return nil, err
	}
	var t time.Time
	switch f := format.(type) {
	case sl.NoneType:
		t, err = parseISO(s, loc)
	case sl.String:
		if strings.Contains(string(f), "%") {
			t, err = strptime(s, string(f), loc)
		} else {
			t, err = time.ParseInLocation(string(f), s, loc)
		}
	default:
		return nil, fmt.Errorf("%s: format: got %s, want str", fn, format.Type())
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	return Time(t), nil
}

var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
	"20060102T150405Z0700",
	"20060102T150405",
	"20060102",
}

// parseISO reads ISO 8601 and RFC 3339 times; one without a zone is in
// loc.
func parseISO(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range isoLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 time such as 2024-03-31T02:30:00+02:00 or 2024-03-31; give the format, as in time.parse(s, \"%%d/%%m/%%Y\")", s)
}

func timeFromTimestamp(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var secs sl.Value
	var tz sl.Value = sl.None
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "timestamp", &secs, "tz?", &tz); err != nil {
		return nil, err
	}
	loc, err := location(b.Name(), tz)
	if err != nil {
		return nil, err
	}
	f, ok := sl.AsFloat(secs)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
		return nil, fmt.Errorf("%s: got %s, want the seconds since 1970-01-01 UTC", b.Name(), secs)
	}
	if i, isInt := secs.(sl.Int); isInt {
		n, _ := i.Int64()
		return Time(time.Unix(n, 0).In(loc)), nil
	}
	sec, frac := math.Modf(f)
	return Time(time.Unix(int64(sec), int64(math.Round(frac*1e6))*1000).In(loc)), nil
}

func timeDatetime(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var year, month, day, hour, minute, second, microsecond, nanosecond int
	var tz sl.Value = sl.None
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "year", &year, "month", &month, "day", &day, "hour?", &hour,
		"minute?", &minute, "second?", &second, "microsecond?", &microsecond, "tz?", &tz, "nanosecond?", &nanosecond); err != nil {
		return nil, err
	}
	loc, err := location(b.Name(), tz)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name      string
		v, lo, hi int
	}{{"year", year, 1, 9999}, {"month", month, 1, 12}, {"day", day, 1, 31}, {"hour", hour, 0, 23}, {"minute", minute, 0, 59},
		{"second", second, 0, 59}, {"microsecond", microsecond, 0, 999999}, {"nanosecond", nanosecond, 0, 999999999}} {
		if f.v < f.lo || f.v > f.hi {
			return nil, fmt.Errorf("%s: %s %d is out of range %d..%d", b.Name(), f.name, f.v, f.lo, f.hi)
		}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, second, microsecond*1000+nanosecond, loc)
	if t.Day() != day {
		return nil, fmt.Errorf("%s: day %d is out of range for %d-%02d", b.Name(), day, year, month)
	}
	return Time(t), nil
}

func timeDuration(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var v sl.Value
	if err := sl.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case sl.String:
		d, err := time.ParseDuration(string(x))
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a duration such as \"1h30m\", \"90s\" or \"250ms\"", b.Name(), string(x))
		}
		return Duration(d), nil
	case Duration:
		return x, nil
	}
	f, ok := sl.AsFloat(v)
	if !ok {
		return nil, fmt.Errorf("%s: got %s, want a string such as \"1h30m\" or a number of seconds", b.Name(), v.Type())
	}
	return secondsDuration(b.Name(), f)
}

func secondsDuration(fn string, secs float64) (Duration, error) {
	ns := secs * 1e9
	if math.IsNaN(ns) || ns > math.MaxInt64 || ns < math.MinInt64 {
		return 0, fmt.Errorf("%s: %v seconds is out of range (durations span about 292 years either way)", fn, secs)
	}
	return Duration(time.Duration(math.Round(ns))), nil
}

func timeTimedelta(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var days, seconds, microseconds, milliseconds, minutes, hours, weeks sl.Value = sl.MakeInt(0), sl.MakeInt(0), sl.MakeInt(0), sl.MakeInt(0), sl.MakeInt(0), sl.MakeInt(0), sl.MakeInt(0)
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "days?", &days, "seconds?", &seconds, "microseconds?", &microseconds,
		"milliseconds?", &milliseconds, "minutes?", &minutes, "hours?", &hours, "weeks?", &weeks); err != nil {
		return nil, err
	}
	total := 0.0
	for _, p := range []struct {
		v    sl.Value
		secs float64
	}{{days, 86400}, {seconds, 1}, {microseconds, 1e-6}, {milliseconds, 1e-3}, {minutes, 60}, {hours, 3600}, {weeks, 7 * 86400}} {
		f, ok := sl.AsFloat(p.v)
		if !ok {
			return nil, fmt.Errorf("%s: got %s, want a number", b.Name(), p.v.Type())
		}
		total += f * p.secs
	}
	return secondsDuration(b.Name(), total)
}

// Time is a point in time with its time zone, as Python's aware
// datetime.
type Time time.Time

var (
	_ sl.HasAttrs   = Time{}
	_ sl.HasBinary  = Time{}
	_ sl.Comparable = Time{}
)

func (t Time) String() string { return isoformat(time.Time(t), " ", "auto", false) }
func (t Time) Type() string   { return "time" }
func (t Time) Freeze()        {}
func (t Time) Truth() sl.Bool { return sl.True }
func (t Time) Hash() (uint32, error) {
	u := time.Time(t).UnixNano()
	return uint32(u ^ u>>32), nil
}

// MarshalJSON sends a time as its ISO 8601 text.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(isoformat(time.Time(t), "T", "auto", false))), nil
}

// Export returns the time as its ISO 8601 text, for payloads.
func (t Time) Export() any { return isoformat(time.Time(t), "T", "auto", false) }

func (t Time) CompareSameType(op syntax.Token, y sl.Value, depth int) (bool, error) {
	a, b := time.Time(t), time.Time(y.(Time))
	return threeway(op, a.Compare(b)), nil
}

func threeway(op syntax.Token, c int) bool {
	switch op {
	case syntax.EQL:
		return c == 0
	case syntax.NEQ:
		return c != 0
	case syntax.LT:
		return c < 0
	case syntax.LE:
		return c <= 0
	case syntax.GT:
		return c > 0
	case syntax.GE:
		return c >= 0
	}
	return false
}

func (t Time) Binary(op syntax.Token, y sl.Value, side sl.Side) (sl.Value, error) {
	tt := time.Time(t)
	switch op {
	case syntax.PLUS:
		if d, ok := y.(Duration); ok {
			return Time(tt.Add(time.Duration(d))), nil
		}
	case syntax.MINUS:
		if side == sl.Right {
			return nil, nil
		}
		switch u := y.(type) {
		case Duration:
			return Time(tt.Add(-time.Duration(u))), nil
		case Time:
			return Duration(tt.Sub(time.Time(u))), nil
		}
	}
	return nil, nil
}

var timeAttrs = []string{
	"add_date", "astimezone", "date", "day", "format", "hour", "isocalendar", "isoformat", "isoweekday", "microsecond", "minute", "month",
	"nanosecond", "replace", "second", "strftime", "timestamp", "tz", "tzname", "unix", "unix_nano", "utcoffset", "weekday", "year",
}

func (t Time) AttrNames() []string { return timeAttrs }

func (t Time) Attr(name string) (sl.Value, error) {
	tt := time.Time(t)
	switch name {
	case "year":
		return sl.MakeInt(tt.Year()), nil
	case "month":
		return sl.MakeInt(int(tt.Month())), nil
	case "day":
		return sl.MakeInt(tt.Day()), nil
	case "hour":
		return sl.MakeInt(tt.Hour()), nil
	case "minute":
		return sl.MakeInt(tt.Minute()), nil
	case "second":
		return sl.MakeInt(tt.Second()), nil
	case "microsecond":
		return sl.MakeInt(tt.Nanosecond() / 1000), nil
	case "nanosecond":
		return sl.MakeInt(tt.Nanosecond()), nil
	case "unix":
		return sl.MakeInt64(tt.Unix()), nil
	case "unix_nano":
		return sl.MakeInt64(tt.UnixNano()), nil
	case "tz":
		return sl.String(tt.Location().String()), nil
	}
	m, ok := timeMethods[name]
	if !ok {
		return nil, nil
	}
	return sl.NewBuiltin(name, func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		return m(thread, "time."+name, tt, args, kwargs)
	}), nil
}

var timeMethods = map[string]func(thread *sl.Thread, fn string, t time.Time, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error){
	"strftime": timeFormat,
	"format":   timeFormat,
	"isoformat": func(_ *sl.Thread, fn string, t time.Time, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		sep, timespec := "T", "auto"
		if err := sl.UnpackArgs(fn, args, kwargs, "sep?", &sep, "timespec?", &timespec); err != nil {
			return nil, err
		}
		switch timespec {
		case "auto", "hours", "minutes", "seconds", "milliseconds", "microseconds", "nanoseconds":
		default:
			return nil, fmt.Errorf("%s: unknown timespec %q", fn, timespec)
		}
		return sl.String(isoformat(t, sep, timespec, false)), nil
	},
	"astimezone": func(_ *sl.Thread, fn string, t time.Time, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var tz sl.Value = sl.None
		if err := sl.UnpackArgs(fn, args, kwargs, "tz?", &tz); err != nil {
			return nil, err
		}
		loc, err := location(fn, tz)
		if err != nil {
			return nil, err
		}
		return Time(t.In(loc)), nil
	},
	"timestamp": func(_ *sl.Thread, fn string, t time.Time, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
			return nil, err
		}
		return sl.Float(float64(t.Unix()) + float64(t.Nanosecond())/1e9), nil
	},
	"weekday": func(_ *sl.Thread, fn string, t time.Time, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
			return nil, err
		}
		return sl.MakeInt((int(t.Weekday()) + 6) % 7), nil
	},
	"isoweekday": func(_ *sl.Thread, fn string, t time.Time, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
			return nil, err
		}
		return sl.MakeInt((int(t.Weekday())+6)%7 + 1), nil
	},
	"isocalendar": func(_ *sl.Thread, fn string, t time.Time, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
			return nil, err
		}
		y, w := t.ISOWeek()
		return sl.Tuple{sl.MakeInt(y), sl.MakeInt(w), sl.MakeInt((int(t.Weekday())+6)%7 + 1)}, nil
	},
	"date": func(_ *sl.Thread, fn string, t time.Time, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
			return nil, err
		}
		return sl.String(t.Format("2006-01-02")), nil
	},
	"tzname": func(_ *sl.Thread, fn string, t time.Time, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
			return nil, err
		}
		name, _ := t.Zone()
		return sl.String(name), nil
	},
	"utcoffset": func(_ *sl.Thread, fn string, t time.Time, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
			return nil, err
		}
		_, off := t.Zone()
		return Duration(time.Duration(off) * time.Second), nil
	},
	"replace": timeReplace,
	"add_date": func(_ *sl.Thread, fn string, t time.Time, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var years, months, days int
		if err := sl.UnpackArgs(fn, args, kwargs, "years?", &years, "months?", &months, "days?", &days); err != nil {
			return nil, err
		}
		return Time(t.AddDate(years, months, days)), nil
	},
}

func timeFormat(thread *sl.Thread, fn string, t time.Time, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var format string
	if err := sl.UnpackPositionalArgs(fn, args, kwargs, 1, &format); err != nil {
		return nil, err
	}
	if err := spendBytes(thread, len(format)*8, fn); err != nil {
		return nil, err
	}
	if !strings.Contains(format, "%") {
		return sl.String(t.Format(format)), nil
	}
	s, err := strftime(t, format)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	return sl.String(s), nil
}

// timeReplace returns the time with some fields changed, in the same
// zone (or tz, which keeps the wall clock: use astimezone to convert).
func timeReplace(_ *sl.Thread, fn string, t time.Time, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	year, month, day := t.Date()
	hour, minute, second := t.Clock()
	m := int(month)
	microsecond, nanosecond := -1, -1
	var tz sl.Value = sl.None
	if err := sl.UnpackArgs(fn, args, kwargs, "year?", &year, "month?", &m, "day?", &day, "hour?", &hour, "minute?", &minute,
		"second?", &second, "microsecond?", &microsecond, "tz?", &tz, "nanosecond?", &nanosecond); err != nil {
		return nil, err
	}
	ns := t.Nanosecond()
	if microsecond >= 0 {
		ns = microsecond*1000 + ns%1000
	}
	if nanosecond >= 0 {
		ns = nanosecond
	}
	loc := t.Location()
	if tz != sl.None {
		var err error
		if loc, err = location(fn, tz); err != nil {
			return nil, err
		}
	}
	if m < 1 || m > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || ns < 0 || ns > 999999999 {
		return nil, fmt.Errorf("%s: a field is out of range", fn)
	}
	r := time.Date(year, time.Month(m), day, hour, minute, second, ns, loc)
	if r.Day() != day {
		return nil, fmt.Errorf("%s: day %d is out of range for %d-%02d", fn, day, year, m)
	}
	return Time(r), nil
}

// isoformat writes t as Python's datetime.isoformat does.
func isoformat(t time.Time, sep, timespec string, _ bool) string {
	var b strings.Builder
	b.WriteString(t.Format("2006-01-02"))
	b.WriteString(sep)
	us := t.Nanosecond() / 1000
	switch timespec {
	case "hours":
		b.WriteString(t.Format("15"))
	case "minutes":
		b.WriteString(t.Format("15:04"))
	case "seconds":
		b.WriteString(t.Format("15:04:05"))
	case "milliseconds":
		fmt.Fprintf(&b, "%s.%03d", t.Format("15:04:05"), us/1000)
	case "microseconds":
		fmt.Fprintf(&b, "%s.%06d", t.Format("15:04:05"), us)
	case "nanoseconds":
		fmt.Fprintf(&b, "%s.%09d", t.Format("15:04:05"), t.Nanosecond())
	default:
		b.WriteString(t.Format("15:04:05"))
		switch {
		case t.Nanosecond()%1000 != 0:
			fmt.Fprintf(&b, ".%09d", t.Nanosecond())
		case us != 0:
			fmt.Fprintf(&b, ".%06d", us)
		}
	}
	b.WriteString(offset(t, true))
	return b.String()
}

// offset writes t's UTC offset as +HH:MM (colon) or +HHMM, with seconds
// when it has them.
func offset(t time.Time, colon bool) string {
	_, off := t.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	sep := ""
	if colon {
		sep = ":"
	}
	s := fmt.Sprintf("%c%02d%s%02d", sign, off/3600, sep, off/60%60)
	if off%60 != 0 {
		s += fmt.Sprintf("%s%02d", sep, off%60)
	}
	return s
}

// Duration is a span of time, as Python's timedelta.
type Duration time.Duration

var (
	_ sl.HasAttrs   = Duration(0)
	_ sl.HasBinary  = Duration(0)
	_ sl.HasUnary   = Duration(0)
	_ sl.Comparable = Duration(0)
)

func (d Duration) Type() string          { return "duration" }
func (d Duration) Freeze()               {}
func (d Duration) Truth() sl.Bool        { return d != 0 }
func (d Duration) Hash() (uint32, error) { return uint32(d ^ d>>32), nil }

// String writes d as Python writes a timedelta: "1 day, 2:03:04.500000".
func (d Duration) String() string {
	ns := int64(d)
	const day = int64(24 * time.Hour)
	days := ns / day
	rest := ns % day
	if rest < 0 {
		days--
		rest += day
	}
	var b strings.Builder
	if days != 0 {
		fmt.Fprintf(&b, "%d day", days)
		if days != 1 && days != -1 {
			b.WriteByte('s')
		}
		b.WriteString(", ")
	}
	secs := rest / int64(time.Second)
	fmt.Fprintf(&b, "%d:%02d:%02d", secs/3600, secs/60%60, secs%60)
	if frac := rest % int64(time.Second); frac != 0 {
		if frac%1000 == 0 {
			fmt.Fprintf(&b, ".%06d", frac/1000)
		} else {
			fmt.Fprintf(&b, ".%09d", frac)
		}
	}
	return b.String()
}

// MarshalJSON sends a duration as its seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(time.Duration(d).Seconds(), 'g', -1, 64)), nil
}

// Export returns the duration in seconds, for payloads.
func (d Duration) Export() any { return time.Duration(d).Seconds() }

func (d Duration) CompareSameType(op syntax.Token, y sl.Value, depth int) (bool, error) {
	e := y.(Duration)
	c := 0
	if d < e {
		c = -1
	} else if d > e {
		c = 1
	}
	return threeway(op, c), nil
}

func (d Duration) Unary(op syntax.Token) (sl.Value, error) {
	switch op {
	case syntax.MINUS:
		return -d, nil
	case syntax.PLUS:
		return d, nil
	}
	return nil, nil
}

func (d Duration) Binary(op syntax.Token, y sl.Value, side sl.Side) (sl.Value, error) {
	switch op {
	case syntax.PLUS:
		switch e := y.(type) {
		case Duration:
			return d + e, nil
		case Time:
			return Time(time.Time(e).Add(time.Duration(d))), nil
		}
	case syntax.MINUS:
		if e, ok := y.(Duration); ok {
			if side == sl.Right {
				return e - d, nil
			}
			return d - e, nil
		}
	case syntax.STAR:
		if f, ok := sl.AsFloat(y); ok {
			if i, isInt := y.(sl.Int); isInt {
				if n, ok := i.Int64(); ok {
					return d * Duration(n), nil
				}
			}
			return secondsDuration("duration", time.Duration(d).Seconds()*f)
		}
	case syntax.SLASH:
		if side == sl.Right {
			return nil, nil
		}
		if e, ok := y.(Duration); ok {
			if e == 0 {
				return nil, fmt.Errorf("duration division by zero")
			}
			return sl.Float(float64(d) / float64(e)), nil
		}
		if f, ok := sl.AsFloat(y); ok {
			if f == 0 {
				return nil, fmt.Errorf("duration division by zero")
			}
			return secondsDuration("duration", time.Duration(d).Seconds()/f)
		}
	case syntax.SLASHSLASH:
		if e, ok := y.(Duration); ok && side == sl.Left {
			if e == 0 {
				return nil, fmt.Errorf("duration division by zero")
			}
			q := d / e
			if (d%e != 0) && ((d < 0) != (e < 0)) {
				q--
			}
			return sl.MakeInt64(int64(q)), nil
		}
	}
	return nil, nil
}

var durationAttrs = []string{"days", "hours", "microseconds", "milliseconds", "minutes", "nanoseconds", "seconds", "total_seconds"}

func (d Duration) AttrNames() []string { return durationAttrs }

func (d Duration) Attr(name string) (sl.Value, error) {
	td := time.Duration(d)
	const day = 24 * time.Hour
	days := td / day
	rest := td % day
	if rest < 0 {
		days--
		rest += day
	}
	switch name {
	case "days":
		return sl.MakeInt64(int64(days)), nil
	case "seconds":
		return sl.MakeInt64(int64(rest / time.Second)), nil
	case "microseconds":
		return sl.MakeInt64(int64(rest%time.Second) / 1000), nil
	case "nanoseconds":
		return sl.MakeInt64(int64(td)), nil
	case "milliseconds":
		return sl.MakeInt64(td.Milliseconds()), nil
	case "minutes":
		return sl.Float(td.Minutes()), nil
	case "hours":
		return sl.Float(td.Hours()), nil
	case "total_seconds":
		return sl.NewBuiltin("total_seconds", func(_ *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(b.Name(), args, kwargs); err != nil {
				return nil, err
			}
			return sl.Float(td.Seconds()), nil
		}), nil
	}
	return nil, nil
}
