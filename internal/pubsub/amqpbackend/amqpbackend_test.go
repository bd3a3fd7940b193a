package amqpbackend_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rabbitmq/amqp091-go"

	"github.com/plexushq/plexus/internal/pubsub"
	"github.com/plexushq/plexus/internal/pubsub/amqpbackend"
	"github.com/plexushq/plexus/internal/pubsub/backendtest"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/plexustest"
)

// env is a server with a topic on RabbitMQ, of a name of its own.
type env struct {
	*backendtest.Env
	ac *amqp091.Connection
}

func start(t *testing.T, topic map[string]any) *env {
	t.Helper()
	url := testenv.Value(t, "PLEXUS_TEST_AMQP", "an AMQP URL such as amqp://guest:guest@127.0.0.1:5672/ (RabbitMQ)")
	ac, err := amqp091.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	topicName := backendtest.Topic("orders.mq-")
	t.Cleanup(func() {
		if ch, err := ac.Channel(); err == nil {
			for _, s := range []string{"billing", "shop"} {
				ch.QueueDelete(amqpbackend.QueueOf(topicName, s), false, false, false)
			}
			ch.ExchangeDelete(amqpbackend.ExchangeOf(topicName), false, false)
		}
		ac.Close()
	})
	e := &env{Env: backendtest.Start(t, topicName), ac: ac}
	u, _ := amqp091.ParseURI(url)
	e.Put("outgoing_amqp", "mq", map[string]any{"address": strings.Replace(url, u.Username+":"+u.Password+"@", "", 1),
		"username": u.Username, "password": u.Password})
	cfg := map[string]any{"backend": "amqp", "backend_amqp_connection": "mq"}
	for k, v := range topic {
		cfg[k] = v
	}
	e.Put(pubsub.KindTopic, e.Topic, cfg)
	return e
}

func (e *env) queued(t *testing.T, sub string) int {
	t.Helper()
	ch, err := e.ac.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(amqpbackend.QueueOf(e.Topic, sub), true, false, false, false, nil)
	if err != nil {
		t.Fatalf("the subscription's queue: %v", err)
	}
	return q.Messages
}

// Push to a service: the messages are kept in the subscription's queue
// until delivered, and arrive in order, with Zato's message dict.
func TestPushThroughRabbitMQ(t *testing.T) {
	e := start(t, nil)
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push",
		"push_service": "t.recv", "is_delivery_active": false})
	ids := map[string]bool{}
	for i := range 10 {
		ids[e.Publish(t, i)] = true
	}
	if n := e.queued(t, "billing"); n != 10 {
		t.Fatalf("the queue holds %d messages, want the 10 published", n)
	}
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push", "push_service": "t.recv"})
	backendtest.WaitFor(t, "10 deliveries", func() bool { return len(e.Rec.Datas()) == 10 })
	if d := e.Rec.Datas(); !slices.Equal(d, backendtest.Seq(10)) {
		t.Fatalf("delivered %v, want them in order", d)
	}
	m := e.Rec.Got(0)
	if m["topic_name"] != e.Topic || m["sub_name"] != "billing" || fmt.Sprint(m["delivery_count"]) != "1" || m["publisher"] != "pub" || !ids[fmt.Sprint(m["msg_id"])] {
		t.Errorf("the message dict: %v", m)
	}
	backendtest.WaitFor(t, "the queue to be empty", func() bool { return e.queued(t, "billing") == 0 })
}

