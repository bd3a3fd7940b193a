package dispatch

import (
	"net/textproto"
	"strings"
	"testing"
)

// Replies are keyed so that the same request, its query parameters in
// any order, has one key, and requests that differ in the path, the query
// or a chosen header do not share one.
func FuzzResponseKey(f *testing.F) {
	f.Add("/a", "x=1&y=2", "pl", "/a", "y=2&x=1", "pl")
	f.Add("/a", "x=1", "", "/a", "x=1", "en")
	f.Add("/a?x", "", "", "/a", "x", "")
	f.Fuzz(func(t *testing.T, p1, q1, h1, p2, q2, h2 string) {
		rc := &ResponseCache{Headers: []string{"Accept-Language"}}
		key := func(p, q, h string) string {
			x := &Exchange{Request: Request{Channel: &Channel{Name: "c"}, Path: p, Query: q, Headers: textproto.MIMEHeader{}}}
			if h != "" {
				x.Headers.Set("Accept-Language", h)
			}
			return responseKey(x, rc)
		}
		k1, k2 := key(p1, q1, h1), key(p2, q2, h2)
		if !strings.HasPrefix(k1, ResponseKeyPrefix("c")) {
			t.Fatalf("key %q lacks the channel's prefix", k1)
		}
		// Paths never hold ? or a newline, nor headers a newline, in
		// requests that reach a channel.
		for _, s := range []string{p1, p2} {
			if strings.ContainsAny(s, "?\n") {
				return
			}
		}
		for _, s := range []string{h1, h2, q1, q2} {
			if strings.ContainsAny(s, "\n") {
				return
			}
		}
		same := p1 == p2 && h1 == h2 && sortedParams(q1) == sortedParams(q2)
		if same != (k1 == k2) {
			t.Fatalf("(%q %q %q) and (%q %q %q): keys %q and %q", p1, q1, h1, p2, q2, h2, k1, k2)
		}
	})
}

func sortedParams(q string) string {
	if q == "" {
		return ""
	}
	x := &Exchange{Request: Request{Channel: &Channel{Name: ""}, Query: q}}
	return responseKey(x, &ResponseCache{})
}
