package logging

import (
	"fmt"
	"strings"
	"testing"
)

func TestRecent(t *testing.T) {
	r := &Recent{Max: 3, MaxLine: 40}
	r.Write([]byte("one cid=a\ntwo cid=b\n\ttraceback of b\nthree "))
	r.Write([]byte("cid=a\n"))
	if got := r.Lines("cid=a"); len(got) != 2 || got[0] != "one cid=a" || got[1] != "three cid=a" {
		t.Fatalf("cid=a: %q", got)
	}
	if got := r.Lines("cid=b"); len(got) != 1 || got[0] != "two cid=b\n\ttraceback of b" {
		t.Fatalf("cid=b: %q", got)
	}
	r.Write([]byte("four cid=c " + strings.Repeat("x", 100) + "\n"))
	if got := r.Lines("cid="); len(got) != 3 || !strings.HasPrefix(got[0], "two") || len(got[2]) != 40 {
		t.Fatalf("after the limit: %q", got)
	}
	for i := range 10 {
		fmt.Fprintf(r, "line %d\n", i)
	}
	if got := r.Lines("line"); len(got) != 3 || got[0] != "line 7" || got[2] != "line 9" {
		t.Fatalf("ring: %q", got)
	}
}

func FuzzRecent(f *testing.F) {
	f.Add([]byte("a\n\tb\nc"), []byte("d\n"))
	f.Add([]byte("\t\n\n"), []byte(""))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		r := &Recent{Max: 4, MaxLine: 16}
		r.Write(a)
		r.Write(b)
		for _, l := range r.Lines("") {
			if len(l) > 16 {
				t.Fatalf("record longer than MaxLine: %q", l)
			}
		}
		if n := len(r.Lines("")); n > 4 {
			t.Fatalf("%d records", n)
		}
	})
}