// A failing subscriber: the message is retried with the back-off and a
// growing delivery count, the ones after it wait, and every message
// arrives once it recovers; one that keeps failing past max_retry_time
// becomes a dead letter.
func TestRetryAndDeadLetterThroughRabbitMQ(t *testing.T) {
	e := start(t, nil)
	e.Rec.Failing.Store(true)
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push",
		"push_service": "t.recv", "retry_initial": "10ms", "retry_max": "20ms"})
	for i := range 3 {
		e.Publish(t, i)
	}
	backendtest.WaitFor(t, "retries", func() bool { return e.Rec.Calls.Load() >= 4 })
	e.Rec.Failing.Store(false)
	backendtest.WaitFor(t, "3 deliveries", func() bool { return len(e.Rec.Datas()) == 3 })
	if d := e.Rec.Datas(); !slices.Equal(d, backendtest.Seq(3)) {
		t.Fatalf("delivered %v, want them in order", d)
	}
	if c := backendtest.Count(e.Rec.Got(0)["delivery_count"]); c < 4 {
		t.Errorf("the retried message's delivery_count is %v, want at least 4", c)
	}

	e.Rec.Failing.Store(true)
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push",
		"push_service": "t.recv", "retry_initial": "10ms", "retry_max": "20ms", "max_retry_time": "100ms"})
	id := e.Publish(t, "doomed")
	dead := e.deadLetter(t, func(d *amqp091.Delivery) bool { return d.MessageId == id })
	if dead.Headers[pubsub.DeadErrorHeader] == "" || dead.Headers[pubsub.DeadSubscriptionHeader] != "billing" || dead.Headers[pubsub.DeadAttemptsHeader].(int64) < 2 || string(dead.Body) != `"doomed"` {
		t.Errorf("the dead letter: %v %s", dead.Headers, dead.Body)
	}
	backendtest.WaitFor(t, "the queue to be empty", func() bool { return e.queued(t, "billing") == 0 })
}

// Pull, with Zato's acknowledgement on retrieval and with explicit
// acknowledgement.
func TestPullThroughRabbitMQ(t *testing.T) {
	e := start(t, nil)
	e.Pull(t)
	time.Sleep(1500 * time.Millisecond) // past the visibility timeout: acknowledged, it stays gone
	if got := e.Get(t); len(got) != 0 || e.queued(t, "shop") != 0 {
		t.Fatalf("an acknowledged message came back: %v", got)
	}
}

// A subscription that does not take publishes skips the message; a full
// queue refuses publishes with 503, and so does an unreachable broker.
func TestSkipFullAndUnreachable(t *testing.T) {
	e := start(t, map[string]any{"max_depth": 2})
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push", "push_service": "t.recv"})
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{e.Topic}})
	e.Publish(t, 0)
	backendtest.WaitFor(t, "a delivery", func() bool { return len(e.Rec.Datas()) == 1 })
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push", "push_service": "t.recv", "is_pub_active": false})
	e.Publish(t, 1)
	time.Sleep(300 * time.Millisecond)
	if d := e.Rec.Datas(); len(d) != 1 {
		t.Fatalf("a subscription not taking publishes got %v", d)
	}
	if n := e.queued(t, "shop"); n != 2 {
		t.Fatalf("the pull subscription's queue holds %d, want 2", n)
	}
	// RabbitMQ's quorum queues refuse publishes once over their length:
	// one more may get in.
	var r *plexustest.Response
	for i := range 3 {
		r = e.Call("POST", "/pubsub/topic/"+e.Topic, fmt.Sprintf(`{"data": %d}`, 2+i), backendtest.Basic("pub", "pub-secret-1"))
		if r.StatusCode != 200 {
			break
		}
	}
	if r.StatusCode != 503 || !strings.Contains(string(r.Body), "full") {
		t.Fatalf("publishing to a full topic: %d %s", r.StatusCode, r.Body)
	}
	if n := e.queued(t, "shop"); n > 3 {
		t.Fatalf("a full queue of max_depth 2 took %d", n)
	}
	if got := e.Get(t); len(got) < 2 || got[0]["data"] != float64(0) {
		t.Fatalf("the pull subscription got %v", got)
	}
	e.Publish(t, 3) // room again

	e.Put("outgoing_amqp", "mq", map[string]any{"address": "amqp://127.0.0.1:1/"})
	r = e.Call("POST", "/pubsub/topic/"+e.Topic, `{"data": 9}`, backendtest.Basic("pub", "pub-secret-1"))
	if r.StatusCode != 503 {
		t.Fatalf("publishing with the broker unreachable: %d %s", r.StatusCode, r.Body)
	}
}

