package natsbackend_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/plexushq/plexus/internal/pubsub"
	"github.com/plexushq/plexus/internal/pubsub/backendtest"
	"github.com/plexushq/plexus/internal/pubsub/natsbackend"
	"github.com/plexushq/plexus/internal/testenv"
)

// env is a server with a topic on JetStream, of a name of its own.
type env struct {
	*backendtest.Env
	js jetstream.JetStream
}

func start(t *testing.T) *env {
	t.Helper()
	url := testenv.Value(t, "PLEXUS_TEST_NATS", "a NATS URL such as nats://127.0.0.1:4222, with JetStream")
	nc, err := natsio.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	topic := backendtest.Topic("orders.js-")
	stream, _ := natsbackend.StreamOf(topic)
	t.Cleanup(func() { js.DeleteStream(context.Background(), stream) })
	e := &env{Env: backendtest.Start(t, topic), js: js}
	e.Put("outgoing_nats", "js", map[string]any{"address": url, "jetstream": true})
	e.Put(pubsub.KindTopic, e.Topic, map[string]any{"backend": "nats", "backend_connection": "js"})
	return e
}

// streamMsgs returns how many messages the topic's stream holds.
func (e *env) streamMsgs(t *testing.T) uint64 {
	t.Helper()
	name, _ := natsbackend.StreamOf(e.Topic)
	s, err := e.js.Stream(context.Background(), name)
	if err != nil {
		t.Fatalf("the topic's stream: %v", err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// Push to a service: the messages are kept in the topic's stream until
// delivered, and arrive in order, with Zato's message dict.
func TestPushThroughJetStream(t *testing.T) {
	e := start(t)
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push",
		"push_service": "t.recv", "is_delivery_active": false})
	for i := range 10 {
		e.Publish(t, i)
	}
	if n := e.streamMsgs(t); n != 10 {
		t.Fatalf("the stream holds %d messages, want the 10 published", n)
	}
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push", "push_service": "t.recv"})
	backendtest.WaitFor(t, "10 deliveries", func() bool { return len(e.Rec.Datas()) == 10 })
	if d := e.Rec.Datas(); !slices.Equal(d, backendtest.Seq(10)) {
		t.Fatalf("delivered %v, want them in order", d)
	}
	m := e.Rec.Got(0)
	if m["topic_name"] != e.Topic || m["sub_name"] != "billing" || fmt.Sprint(m["delivery_count"]) != "1" || m["publisher"] != "pub" {
		t.Errorf("the message dict: %v", m)
	}
	backendtest.WaitFor(t, "the stream to drop the delivered messages", func() bool { return e.streamMsgs(t) == 0 })
}

// A failing subscriber: the message is retried with the back-off, the
// ones after it wait, and every message arrives once it recovers; one
// that keeps failing past max_retry_time becomes a dead letter.
func TestRetryAndDeadLetterThroughJetStream(t *testing.T) {
	e := start(t)
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
	if c := fmt.Sprint(e.Rec.Got(0)["delivery_count"]); c == "1" {
		t.Errorf("the retried message's delivery_count is %v", c)
	}

	e.Rec.Failing.Store(true)
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push",
		"push_service": "t.recv", "retry_initial": "10ms", "retry_max": "20ms", "max_retry_time": "100ms"})
	id := e.Publish(t, "doomed")
	dead, err := e.js.Stream(context.Background(), "PLEXUS_PUBSUB_DEAD")
	backendtest.WaitFor(t, "the dead letter", func() bool {
		if dead == nil {
			dead, err = e.js.Stream(context.Background(), "PLEXUS_PUBSUB_DEAD")
			return false
		}
		m, err := dead.GetLastMsgForSubject(context.Background(), natsbackend.DeadSubjectOf("billing"))
		return err == nil && m.Header.Get(jetstream.MsgIDHeader) == "billing/"+id
	})
	_ = err
	m, _ := dead.GetLastMsgForSubject(context.Background(), natsbackend.DeadSubjectOf("billing"))
	if m.Header.Get(natsbackend.ErrorHeader) == "" || m.Header.Get(natsbackend.AttemptsHeader) == "" {
		t.Errorf("the dead letter's headers: %v", m.Header)
	}
	backendtest.WaitFor(t, "the stream to drop the dead letter", func() bool { return e.streamMsgs(t) == 0 })
}

