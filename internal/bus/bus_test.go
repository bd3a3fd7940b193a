package bus_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/plexushq/plexus/internal/bus"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/sdk/service"
)

type got struct {
	node string
	data string
	own  bool
}

// A message published on one node reaches every node's handler of its
// kind, the sender's as its own; other kinds' handlers do not see it.
func TestPublish(t *testing.T) {
	dsn := testenv.Postgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	seen := make(chan got, 10)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var nodes []*bus.Bus
	for _, id := range []string{"a", "b"} {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		b := bus.New(db, id, log)
		b.Handle("greeting", func(data []byte, own bool) { seen <- got{id, string(data), own} })
		b.Handle("other", func([]byte, bool) { t.Error("the other kind's handler got a message") })
		go b.Run(ctx)
		nodes = append(nodes, b)
	}
	// Listening starts in the background: publish until both have it.
	want := map[string]bool{"a": true, "b": false}
	deadline := time.After(20 * time.Second)
	for len(want) > 0 {
		if err := nodes[0].Publish("greeting", []byte("hello")); err != nil {
			t.Fatal(err)
		}
		select {
		case g := <-seen:
			if g.data != "hello" {
				t.Fatalf("%+v", g)
			}
			if own, ok := want[g.node]; ok {
				if g.own != own {
					t.Errorf("node %s: own %v, want %v", g.node, g.own, own)
				}
				delete(want, g.node)
			}
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("not delivered to %v", want)
		}
	}
}

// A message too large for a notification is refused with 413, before
// anything is sent.
func TestTooLarge(t *testing.T) {
	b := bus.New(nil, "a", slog.New(slog.NewTextHandler(io.Discard, nil)))
	err := b.Publish("greeting", []byte(strings.Repeat("x", bus.MaxPayload+1)))
	if service.StatusOf(err) != 413 {
		t.Fatalf("%v", err)
	}
	if err := b.Publish("greeting", []byte(strings.Repeat("x", bus.MaxPayload))); err != nil {
		t.Fatalf("the largest message: %v", err)
	}
}
