package amqp_test

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/rabbitmq/amqp091-go"

	"github.com/plexushq/plexus/internal/testenv"
)

// rabbit is a test's own connection to RabbitMQ, with names of its own
// that are deleted when the test ends.
type rabbit struct {
	t    testing.TB
	url  string
	conn *amqp091.Connection
	ch   *amqp091.Channel
	id   string
}

// newRabbit connects to PLEXUS_TEST_AMQP or skips the test.
func newRabbit(t testing.TB) *rabbit {
	t.Helper()
	url := testenv.Value(t, "PLEXUS_TEST_AMQP", "an AMQP URL such as amqp://guest:guest@127.0.0.1:5672/")
	var b [4]byte
	rand.Read(b[:])
	r := &rabbit{t: t, url: url, id: hex.EncodeToString(b[:])}
	r.connect()
	t.Cleanup(func() { r.conn.Close() })
	return r
}

func (r *rabbit) connect() {
	r.t.Helper()
	var err error
	if r.conn, err = amqp091.Dial(r.url); err != nil {
		r.t.Fatalf("connecting to RabbitMQ: %v", err)
	}
	if r.ch, err = r.conn.Channel(); err != nil {
		r.t.Fatal(err)
	}
	if err := r.ch.Confirm(false); err != nil {
		r.t.Fatal(err)
	}
}

// name returns a name of the test's own.
func (r *rabbit) name(what string) string {
	return "plexus-test." + what + "." + r.id
}

// address is the broker's address without its credentials, and the
// credentials, as objects take them.
func (r *rabbit) object(fields map[string]any) map[string]any {
	u, _ := amqp091.ParseURI(r.url)
	obj := map[string]any{"address": strings.Replace(r.url, u.Username+":"+u.Password+"@", "", 1),
		"username": u.Username, "password": u.Password}
	for k, v := range fields {
		obj[k] = v
	}
	return obj
}

// queue declares a durable queue of the test's own, deleted at the end.
func (r *rabbit) queue(what string, args amqp091.Table) string {
	r.t.Helper()
	name := r.name(what)
	if _, err := r.ch.QueueDeclare(name, true, false, false, false, args); err != nil {
		r.t.Fatalf("declaring %s: %v", name, err)
	}
	r.t.Cleanup(func() { r.cleanup(func(ch *amqp091.Channel) { ch.QueueDelete(name, false, false, false) }) })
	return name
}

// exchange declares a fanout exchange bound to a new queue, both deleted
// at the end, and returns both names.
func (r *rabbit) exchange(what string) (exchange, queue string) {
	r.t.Helper()
	exchange = r.name(what + "-x")
	if err := r.ch.ExchangeDeclare(exchange, "fanout", true, false, false, false, nil); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { r.cleanup(func(ch *amqp091.Channel) { ch.ExchangeDelete(exchange, false, false) }) })
	queue = r.queue(what, nil)
	if err := r.ch.QueueBind(queue, "", exchange, false, nil); err != nil {
		r.t.Fatal(err)
	}
	return exchange, queue
}

// cleanup runs f on a new connection: the test's own may be closed.
func (r *rabbit) cleanup(f func(ch *amqp091.Channel)) {
	conn, err := amqp091.Dial(r.url)
	if err != nil {
		r.t.Logf("cleaning up: %v", err)
		return
	}
	defer conn.Close()
	if ch, err := conn.Channel(); err == nil {
		f(ch)
	}
}

// publish publishes a persistent message to a queue and waits for the
// broker's confirm.
func (r *rabbit) publish(queue string, msg amqp091.Publishing) {
	r.t.Helper()
	if msg.DeliveryMode == 0 {
		msg.DeliveryMode = amqp091.Persistent
	}
	dc, err := r.ch.PublishWithDeferredConfirm("", queue, true, false, msg)
	if err != nil {
		r.t.Fatalf("publishing: %v", err)
	}
	if !dc.Wait() {
		r.t.Fatal("the broker refused a message")
	}
}

// get waits for a message on a queue and acknowledges it.
func (r *rabbit) get(queue string, timeout time.Duration) (amqp091.Delivery, bool) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		d, ok, err := r.ch.Get(queue, true)
		if err != nil {
			r.t.Fatalf("getting from %s: %v", queue, err)
		}
		if ok {
			return d, true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return amqp091.Delivery{}, false
}

// must waits for a message, failing the test without one.
func (r *rabbit) must(queue string) amqp091.Delivery {
	r.t.Helper()
	d, ok := r.get(queue, 10*time.Second)
	if !ok {
		r.t.Fatalf("no message arrived on %s", queue)
	}
	return d
}

// count returns the number of messages ready on a queue.
func (r *rabbit) count(queue string) int {
	r.t.Helper()
	q, err := r.ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	if err != nil {
		r.t.Fatalf("inspecting %s: %v", queue, err)
	}
	return q.Messages
}
