package password_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/password"
)

// One hash for the package's tests: argon2id is slow by design.
var hashed = sync.OnceValue(func() string { return password.Hash("correct horse") })

func TestHash(t *testing.T) {
	h := hashed()
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("hash format %q", h)
	}
	if !password.Check(h, "correct horse") || password.Check(h, "correct horsE") || password.Check("garbage", "x") {
		t.Fatal("Check is wrong")
	}
	if password.Hash("correct horse") == h {
		t.Fatal("hashes are not salted")
	}
}

// A verifier runs at most its number of checks at once: a check that
// finds every slot taken for its whole wait gives up with ErrBusy, and one
// whose context ends gives up with the context's error.
func TestVerifierBound(t *testing.T) {
	v := password.NewVerifier(1, 20*time.Millisecond)
	h := hashed()
	// Hold the only slot with a check of its own.
	started := make(chan struct{})
	held := make(chan bool)
	go func() {
		close(started)
		ok, _ := v.Verify(context.Background(), h, "correct horse")
		held <- ok
	}()
	<-started
	// Wait until the slot is taken: a check with no wait left is busy.
	for {
		ok, err := v.Verify(context.Background(), "garbage", "x")
		if errors.Is(err, password.ErrBusy) {
			break
		}
		if err != nil || ok {
			t.Fatalf("check while the slot may be free: %v %v", ok, err)
		}
	}
	// A verifier has at least one slot, and a free one is taken even with
	// a done context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := password.NewVerifier(0, 0).Verify(ctx, "garbage", "x"); err != nil {
		t.Fatalf("a free slot was refused: %v", err)
	}
	if ok := <-held; !ok {
		t.Fatal("the right password did not verify")
	}
	// The slot is free again.
	if ok, err := v.Verify(context.Background(), "garbage", "x"); ok || err != nil {
		t.Fatalf("after the check ended: %v %v", ok, err)
	}
}

// A check waiting for a slot gives up when its context ends.
func TestVerifierContext(t *testing.T) {
	v := password.NewVerifier(1, time.Hour)
	h := hashed()
	done := make(chan struct{})
	go func() {
		defer close(done)
		v.Verify(context.Background(), h, "wrong")
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	for {
		_, err := v.Verify(ctx, "garbage", "x")
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatalf("waiting check: %v", err)
		}
	}
	<-done
}

// BenchmarkVerify is the success path of a log-in the server does not
// remember yet: one argon2id check through a verifier with a free slot.
func BenchmarkVerify(b *testing.B) {
	v := password.NewVerifier(2, time.Second)
	h := hashed()
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := v.Verify(context.Background(), h, "correct horse"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
