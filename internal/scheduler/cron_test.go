package scheduler

import (
	"strings"
	"testing"
	"time"
)

// runs returns the first n runs of a cron expression after from, as
// wall-clock times with their zone abbreviations.
func runs(t *testing.T, expr, tz, from string, n int) string {
	t.Helper()
	loc, err := loadLocation(tz)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseCron(expr, loc)
	if err != nil {
		t.Fatal(err)
	}
	x := at(from)
	var out []string
	for range n {
		next := c.next(x)
		if !next.After(x) {
			t.Fatalf("%s: next(%s) = %s is not after it", expr, x, next)
		}
		x = next
		out = append(out, x.Format("01-02 15:04 MST"))
	}
	return strings.Join(out, ", ")
}

func TestCronDST(t *testing.T) {
	for _, c := range []struct {
		name, expr, tz, from string
		n                    int
		want                 string
	}{
		// New York springs forward on 10 March 2024: 02:00 EST → 03:00 EDT.
		{"gap: a skipped time runs at the jump", "30 2 * * *", "America/New_York", "2024-03-09T12:00:00Z", 3,
			"03-10 03:00 EDT, 03-11 02:30 EDT, 03-12 02:30 EDT"},
		{"gap: several skipped times run once", "0,20,40 2 * * *", "America/New_York", "2024-03-10T06:50:00Z", 2,
			"03-10 03:00 EDT, 03-11 02:00 EDT"},
		{"gap: every-hour jobs go on by the clock", "0,30 * * * *", "America/New_York", "2024-03-10T06:00:00Z", 4,
			"03-10 01:30 EST, 03-10 03:00 EDT, 03-10 03:30 EDT, 03-10 04:00 EDT"},
		// New York falls back on 3 November 2024: 02:00 EDT → 01:00 EST.
		{"overlap: a fixed time runs once", "30 1 * * *", "America/New_York", "2024-11-02T12:00:00Z", 2,
			"11-03 01:30 EDT, 11-04 01:30 EST"},
		{"overlap: a fixed hour runs its minutes once", "*/20 1 * * *", "America/New_York", "2024-11-03T04:30:00Z", 4,
			"11-03 01:00 EDT, 11-03 01:20 EDT, 11-03 01:40 EDT, 11-04 01:00 EST"},
		{"overlap: every-hour jobs run in both", "0,30 * * * *", "America/New_York", "2024-11-03T05:00:00Z", 5,
			"11-03 01:30 EDT, 11-03 01:00 EST, 11-03 01:30 EST, 11-03 02:00 EST, 11-03 02:30 EST"},
		{"overlap: started in the repeated hour", "30 1 * * *", "America/New_York", "2024-11-03T06:10:00Z", 1,
			"11-04 01:30 EST"},
		// Warsaw: 31 March 2024 02:00 CET → 03:00 CEST; 27 October 03:00 CEST → 02:00 CET.
		{"Warsaw spring", "15 2 * * *", "Europe/Warsaw", "2024-03-30T12:00:00Z", 3,
			"03-31 03:00 CEST, 04-01 02:15 CEST, 04-02 02:15 CEST"},
		{"Warsaw autumn", "15 2 * * *", "Europe/Warsaw", "2024-10-26T12:00:00Z", 2,
			"10-27 02:15 CEST, 10-28 02:15 CET"},
		{"Warsaw autumn hourly", "0 * * * *", "Europe/Warsaw", "2024-10-26T22:30:00Z", 4,
			"10-27 01:00 CEST, 10-27 02:00 CEST, 10-27 02:00 CET, 10-27 03:00 CET"},
		// Seed example and POSIX day matching.
		{"seed: 3 to 6 a.m. on weekdays", "00 3-6 * * 1-5", "UTC", "2026-01-02T05:30:00Z", 4,
			"01-02 06:00 UTC, 01-05 03:00 UTC, 01-05 04:00 UTC, 01-05 05:00 UTC"},
		{"day of month or day of week", "0 12 13 * 5", "UTC", "2026-02-01T00:00:00Z", 4,
			"02-06 12:00 UTC, 02-13 12:00 UTC, 02-20 12:00 UTC, 02-27 12:00 UTC"},
		{"Sunday as 7", "0 0 * * 7", "UTC", "2026-01-01T00:00:00Z", 2, "01-04 00:00 UTC, 01-11 00:00 UTC"},
		{"leap day", "0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", 1, "02-29 00:00 UTC"},
		{"month names", "0 9 1 jan,jul *", "Asia/Tokyo", "2026-01-01T00:00:00Z", 2, "07-01 09:00 JST, 01-01 09:00 JST"},
	} {
		if got := runs(t, c.expr, c.tz, c.from, c.n); got != c.want {
			t.Errorf("%s (%s in %s):\n got %s\nwant %s", c.name, c.expr, c.tz, got, c.want)
		}
	}
}

