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

func TestMatchPattern32(t *testing.T) {
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"/*", "/orders/new", true}, // a prefix match, as in 3.2
		{"/*", "orders", false},
		{"/orders/*", "/orders/new", true},
		{"/orders/*", "/Orders/NEW", true},
		{"/Orders/*", "/orders/new", true},
		{"/orders/*", "/invoices/new", false},
		{"/orders/*/eu", "/orders/new/eu", true},
		{"/orders/*/eu", "/orders/new/de/eu", false},
		{"/orders/**/eu", "/orders/new/de/eu", true},
		{"/orders/**/eu", "/orders/eu", false}, // '**' does not swallow the slashes around it
		{"/orders/**eu", "/orders/eu", true},
		{"/orders/new", "/orders/new/eu", true},
		{"/orders/new", "/orders/ne", false},
		{"/orders/?ew", "/orders/new", true},
		{"/orders/?ew", "/orders//ew", false},
		{"/orders/[a-m]*", "/orders/new", false},
		{"/orders/[n-z]*", "/orders/new", true},
		{"/orders/[!n]*", "/orders/new", false},
		{"/orders/[^n]*", "/orders/old", true},
		{"/orders/[]]", "/orders/]", true},
		{`/orders/\*`, "/orders/*", true},
		{`/orders/\*`, "/orders/new", false},
		{"/orders/{new}", "/orders/new", false}, // refused by CheckPattern, matches nothing
		{"/orders/[new", "/orders/n", false},
		{"orders.*", "/orders.new", false}, // current Zato's patterns keep their rules
	} {
		if got := MatchPattern(c.pattern, c.name); got != c.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}

func TestCheckPattern(t *testing.T) {
	for _, p := range []string{"orders.*", "/orders/*", "/orders/**", "/[a-z]?", `/a\*`, "/a/[!x]"} {
		if err := CheckPattern(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for p, want := range map[string]string{
		"":                                  "empty",
		"/orders/{new|old}":                 "inline regular expressions",
		"/orders/[a-":                       "no closing ']'",
		`/orders/\`:                         "escapes nothing",
		"/orders/[z-a]":                     "backwards",
		"/a#":                               "'#'",
		strings.Repeat("a", MaxTopicName+1): "at most",
	} {
		if err := CheckPattern(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error saying %q", p, err, want)
		}
	}
}

func TestMatcherOrder32(t *testing.T) {
	m := NewMatcher([]string{"/orders/*", "/orders/new", "orders.*", "orders.new"})
	for name, want := range map[string]string{"/orders/new": "/orders/new", "/orders/old": "/orders/*", "orders.new": "orders.new", "orders.x": "orders.*"} {
		if p, ok := m.Match(name); !ok || p != want {
			t.Errorf("%s: got %q %v, want %q", name, p, ok, want)
		}
	}
	if _, ok := m.Match("/invoices/new"); ok {
		t.Error("/invoices/new matched")
	}
}

// globRegexp is a 3.2 pattern's meaning written as a regular expression
// (the way 3.2 compiled them, anchored at the start only), for patterns
// of literal characters, '\' escapes, '?', '*' and '**'.
func globRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	p := strings.ToLower(pattern)
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '\\' && i+1 < len(p):
			i++
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case p[i] == '*':
			b.WriteString("[^/]*")
		case p[i] == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	return regexp.MustCompile(b.String())
}

// FuzzMatchPattern32 checks the matcher of 3.2 patterns against a regular
// expression: it never panics, and on patterns of literals, '?', '*' and
// '**' it agrees with the expression.
func FuzzMatchPattern32(f *testing.F) {
	for _, s := range [][2]string{{"/*", "/orders/new"}, {"/orders/**/eu", "/orders/a/b/eu"}, {"/o?d", "/old"}, {"/[a-c]*", "/b/x"}, {`/\*`, "/*"}, {"/a**b*", "/a/b/cb"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got := MatchPattern("/"+pattern, name) // never panics
		if err := CheckPattern("/" + pattern); err != nil && got {
			t.Fatalf("MatchPattern(%q, %q) matched a pattern CheckPattern refuses: %v", "/"+pattern, name, err)
		}
		if len(pattern) > 40 || len(name) > 60 || !ascii(pattern+name) || strings.ContainsAny(pattern, "[]{}#") {
			return
		}
		if err := CheckPattern("/" + pattern); err != nil {
			if trailing := len(pattern) - len(strings.TrimRight(pattern, `\`)); trailing%2 == 1 {
				return // a trailing '\' escapes nothing
			}
			t.Fatalf("CheckPattern(%q): %v", "/"+pattern, err)
		}
		if want := globRegexp("/" + pattern).MatchString(strings.ToLower(name)); got != want {
			t.Fatalf("MatchPattern(%q, %q) = %v, the regexp says %v", "/"+pattern, name, got, want)
		}
	})
}