// Messages waiting in the queue when the server stops are delivered
// after it starts again, in order: nothing is lost.
func TestRestartWithMessagesPending(t *testing.T) {
	e := start(t, nil)
	if c := backendtest.Count(e.RestartWithPending(t)["delivery_count"]); c < 2 {
		t.Errorf("the message delivered again after the restart has delivery_count %v", c)
	}
	backendtest.WaitFor(t, "the queue to be empty", func() bool { return e.queued(t, "billing") == 0 })
}

// deadLetter takes the dead letter of plexus.pubsub.dead that match
// holds, putting the others back.
func (e *env) deadLetter(t *testing.T, match func(*amqp091.Delivery) bool) *amqp091.Delivery {
	t.Helper()
	ch, err := e.ac.Channel()
	if err != nil {
		t.Fatal(err)
	}
	var dead *amqp091.Delivery
	backendtest.WaitFor(t, "the dead letter", func() bool {
		for {
			d, ok, err := ch.Get(amqpbackend.DeadQueue, false)
			if err != nil || !ok {
				// Others' dead letters go back as the channel closes.
				ch.Close()
				ch, _ = e.ac.Channel()
				return false
			}
			if match(&d) {
				d.Ack(false)
				dead = &d
				return true
			}
		}
	})
	ch.Close()
	return dead
}

// A message something else published to the subscriptions' queues is
// made a dead letter of each, logged without its body and counted, and
// the messages after it are delivered, pushed and pulled.
func TestForeignMessageThroughRabbitMQ(t *testing.T) {
	e := start(t, nil)
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{e.Topic}})
	if got := e.Get(t); len(got) != 0 { // declares its queue
		t.Fatalf("pulled %v", got)
	}
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push", "push_service": "t.recv"})
	backendtest.WaitFor(t, "the subscription's consumer", func() bool {
		ch, err := e.ac.Channel()
		if err != nil {
			return false
		}
		defer ch.Close()
		q, err := ch.QueueDeclarePassive(amqpbackend.QueueOf(e.Topic, "billing"), true, false, false, false, nil)
		return err == nil && q.Consumers == 1 // bound, then consumed
	})
	ch, err := e.ac.Channel()
	if err != nil {
		t.Fatal(err)
	}
	const garbage = "not json: card 4111-1111 secret-garbage-42"
	if err := ch.Publish(amqpbackend.ExchangeOf(e.Topic), "", false, false, amqp091.Publishing{Body: []byte(garbage)}); err != nil {
		t.Fatal(err)
	}
	ch.Close()
	e.Publish(t, "after")
	backendtest.WaitFor(t, "the message after it", func() bool { return len(e.Rec.Datas()) == 1 })
	if d := e.Rec.Datas(); d[0] != "after" {
		t.Fatalf("delivered %v", d)
	}
	line := e.Log.WaitFor(t, "not a Plexus message", "subscription=billing", "topic="+e.Topic, "delivery tag", fmt.Sprintf("size=%d", len(garbage)))
	if strings.Contains(e.Log.String(), "secret-garbage-42") {
		t.Errorf("the body was logged: %s", line)
	}
	dead := e.deadLetter(t, func(d *amqp091.Delivery) bool {
		return d.Headers[pubsub.DeadSubscriptionHeader] == "billing" && string(d.Body) == garbage
	})
	if reason, _ := dead.Headers[pubsub.DeadErrorHeader].(string); !strings.Contains(reason, "no message-id") {
		t.Errorf("the dead letter's reason: %q", reason)
	}
	if got := e.Get(t); len(got) != 1 || got[0]["data"] != "after" {
		t.Fatalf("the pull subscription got %v", got)
	}
	e.Log.WaitFor(t, "not a Plexus message", "subscription=shop")
	e.deadLetter(t, func(d *amqp091.Delivery) bool {
		return d.Headers[pubsub.DeadSubscriptionHeader] == "shop" && string(d.Body) == garbage
	})
	e.WaitMetrics(`plexus_pubsub_messages_total{outcome="dead_lettered",subscription="billing",topic="`+e.Topic+`"} 1`,
		`plexus_pubsub_messages_total{outcome="dead_lettered",subscription="shop",topic="`+e.Topic+`"} 1`)
	backendtest.WaitFor(t, "the queues to be empty", func() bool { return e.queued(t, "billing") == 0 && e.queued(t, "shop") == 0 })
}

