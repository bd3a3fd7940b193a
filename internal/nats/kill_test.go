package nats_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/testenv"
)

// Plexus killed with SIGKILL while it relays messages from a JetStream
// channel loses none: what it had not acknowledged is delivered again
// once it is started again (after ack_wait), so every message the test
// published is relayed, duplicates only for the messages in flight at
// the kill, counted.
func TestKilledWhileConsuming(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plexus binary")
	}
	n := newServer(t)
	stream := n.stream()
	in, out := n.subject("in"), n.subject("out")
	dir := filepath.Join(t.TempDir(), "env")
	if _, err := envdir.Create(dir); err != nil {
		t.Fatal(err)
	}
	p := testenv.StartPlexus(t, dir)
	relay := fmt.Sprintf("def handle(self):\n    self.out.nats[\"out\"].send(self.request.raw_request, subject=%q)\n", out)
	if code, b := p.Call(t, "POST", "/deploy", map[string]any{"files": []map[string]string{{"file": "relay.star", "source": relay}}}); code != 200 {
		t.Fatalf("deploy: %d %s", code, b)
	}
	for _, o := range []struct {
		kind, name string
		obj        map[string]any
	}{
		{"outgoing_nats", "out", n.object(map[string]any{"jetstream": true})},
		{"channel_nats", "in", n.object(map[string]any{"subject": in, "stream": stream, "service": "relay", "data_format": "bytes",
			"pool_size": 4, "ack_wait": "1s"})},
	} {
		if code, b := p.Call(t, "PUT", "/objects/"+o.kind+"/"+o.name, o.obj); code != 200 && code != 201 {
			t.Fatalf("PUT %s: %d %s", o.kind, code, b)
		}
	}
	p.WaitRunning(t, "channel_nats", "in")

	const total = 300
	sent := make(chan int, total)
	var wg sync.WaitGroup
	steady(n, in, total, sent, &wg)
	for len(sent) < total/3 {
		time.Sleep(10 * time.Millisecond)
	}
	p.Kill()
	relayedBefore := len(n.storedBodies(stream, out))
	p = testenv.StartPlexus(t, dir)
	p.WaitRunning(t, "channel_nats", "in")
	wg.Wait()

	deadline := time.Now().Add(90 * time.Second)
	for {
		seen := map[string]int{}
		bodies := n.storedBodies(stream, out)
		for _, b := range bodies {
			seen[b]++
		}
		if len(seen) == total {
			dups := len(bodies) - total
			t.Logf("%d messages in, %d relayed before the kill, %d distinct out, %d duplicates", total, relayedBefore, len(seen), dups)
			if relayedBefore == 0 || relayedBefore >= total {
				t.Errorf("the kill came before consuming started or after it ended: %d relayed before it", relayedBefore)
			}
			if dups > 2*4 { // the messages in flight (max_ack_pending) at the kill
				t.Errorf("%d duplicates: more than the messages in flight at the kill", dups)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages relayed\n%s", len(seen), total, p.Log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
