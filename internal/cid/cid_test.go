package cid

import "testing"

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := New()
		if !Valid(c) {
			t.Fatalf("New() = %q, not a valid CID", c)
		}
		if seen[c] {
			t.Fatalf("New() repeated %q", c)
		}
		seen[c] = true
	}
}

func TestValid(t *testing.T) {
	for s, want := range map[string]bool{
		"0ee199609d5020d7cb8ca924":  true,
		"0EE199609D5020D7CB8CA924":  false,
		"0ee199609d5020d7cb8ca92":   false,
		"0ee199609d5020d7cb8ca9245": false,
		"0ee199609d5020d7cb8ca92g":  false,
	} {
		if got := Valid(s); got != want {
			t.Errorf("Valid(%q) = %v, want %v", s, got, want)
		}
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		New()
	}
}
