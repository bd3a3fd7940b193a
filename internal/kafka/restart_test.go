package kafka_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/plexushq/plexus/internal/kafka"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/plexustest"
)

// A cluster restarted mid-stream (kfake keeping its data in a directory,
// on the same port): the channel and the connection reconnect and go on,
// and every record the test produced reaches the far topic: none lost,
// duplicates only where at-least-once delivery allows them (a record whose
// commit the restart cut off is consumed again), counted. kfake keeps
// answering on connections opened before it stopped, so whether the
// objects show degraded meanwhile depends on timing: TestUnreachable
// checks that status against brokers that do not answer.
func TestClusterRestart(t *testing.T) {
	k := newCluster(t, kfake.DataDir(t.TempDir()), kfake.SyncWrites(), kfake.SeedTopics(3, "in", "replies"))
	replies := k.client("replies")
	s := plexustest.Start(t, plexustest.Options{Timeout: 60 * time.Second})
	s.Deploy("relay.star", "def handle(self):\n    self.out.kafka[\"out\"].send(self.request.payload, topic=\"replies\")\n")
	s.Put(kafka.OutgoingKind, "out", map[string]any{"address": k.addr, "send_timeout": "60s"})
	s.Put(kafka.ChannelKind, "in", map[string]any{"address": k.addr, "topics": []string{"in"}, "service": "relay", "data_format": "text"})
	s.WaitState(kafka.ChannelKind, "in", "running")
	s.WaitState(kafka.OutgoingKind, "out", "running")

	const total = 300
	producer, err := kgo.NewClient(kgo.SeedBrokers(k.addr), kgo.RecordDeliveryTimeout(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	produced := make(chan int, total)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // produces at a steady pace, through the restart
		defer wg.Done()
		for i := range total {
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				err := producer.ProduceSync(ctx, &kgo.Record{Topic: "in", Value: []byte(fmt.Sprint(i))}).FirstErr()
				cancel()
				if err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			produced <- i
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for len(produced) < total/3 {
		time.Sleep(10 * time.Millisecond)
	}
	k.c.Close()
	k.start()
	wg.Wait()

	seen := map[string]int{}
	for len(seen) < total {
		r, ok := next(t, replies, 2*time.Minute)
		if !ok {
			t.Fatalf("%d of %d records arrived\n%s", len(seen), total, s.Log.Lines("level=WARN"))
		}
		seen[string(r.Value)]++
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	for { // any late duplicates
		if _, ok := next(t, replies, time.Second); !ok {
			break
		}
		dups++
	}
	t.Logf("%d records in, %d distinct out, %d duplicates", total, len(seen), dups)
	if dups > 2*10 { // at most one poll (max_in_flight) consumed again, and the producer's records in flight
		t.Errorf("%d duplicates: more than at-least-once delivery explains", dups)
	}
}

// Brokers that cannot be reached leave the channel and the connection
// degraded, saying why, and the server up; a send fails with a clear
// error instead of waiting forever.
func TestUnreachable(t *testing.T) {
	addr := testenv.FreeAddr(t)
	s := plexustest.Start(t, plexustest.Options{})
	s.Deploy("relay.star", "def handle(self):\n    self.out.kafka[\"out\"].send(self.request.payload, topic=\"replies\")\n")
	s.Put(kafka.OutgoingKind, "out", map[string]any{"address": addr, "send_timeout": "1s"})
	s.Put(kafka.ChannelKind, "in", map[string]any{"address": addr, "topics": []string{"in"}, "service": "relay"})
	for _, kind := range []string{kafka.ChannelKind, kafka.OutgoingKind} {
		st := s.WaitState(kind, map[string]string{kafka.ChannelKind: "in", kafka.OutgoingKind: "out"}[kind], "degraded")
		if e, _ := st["error"].(string); !strings.Contains(e, "reaching the brokers") {
			t.Errorf("%s: %v", kind, st)
		}
	}
	if r := s.Call("GET", "/health", "", nil); r.StatusCode != 200 {
		t.Errorf("the server: %d", r.StatusCode)
	}
}
