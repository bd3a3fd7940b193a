package stdlib

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

var (
	dayNames   = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

// strftime formats t with Python's (C's) % directives.
func strftime(t time.Time, format string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(format) {
			return "", fmt.Errorf("format %q ends with a lone %%", format)
		}
		i++
		if err := directive(&b, t, format[i]); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

func directive(b *strings.Builder, t time.Time, d byte) error {
	switch d {
	case 'a':
		b.WriteString(dayNames[t.Weekday()][:3])
	case 'A':
		b.WriteString(dayNames[t.Weekday()])
	case 'w':
		b.WriteString(strconv.Itoa(int(t.Weekday())))
	case 'u':
		b.WriteString(strconv.Itoa((int(t.Weekday())+6)%7 + 1))
	case 'd':
		fmt.Fprintf(b, "%02d", t.Day())
	case 'e':
		fmt.Fprintf(b, "%2d", t.Day())
	case 'b', 'h':
		b.WriteString(monthNames[t.Month()-1][:3])
	case 'B':
		b.WriteString(monthNames[t.Month()-1])
	case 'm':
		fmt.Fprintf(b, "%02d", int(t.Month()))
	case 'y':
		fmt.Fprintf(b, "%02d", t.Year()%100)
	case 'Y':
		fmt.Fprintf(b, "%04d", t.Year())
	case 'C':
		fmt.Fprintf(b, "%02d", t.Year()/100)
	case 'G':
		y, _ := t.ISOWeek()
		fmt.Fprintf(b, "%04d", y)
	case 'V':
		_, w := t.ISOWeek()
		fmt.Fprintf(b, "%02d", w)
	case 'H':
		fmt.Fprintf(b, "%02d", t.Hour())
	case 'I':
		fmt.Fprintf(b, "%02d", (t.Hour()+11)%12+1)
	case 'p':
		if t.Hour() < 12 {
			b.WriteString("AM")
		} else {
			b.WriteString("PM")
		}
	case 'M':
		fmt.Fprintf(b, "%02d", t.Minute())
	case 'S':
		fmt.Fprintf(b, "%02d", t.Second())
	case 'f':
		fmt.Fprintf(b, "%06d", t.Nanosecond()/1000)
	case 'z':
		b.WriteString(offset(t, false))
	case 'Z':
		name, _ := t.Zone()
		b.WriteString(name)
	case 'j':
		fmt.Fprintf(b, "%03d", t.YearDay())
	case 'U':
		fmt.Fprintf(b, "%02d", (t.YearDay()+6-int(t.Weekday()))/7)
	case 'W':
		fmt.Fprintf(b, "%02d", (t.YearDay()+6-(int(t.Weekday())+6)%7)/7)
	case 'c':
		fmt.Fprintf(b, "%s %s %2d %02d:%02d:%02d %d", dayNames[t.Weekday()][:3], monthNames[t.Month()-1][:3], t.Day(), t.Hour(), t.Minute(), t.Second(), t.Year())
	case 'x', 'D':
		fmt.Fprintf(b, "%02d/%02d/%02d", int(t.Month()), t.Day(), t.Year()%100)
	case 'X', 'T':
		fmt.Fprintf(b, "%02d:%02d:%02d", t.Hour(), t.Minute(), t.Second())
	case 'R':
		fmt.Fprintf(b, "%02d:%02d", t.Hour(), t.Minute())
	case 'F':
		fmt.Fprintf(b, "%04d-%02d-%02d", t.Year(), int(t.Month()), t.Day())
	case 's':
		b.WriteString(strconv.FormatInt(t.Unix(), 10))
	case 'n':
		b.WriteByte('\n')
	case 't':
		b.WriteByte('\t')
	case '%':
		b.WriteByte('%')
	default:
		return fmt.Errorf("unknown directive %%%c", d)
	}
	return nil
}

// strptime parses s with Python's % directives; the whole of s must
// match. A time without %z is in loc.
func strptime(s, format string, loc *time.Location) (time.Time, error) {
	p := &strptimeState{s: s, year: 1900, month: 1, day: 1, hour: -1}
	if err := p.run(format); err != nil {
		return time.Time{}, err
	}
	if p.pos < len(s) {
		return time.Time{}, fmt.Errorf("unconverted data remains: %q (parsing %q with %q)", s[p.pos:], s, format)
	}
	return p.time(loc, s, format)
}

type strptimeState struct {
	s   string
	pos int

	year, month, day, yday int
	hour, hour12, minute   int
	second, nsec           int
	pm, hasPM              bool
	offset                 *int
	utc                    bool
}

func (p *strptimeState) run(format string) error {
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch {
		case c == '%':
			if i+1 >= len(format) {
				return fmt.Errorf("format %q ends with a lone %%", format)
			}
			i++
			if err := p.directive(format[i]); err != nil {
				return err
			}
		case c == ' ' || c == '\t' || c == '\n':
			for p.pos < len(p.s) && unicode.IsSpace(rune(p.s[p.pos])) {
				p.pos++
			}
		default:
			if p.pos >= len(p.s) || p.s[p.pos] != c {
				return p.mismatch(format)
			}
			p.pos++
		}
	}
	return nil
}

func (p *strptimeState) mismatch(format string) error {
	return fmt.Errorf("time data %q does not match format %q", p.s, format)
}

// number reads 1 to max digits.
func (p *strptimeState) number(max int, what string) (int, error) {
	start := p.pos
	for p.pos < len(p.s) && p.pos-start < max && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == start {
		return 0, fmt.Errorf("time data %q: want %s at %q", p.s, what, p.s[start:])
	}
	n, _ := strconv.Atoi(p.s[start:p.pos])
	return n, nil
}

// name reads one of names (or their first three letters), in any case,
// and returns its index.
func (p *strptimeState) name(names []string, what string) (int, error) {
	rest := strings.ToLower(p.s[p.pos:])
	for _, full := range []bool{true, false} {
		for i, n := range names {
			n = strings.ToLower(n)
			if !full {
				n = n[:3]
			}
			if strings.HasPrefix(rest, n) {
				p.pos += len(n)
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("time data %q: want %s at %q", p.s, what, p.s[p.pos:])
}

func (p *strptimeState) directive(d byte) error {
	var err error
	switch d {
	case 'Y':
		p.year, err = p.number(4, "a year")
	case 'y':
		var y int
		if y, err = p.number(2, "a two-digit year"); err == nil {
			if y < 69 {
				p.year = 2000 + y
			} else {
				p.year = 1900 + y
			}
		}
	case 'm':
		p.month, err = p.number(2, "a month")
	case 'd', 'e':
		for p.pos < len(p.s) && p.s[p.pos] == ' ' && d == 'e' {
			p.pos++
		}
		p.day, err = p.number(2, "a day")
	case 'j':
		p.yday, err = p.number(3, "a day of the year")
	case 'H':
		p.hour, err = p.number(2, "an hour")
	case 'I':
		p.hour12, err = p.number(2, "an hour")
		if p.hour < 0 {
			p.hour = -2 // set from hour12 at the end
		}
	case 'M':
		p.minute, err = p.number(2, "minutes")
	case 'S':
		p.second, err = p.number(2, "seconds")
	case 'f':
		start := p.pos
		var n int
		if n, err = p.number(9, "a fraction of a second"); err == nil {
			digits := p.pos - start
			for ; digits < 9; digits++ {
				n *= 10
			}
			p.nsec = n
		}
	case 'p':
		rest := strings.ToUpper(p.s[p.pos:])
		switch {
		case strings.HasPrefix(rest, "AM"):
			p.hasPM, p.pm = true, false
		case strings.HasPrefix(rest, "PM"):
			p.hasPM, p.pm = true, true
		default:
			return fmt.Errorf("time data %q: want AM or PM at %q", p.s, p.s[p.pos:])
		}
		p.pos += 2
	case 'b', 'B', 'h':
		var m int
		if m, err = p.name(monthNames, "a month name"); err == nil {
			p.month = m + 1
		}
	case 'a', 'A':
		_, err = p.name(dayNames, "a day name")
	case 'w', 'u':
		_, err = p.number(1, "a weekday")
	case 'z':
		rest := p.s[p.pos:]
		if strings.HasPrefix(rest, "Z") {
			p.pos++
			zero := 0
			p.offset = &zero
			return nil
		}
		n := 0
		for n < len(rest) && n < 9 && (n == 0 && (rest[0] == '+' || rest[0] == '-') || n > 0 && (rest[n] >= '0' && rest[n] <= '9' || rest[n] == ':')) {
			n++
		}
		off, ok := parseOffset(rest[:n])
		if !ok {
			return fmt.Errorf("time data %q: want a UTC offset such as +0200 at %q", p.s, rest)
		}
		p.pos += n
		p.offset = &off
	case 'Z':
		rest := strings.ToUpper(p.s[p.pos:])
		switch {
		case strings.HasPrefix(rest, "UTC"), strings.HasPrefix(rest, "GMT"):
			p.pos += 3
			p.utc = true
		default:
			return fmt.Errorf("time data %q: %%Z reads only UTC and GMT; use %%z for offsets such as +0200", p.s)
		}
	case 'T':
		return p.run("%H:%M:%S")
	case 'R':
		return p.run("%H:%M")
	case 'D', 'x':
		return p.run("%m/%d/%y")
	case 'X':
		return p.run("%H:%M:%S")
	case 'F':
		return p.run("%Y-%m-%d")
	case 'c':
		return p.run("%a %b %d %H:%M:%S %Y")
	case 'n', 't':
		for p.pos < len(p.s) && unicode.IsSpace(rune(p.s[p.pos])) {
			p.pos++
		}
	case '%':
		if p.pos >= len(p.s) || p.s[p.pos] != '%' {
			return fmt.Errorf("time data %q: want %% at %q", p.s, p.s[p.pos:])
		}
		p.pos++
	default:
		return fmt.Errorf("unknown directive %%%c", d)
	}
	return err
}

func (p *strptimeState) time(loc *time.Location, s, format string) (time.Time, error) {
	hour := p.hour
	switch {
	case p.hour == -2 || (p.hasPM && p.hour < 0):
		if p.hour12 < 1 || p.hour12 > 12 {
			return time.Time{}, fmt.Errorf("time data %q: hour %d is out of range 1..12", s, p.hour12)
		}
		hour = p.hour12 % 12
		if p.pm {
			hour += 12
		}
	case hour < 0:
		hour = 0
	}
	if p.month < 1 || p.month > 12 || p.day < 1 || p.day > 31 || hour > 23 || p.minute > 59 || p.second > 61 {
		return time.Time{}, fmt.Errorf("time data %q: a field is out of range (format %q)", s, format)
	}
	switch {
	case p.offset != nil:
		loc = time.FixedZone("", *p.offset)
		if *p.offset == 0 {
			loc = time.UTC
		}
	case p.utc:
		loc = time.UTC
	}
	month, day := p.month, p.day
	if p.yday > 0 {
		t := time.Date(p.year, 1, 1, 0, 0, 0, 0, loc).AddDate(0, 0, p.yday-1)
		month, day = int(t.Month()), t.Day()
	}
	t := time.Date(p.year, time.Month(month), day, hour, p.minute, min(p.second, 59), p.nsec, loc)
	if t.Day() != day {
		return time.Time{}, fmt.Errorf("time data %q: day %d is out of range for %d-%02d", s, day, p.year, month)
	}
	return t, nil
}