func TestStartDate(t *testing.T) {
	for _, c := range []struct{ in, tz, want string }{
		{"2026-01-01T02:00:00", "", "2026-01-01T02:00:00Z"},
		{"2026-01-01 02:00", "", "2026-01-01T02:00:00Z"},
		{"2026-01-01", "Europe/Warsaw", "2025-12-31T23:00:00Z"},
		{"2026-01-01T02:00:00.250", "America/New_York", "2026-01-01T07:00:00.25Z"},
		{"2026-01-01T02:00:00+02:00", "America/New_York", "2026-01-01T00:00:00Z"},
		{"2026-01-01T02:00:00Z", "Europe/Warsaw", "2026-01-01T02:00:00Z"},
		{"2026-01-01T02:00+0530", "", "2025-12-31T20:30:00Z"},
		// 02:30 on 10 March 2024 does not exist in New York: the jump.
		{"2024-03-10T02:30:00", "America/New_York", "2024-03-10T07:00:00Z"},
		// 01:30 on 3 November 2024 occurs twice: the first.
		{"2024-11-03T01:30:00", "America/New_York", "2024-11-03T05:30:00Z"},
	} {
		loc := time.UTC
		if c.tz != "" {
			loc, _ = loadLocation(c.tz)
		}
		got, err := parseStartDate(c.in, loc)
		if err != nil || got.UTC().Format(time.RFC3339Nano) != c.want {
			t.Errorf("%s in %q: %s %v, want %s", c.in, c.tz, got.UTC().Format(time.RFC3339Nano), err, c.want)
		}
	}
}

func FuzzParseStartDate(f *testing.F) {
	for _, s := range []string{"2026-01-01T02:00:00", "2024-03-10T02:30:00", "2026-01-01T02:00+0530", "", "9999-12-31"} {
		f.Add(s)
	}
	ny, _ := loadLocation("America/New_York")
	f.Fuzz(func(t *testing.T, s string) {
		if got, err := parseStartDate(s, ny); err == nil && got.IsZero() {
			t.Fatalf("%q: zero time without an error", s)
		}
	})
}

// FuzzParseCron checks that what parses runs after the given time, at a
// minute the expression matches, and that no earlier minute matches.
func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"00 3-6 * * 1-5", "*/5 * * * *", "0 0 29 2 *", "0 0 30 2 *", "a b c d e", "59 23 31 12 7",
		"0 0 */2 * 1", "22-2 * * * *", "5/10 * * * *", "*/90 1,2-4/2 1-31/7 jan-mar */3", "0 0 ? * 1"} {
		f.Add(s)
	}
	loc, _ := loadLocation("Europe/Warsaw")
	from := at("2026-03-29T00:00:00Z")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCron(s, loc)
		if err != nil {
			return
		}
		if next := c.next(from); !next.IsZero() && !next.After(from) {
			t.Fatalf("%q: next %s is not after %s", s, next, from)
		}
		next := c.spec.next(from)
		if next.IsZero() {
			t.Fatalf("%q parsed but never runs", s)
		}
		if !c.spec.matches(next) {
			t.Fatalf("%q: next %s does not match", s, next)
		}
		for m := from.Truncate(time.Minute).Add(time.Minute); m.Before(next) && m.Before(from.AddDate(0, 0, 3)); m = m.Add(time.Minute) {
			if c.spec.matches(m) {
				t.Fatalf("%q: next is %s but %s matches", s, next, m)
			}
		}
	})
}

