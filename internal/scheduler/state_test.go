package scheduler

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/store"
)

// A lazy state is written once it is due, even when nothing else is
// queued after it; a state that is not lazy goes with the next batch.
func TestLazyStateWrittenWhenDue(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := newStateStore(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.lazyEvery = time.Second
	s.start()
	defer s.close()

	s.put("lazy", runState{RunCount: 3}, nil, true)
	s.put("urgent", runState{RunCount: 7}, nil, false)
	waitStored(t, s, "urgent", 7, time.Second)
	if got, _ := s.load(ctx); got["lazy"].RunCount != 0 {
		t.Fatalf("the lazy state was written before it was due: %+v", got["lazy"])
	}
	waitStored(t, s, "lazy", 3, 5*time.Second)

	// A newer lazy state replaces the queued one; a delete drops it.
	s.put("lazy", runState{RunCount: 4}, nil, true)
	s.put("lazy", runState{RunCount: 5}, nil, true)
	s.put("dropped", runState{RunCount: 9}, nil, true)
	s.delete("dropped")
	waitStored(t, s, "lazy", 5, 5*time.Second)
	if got, _ := s.load(ctx); got["dropped"].RunCount != 0 {
		t.Fatalf("a deleted job's lazy state was written: %+v", got["dropped"])
	}
}

// waitStored waits until the store holds a job's run count, without
// flushing (a flush writes lazy states at once).
func waitStored(t *testing.T, s *stateStore, job string, runs int64, within time.Duration) {
	t.Helper()
	for end := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		got, err := s.load(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got[job].RunCount == runs {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("job %s: run count %d in the store after %s, want %d", job, got[job].RunCount, within, runs)
		}
	}
}