// Pull, with Zato's acknowledgement on retrieval and with explicit
// acknowledgement.
func TestPullThroughJetStream(t *testing.T) {
	e := start(t)
	e.Pull(t)
	backendtest.WaitFor(t, "the stream to drop the acknowledged messages", func() bool { return e.streamMsgs(t) == 0 })
}

// A subscription that does not take publishes is skipped; a full topic
// refuses publishes with 503.
func TestSkipAndFullThroughJetStream(t *testing.T) {
	e := start(t)
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push", "push_service": "t.recv"})
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{e.Topic}})
	e.Publish(t, 0)
	backendtest.WaitFor(t, "a delivery", func() bool { return len(e.Rec.Datas()) == 1 })
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push", "push_service": "t.recv", "is_pub_active": false})
	e.Publish(t, 1)
	if got := e.Get(t); len(got) != 2 {
		t.Fatalf("the pull subscription got %v", got)
	}
	time.Sleep(300 * time.Millisecond)
	if d := e.Rec.Datas(); len(d) != 1 {
		t.Fatalf("a subscription not taking publishes got %v", d)
	}
	e.Put(pubsub.KindTopic, e.Topic, map[string]any{"backend": "nats", "backend_connection": "js", "max_depth": 2})
	e.Publish(t, 2)
	e.Publish(t, 3)
	body := `{"data": 4}`
	if r := e.Call("POST", "/pubsub/topic/"+e.Topic, body, backendtest.Basic("pub", "pub-secret-1")); r.StatusCode != 503 {
		t.Fatalf("publishing to a full topic: %d %s", r.StatusCode, r.Body)
	}
}

// Messages waiting in the stream when the server stops are delivered
// after it starts again: nothing is lost.
func TestRestartWithMessagesPending(t *testing.T) {
	e := start(t)
	e.RestartWithPending(t)
	backendtest.WaitFor(t, "the stream to drop the delivered messages", func() bool { return e.streamMsgs(t) == 0 })
}

// A message something else published to the topic's subject is made a
// dead letter of each subscription, logged without its body and counted,
// and the messages after it are delivered, pushed and pulled.
func TestForeignMessageThroughJetStream(t *testing.T) {
	e := start(t)
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{e.Topic}})
	if got := e.Get(t); len(got) != 0 { // makes its consumer
		t.Fatalf("pulled %v", got)
	}
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push", "push_service": "t.recv"})
	stream, subject := natsbackend.StreamOf(e.Topic)
	backendtest.WaitFor(t, "the subscription's consumer", func() bool {
		_, err := e.js.Consumer(context.Background(), stream, natsbackend.DurableOf("billing"))
		return err == nil
	})
	const garbage = "not json: card 4111-1111 secret-garbage-42"
	ack, err := e.js.Publish(context.Background(), subject, []byte(garbage))
	if err != nil {
		t.Fatal(err)
	}
	e.Publish(t, "after")
	backendtest.WaitFor(t, "the message after it", func() bool { return len(e.Rec.Datas()) == 1 })
	if d := e.Rec.Datas(); d[0] != "after" {
		t.Fatalf("delivered %v", d)
	}
	seq := fmt.Sprintf("stream sequence %d", ack.Sequence)
	line := e.Log.WaitFor(t, "not a Plexus message", "subscription=billing", "topic="+e.Topic, seq, fmt.Sprintf("size=%d", len(garbage)))
	if strings.Contains(e.Log.String(), "secret-garbage-42") {
		t.Errorf("the body was logged: %s", line)
	}
	dead, err := e.js.Stream(context.Background(), "PLEXUS_PUBSUB_DEAD")
	if err != nil {
		t.Fatal(err)
	}
	m, err := dead.GetLastMsgForSubject(context.Background(), natsbackend.DeadSubjectOf("billing"))
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != garbage || m.Header.Get(jetstream.MsgIDHeader) != "billing/"+seq || !strings.Contains(m.Header.Get(natsbackend.ErrorHeader), "not JSON") {
		t.Errorf("the dead letter: %v %s", m.Header, m.Data)
	}
	if got := e.Get(t); len(got) != 1 || got[0]["data"] != "after" {
		t.Fatalf("the pull subscription got %v", got)
	}
	e.Log.WaitFor(t, "not a Plexus message", "subscription=shop", seq)
	if m, err := dead.GetLastMsgForSubject(context.Background(), natsbackend.DeadSubjectOf("shop")); err != nil || string(m.Data) != garbage {
		t.Errorf("the pull subscription's dead letter: %v", err)
	}
	e.WaitMetrics(`plexus_pubsub_messages_total{outcome="dead_lettered",subscription="billing",topic="`+e.Topic+`"} 1`,
		`plexus_pubsub_messages_total{outcome="dead_lettered",subscription="shop",topic="`+e.Topic+`"} 1`)
	backendtest.WaitFor(t, "the stream to drop both", func() bool { return e.streamMsgs(t) == 0 })
}