// matches reports whether the expression runs at the minute of t.
func (s *cronSpec) matches(t time.Time) bool {
	return s.minute&(1<<t.Minute()) != 0 && s.hour&(1<<t.Hour()) != 0 && s.month&(1<<t.Month()) != 0 && s.day(t)
}

// The runs of each expression were worked out by hand from Vixie cron's
// rules, as cronie applies them (2027-01-15 is a Friday): a day of month or
// day of week field that starts with * makes the two combine with AND,
// else a day matching either runs.
func TestCronVixie(t *testing.T) {
	const from = "2027-01-15T10:17:30Z"
	for _, c := range []struct{ expr, want string }{
		// Day matching.
		{"0 0 */2 * 1", "2027-01-25 00:00, 2027-02-01 00:00, 2027-02-15 00:00"}, // odd days that are Mondays
		{"0 0 */1 * 5", "2027-01-22 00:00, 2027-01-29 00:00, 2027-02-05 00:00"}, // Fridays only
		{"0 0 *,15 * 1", "2027-01-18 00:00, 2027-01-25 00:00, 2027-02-01 00:00"},
		{"30 4 1 * */2", "2027-04-01 04:30, 2027-05-01 04:30, 2027-06-01 04:30"}, // the 1st when a Sun, Tue, Thu or Sat
		{"0 0 1-31 * 5", "2027-01-16 00:00, 2027-01-17 00:00, 2027-01-18 00:00"}, // restricted both: every day
		{"0 0 1,15 * sun", "2027-01-17 00:00, 2027-01-24 00:00, 2027-01-31 00:00, 2027-02-01 00:00"},
		{"0 0 * * sun", "2027-01-17 00:00, 2027-01-24 00:00, 2027-01-31 00:00"},
		{"0 0 1,15 * *", "2027-02-01 00:00, 2027-02-15 00:00, 2027-03-01 00:00"},
		{"0 9 13 * fri", "2027-01-22 09:00, 2027-01-29 09:00, 2027-02-05 09:00"},
		{"0 0 13 */3 fri", "2027-01-22 00:00, 2027-01-29 00:00, 2027-04-02 00:00"},
		{"0 0 29 2 1", "2027-02-01 00:00, 2027-02-08 00:00, 2027-02-15 00:00"},
		{"0 0 29 2 *", "2028-02-29 00:00, 2032-02-29 00:00"},
		{"0 0 31 * *", "2027-01-31 00:00, 2027-03-31 00:00, 2027-05-31 00:00"},
		// Days of the week: Sunday is 0 or 7; names and steps.
		{"0 0 * * 5-7", "2027-01-16 00:00, 2027-01-17 00:00, 2027-01-22 00:00"},
		{"0 0 * * 7", "2027-01-17 00:00, 2027-01-24 00:00"},
		{"7 3 * * 0-7/2", "2027-01-16 03:07, 2027-01-17 03:07, 2027-01-19 03:07"},
		{"0 0 15 * mon-fri/2", "2027-01-18 00:00, 2027-01-20 00:00, 2027-01-22 00:00, 2027-01-25 00:00"},
		{"0 0 * * SAT,Sun", "2027-01-16 00:00, 2027-01-17 00:00, 2027-01-23 00:00"},
		// Minutes, hours, months.
		{"*/15 9-17/4 * * *", "2027-01-15 13:00, 2027-01-15 13:15, 2027-01-15 13:30, 2027-01-15 13:45, 2027-01-15 17:00"},
		{"*/90 * * * *", "2027-01-15 11:00, 2027-01-15 12:00"}, // a step past the range keeps its start
		{"18 10 * * *", "2027-01-15 10:18, 2027-01-16 10:18"},
		{"17 10 * * *", "2027-01-16 10:17"},
		{"0 12 1 jan-dec/2 *", "2027-03-01 12:00, 2027-05-01 12:00, 2027-07-01 12:00"},
		{"59 23 31 12 *", "2027-12-31 23:59"},
		{"00 3-6 * * 1-5", "2027-01-18 03:00, 2027-01-18 04:00"},
		{"1-3,58 * * * *", "2027-01-15 10:58, 2027-01-15 11:01, 2027-01-15 11:02"},
	} {
		c0, err := parseCron(c.expr, time.UTC)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		x := at(from)
		var got []string
		for range strings.Count(c.want, ",") + 1 {
			x = c0.next(x)
			got = append(got, x.UTC().Format("2006-01-02 15:04"))
		}
		if g := strings.Join(got, ", "); g != c.want {
			t.Errorf("%s from %s:\n got %s\nwant %s", c.expr, from, g, c.want)
		}
	}
}

