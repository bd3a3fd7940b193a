package broker_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/sdk/service"
)

type sess struct{ closed atomic.Bool }

// A send waits for the session Run brings up, skips one the broker
// closed, and fails with 504 saying why when none comes in time.
func TestSession(t *testing.T) {
	h := broker.NewSession("the broker could not be reached in time", func(s *sess) bool { return !s.closed.Load() })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err := h.Wait(ctx)
	cancel()
	var se *service.Error
	if !errors.As(err, &se) || se.Status != 504 || se.Message != "the broker could not be reached in time" {
		t.Fatalf("no session: %v", err)
	}

	got := make(chan *sess)
	go func() {
		s, err := h.Wait(context.Background())
		if err != nil {
			t.Error(err)
		}
		got <- s
	}()
	first := &sess{}
	h.Up(first)
	if s := <-got; s != first {
		t.Fatalf("waited for %p, got %p", first, s)
	}

	first.closed.Store(true) // the broker closed it; Run not told yet
	h.Failed(errors.New("connection refused"))
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	_, err = h.Wait(ctx)
	cancel()
	if !errors.As(err, &se) || !strings.HasSuffix(se.Message, ": connection refused") {
		t.Fatalf("closed session: %v", err)
	}

	h.Down(errors.New("lost"))
	if h.Current() != nil {
		t.Fatal("a session after Down")
	}
	second := &sess{}
	go func() {
		s, _ := h.Wait(context.Background())
		got <- s
	}()
	h.Up(second)
	if s := <-got; s != second {
		t.Fatalf("waited for %p, got %p", second, s)
	}
	if h.Take() != second || h.Current() != nil {
		t.Fatal("Take did not forget the session")
	}
}

// TestSessionUpTwice checks that a session replacing another without a
// Down in between is taken, not a panic.
func TestSessionUpTwice(t *testing.T) {
	h := broker.NewSession[int]("unreachable", nil)
	h.Up(1)
	h.Up(2)
	got, err := h.Wait(context.Background())
	if err != nil || got != 2 {
		t.Fatalf("Wait = %d, %v; want 2, nil", got, err)
	}
}
