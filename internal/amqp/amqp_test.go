package amqp_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rabbitmq/amqp091-go"

	"github.com/plexushq/plexus/internal/amqp"
	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// The declarations have everything the admin API, forms and docs need.
func TestDeclarations(t *testing.T) {
	for _, id := range []string{amqp.ChannelKind, amqp.OutgoingKind} {
		k, ok := registry.Lookup(id)
		if !ok {
			t.Fatalf("%s is not registered", id)
		}
		for _, err := range k.Lint() {
			t.Error(err)
		}
	}
}

// forward is a Starlark service that sends what it received on, through
// the outgoing connection its channel's message names in a header, with
// what self.channel.message says of it.
const forward = `
def handle(self):
    m = self.channel.message
    self.out.amqp["out"].send({
        "payload": self.request.payload,
        "id": m.id, "topic": m.topic, "delivery_count": m.delivery_count,
        "queue": m.queue, "exchange": m.exchange, "routing_key": m.routing_key,
        "header": m.headers.get("x-order"), "type": self.channel.type, "channel": self.channel.name,
        "data_format": self.channel.data_format,
    }, routing_key=m.headers["x-reply-queue"], headers={"x-from": "starlark"}, properties={"priority": 7})
`

// goForward does what forward does, from Go.
type goForward struct{}

func (goForward) Name() string { return "t.go-forward" }

func (goForward) Handle(c *service.Context) error {
	m := c.Channel.Message
	return c.Out().AMQP("out").Send(map[string]any{"payload": c.Request.Payload, "routing_key": m.Topic},
		service.SendOptions{RoutingKey: m.Headers["x-reply-queue"].(string), Headers: map[string]any{"x-from": "go"}})
}

// A message on a channel's queue invokes its service through the
// pipeline, which reads the message's details and sends a message back
// out through an outgoing connection; the cid travels in X-Plexus-CID.
func TestRoundTrip(t *testing.T) {
	r := newRabbit(t)
	in, out := r.name("in"), r.queue("out", nil)
	t.Cleanup(func() { r.cleanup(func(ch *amqp091.Channel) { ch.QueueDelete(in, false, false, false) }) })
	s := plexustest.Start(t, plexustest.Options{Services: []any{goForward{}}})
	s.Deploy("forward.star", forward)
	s.Put(amqp.OutgoingKind, "out", r.object(nil))
	s.Put(amqp.ChannelKind, "in", r.object(map[string]any{"queue": in, "declare_queue": true, "service": "forward"}))
	s.WaitState(amqp.OutgoingKind, "out", "running")
	s.WaitState(amqp.ChannelKind, "in", "running")

	id := cid.New()
	r.publish(in, amqp091.Publishing{Body: []byte(`{"order": 42}`), MessageId: "m-1",
		Headers: amqp091.Table{"X-Plexus-CID": id, "x-order": "o-42", "x-reply-queue": out}})
	d := r.must(out)
	var got map[string]any
	if err := json.Unmarshal(d.Body, &got); err != nil {
		t.Fatalf("%v: %s\n%s", err, d.Body, s.Log)
	}
	want := map[string]any{"payload": map[string]any{"order": float64(42)}, "id": "m-1", "topic": in, "delivery_count": float64(1),
		"queue": in, "exchange": "", "routing_key": in, "header": "o-42", "type": "amqp", "channel": "in", "data_format": "json"}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if d.Headers["X-Plexus-CID"] != id || d.Headers["x-from"] != "starlark" || d.Priority != 7 ||
		d.DeliveryMode != amqp091.Persistent || d.ContentType != "application/json" {
		t.Errorf("the message sent: headers %v, priority %d, mode %d, type %q", d.Headers, d.Priority, d.DeliveryMode, d.ContentType)
	}
	s.Log.WaitFor(t, "kind=channel_amqp", "channel=in", "cid="+id)

	// The same from a Go service, on a text channel, and a message with
	// no cid gets a new one.
	s.Put(amqp.ChannelKind, "in", r.object(map[string]any{"queue": in, "service": "t.go-forward", "data_format": "text"}))
	r.publish(in, amqp091.Publishing{Body: []byte("plain"), Headers: amqp091.Table{"x-reply-queue": out}})
	d = r.must(out)
	if string(d.Body) != fmt.Sprintf(`{"payload":"plain","routing_key":%q}`, in) || d.Headers["x-from"] != "go" {
		t.Errorf("from Go: %s %v", d.Body, d.Headers)
	}
	if c, _ := d.Headers["X-Plexus-CID"].(string); !cid.Valid(c) || c == id {
		t.Errorf("a new cid: %q", c)
	}
	metrics := string(s.AdminCall("GET", "/metrics", "").Body)
	if !strings.Contains(metrics, `plexus_amqp_messages_total{name="in",outcome="acked"} 2`) ||
		!strings.Contains(metrics, `plexus_channel_requests_total{channel="in",kind="channel_amqp"} 2`) {
		t.Errorf("metrics:\n%s", grep(metrics, "in"))
	}
}

// grep returns the lines of s that hold part.
func grep(s, part string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, part) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// failing fails as often as the message's header x-fail says, counting
// its calls.
type failing struct{ calls chan string }

func (failing) Name() string { return "t.failing" }

func (f failing) Handle(c *service.Context) error {
	f.calls <- fmt.Sprint(c.Channel.Message.DeliveryCount)
	if c.Channel.Message.DeliveryCount <= int(c.Channel.Message.Headers["x-fail"].(int64)) {
		return errors.New("the database is down")
	}
	return nil
}