// consumerGone says whether JetStream has no consumer of the
// subscription on the topic's stream.
func (e *env) consumerGone(sub string) bool {
	stream, _ := natsbackend.StreamOf(e.Topic)
	_, err := e.js.Consumer(context.Background(), stream, natsbackend.DurableOf(sub))
	return errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound)
}

// A subscription deleted, or no longer of the topic, has its consumer
// deleted, and the stream drops the messages only it kept; a restart
// deletes nothing; a topic deleted has its stream deleted.
func TestRemovedThroughJetStream(t *testing.T) {
	e := start(t)
	e.Put(pubsub.KindTopic, "orders.kept", map[string]any{})
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push",
		"push_service": "t.recv", "is_delivery_active": false})
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{e.Topic}})
	e.Publish(t, 1)
	e.Server = e.Restart()
	if e.consumerGone("billing") || e.consumerGone("shop") || e.streamMsgs(t) != 1 {
		t.Fatal("a restart changed the consumers or the stream")
	}

	if r := e.AdminCall("DELETE", "/admin/api/v1/objects/pubsub_subscription/billing", ""); r.StatusCode >= 300 {
		t.Fatalf("deleting the subscription: %d %s", r.StatusCode, r.Body)
	}
	backendtest.WaitFor(t, "the deleted subscription's consumer to go", func() bool { return e.consumerGone("billing") })
	e.Log.WaitFor(t, "removed a subscription's queue", "subscription=billing")
	if e.consumerGone("shop") || e.streamMsgs(t) != 1 {
		t.Fatal("another subscription's consumer, or the message it keeps, went")
	}
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{"orders.kept"}})
	backendtest.WaitFor(t, "the consumer of the topic taken from the subscription to go", func() bool { return e.consumerGone("shop") })
	backendtest.WaitFor(t, "the stream to drop the message no consumer keeps", func() bool { return e.streamMsgs(t) == 0 })

	if r := e.AdminCall("DELETE", "/admin/api/v1/objects/pubsub_topic/"+e.Topic, ""); r.StatusCode >= 300 {
		t.Fatalf("deleting the topic: %d %s", r.StatusCode, r.Body)
	}
	stream, _ := natsbackend.StreamOf(e.Topic)
	backendtest.WaitFor(t, "the deleted topic's stream to go", func() bool {
		_, err := e.js.Stream(context.Background(), stream)
		return errors.Is(err, jetstream.ErrStreamNotFound)
	})
}

// The admin API's numbers name the backend; what only the store's
// queues offer is refused with 409, saying where the dead letters are.
func TestAdminAPIThroughJetStream(t *testing.T) {
	e := start(t)
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push",
		"push_service": "t.recv", "is_delivery_active": false})
	e.AdminOnBackend(t, "billing", "nats", "PLEXUS_PUBSUB_DEAD", natsbackend.DeadSubjectOf("billing"))
}
