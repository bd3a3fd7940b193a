package kafka_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/kafka"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

func TestDeclarations(t *testing.T) {
	for _, id := range []string{kafka.ChannelKind, kafka.OutgoingKind} {
		k, ok := registry.Lookup(id)
		if !ok {
			t.Fatalf("%s is not registered", id)
		}
		for _, err := range k.Lint() {
			t.Error(err)
		}
	}
}

// cluster is an in-process Kafka cluster (franz-go's kfake, which speaks
// Kafka's protocol: no Kafka server is packaged here) and a client of the
// test's own.
type cluster struct {
	t    testing.TB
	c    *kfake.Cluster
	addr string
	cl   *kgo.Client
	opts []kfake.Opt
}

func newCluster(t testing.TB, opts ...kfake.Opt) *cluster {
	t.Helper()
	k := &cluster{t: t, opts: append([]kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3)}, opts...)}
	k.start()
	t.Cleanup(func() { k.c.Close() })
	return k
}

func (k *cluster) start() {
	k.t.Helper()
	opts := k.opts
	if k.addr != "" {
		var port int
		fmt.Sscanf(k.addr[strings.LastIndex(k.addr, ":")+1:], "%d", &port)
		opts = append(opts, kfake.Ports(port))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		k.t.Fatal(err)
	}
	k.c, k.addr = c, c.ListenAddrs()[0]
}

// client returns a client of the test's own consuming topics from their
// start.
func (k *cluster) client(topics ...string) *kgo.Client {
	k.t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(k.addr), kgo.AllowAutoTopicCreation()}
	if len(topics) > 0 {
		opts = append(opts, kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(cl.Close)
	return cl
}

func produce(t testing.TB, cl *kgo.Client, rs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("producing: %v", err)
	}
}

// next waits for the next record a consuming client gets.
func next(t testing.TB, cl *kgo.Client, timeout time.Duration) (*kgo.Record, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		fs := cl.PollRecords(ctx, 1)
		if rs := fs.Records(); len(rs) > 0 {
			return rs[0], true
		}
		if ctx.Err() != nil {
			return nil, false
		}
	}
}