// queueGone says whether RabbitMQ has no queue of the subscription.
func (e *env) queueGone(t *testing.T, sub string) bool {
	t.Helper()
	ch, err := e.ac.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	_, err = ch.QueueDeclarePassive(amqpbackend.QueueOf(e.Topic, sub), true, false, false, false, nil)
	var ae *amqp091.Error
	return errors.As(err, &ae) && ae.Code == amqp091.NotFound
}

// A subscription deleted, or no longer of the topic, has its queue
// deleted with the messages in it; a restart deletes nothing; a topic
// deleted has its exchange deleted.
func TestRemovedThroughRabbitMQ(t *testing.T) {
	e := start(t, nil)
	e.Put(pubsub.KindTopic, "orders.kept", map[string]any{})
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push",
		"push_service": "t.recv", "is_delivery_active": false})
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{e.Topic}})
	e.Publish(t, 1)
	if e.queued(t, "billing") != 1 || e.queued(t, "shop") != 1 {
		t.Fatal("the queues do not hold the message")
	}
	e.Server = e.Restart()
	if e.queued(t, "billing") != 1 || e.queued(t, "shop") != 1 {
		t.Fatal("a restart changed the queues")
	}

	if r := e.AdminCall("DELETE", "/admin/api/v1/objects/pubsub_subscription/billing", ""); r.StatusCode >= 300 {
		t.Fatalf("deleting the subscription: %d %s", r.StatusCode, r.Body)
	}
	backendtest.WaitFor(t, "the deleted subscription's queue to go", func() bool { return e.queueGone(t, "billing") })
	e.Log.WaitFor(t, "removed a subscription's queue", "subscription=billing")
	if e.queued(t, "shop") != 1 {
		t.Fatal("another subscription's queue changed")
	}
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{"orders.kept"}})
	backendtest.WaitFor(t, "the queue of the topic taken from the subscription to go", func() bool { return e.queueGone(t, "shop") })

	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push",
		"push_service": "t.recv", "is_delivery_active": false})
	e.Publish(t, 2)
	if n := e.queued(t, "billing"); n != 1 {
		t.Fatalf("the subscription made again has %d messages, want only the one published since", n)
	}
	// The subscription still names the topic deleted: its queue goes with
	// the exchange.
	if r := e.AdminCall("DELETE", "/admin/api/v1/objects/pubsub_topic/"+e.Topic, ""); r.StatusCode >= 300 {
		t.Fatalf("deleting the topic: %d %s", r.StatusCode, r.Body)
	}
	backendtest.WaitFor(t, "the deleted topic's exchange to go", func() bool {
		ch, err := e.ac.Channel()
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		err = ch.ExchangeDeclarePassive(amqpbackend.ExchangeOf(e.Topic), amqp091.ExchangeFanout, true, false, false, false, nil)
		var ae *amqp091.Error
		return errors.As(err, &ae) && ae.Code == amqp091.NotFound
	})
	if !e.queueGone(t, "billing") {
		t.Error("the queue of the deleted topic's subscription stays")
	}
}

// The admin API's numbers name the backend; what only the store's
// queues offer is refused with 409, saying where the dead letters are.
func TestAdminAPIThroughRabbitMQ(t *testing.T) {
	e := start(t, nil)
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push",
		"push_service": "t.recv", "is_delivery_active": false})
	e.AdminOnBackend(t, "billing", "amqp", amqpbackend.DeadQueue, "Plexus-Subscription: billing")
}
