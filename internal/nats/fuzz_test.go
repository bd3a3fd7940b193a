package nats

import (
	"strings"
	"testing"
	"time"
)

// FuzzSubject checks subjects are judged consistently: a subject taken
// for publishing has no wildcard, one taken for consuming has no empty
// token nor a > before its end, and neither holds a space.
func FuzzSubject(f *testing.F) {
	for _, s := range []string{"orders.new", "orders.*", "orders.>", "a..b", ".a", "a.>.b", "a b", ">", "*", "a.b*", "", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pub, sub := subjectProblem(s, false), subjectProblem(s, true)
		if pub == "" && sub != "" {
			t.Fatalf("%q: publishable, not consumable: %s", s, sub)
		}
		if pub == "" && hasWildcard(s) {
			t.Fatalf("%q: publishable with a wildcard", s)
		}
		if sub == "" {
			if strings.ContainsAny(s, " \t\r\n") || strings.Contains(s, "..") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
				t.Fatalf("%q taken", s)
			}
			if i := strings.Index(s, ".>."); i >= 0 || strings.HasPrefix(s, ">.") {
				t.Fatalf("%q: > before the end taken", s)
			}
		}
		if err := checkSubject("subject", s, true); (err == nil) != (sub == "" || s == "") {
			t.Fatalf("%q: checkSubject %v, subjectProblem %q", s, err, sub)
		}
	})
}

// FuzzBackOff checks a back_off field's durations: parsed ones are in
// range, and a value is refused, never a panic.
func FuzzBackOff(f *testing.F) {
	for _, s := range []string{"1s", "500ms, 10s", "1m,1h", "0s", "-1s", "25h", "soon", "", "1e9h", "1.5s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ds, err := ParseBackOff(strings.Split(s, ","))
		if err != nil {
			return
		}
		for _, d := range ds {
			if d < time.Millisecond || d > 24*time.Hour {
				t.Fatalf("%q: %s taken", s, d)
			}
		}
		if w := backOffFor(ds, 1+len(s)%7); len(ds) > 0 && w == 0 {
			t.Fatalf("%q: no wait", s)
		}
	})
}

// FuzzHeaders checks that headers a service sends are refused, or
// carried as NATS can carry them and read back as the service gave them.
func FuzzHeaders(f *testing.F) {
	f.Add("x-order", "o-42", "b")
	f.Add("Nats-Msg-Id", "m-1", "")
	f.Add("bad key", "v", "w")
	f.Add("k", "line\r\nbreak", "")
	f.Add("k:", "v", "")
	f.Add("ключ", "значение", "x")
	f.Fuzz(func(t *testing.T, key, value, second string) {
		for _, in := range []map[string]any{
			{key: value},
			{key: []any{value, second}},
			{key: map[string]any{"v": value}},
		} {
			h, err := natsHeaders(in)
			if err != nil {
				continue
			}
			for k, vs := range h {
				if k == "" || strings.ContainsAny(k, ": \t\r\n") {
					t.Fatalf("key %q taken", k)
				}
				for _, v := range vs {
					if strings.ContainsAny(v, "\r\n") {
						t.Fatalf("value %q taken", v)
					}
				}
			}
			back := headersOf(h)
			switch v := in[key].(type) {
			case string:
				if back[key] != v {
					t.Fatalf("%q: %q read back as %v", key, v, back[key])
				}
			case []any:
				l, ok := back[key].([]any)
				if !ok || len(l) != 2 || l[0] != v[0] || l[1] != v[1] {
					t.Fatalf("%q: %v read back as %v", key, v, back[key])
				}
			}
		}
	})
}