func must(t testing.TB, cl *kgo.Client) *kgo.Record {
	t.Helper()
	r, ok := next(t, cl, 15*time.Second)
	if !ok {
		t.Fatal("no record arrived")
	}
	return r
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// forward sends what it got on, with what self.channel.message says of
// it; a payload asking to fail fails.
const forward = `
def handle(self):
    m = self.channel.message
    if self.request.payload.get("fail"):
        fail("the order is unknown")
    self.out.kafka["out"].send({"payload": self.request.payload, "topic": m.topic, "partition": m.partition,
        "key": m.key, "group_id": m.group_id, "delivery_count": m.delivery_count, "header": m.headers.get("x-order"),
        "type": self.channel.type}, topic="replies", key=m.key, headers={"x-from": "starlark"})
`

// goForward does the same from Go, on a text channel.
type goForward struct{}

func (goForward) Name() string { return "t.go-forward" }

func (goForward) Handle(c *service.Context) error {
	return c.Out().Kafka("out").Send(map[string]any{"payload": c.Request.Payload}, service.SendOptions{Topic: "replies", Key: []byte("go")})
}

// A record on a channel's topic invokes its service through the
// pipeline, which produces one through an outgoing connection with the
// cid and key; a failing service runs again, then its record is
// dead-lettered; an edit of the channel applies live.
func TestRoundTrip(t *testing.T) {
	k := newCluster(t, kfake.SeedTopics(3, "orders", "replies", "orders.dead"))
	producer := k.client()
	replies, dead := k.client("replies"), k.client("orders.dead")
	s := plexustest.Start(t, plexustest.Options{Services: []any{goForward{}}})
	s.Deploy("forward.star", forward)
	s.Put(kafka.OutgoingKind, "out", map[string]any{"address": k.addr})
	s.Put(kafka.ChannelKind, "in", map[string]any{"address": k.addr, "topics": []string{"orders"}, "service": "forward",
		"max_retries": 1, "retry_sleep_time": "10ms", "dlq_forward_to": "orders.dead"})
	s.WaitState(kafka.ChannelKind, "in", "running")
	s.WaitState(kafka.OutgoingKind, "out", "running")

	id := cid.New()
	produce(t, producer, &kgo.Record{Topic: "orders", Key: []byte("o-42"), Value: []byte(`{"order": 42}`),
		Headers: []kgo.RecordHeader{{Key: "X-Plexus-CID", Value: []byte(id)}, {Key: "x-order", Value: []byte("o-42")}}})
	r := must(t, replies)
	var got map[string]any
	if err := json.Unmarshal(r.Value, &got); err != nil {
		t.Fatalf("%v: %s", err, r.Value)
	}
	want := map[string]any{"payload": map[string]any{"order": float64(42)}, "topic": "orders", "key": "o-42",
		"group_id": "plexus-in", "delivery_count": float64(1), "header": "o-42", "type": "kafka"}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if string(r.Key) != "o-42" || header(r, "X-Plexus-CID") != id || header(r, "x-from") != "starlark" || header(r, "Content-Type") != "application/json" {
		t.Errorf("the record sent: key %q, headers %v", r.Key, r.Headers)
	}
	s.Log.WaitFor(t, "kind=channel_kafka", "channel=in", "cid="+id)

	// A failing service runs twice, then its record is dead-lettered.
	produce(t, producer, &kgo.Record{Topic: "orders", Key: []byte("o-7"), Value: []byte(`{"fail": true}`),
		Headers: []kgo.RecordHeader{{Key: "X-Plexus-CID", Value: []byte(id)}}})
	d := must(t, dead)
	if string(d.Value) != `{"fail": true}` || string(d.Key) != "o-7" || header(d, "x-plexus-status") != "500" ||
		header(d, "x-plexus-topic") != "orders" || header(d, "X-Plexus-CID") != id || header(d, "x-plexus-error") == "" {
		t.Errorf("dead letter: %s %v", d.Value, d.Headers)
	}
	s.Log.WaitFor(t, "record dead-lettered", "cid="+id)
	if n := len(s.Log.Lines("service failed", "the order is unknown", "cid="+id)); n != 2 {
		t.Errorf("the failing service ran %d times, want 2", n)
	}
	// Malformed JSON can never succeed: dead-lettered at once.
	produce(t, producer, &kgo.Record{Topic: "orders", Value: []byte(`{"order": `)})
	if d := must(t, dead); header(d, "x-plexus-status") != "400" {
		t.Errorf("malformed: %v", d.Headers)
	}

	// Edited live to a Go service on a text channel: consuming goes on
	// from the committed offsets, with nothing handled twice.
	s.Put(kafka.ChannelKind, "in", map[string]any{"address": k.addr, "topics": []string{"orders"}, "service": "t.go-forward",
		"data_format": "text", "dlq_forward_to": "orders.dead"})
	produce(t, producer, &kgo.Record{Topic: "orders", Value: []byte("plain")})
	r = must(t, replies)
	if string(r.Value) != `{"payload":"plain"}` || string(r.Key) != "go" {
		t.Errorf("from Go: %s %q", r.Value, r.Key)
	}
	if r, ok := next(t, replies, time.Second); ok {
		t.Errorf("a record handled twice: %s", r.Value)
	}
	metrics := string(s.AdminCall("GET", "/metrics", "").Body)
	for _, want := range []string{`outcome="committed"} 2`, `outcome="retried"} 1`, `outcome="dead_lettered"} 2`} {
		if !strings.Contains(metrics, `plexus_kafka_records_total{name="in",`+want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// A channel and an outgoing connection log in with SASL as the basic_auth
// security definition they name says, as Zato's security field does; a
// definition of another type is refused by name.
func TestSecurityDefinition(t *testing.T) {
	k := newCluster(t, kfake.EnableSASL(), kfake.Superuser("PLAIN", "plexus", "s3cret"), kfake.SeedTopics(1, "orders", "replies"))
	client := func(topics ...string) *kgo.Client {
		opts := []kgo.Opt{kgo.SeedBrokers(k.addr), kgo.SASL(plain.Auth{User: "plexus", Pass: "s3cret"}.AsMechanism())}
		if len(topics) > 0 {
			opts = append(opts, kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	producer, replies := client(), client("replies")
	s := plexustest.Start(t, plexustest.Options{})
	s.Deploy("relay.star", "def handle(self):\n    self.out.kafka[\"out\"].send(self.request.payload, topic=\"replies\")\n")
	s.Put("security", "kafka.creds", map[string]any{"type": "basic_auth", "username": "plexus", "password": "s3cret"})
	s.Put("security", "a.key", map[string]any{"type": "apikey", "password": "k"})
	s.Put(kafka.OutgoingKind, "out", map[string]any{"address": k.addr, "security": "kafka.creds"})
	s.Put(kafka.ChannelKind, "in", map[string]any{"address": k.addr, "topics": []string{"orders"}, "service": "relay",
		"data_format": "text", "security": "kafka.creds"})
	s.WaitState(kafka.ChannelKind, "in", "running")
	s.WaitState(kafka.OutgoingKind, "out", "running")
	produce(t, producer, &kgo.Record{Topic: "orders", Value: []byte("logged in")})
	if r := must(t, replies); string(r.Value) != "logged in" {
		t.Errorf("relayed %q", r.Value)
	}
	r := s.AdminCall("PUT", "/admin/api/v1/objects/outgoing_kafka/bad", fmt.Sprintf(`{"address": %q, "security": "a.key"}`, k.addr))
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), "a broker takes basic_auth") || strings.Contains(string(r.Body), `"k"`) {
		t.Errorf("an apikey definition: %d %s", r.StatusCode, r.Body)
	}
}
