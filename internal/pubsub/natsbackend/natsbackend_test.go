package natsbackend_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/plexushq/plexus/internal/pubsub"
	"github.com/plexushq/plexus/internal/pubsub/natsbackend"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// recorder is a Go service that keeps the messages it is pushed, and
// fails while failing is set.
type recorder struct {
	mu      sync.Mutex
	got     []map[string]any
	failing atomic.Bool
	calls   atomic.Int64
}

func (*recorder) Name() string { return "t.recv" }

func (r *recorder) Handle(c *service.Context) error {
	r.calls.Add(1)
	if r.failing.Load() {
		return service.ServiceUnavailable("the subscriber is down")
	}
	m, _ := c.Request.Payload.(map[string]any)
	r.mu.Lock()
	r.got = append(r.got, m)
	r.mu.Unlock()
	return nil
}

func (r *recorder) datas() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.got {
		out = append(out, fmt.Sprint(m["data"]))
	}
	return out
}

// env is a server with a topic on JetStream, of a name of its own.
type env struct {
	*plexustest.Server
	rec   *recorder
	topic string
	js    jetstream.JetStream
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
	var b [4]byte
	rand.Read(b[:])
	e := &env{rec: &recorder{}, topic: "orders.js-" + hex.EncodeToString(b[:]), js: js}
	stream, _ := natsbackend.StreamOf(e.topic)
	t.Cleanup(func() { js.DeleteStream(context.Background(), stream) })
	e.Server = plexustest.Start(t, plexustest.Options{Services: []any{e.rec}})
	e.setup(url)
	return e
}

func (e *env) setup(url string) {
	e.Put("outgoing_nats", "js", map[string]any{"address": url, "jetstream": true})
	e.Put("security", "pub", map[string]any{"type": "basic_auth", "username": "pub", "password": "pub-secret-1"})
	e.Put("security", "sub", map[string]any{"type": "basic_auth", "username": "sub", "password": "sub-secret-1"})
	e.Put(pubsub.KindPermission, "pub", map[string]any{"security": "pub", "pub": []string{"orders.*"}})
	e.Put(pubsub.KindTopic, e.topic, map[string]any{"backend": "nats", "backend_connection": "js"})
}

func basic(user, password string) http.Header {
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}}
}

func (e *env) publish(t *testing.T, data any) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"data": data})
	r := e.Call("POST", "/pubsub/topic/"+e.topic, string(body), basic("pub", "pub-secret-1"))
	if r.StatusCode != 200 {
		t.Fatalf("publishing: %d %s", r.StatusCode, r.Body)
	}
	return r.JSON(t)["msg_id"].(string)
}

func (e *env) get(t *testing.T) []map[string]any {
	t.Helper()
	r := e.Call("POST", "/pubsub/messages/get", `{}`, basic("sub", "sub-secret-1"))
	if r.StatusCode != 200 {
		t.Fatalf("get: %d %s", r.StatusCode, r.Body)
	}
	var out struct {
		Messages []map[string]any `json:"messages"`
	}
	json.Unmarshal(r.Body, &out)
	return out.Messages
}

// streamMsgs returns how many messages the topic's stream holds.
func (e *env) streamMsgs(t *testing.T) uint64 {
	t.Helper()
	name, _ := natsbackend.StreamOf(e.topic)
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

// waitFor polls cond until it holds, or fails the test after a minute: a
// message a stopping server was being handed waits for the consumer's
// ack wait (30 s) before it is delivered again.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func seq(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprint(i))
	}
	return out
}

// Push to a service: the messages are kept in the topic's stream until
// delivered, and arrive in order, with Zato's message dict.
func TestPushThroughJetStream(t *testing.T) {
	e := start(t)
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.topic}, "delivery_type": "push",
		"push_service": "t.recv", "is_delivery_active": false})
	for i := range 10 {
		e.publish(t, i)
	}
	if n := e.streamMsgs(t); n != 10 {
		t.Fatalf("the stream holds %d messages, want the 10 published", n)
	}
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.topic}, "delivery_type": "push", "push_service": "t.recv"})
	waitFor(t, "10 deliveries", func() bool { return len(e.rec.datas()) == 10 })
	if d := e.rec.datas(); !slices.Equal(d, seq(10)) {
		t.Fatalf("delivered %v, want them in order", d)
	}
	m := e.rec.got[0]
	if m["topic_name"] != e.topic || m["sub_name"] != "billing" || fmt.Sprint(m["delivery_count"]) != "1" || m["publisher"] != "pub" {
		t.Errorf("the message dict: %v", m)
	}
	waitFor(t, "the stream to drop the delivered messages", func() bool { return e.streamMsgs(t) == 0 })
}

