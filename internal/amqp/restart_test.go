package amqp_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rabbitmq/amqp091-go"

	"github.com/plexushq/plexus/internal/amqp"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// relay sends each message it gets on to the outgoing connection out,
// with its id.
type relay struct{ out string }

func (relay) Name() string { return "t.relay" }

func (r relay) Handle(c *service.Context) error {
	return c.Out().AMQP("out").Send(c.Request.RawRequest, service.SendOptions{RoutingKey: r.out})
}

// A broker restarted mid-stream (a private RabbitMQ node, stopped and
// started again with its data) leaves the channel and the connection
// degraded; they reconnect and go on, and every message the test
// published reaches the far queue: none lost, duplicates only where
// at-least-once delivery allows them (a message whose acknowledgement
// the restart cut off is delivered again), counted.
func TestBrokerRestart(t *testing.T) {
	r, node := newPrivateRabbit(t)
	in, out := r.queue("in", nil), r.queue("out", nil)
	s := plexustest.Start(t, plexustest.Options{Services: []any{relay{out: out}}, Timeout: 60 * time.Second})
	s.Put(amqp.OutgoingKind, "out", r.object(map[string]any{"timeout": "30s"}))
	s.Put(amqp.ChannelKind, "in", r.object(map[string]any{"queue": in, "service": "t.relay", "data_format": "bytes", "pool_size": 4}))
	s.WaitState(amqp.ChannelKind, "in", "running")
	s.WaitState(amqp.OutgoingKind, "out", "running")

	const total = 300
	published := make(chan int, total)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // publishes at a steady pace, through the restart
		defer wg.Done()
		p := &steadyPublisher{r: r}
		for i := range total {
			p.publish(in, []byte(fmt.Sprint(i)))
			published <- i
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for len(published) < total/3 {
		time.Sleep(10 * time.Millisecond)
	}
	node.stop()
	s.WaitState(amqp.ChannelKind, "in", "degraded")
	s.WaitState(amqp.OutgoingKind, "out", "degraded")
	node.start()
	wg.Wait()
	s.WaitState(amqp.ChannelKind, "in", "running")

	r.connect()
	seen := map[string]int{}
	for len(seen) < total {
		d, ok := r.get(out, 30*time.Second)
		if !ok {
			t.Fatalf("%d of %d messages arrived\n%s", len(seen), total, s.Log.Lines("level=WARN"))
		}
		seen[string(d.Body)]++
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	for { // any late duplicates
		if _, ok := r.get(out, 500*time.Millisecond); !ok {
			break
		}
		dups++
	}
	t.Logf("%d messages in, %d distinct out, %d duplicates", total, len(seen), dups)
	if dups > 4+2*4 { // at most the messages in flight (pool_size) on each side, each cut once
		t.Errorf("%d duplicates: more than at-least-once delivery explains", dups)
	}
}

// steadyPublisher publishes with confirms, reconnecting while the broker
// is away, until each message is confirmed.
type steadyPublisher struct {
	r    *rabbit
	conn *amqp091.Connection
	ch   *amqp091.Channel
}

func (p *steadyPublisher) publish(queue string, body []byte) {
	for {
		if p.ch == nil {
			conn, err := amqp091.Dial(p.r.url)
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			ch, err := conn.Channel()
			if err == nil {
				err = ch.Confirm(false)
			}
			if err != nil {
				conn.Close()
				time.Sleep(100 * time.Millisecond)
				continue
			}
			p.conn, p.ch = conn, ch
		}
		dc, err := p.ch.PublishWithDeferredConfirm("", queue, true, false, amqp091.Publishing{Body: body, DeliveryMode: amqp091.Persistent})
		if err == nil && dc.Wait() {
			return
		}
		p.conn.Close()
		p.ch = nil
	}
}