// A failed message is put back on the queue up to max_redeliveries
// times, then dead-lettered with why; with on_error dead_letter, or when
// it can never succeed, at once; without a dead-letter exchange it is
// rejected to the broker, which dead-letters it as the queue says.
func TestFailures(t *testing.T) {
	r := newRabbit(t)
	dlx, dead := r.exchange("dead")
	brokerDLX, brokerDead := r.exchange("broker-dead")
	in := r.queue("in", amqp091.Table{"x-dead-letter-exchange": brokerDLX})
	f := failing{calls: make(chan string, 100)}
	s := plexustest.Start(t, plexustest.Options{Services: []any{f}})
	s.Put(amqp.ChannelKind, "in", r.object(map[string]any{"queue": in, "service": "t.failing", "max_redeliveries": 2, "dead_letter_exchange": dlx}))
	s.WaitState(amqp.ChannelKind, "in", "running")

	// Fails twice, succeeds on the third delivery: never dead-lettered.
	r.publish(in, amqp091.Publishing{Body: []byte(`{}`), Headers: amqp091.Table{"x-fail": int64(2)}})
	for _, want := range []string{"1", "2", "3"} {
		if got := <-f.calls; got != want {
			t.Fatalf("delivery %s, want %s", got, want)
		}
	}
	// Always fails: delivered 1 + max_redeliveries times, then
	// dead-lettered with the error, its status and the cid.
	id := cid.New()
	r.publish(in, amqp091.Publishing{Body: []byte(`{"n": 1}`), MessageId: "doomed", Headers: amqp091.Table{"x-fail": int64(99), "X-Plexus-CID": id}})
	d := r.must(dead)
	if string(d.Body) != `{"n": 1}` || d.MessageId != "doomed" || d.Headers["x-plexus-error"] != "Internal server error" ||
		d.Headers["x-plexus-status"] != int32(500) || d.Headers["x-plexus-queue"] != in || d.Headers["X-Plexus-CID"] != id ||
		d.Headers["x-plexus-redeliveries"] != int32(2) {
		t.Errorf("dead letter: %s %s %v", d.Body, d.MessageId, d.Headers)
	}
	if n := len(f.calls); n != 3 {
		t.Errorf("the doomed message was handled %d times, want 3", n)
	}
	s.Log.WaitFor(t, "the database is down", "cid="+id)
	drain(f.calls)

	// Malformed JSON never succeeds: dead-lettered at once.
	r.publish(in, amqp091.Publishing{Body: []byte(`{not json`), Headers: amqp091.Table{"x-fail": int64(0)}})
	if d := r.must(dead); !strings.HasPrefix(d.Headers["x-plexus-error"].(string), "Invalid JSON") || d.Headers["x-plexus-status"] != int32(400) {
		t.Errorf("malformed: %v", d.Headers)
	}
	if len(f.calls) != 0 {
		t.Error("the service ran for a malformed message")
	}

	// on_error dead_letter, with no exchange of Plexus's own: rejected
	// at once, to the queue's x-dead-letter-exchange.
	s.Put(amqp.ChannelKind, "in", r.object(map[string]any{"queue": in, "service": "t.failing", "on_error": "dead_letter"}))
	r.publish(in, amqp091.Publishing{Body: []byte(`{}`), Headers: amqp091.Table{"x-fail": int64(1)}})
	if d := r.must(brokerDead); d.Headers["x-death"] == nil {
		t.Errorf("the broker's dead letter: %v", d.Headers)
	}
	if n := len(f.calls); n != 1 {
		t.Errorf("handled %d times, want 1", n)
	}
	if c := r.count(dead); c != 0 {
		t.Errorf("%d messages on the channel's dead-letter exchange", c)
	}
	// A rejection is counted once the broker has it, which may come after
	// the broker's dead letter reached the test.
	var lines []string
	for _, want := range []string{`outcome="acked"} 1`, `outcome="requeued"} 4`, `outcome="dead_lettered"} 2`, `outcome="rejected"} 1`} {
		lines = append(lines, `plexus_amqp_messages_total{name="in",`+want)
	}
	s.WaitMetrics(lines...)
}

func drain(c chan string) {
	for len(c) > 0 {
		<-c
	}
}

var _ = time.Second

// A channel (broker_security) and an outgoing connection (security) log
// in as the basic_auth security definition they name; with a wrong
// password in it they stay degraded.
func TestSecurityDefinition(t *testing.T) {
	r := newRabbit(t)
	in, out := r.queue("sec-in", nil), r.queue("sec-out", nil)
	u, _ := amqp091.ParseURI(r.url)
	obj := r.object(nil)
	address := obj["address"]
	s := plexustest.Start(t, plexustest.Options{Services: []any{relay{out: out}}})
	s.Put("security", "mq.creds", map[string]any{"type": "basic_auth", "username": u.Username, "password": u.Password})
	s.Put("security", "mq.wrong", map[string]any{"type": "basic_auth", "username": u.Username, "password": "not-" + u.Password})
	s.Put(amqp.OutgoingKind, "out", map[string]any{"address": address, "security": "mq.creds"})
	s.Put(amqp.ChannelKind, "in", map[string]any{"address": address, "broker_security": "mq.creds", "queue": in, "service": "t.relay", "data_format": "bytes"})
	s.WaitState(amqp.OutgoingKind, "out", "running")
	s.WaitState(amqp.ChannelKind, "in", "running")
	r.publish(in, amqp091.Publishing{Body: []byte("logged in")})
	if d := r.must(out); string(d.Body) != "logged in" {
		t.Errorf("relayed %q", d.Body)
	}
	s.Put(amqp.OutgoingKind, "wrong", map[string]any{"address": address, "security": "mq.wrong"})
	st := s.WaitState(amqp.OutgoingKind, "wrong", "degraded")
	if fmt.Sprint(st["error"]) == "" || strings.Contains(fmt.Sprint(st), "not-"+u.Password) {
		t.Errorf("status: %v", st)
	}
}