// A failing subscriber: the message is retried with the back-off, the
// ones after it wait, and every message arrives once it recovers; one
// that keeps failing past max_retry_time becomes a dead letter.
func TestRetryAndDeadLetterThroughJetStream(t *testing.T) {
	e := start(t)
	e.rec.failing.Store(true)
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.topic}, "delivery_type": "push",
		"push_service": "t.recv", "retry_initial": "10ms", "retry_max": "20ms"})
	for i := range 3 {
		e.publish(t, i)
	}
	waitFor(t, "retries", func() bool { return e.rec.calls.Load() >= 4 })
	e.rec.failing.Store(false)
	waitFor(t, "3 deliveries", func() bool { return len(e.rec.datas()) == 3 })
	if d := e.rec.datas(); !slices.Equal(d, seq(3)) {
		t.Fatalf("delivered %v, want them in order", d)
	}
	if c := fmt.Sprint(e.rec.got[0]["delivery_count"]); c == "1" {
		t.Errorf("the retried message's delivery_count is %v", c)
	}

	e.rec.failing.Store(true)
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.topic}, "delivery_type": "push",
		"push_service": "t.recv", "retry_initial": "10ms", "retry_max": "20ms", "max_retry_time": "100ms"})
	id := e.publish(t, "doomed")
	dead, err := e.js.Stream(context.Background(), "PLEXUS_PUBSUB_DEAD")
	waitFor(t, "the dead letter", func() bool {
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
	waitFor(t, "the stream to drop the dead letter", func() bool { return e.streamMsgs(t) == 0 })
}

// Pull, with Zato's acknowledgement on retrieval and with explicit
// acknowledgement.
func TestPullThroughJetStream(t *testing.T) {
	e := start(t)
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{e.topic}})
	if got := e.get(t); len(got) != 0 {
		t.Fatalf("an empty queue answered %v", got)
	}
	for i := range 3 {
		e.publish(t, i)
	}
	got := e.get(t)
	if len(got) != 3 || fmt.Sprint(got[0]["data"], got[2]["data"]) != "0 2" || got[0]["delivery_count"] != float64(1) {
		t.Fatalf("pulled %v", got)
	}
	if got := e.get(t); len(got) != 0 {
		t.Fatalf("pulled again %v: auto acknowledgement", got)
	}
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{e.topic}, "ack": "explicit", "visibility_timeout": "1s"})
	id := e.publish(t, "x")
	got = e.get(t)
	if len(got) != 1 || got[0]["msg_id"] != id {
		t.Fatalf("pulled %v", got)
	}
	if again := e.get(t); len(again) != 0 {
		t.Fatalf("a message in flight was pulled again: %v", again)
	}
	waitFor(t, "the visibility timeout to return the message", func() bool {
		got = e.get(t)
		return len(got) == 1
	})
	if got[0]["delivery_count"] != float64(2) {
		t.Errorf("delivery_count after the timeout: %v", got[0]["delivery_count"])
	}
	r := e.Call("POST", "/pubsub/messages/ack", fmt.Sprintf(`{"msg_ids": [%q, "zpsm-unknown"]}`, id), basic("sub", "sub-secret-1"))
	if r.StatusCode != 200 || r.JSON(t)["acked"] != float64(1) {
		t.Fatalf("ack: %d %s", r.StatusCode, r.Body)
	}
	waitFor(t, "the stream to drop the acknowledged messages", func() bool { return e.streamMsgs(t) == 0 })
}

// A subscription that does not take publishes is skipped; a full topic
// refuses publishes with 503.
func TestSkipAndFullThroughJetStream(t *testing.T) {
	e := start(t)
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.topic}, "delivery_type": "push", "push_service": "t.recv"})
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{e.topic}})
	e.publish(t, 0)
	waitFor(t, "a delivery", func() bool { return len(e.rec.datas()) == 1 })
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.topic}, "delivery_type": "push", "push_service": "t.recv", "is_pub_active": false})
	e.publish(t, 1)
	if got := e.get(t); len(got) != 2 {
		t.Fatalf("the pull subscription got %v", got)
	}
	time.Sleep(300 * time.Millisecond)
	if d := e.rec.datas(); len(d) != 1 {
		t.Fatalf("a subscription not taking publishes got %v", d)
	}
	e.Put(pubsub.KindTopic, e.topic, map[string]any{"backend": "nats", "backend_connection": "js", "max_depth": 2})
	e.publish(t, 2)
	e.publish(t, 3)
	body := `{"data": 4}`
	if r := e.Call("POST", "/pubsub/topic/"+e.topic, body, basic("pub", "pub-secret-1")); r.StatusCode != 503 {
		t.Fatalf("publishing to a full topic: %d %s", r.StatusCode, r.Body)
	}
}

// Messages waiting in the stream when the server stops are delivered
// after it starts again: nothing is lost.
func TestRestartWithMessagesPending(t *testing.T) {
	e := start(t)
	e.rec.failing.Store(true)
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.topic}, "delivery_type": "push",
		"push_service": "t.recv", "retry_initial": "10ms", "retry_max": "20ms"})
	for i := range 20 {
		e.publish(t, i)
	}
	waitFor(t, "a failed attempt", func() bool { return e.rec.calls.Load() >= 1 })
	e.Server = e.Restart()
	e.rec.failing.Store(false)
	waitFor(t, "20 deliveries", func() bool { return len(e.rec.datas()) == 20 })
	if d := e.rec.datas(); !slices.Equal(d, seq(20)) {
		t.Fatalf("delivered %v after the restart, want all 20 in order", d)
	}
	waitFor(t, "the stream to drop the delivered messages", func() bool { return e.streamMsgs(t) == 0 })
}
