package pubsub

import (
	"regexp"
	"strings"
	"testing"
)

func TestMatchPattern(t *testing.T) {
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"orders.new", "orders.new", true},
		{"orders.new", "ORDERS.New", true},
		{"Orders.*", "orders.new", true},
		{"orders.*", "orders.new.eu", false},
		{"orders.*", "orders.", true},
		{"orders.*", "orders", false},
		{"orders.**", "orders", true},
		{"orders.**", "orders.new.eu", true},
		{"orders.**.new", "orders.new", true},
		{"orders.**.new", "orders.eu.de.new", true},
		{"orders.**.new", "orders.eu.de.old", false},
		{"**", "anything.at.all", true},
		{"*.*", "a.b", true},
		{"*.*", "a", false},
		{"a*", "abc", false}, // '*' is a whole segment, not a glob
		{"a*", "a*", true},
	} {
		if got := MatchPattern(c.pattern, c.name); got != c.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}

func TestMatcherOrder(t *testing.T) {
	m := NewMatcher([]string{"orders.*", "b.**", "orders.new", "a.*"})
	if p, ok := m.Match("orders.new"); !ok || p != "orders.new" {
		t.Errorf("the literal pattern should win, got %q %v", p, ok)
	}
	if p, ok := m.Match("orders.old"); !ok || p != "orders.*" {
		t.Errorf("got %q %v", p, ok)
	}
	if _, ok := m.Match("c"); ok {
		t.Error("c matched")
	}
	if _, ok := (*Matcher)(nil).Match("c"); ok {
		t.Error("a nil matcher matched")
	}
}

// patternRegexp is MatchPattern's meaning written as a regular
// expression, to check it against.
func patternRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	segs := strings.Split(strings.ToLower(pattern), ".")
	for i, s := range segs {
		switch s {
		case "**":
			// zero or more segments, with their dots
			if i == 0 {
				b.WriteString(`(?:[^.]*(?:\.|$))*`)
			} else {
				b.WriteString(`(?:\.[^.]*)*`)
			}
			continue
		case "*":
			s = `[^.]*`
		default:
			s = regexp.QuoteMeta(s)
		}
		if i > 0 && !(i == 1 && segs[0] == "**") {
			b.WriteString(`\.`)
		}
		b.WriteString(s)
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// FuzzMatchPattern checks the matcher against a regular expression on
// short ASCII patterns and names.
func FuzzMatchPattern(f *testing.F) {
	for _, s := range [][2]string{{"orders.*", "orders.new"}, {"orders.**.new", "orders.a.b.new"}, {"**", ""}, {"*.**", "a"}, {"a.**.**.b", "a.b"}, {"**.x", "x"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got := MatchPattern(pattern, name) // never panics
		if len(pattern) > 40 || len(name) > 40 || !ascii(pattern+name) {
			return
		}
		// The regexp is exact only where '**' stands alone between
		// segments that are not wildcards themselves.
		if strings.Contains(pattern, "**.**") || strings.HasPrefix(pattern, "**") {
			return
		}
		if want := patternRegexp(pattern).MatchString(strings.ToLower(name)); got != want {
			t.Fatalf("MatchPattern(%q, %q) = %v, the regexp says %v", pattern, name, got, want)
		}
	})
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
