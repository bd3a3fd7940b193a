package main

import (
	"bytes"
	"testing"
)

// frame returns an unmasked server frame.
func frame(op byte, payload []byte) []byte {
	b := []byte{0x80 | op}
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n < 1<<16:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, payload...)
}

// FuzzFeed checks that a stream of frames counts the same data messages
// whatever the reads it arrives in.
func FuzzFeed(f *testing.F) {
	var stream []byte
	for _, n := range []int{0, 5, 200, 125, 126, 300, 70000} {
		stream = append(stream, frame(0x1, bytes.Repeat([]byte("b"), n))...)
	}
	stream = append(stream, frame(0x9, []byte("ping"))...) // a ping: not counted
	f.Add(stream, uint16(1))
	f.Add(stream, uint16(7))
	f.Add(stream, uint16(4096))
	f.Fuzz(func(t *testing.T, b []byte, step uint16) {
		step = max(step, 1)
		var whole, split frameState
		whole.left, split.left = -1, -1
		want := whole.feed(-1, b)
		var got int64
		for i := 0; i < len(b); i += int(step) {
			got += split.feed(-1, b[i:min(i+int(step), len(b))])
		}
		if got != want {
			t.Fatalf("%d messages read in pieces of %d, %d at once", got, step, want)
		}
		if bytes.Equal(b, stream) && want != 7 {
			t.Fatalf("%d messages in the seed stream, want 7", want)
		}
	})
}
