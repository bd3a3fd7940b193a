package pubsub_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/pubsub"
	"github.com/plexushq/plexus/internal/testhook"
	"github.com/plexushq/plexus/plexustest"
)

// benchStores runs a benchmark on SQLite and, with PLEXUS_TEST_POSTGRES,
// on PostgreSQL.
func benchStores(b *testing.B, bench func(b *testing.B, db string)) {
	b.Run("sqlite", func(b *testing.B) { bench(b, "") })
	if pg := os.Getenv("PLEXUS_TEST_POSTGRES"); pg != "" {
		b.Run("postgres", func(b *testing.B) { bench(b, pg) })
	}
}

// payload1K is a 1 KB message.
var payload1K = json.RawMessage(`"` + strings.Repeat("x", 1022) + `"`)

func benchServer(b *testing.B, db string) (*plexustest.Server, *pubsub.Engine, *recorder) {
	rec := &recorder{}
	s := plexustest.Start(b, plexustest.Options{DB: db, Services: []any{rec}})
	s.Put(pubsub.KindTopic, "bench", map[string]any{"max_depth": 100_000_000})
	return s, testhook.Server(s).PubSub, rec
}

// BenchmarkPublish: a durable publish of 1 KB to a topic with one (paused)
// push subscription, committed before it returns.
func BenchmarkPublish(b *testing.B) {
	benchStores(b, func(b *testing.B, db string) {
		s, eng, _ := benchServer(b, db)
		s.Put(pubsub.KindSubscription, "bench", map[string]any{"topics": []string{"bench"}, "delivery_type": "push", "push_service": "t.recv"})
		ctx := context.Background()
		if err := eng.Pause(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(payload1K)))
		b.ResetTimer()
		for b.Loop() {
			if _, err := eng.Publish(ctx, pubsub.PublishRequest{Topic: "bench", Data: payload1K}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPublishDeliver: durable publishes of 1 KB, each pushed to a
// Go service; the time is until the last one is delivered.
func BenchmarkPublishDeliver(b *testing.B) {
	benchStores(b, func(b *testing.B, db string) {
		s, eng, rec := benchServer(b, db)
		s.Put(pubsub.KindSubscription, "bench", map[string]any{"topics": []string{"bench"}, "delivery_type": "push", "push_service": "t.recv"})
		s.WaitState(pubsub.KindSubscription, "bench", "running")
		ctx := context.Background()
		b.SetBytes(int64(len(payload1K)))
		b.ResetTimer()
		n := 0
		for b.Loop() {
			if _, err := eng.Publish(ctx, pubsub.PublishRequest{Topic: "bench", Data: payload1K}); err != nil {
				b.Fatal(err)
			}
			n++
		}
		for deadline := time.Now().Add(5 * time.Minute); len(rec.messages()) < n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d delivered", len(rec.messages()), n)
			}
		}
	})
}

// BenchmarkPublishDeliverParallel: durable publishes of 1 KB from many
// goroutines at once (group commit shares their transactions), each
// pushed to a Go service; the time is until the last one is delivered.
func BenchmarkPublishDeliverParallel(b *testing.B) {
	benchStores(b, func(b *testing.B, db string) {
		s, eng, rec := benchServer(b, db)
		s.Put(pubsub.KindSubscription, "bench", map[string]any{"topics": []string{"bench"}, "delivery_type": "push", "push_service": "t.recv"})
		s.WaitState(pubsub.KindSubscription, "bench", "running")
		ctx := context.Background()
		b.SetBytes(int64(len(payload1K)))
		b.SetParallelism(8)
		var n atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := eng.Publish(ctx, pubsub.PublishRequest{Topic: "bench", Data: payload1K}); err != nil {
					b.Error(err)
					return
				}
				n.Add(1)
			}
		})
		for deadline := time.Now().Add(5 * time.Minute); int64(len(rec.messages())) < n.Load(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d delivered", len(rec.messages()), n.Load())
			}
		}
	})
}

// A claim reads its batch from the head of the queue's index, without
// sorting the queue: its cost does not grow with the queue's depth.
func TestClaimReadsTheHeadOfTheQueue(t *testing.T) {
	stores(t, func(t *testing.T, db string) {
		rec := &recorder{}
		s := plexustest.Start(t, plexustest.Options{DB: db, Services: []any{rec}})
		s.Put(pubsub.KindTopic, "deep", map[string]any{})
		s.Put(pubsub.KindSubscription, "deep", map[string]any{"topics": []string{"deep"}, "delivery_type": "push", "push_service": "t.recv"})
		eng := testhook.Server(s).PubSub
		ctx := context.Background()
		if err := eng.Pause(ctx, "deep"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 250 {
					if _, err := eng.Publish(ctx, pubsub.PublishRequest{Topic: "deep", Data: json.RawMessage(`{"n": 1}`)}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		plan, err := eng.ClaimPlan(ctx, "deep")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "pubsub_delivery_pending") || strings.Contains(plan, "Sort") || strings.Contains(plan, "TEMP B-TREE") {
			t.Fatalf("the claim of a queue of 2,000 messages does not read the head of its index:\n%s", plan)
		}
	})
}
