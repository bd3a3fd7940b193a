package nats_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	natsio "github.com/nats-io/nats.go"

	"github.com/plexushq/plexus/internal/nats"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// relay sends each message it gets on to the outgoing connection out,
// to the subject out.
type relay struct{ out string }

func (relay) Name() string { return "t.relay" }

func (r relay) Handle(c *service.Context) error {
	return c.Out().NATS("out").Send(c.Request.RawRequest, service.SendOptions{Subject: r.out})
}

// steady publishes total messages to JetStream at a steady pace, each
// with a message id (so the stream keeps one copy of each even when an
// acknowledgement is lost), trying each again while the server is away;
// sent counts those published.
func steady(n *server, subject string, total int, sent chan<- int, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range total {
			h := natsio.Header{}
			h.Set(natsio.MsgIdHdr, fmt.Sprint("m-", i))
			n.publish(subject, []byte(fmt.Sprint(i)), h)
			sent <- i
			time.Sleep(5 * time.Millisecond)
		}
	}()
}

// waitRelayed waits until the stream holds every one of total messages
// on subject, and returns how many it holds more than once.
func waitRelayed(t *testing.T, n *server, s *plexustest.Server, stream, subject string, total int) (dups int) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		seen := map[string]int{}
		bodies := n.storedBodies(stream, subject)
		for _, b := range bodies {
			seen[b]++
		}
		if len(seen) == total {
			return len(bodies) - total
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages arrived\n%s", len(seen), total, s.Log.Lines("level=WARN"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A server restarted mid-stream leaves the channel and the connection
// degraded; they reconnect and go on, and every message the test
// published is relayed: none lost, duplicates only where at-least-once
// delivery allows them (a message whose acknowledgement the restart cut
// off is delivered again), counted.
func TestServerRestart(t *testing.T) {
	p := startPrivate(t)
	n := connect(t, p.url())
	stream := n.stream()
	in, out := n.subject("in"), n.subject("out")
	s := plexustest.Start(t, plexustest.Options{Services: []any{relay{out: out}}, Timeout: 60 * time.Second})
	s.Put(nats.OutgoingKind, "out", n.object(map[string]any{"jetstream": true, "timeout": "30s"}))
	s.Put(nats.ChannelKind, "in", n.object(map[string]any{"subject": in, "stream": stream, "service": "t.relay",
		"data_format": "bytes", "pool_size": 4, "ack_wait": "2s"}))
	s.WaitState(nats.ChannelKind, "in", "running")
	s.WaitState(nats.OutgoingKind, "out", "running")

	const total = 300
	sent := make(chan int, total)
	var wg sync.WaitGroup
	steady(n, in, total, sent, &wg)
	for len(sent) < total/3 {
		time.Sleep(10 * time.Millisecond)
	}
	p.stop()
	s.WaitState(nats.ChannelKind, "in", "degraded")
	s.WaitState(nats.OutgoingKind, "out", "degraded")
	p.start()
	wg.Wait()
	s.WaitState(nats.ChannelKind, "in", "running")

	dups := waitRelayed(t, n, s, stream, out, total)
	t.Logf("%d messages in, %d distinct out, %d duplicates", total, total, dups)
	if dups > 2*4 { // at most the messages in flight (pool_size) on each side, each cut once
		t.Errorf("%d duplicates: more than at-least-once delivery explains", dups)
	}
}

// Editing a channel live, in a way that needs a new consumer (stop, then
// start) and in one taken in place, loses no message and handles none
// twice: the old consumer finishes and acknowledges what it has in
// flight, and hands back what it had not started, before the new one
// consumes.
func TestLiveEdit(t *testing.T) {
	n := newServer(t)
	stream := n.stream()
	in, out := n.subject("in"), n.subject("out")
	s := plexustest.Start(t, plexustest.Options{Services: []any{relay{out: out}}, Timeout: 60 * time.Second})
	s.Put(nats.OutgoingKind, "out", n.object(map[string]any{"jetstream": true}))
	ch := n.object(map[string]any{"subject": in, "stream": stream, "service": "t.relay", "data_format": "bytes", "pool_size": 4, "ack_wait": "2s"})
	s.Put(nats.ChannelKind, "in", ch)
	s.WaitState(nats.ChannelKind, "in", "running")

	const total = 300
	sent := make(chan int, total)
	var wg sync.WaitGroup
	steady(n, in, total, sent, &wg)
	for len(sent) < total/3 {
		time.Sleep(10 * time.Millisecond)
	}
	ch["pool_size"] = 8 // a new consumer
	s.Put(nats.ChannelKind, "in", ch)
	for len(sent) < 2*total/3 {
		time.Sleep(10 * time.Millisecond)
	}
	ch["back_off"] = []string{"1s"} // in place
	s.Put(nats.ChannelKind, "in", ch)
	wg.Wait()

	if dups := waitRelayed(t, n, s, stream, out, total); dups != 0 {
		t.Errorf("%d messages handled twice", dups)
	}
}

// gated relays a message once the test opens its gate, telling the test
// when it has started one.
type gated struct {
	out     string
	started chan struct{}
	gate    chan struct{}
}

func (gated) Name() string { return "t.gated" }

func (g gated) Handle(c *service.Context) error {
	g.started <- struct{}{}
	<-g.gate
	return c.Out().NATS("out").Send(c.Request.RawRequest, service.SendOptions{Subject: g.out})
}

// A server stopping (SIGTERM) stops pulling, lets the messages in flight
// finish — their services still send through the outgoing connection —
// acknowledges them and exits; the messages not started are handled by
// the next start, none twice.
func TestStopFinishesInFlight(t *testing.T) {
	n := newServer(t)
	stream := n.stream()
	in, out := n.subject("in"), n.subject("out")
	g := gated{out: out, started: make(chan struct{}, 100), gate: make(chan struct{})}
	s := plexustest.Start(t, plexustest.Options{Services: []any{g}, Timeout: 30 * time.Second})
	s.Put(nats.OutgoingKind, "out", n.object(map[string]any{"jetstream": true}))
	s.Put(nats.ChannelKind, "in", n.object(map[string]any{"subject": in, "stream": stream, "service": "t.gated",
		"data_format": "bytes", "pool_size": 2, "max_ack_pending": 4}))
	s.WaitState(nats.ChannelKind, "in", "running")
	const total = 10
	for i := range total {
		n.publish(in, []byte(fmt.Sprint(i)), nil)
	}
	<-g.started
	<-g.started
	// A slow service holds the rest in the stream: the server delivers
	// max_ack_pending messages at most.
	cons, err := n.js.Consumer(t.Context(), stream, "plexus-in")
	if err != nil {
		t.Fatal(err)
	}
	if ci, _ := cons.Info(t.Context()); ci.NumAckPending > 4 || ci.NumPending < total-4 {
		t.Errorf("back-pressure: %d delivered unacknowledged, %d left in the stream", ci.NumAckPending, ci.NumPending)
	}
	stopped := make(chan struct{})
	go func() { s.Stop(); close(stopped) }()
	s.Log.WaitFor(t, "shutting down")
	close(g.gate)
	<-stopped

	relayed := len(n.storedBodies(stream, out))
	if relayed < 2 {
		t.Errorf("%d messages relayed: the two in flight were not finished", relayed)
	}
	ci, _ := cons.Info(t.Context())
	if ci.AckFloor.Stream < 2 { // the first two, in flight at the stop, acknowledged
		t.Errorf("acknowledged up to stream sequence %d, want the two in flight at the stop", ci.AckFloor.Stream)
	}
	s = s.Restart()
	if dups := waitRelayed(t, n, s, stream, out, total); dups != 0 {
		t.Errorf("%d messages handled twice", dups)
	}
	t.Logf("%d relayed before the stop, the rest after the restart", relayed)
}
