package secret

import (
	"bytes"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	b, err := New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	s := b.Seal("hunter2")
	if !IsSealed(s) || strings.Contains(s, "hunter2") || s == b.Seal("hunter2") {
		t.Fatalf("sealed %q", s)
	}
	if got, err := b.Open(s); err != nil || got != "hunter2" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if got, _ := b.Open("plain"); got != "plain" {
		t.Errorf("plain values pass through: %q", got)
	}
	if b.Seal("") != "" {
		t.Error("empty secrets stay empty")
	}
	other, _ := New(bytes.Repeat([]byte{2}, 32))
	if _, err := other.Open(s); err != ErrWrongKey {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := b.Open(Prefix + "!!"); err == nil {
		t.Error("malformed value opened")
	}
	if _, err := New([]byte("short")); err == nil {
		t.Error("short key accepted")
	}
}

func FuzzOpen(f *testing.F) {
	b, _ := New(bytes.Repeat([]byte{1}, 32))
	f.Add(b.Seal("x"))
	f.Add(Prefix + "AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		b.Open(s)
	})
}
