package leader

import (
	"context"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/store"
	"github.com/plexushq/plexus/internal/testenv"
)

// Of two nodes sharing a PostgreSQL database exactly one leads an
// election; when it leaves, the other takes over. Another schema (another
// environment), and another election, have their own leader.
func TestPostgresLeader(t *testing.T) {
	dsn := testenv.Postgres(t)
	ctx := context.Background()
	open := func(dsn string) *store.Store {
		st, err := store.Open(ctx, dsn, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a := &PostgresLeader{DB: open(dsn).DB(), Name: "test.election", Retry: 20 * time.Millisecond}
	b := &PostgresLeader{DB: open(dsn).DB(), Name: "test.election", Retry: 20 * time.Millisecond}
	other := &PostgresLeader{DB: open(testenv.Postgres(t)).DB(), Name: "test.election", Retry: 20 * time.Millisecond}
	// Another election on the same database has a leader of its own.
	another := &PostgresLeader{DB: open(dsn).DB(), Name: "test.another", Retry: 20 * time.Millisecond}
	for _, l := range []*PostgresLeader{a, b, other, another} {
		if err := l.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer l.Close()
	}
	// a and other took their locks at Start; b found a's taken.
	if !a.Leading() || b.Leading() || !other.Leading() || !another.Leading() {
		t.Fatalf("leading: a %v b %v other %v another %v; want a, other and another", a.Leading(), b.Leading(), other.Leading(), another.Leading())
	}
	time.Sleep(100 * time.Millisecond) // b retries a few times
	if b.Leading() {
		t.Fatal("b took a lock a holds")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.Changes():
	case <-time.After(5 * time.Second):
		t.Fatal("b did not take over")
	}
	if !b.Leading() || a.Leading() {
		t.Fatalf("after a left: a %v b %v", a.Leading(), b.Leading())
	}
}

// A server alone on SQLite always leads; on PostgreSQL the lock decides.
func TestFor(t *testing.T) {
	if l := For("sqlite", nil, "x", nil); !l.Leading() || l.Changes() != nil {
		t.Errorf("SQLite: %T leading %v", l, l.Leading())
	}
	if l, ok := For("postgres", nil, "x", nil).(*PostgresLeader); !ok || l.Name != "x" {
		t.Errorf("PostgreSQL: %#v", l)
	}
}
