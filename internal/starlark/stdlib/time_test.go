package stdlib

import (
	"testing"
)

// Conversions across the DST changes of 2024 in Europe/Warsaw and
// America/New_York, each side of each change (expected values from
// Python's zoneinfo).
func TestTimeZonesAcrossDST(t *testing.T) {
	for _, c := range []struct{ utc, zone, iso, name string }{
		{"2024-03-31T00:59:59Z", "Europe/Warsaw", "2024-03-31T01:59:59+01:00", "CET"},
		{"2024-03-31T01:00:00Z", "Europe/Warsaw", "2024-03-31T03:00:00+02:00", "CEST"},
		{"2024-10-27T00:59:59Z", "Europe/Warsaw", "2024-10-27T02:59:59+02:00", "CEST"},
		{"2024-10-27T01:00:00Z", "Europe/Warsaw", "2024-10-27T02:00:00+01:00", "CET"},
		{"2024-03-10T06:59:59Z", "America/New_York", "2024-03-10T01:59:59-05:00", "EST"},
		{"2024-03-10T07:00:00Z", "America/New_York", "2024-03-10T03:00:00-04:00", "EDT"},
		{"2024-11-03T05:59:59Z", "America/New_York", "2024-11-03T01:59:59-04:00", "EDT"},
		{"2024-11-03T06:00:00Z", "America/New_York", "2024-11-03T01:00:00-05:00", "EST"},
	} {
		expr := `(lambda t: (t.isoformat(), t.tzname(), t.astimezone("UTC").isoformat()))(time.parse("` + c.utc + `").astimezone("` + c.zone + `"))`
		want := `("` + c.iso + `", "` + c.name + `", "` + c.utc[:19] + `+00:00")`
		if got := eval(t, expr); got != want {
			t.Errorf("%s in %s: got %s, want %s", c.utc, c.zone, got, want)
		}
	}
	check(t, [][2]string{
		// A local time without a zone is read in the zone given.
		{`time.parse("2024-03-31 03:30", tz="Europe/Warsaw").astimezone("UTC").isoformat()`, "2024-03-31T01:30:00+00:00"},
		{`time.parse("2024-11-03 00:30", tz="America/New_York").utcoffset()`, "-1 day, 20:00:00"},
		// Durations are real time: the night of the change has 23 hours.
		{`time.datetime(2024, 3, 31, tz="Europe/Warsaw") + time.timedelta(hours=24)`, "2024-04-01 01:00:00+02:00"},
		{`time.datetime(2024, 4, 1, tz="Europe/Warsaw") - time.datetime(2024, 3, 31, tz="Europe/Warsaw")`, "23:00:00"},
		// add_date moves the calendar, keeping the wall clock.
		{`time.datetime(2024, 3, 30, 12, tz="Europe/Warsaw").add_date(days=1).isoformat()`, "2024-03-31T12:00:00+02:00"},
		{`time.datetime(2024, 1, 31, tz="UTC").add_date(months=1).date()`, "2024-03-02"},
		{`time.now("Asia/Tokyo").tz`, "Asia/Tokyo"},
		{`time.now("+05:30").isoformat()`, "2022-02-23T00:52:22.123456+05:30"},
		{`time.now("Mars/Olympus")`, `error: time.now: unknown time zone "Mars/Olympus": use a tz database name such as "Europe/Warsaw" or "America/New_York", "UTC", or an offset such as "+02:00"`},
		{`time.zone("europe/warsaw")`, `error: time.zone: unknown time zone "europe/warsaw": use a tz database name such as "Europe/Warsaw" or "America/New_York", "UTC", or an offset such as "+02:00"`},
	})
}

// strftime directives and Go layouts give what Python gives.
func TestTimeFormat(t *testing.T) {
	at := `time.datetime(2024, 7, 4, 12, 30, 5, 123456, tz="America/New_York")`
	check(t, [][2]string{
		{at + `.strftime("%a %A %w %d %b %B %m %y %Y %H %I %p %M %S %f %z %Z %j %U %W %c %x %X %%")`,
			"Thu Thursday 4 04 Jul July 07 24 2024 12 12 PM 30 05 123456 -0400 EDT 186 26 27 Thu Jul  4 12:30:05 2024 07/04/24 12:30:05 %"},
		{at + `.strftime("%G-W%V-%u")`, "2024-W27-4"},
		{at + `.strftime("%e")`, " 4"},
		{at + `.format("2006-01-02 15:04:05.000 MST")`, "2024-07-04 12:30:05.123 EDT"},
		{at + `.isoformat()`, "2024-07-04T12:30:05.123456-04:00"},
		{at + `.isoformat(" ", "seconds")`, "2024-07-04 12:30:05-04:00"},
		{at + `.isoformat(timespec="milliseconds")`, "2024-07-04T12:30:05.123-04:00"},
		{`str(` + at + `)`, "2024-07-04 12:30:05.123456-04:00"},
		{at + `.strftime("%Q")`, "error: time.strftime: unknown directive %Q"},
		{`time.datetime(2024, 1, 1, tz="UTC").timestamp() == 1704067200.0`, "True"},
		{`time.from_timestamp(1700000000).isoformat()`, "2023-11-14T22:13:20+00:00"},
		{`time.from_timestamp(1700000000.25, tz="Europe/Warsaw").isoformat()`, "2023-11-14T23:13:20.250000+01:00"},
		{`time.fs_safe_now()`, "2022_02_22T19_22_22_123456"},
		{`(time.now().year, time.now().month, time.now().day, time.now().hour, time.now().microsecond, time.now().weekday(), time.now().isoweekday())`, "(2022, 2, 22, 19, 123456, 1, 2)"},
		{`time.now().unix`, "1645557742"},
		{`int(time.time() * 1000)`, "1645557742123"},
		{`json.encode({"at": time.datetime(2024, 7, 4, tz="UTC")})`, `{"at":"2024-07-04T00:00:00+00:00"}`},
	})
}