// Syntax that Vixie cron does not read, or reads surprisingly, is refused
// with a message in the user's terms.
func TestCronRefused(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{"22-2 * * * *", "range 22-2 wraps around: write it as two ranges, e.g. 22-59,0-2"},
		{"0 22-2 * * *", "range 22-2 wraps around: write it as two ranges, e.g. 22-23,0-2"},
		{"0 0 * * fri-mon", "range fri-mon wraps around"},
		{"0 0 * * 5-0", "range 5-0 wraps around"},
		{"5/10 * * * *", "5/10 has a step but no range: write 5-59/10, or */10"},
		{"? * * * *", "? is not supported: use *"},
		{"0 0 ? * 1", "? is not supported"},
		{"0 0 L * *", `"L" is not a number; extensions such as L, W, #, H and ~ are not supported`},
		{"0 0 15W * *", `"15W" is not a number`},
		{"0 0 * * 5#3", `"5#3" is not a number or a name (sun, mon, …)`},
		{"H * * * *", `"H" is not a number`},
		{"0~30 * * * *", `"0~30" is not a number`},
		{"*/0 * * * *", `step "0" is not a positive whole number`},
		{"*/x * * * *", `step "x" is not a positive whole number`},
		{"0 0 * * 8", "day of week field \"8\": 8 is not in 0-7"},
		{"0 0 0 * *", "day of month field \"0\": 0 is not in 1-31"},
		{"0 0 * 13 *", "month field \"13\": 13 is not in 1-12"},
		{"60 * * * *", "minute field \"60\": 60 is not in 0-59"},
		{"99999999999999999999 * * * *", "is not in 0-59"},
		{"1,,2 * * * *", "a value is missing"},
		{"*-5 * * * *", `"*" is not a number`},
		{"-1 * * * *", "a value is missing"},
		{"+5 * * * *", `"+5" is not a number`},
		{"1-2-3 * * * *", `"2-3" is not a number`},
		{"@daily", "write the five fields, e.g. 0 0 * * * for @daily"},
		{"0 0 * * * *", "it has 6 fields, want 5"},
		{"0 0 *", "it has 3 fields, want 5"},
		{"0 0 30 2 *", "never matches a date"},
		{"0 0 31 4,6,9,11 *", "never matches a date"},
		{"CRON_TZ=UTC 0 0 * * *", "set the job's timezone field instead"},
	} {
		_, err := parseCron(c.expr, time.UTC)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.expr, err, c.want)
			continue
		}
		for _, lib := range []string{"option", "Dom", "Dow", "Parse", "bits"} {
			if strings.Contains(err.Error(), lib) {
				t.Errorf("%s: error speaks of %q: %v", c.expr, lib, err)
			}
		}
	}
}

// BenchmarkCronNext measures finding the next run of expressions that
// match often, rarely (once a year) and in a zone with daylight saving.
func BenchmarkCronNext(b *testing.B) {
	for _, c := range []struct{ name, expr, tz string }{
		{"every-5-minutes", "*/5 * * * *", "UTC"},
		{"weekdays", "00 3-6 * * 1-5", "America/New_York"},
		{"yearly", "59 23 31 12 *", "UTC"},
	} {
		loc, _ := loadLocation(c.tz)
		s, err := parseCron(c.expr, loc)
		if err != nil {
			b.Fatal(err)
		}
		from := at("2027-01-15T10:17:30Z")
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				s.next(from)
			}
		})
	}
}
