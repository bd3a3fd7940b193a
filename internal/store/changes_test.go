package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/store"
)

// Changes returns what was written and removed after a revision, and
// CommitAt refuses a change made against a revision that is not the
// latest.
func TestChangesAndStaleCommits(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			defer st.Close()
			st.Commit(ctx, store.Change{Put: []store.Record{{Kind: "k", Name: "a", Body: []byte("1")}, {Kind: "k", Name: "b", Body: []byte("1")}},
				PutCode: []store.Code{{File: "x.star", Source: []byte("x")}}})
			if _, err := st.CommitAt(ctx, 1, store.Change{Put: []store.Record{{Kind: "k", Name: "a", Body: []byte("2")}},
				Delete: []store.Key{{Kind: "k", Name: "b"}}, DeleteCode: []string{"x.star"}}); err != nil {
				t.Fatal(err)
			}
			var stale *store.StaleError
			if _, err := st.CommitAt(ctx, 1, store.Change{Put: []store.Record{{Kind: "k", Name: "c", Body: []byte("3")}}}); !errors.As(err, &stale) || stale.Current != 2 {
				t.Fatalf("a change against revision 1 at revision 2: %v", err)
			}
			d, err := st.Changes(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if d.Rev != 2 || len(d.Objects) != 1 || d.Objects[0].Name != "a" || string(d.Objects[0].Body) != "2" || d.Objects[0].Rev != 2 ||
				len(d.Removed) != 1 || d.Removed[0] != (store.Key{Kind: "k", Name: "b"}) || len(d.Code) != 0 || len(d.RemovedCode) != 1 || d.RemovedCode[0] != "x.star" {
				t.Fatalf("changes after 1: %+v", d)
			}
			// Put back, a removed object is no longer a removal.
			st.Commit(ctx, store.Change{Put: []store.Record{{Kind: "k", Name: "b", Body: []byte("4")}}})
			if d, _ := st.Changes(ctx, 2); len(d.Removed) != 0 || len(d.Objects) != 1 || d.Rev != 3 {
				t.Fatalf("changes after 2: %+v", d)
			}
			if d, _ := st.Changes(ctx, 3); !d.Empty() || d.Rev != 3 {
				t.Fatalf("changes after the latest: %+v", d)
			}
		})
	}
}

// Every commit is announced to the listeners with its revision.
func TestListen(t *testing.T) {
	st := stores["postgres"](t)
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready, got := make(chan struct{}), make(chan int64, 10)
	done := make(chan error, 1)
	go func() {
		done <- st.Listen(ctx, "plexus store test", func() { close(ready) }, func(rev int64) { got <- rev })
	}()
	<-ready
	for want := int64(1); want <= 3; want++ {
		if _, err := st.Commit(context.Background(), store.Change{Put: []store.Record{{Kind: "k", Name: "a", Body: []byte("1")}}}); err != nil {
			t.Fatal(err)
		}
		select {
		case rev := <-got:
			if rev != want {
				t.Fatalf("announced %d, want %d", rev, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no announcement")
		}
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("Listen returned nil after its context ended")
	}
	sqlite := stores["sqlite"](t)
	defer sqlite.Close()
	if err := sqlite.Listen(context.Background(), "x", func() {}, func(int64) {}); err == nil {
		t.Fatal("SQLite listened")
	}
}
