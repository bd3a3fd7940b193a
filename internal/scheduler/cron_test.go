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

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"00 3-6 * * 1-5", "*/5 * * * *", "0 0 29 2 *", "0 0 30 2 *", "a b c d e", "59 23 31 12 7"} {
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
	})
}