// strptime reads what Python's reads, and refuses what it refuses.
func TestTimeParse(t *testing.T) {
	check(t, [][2]string{
		{`time.parse("31/12/2023 11:59:58 PM", "%d/%m/%Y %I:%M:%S %p")`, "2023-12-31 23:59:58+00:00"},
		{`time.strptime("2024-02-29T10:00:00+0530", "%Y-%m-%dT%H:%M:%S%z").isoformat()`, "2024-02-29T10:00:00+05:30"},
		{`time.parse("Mar 5 2024", "%b %d %Y").isoformat()`, "2024-03-05T00:00:00+00:00"},
		{`time.parse("2024 060", "%Y %j").date()`, "2024-02-29"},
		{`time.parse("05.03.24 14:07", "%d.%m.%y %H:%M", tz="Europe/Warsaw").isoformat()`, "2024-03-05T14:07:00+01:00"},
		{`time.parse("2024-07-04 12:30:05.5", "%Y-%m-%d %H:%M:%S.%f").microsecond`, "500000"},
		{`time.parse("2024-07-04T12:30:05Z", "2006-01-02T15:04:05Z07:00").isoformat()`, "2024-07-04T12:30:05+00:00"},
		{`time.parse("2024-07-04T12:30:05.123+02:00").isoformat()`, "2024-07-04T12:30:05.123000+02:00"},
		{`time.parse("2024-07-04")`, "2024-07-04 00:00:00+00:00"},
		{`time.parse("2024-07-04 12:30:05")`, "2024-07-04 12:30:05+00:00"},
		{`time.parse("2024-07-04 12:30", "%Y-%m-%d")`, `error: time.parse: unconverted data remains: " 12:30" (parsing "2024-07-04 12:30" with "%Y-%m-%d")`},
		{`time.parse("2023-02-29", "%Y-%m-%d")`, `error: time.parse: time data "2023-02-29": day 29 is out of range for 2023-02`},
		{`time.parse("x2024", "%Y")`, `error: time.parse: time data "x2024": want a year at "x2024"`},
		{`time.parse("04/07/2024")`, `error: time.parse: "04/07/2024" is not an ISO 8601 time such as 2024-03-31T02:30:00+02:00 or 2024-03-31; give the format, as in time.parse(s, "%d/%m/%Y")`},
	})
}

func TestDurations(t *testing.T) {
	check(t, [][2]string{
		{`str(time.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=500000))`, "1 day, 2:03:04.500000"},
		{`str(time.timedelta(hours=-1))`, "-1 day, 23:00:00"},
		{`str(time.timedelta(hours=1, minutes=30))`, "1:30:00"},
		{`time.duration("1h30m").total_seconds()`, "5400.0"},
		{`time.duration(90) == time.timedelta(minutes=1.5)`, "True"},
		{`time.duration("1h") * 2 + time.duration("30m")`, "2:30:00"},
		{`time.duration("1h") / time.duration("20m")`, "3.0"},
		{`time.duration("1h") // time.duration("25m")`, "2"},
		{`-time.duration("1h") < time.duration(0)`, "True"},
		{`abs(-time.duration("90s"))`, "0:01:30"},
		{`sum([time.duration("1m"), time.duration("2m")])`, "0:03:00"},
		{`(time.timedelta(days=2, seconds=5).days, time.timedelta(days=2, seconds=5).seconds)`, "(2, 5)"},
		{`time.duration("soon")`, `error: time.duration: "soon" is not a duration such as "1h30m", "90s" or "250ms"`},
		{`time.timedelta(days=200000)`, "error: time.timedelta: 1.728e+10 seconds is out of range (durations span about 292 years either way)"},
	})
}
