package nats_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	natsio "github.com/nats-io/nats.go"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/nats"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// The declarations have everything the admin API, forms and docs need.
func TestDeclarations(t *testing.T) {
	for _, id := range []string{nats.ChannelKind, nats.OutgoingKind} {
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
// the outgoing connection, to the subject its message names in a
// header, with what self.channel.message says of it.
const forward = `
def handle(self):
    m = self.channel.message
    self.out.nats["out"].send({
        "payload": self.request.payload,
        "id": m.id, "topic": m.topic, "delivery_count": m.delivery_count,
        "subject": m.subject, "stream": m.stream, "consumer": m.consumer,
        "stream_sequence": m.stream_sequence,
        "header": m.headers.get("x-order"), "type": self.channel.type, "channel": self.channel.name,
        "data_format": self.channel.data_format,
    }, subject=m.headers["x-reply-subject"], headers={"x-from": "starlark"})
`

// goForward does what forward does, from Go.
type goForward struct{}

func (goForward) Name() string { return "t.go-forward" }

func (goForward) Handle(c *service.Context) error {
	m := c.Channel.Message
	return c.Out().NATS("out").Send(map[string]any{"payload": c.Request.Payload, "subject": m.Topic, "reply": m.Details["reply"]},
		service.SendOptions{Subject: m.Headers["x-reply-subject"].(string), Headers: map[string]any{"x-from": "go", "x-list": []any{"a", "b"}}})
}

// A message on a JetStream channel invokes its service through the
// pipeline, which reads the message's details and publishes a message
// back out through an outgoing connection to JetStream; the cid travels
// in X-Plexus-CID. A core NATS channel with a queue group does the same,
// from Go, and answers a request with the service's response.
func TestRoundTrip(t *testing.T) {
	n := newServer(t)
	stream := n.stream()
	in, out := n.subject("in"), n.subject("out")
	got := n.collect(out)
	s := plexustest.Start(t, plexustest.Options{Services: []any{goForward{}}})
	s.Deploy("forward.star", forward)
	s.Put(nats.OutgoingKind, "out", n.object(map[string]any{"jetstream": true, "expect_stream": stream}))
	s.Put(nats.ChannelKind, "in", n.object(map[string]any{"subject": in, "stream": stream, "service": "forward"}))
	s.WaitState(nats.OutgoingKind, "out", "running")
	s.WaitState(nats.ChannelKind, "in", "running")

	id := cid.New()
	h := natsio.Header{}
	h.Set("X-Plexus-CID", id)
	h.Set("x-order", "o-42")
	h.Set("x-reply-subject", out)
	h.Set(natsio.MsgIdHdr, "m-1")
	n.publish(in, []byte(`{"order": 42}`), h)
	m := got.must(t)
	var body map[string]any
	if err := json.Unmarshal(m.Data, &body); err != nil {
		t.Fatalf("%v: %s\n%s", err, m.Data, s.Log)
	}
	want := map[string]any{"payload": map[string]any{"order": float64(42)}, "id": "m-1", "topic": in, "delivery_count": float64(1),
		"subject": in, "stream": stream, "consumer": "plexus-in", "stream_sequence": float64(1), "header": "o-42",
		"type": "nats", "channel": "in", "data_format": "json"}
	for k, v := range want {
		if fmt.Sprint(body[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, body[k], v)
		}
	}
	if m.Header.Get("X-Plexus-CID") != id || m.Header.Get("x-from") != "starlark" || m.Header.Get("Content-Type") != "application/json" {
		t.Errorf("the message sent: headers %v", m.Header)
	}
	s.Log.WaitFor(t, "kind=channel_nats", "channel=in", "cid="+id)
	// The service's send was stored by the stream: the outgoing
	// connection waited for its acknowledgement.
	if stored := n.storedBodies(stream, out); len(stored) != 1 {
		t.Errorf("the stream holds %d messages on %s, want 1", len(stored), out)
	}

	// Core NATS, a queue group, a Go service, text; no cid gets a new one.
	core, coreOut := n.coreSubject("in"), n.coreSubject("out")
	coreGot := n.collect(coreOut)
	s.Put(nats.OutgoingKind, "out", n.object(nil))
	s.Put(nats.ChannelKind, "core", n.object(map[string]any{"subject": core, "queue_group": "billing", "service": "t.go-forward", "data_format": "text"}))
	s.WaitState(nats.ChannelKind, "core", "running")
	h = natsio.Header{}
	h.Set("x-reply-subject", coreOut)
	if err := n.nc.PublishMsg(&natsio.Msg{Subject: core, Data: []byte("plain"), Header: h}); err != nil {
		t.Fatal(err)
	}
	m = coreGot.must(t)
	if string(m.Data) != fmt.Sprintf(`{"payload":"plain","reply":"","subject":%q}`, core) || m.Header.Get("x-from") != "go" ||
		strings.Join(m.Header.Values("x-list"), ",") != "a,b" {
		t.Errorf("from Go: %s %v", m.Data, m.Header)
	}
	if c := m.Header.Get("X-Plexus-CID"); !cid.Valid(c) || c == id {
		t.Errorf("a new cid: %q", c)
	}
	// A request is answered with the service's response (here empty),
	// its status and cid.
	req := &natsio.Msg{Subject: core, Data: []byte("ask"), Header: h}
	resp, err := n.nc.RequestMsg(req, 10*time.Second)
	if err != nil {
		t.Fatalf("request: %v\n%s", err, s.Log)
	}
	if resp.Header.Get(nats.StatusHeader) != "200" || !cid.Valid(resp.Header.Get("X-Plexus-CID")) {
		t.Errorf("reply: %q %v", resp.Data, resp.Header)
	}
	m = coreGot.must(t)
	if !strings.Contains(string(m.Data), `"reply":"_INBOX.`) {
		t.Errorf("self.channel.message.reply: %s", m.Data)
	}

	metrics := string(s.AdminCall("GET", "/metrics", "").Body)
	for _, want := range []string{`plexus_nats_messages_total{name="in",outcome="acked"} 1`, `plexus_nats_messages_total{name="core",outcome="acked"} 2`,
		`plexus_channel_requests_total{channel="in",kind="channel_nats"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, grep(metrics, "nats"))
		}
	}
	// The ping action reaches the server.
	ping := s.AdminCall("POST", "/admin/api/v1/objects/outgoing_nats/out/ping", "").JSON(t)
	if ping["ok"] != true {
		t.Errorf("ping: %v", ping)
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

// failing fails as often as the message's header x-fail says, sending
// each delivery count it sees.
type failing struct{ calls chan int }

func (failing) Name() string { return "t.failing" }

func (f failing) Handle(c *service.Context) error {
	f.calls <- c.Channel.Message.DeliveryCount
	var fails int
	fmt.Sscan(c.Channel.Message.Headers["x-fail"].(string), &fails)
	if c.Channel.Message.DeliveryCount <= fails {
		return errors.New("the database is down")
	}
	return nil
}

// A failed JetStream message is delivered again after the back-off, up
// to max_deliver deliveries, then dead-lettered with why; a message that
// can never succeed is dead-lettered at once; nothing failed is
// acknowledged.
func TestFailures(t *testing.T) {
	n := newServer(t)
	stream := n.stream()
	in, dead := n.subject("in"), n.subject("dead")
	deadGot := n.collect(dead)
	f := failing{calls: make(chan int, 100)}
	s := plexustest.Start(t, plexustest.Options{Services: []any{f}})
	s.Put(nats.ChannelKind, "in", n.object(map[string]any{"subject": in, "stream": stream, "service": "t.failing",
		"max_deliver": 3, "back_off": []string{"10ms", "20ms"}, "dead_letter_subject": dead}))
	s.WaitState(nats.ChannelKind, "in", "running")

	// Fails twice, succeeds on the third delivery: never dead-lettered.
	h := natsio.Header{}
	h.Set("x-fail", "2")
	n.publish(in, []byte(`{}`), h)
	for _, want := range []int{1, 2, 3} {
		if got := <-f.calls; got != want {
			t.Fatalf("delivery %d, want %d", got, want)
		}
	}
	// Always fails: delivered max_deliver times, then dead-lettered with
	// the error, its status and the cid.
	id := cid.New()
	h = natsio.Header{}
	h.Set("x-fail", "99")
	h.Set("X-Plexus-CID", id)
	n.publish(in, []byte(`{"n": 1}`), h)
	d := deadGot.must(t)
	if string(d.Data) != `{"n": 1}` || d.Header.Get(nats.ErrorHeader) != "Internal server error" || d.Header.Get(nats.StatusHeader) != "500" ||
		d.Header.Get(nats.SubjectHeader) != in || d.Header.Get("X-Plexus-CID") != id {
		t.Errorf("dead letter: %s %v", d.Data, d.Header)
	}
	for _, want := range []int{1, 2, 3} {
		if got := <-f.calls; got != want {
			t.Fatalf("doomed delivery %d, want %d", got, want)
		}
	}
	s.Log.WaitFor(t, "the database is down", "cid="+id)

	// Malformed JSON never succeeds: dead-lettered at once.
	h = natsio.Header{}
	h.Set("x-fail", "0")
	n.publish(in, []byte(`{not json`), h)
	if d := deadGot.must(t); !strings.HasPrefix(d.Header.Get(nats.ErrorHeader), "Invalid JSON") || d.Header.Get(nats.StatusHeader) != "400" {
		t.Errorf("malformed: %v", d.Header)
	}
	if len(f.calls) != 0 {
		t.Error("the service ran again, or for a malformed message")
	}
	// On core NATS a failed message is not delivered again: it is
	// dead-lettered, when the channel has a dead-letter subject.
	core, coreDead := n.coreSubject("in"), n.coreSubject("dead")
	coreDeadGot := n.collect(coreDead)
	s.Put(nats.ChannelKind, "core", n.object(map[string]any{"subject": core, "service": "t.failing", "dead_letter_subject": coreDead}))
	s.WaitState(nats.ChannelKind, "core", "running")
	h = natsio.Header{}
	h.Set("x-fail", "1")
	if err := n.nc.PublishMsg(&natsio.Msg{Subject: core, Data: []byte(`{"core": true}`), Header: h}); err != nil {
		t.Fatal(err)
	}
	if d := coreDeadGot.must(t); string(d.Data) != `{"core": true}` || d.Header.Get(nats.StatusHeader) != "500" || d.Header.Get(nats.SubjectHeader) != core {
		t.Errorf("core dead letter: %s %v", d.Data, d.Header)
	}
	if got := <-f.calls; got != 1 || len(f.calls) != 0 {
		t.Errorf("core: handled with delivery count %d, %d more times", got, len(f.calls))
	}

	// A dead letter is counted once the server confirmed it, which may
	// come after the collector got it.
	metrics := s.WaitMetrics(`name="core",outcome="dead_lettered"`)
	if !strings.Contains(metrics, `plexus_nats_messages_total{name="core",outcome="dead_lettered"} 1`) {
		t.Errorf("metrics lack the core dead letter:\n%s", grep(metrics, "plexus_nats"))
	}
	for _, want := range []string{`outcome="acked"} 1`, `outcome="retried"} 4`, `outcome="dead_lettered"} 2`} {
		if !strings.Contains(metrics, `plexus_nats_messages_total{name="in",`+want) {
			t.Errorf("metrics lack %s:\n%s", want, grep(metrics, "plexus_nats"))
		}
	}
	// Nothing is left unacknowledged on the consumer.
	info, err := n.js.Consumer(t.Context(), stream, "plexus-in")
	if err != nil {
		t.Fatal(err)
	}
	ci, _ := info.Info(t.Context())
	if ci.NumAckPending != 0 || ci.NumPending != 0 {
		t.Errorf("consumer: %d pending acknowledgement, %d pending", ci.NumAckPending, ci.NumPending)
	}
}

// Bad configurations are refused by field name; passwords and tokens
// are never shown.
func TestValidation(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{})
	s.Put(nats.OutgoingKind, "secret", map[string]any{"address": "nats://127.0.0.1:1", "token": "tok-s3cret", "username": "u", "password": "pw-s3cret"})
	for _, path := range []string{"/admin/api/v1/objects/outgoing_nats/secret", "/admin/api/v1/enmasse/export"} {
		if b := string(s.AdminCall("GET", path, "").Body); strings.Contains(b, "s3cret") || !strings.Contains(b, "secret") {
			t.Errorf("%s shows a secret, or not the object:\n%s", path, b)
		}
	}
	for _, c := range []struct {
		kind  string
		obj   string
		field string
	}{
		{nats.ChannelKind, `{"address": "http://x:4222", "subject": "a", "service": "s"}`, "address"},
		{nats.ChannelKind, `{"address": "nats://u:p@x:4222", "subject": "a", "service": "s"}`, "address"},
		{nats.ChannelKind, `{"address": "nats://x:4222", "subject": "a..b", "service": "s"}`, "subject"},
		{nats.ChannelKind, `{"address": "nats://x:4222", "subject": "a.>.b", "service": "s"}`, "subject"},
		{nats.ChannelKind, `{"address": "nats://x:4222", "subject": "a", "service": "s", "stream": "A.B"}`, "stream"},
		{nats.ChannelKind, `{"address": "nats://x:4222", "subject": "a", "service": "s", "back_off": ["soon"]}`, "back_off"},
		{nats.OutgoingKind, `{"address": "nats://x:4222", "subject": "a.*"}`, "subject"},
	} {
		r := s.AdminCall("PUT", "/admin/api/v1/objects/"+c.kind+"/bad", c.obj)
		if r.StatusCode != 400 || !strings.Contains(string(r.Body), c.field) {
			t.Errorf("%s %s: %d %s", c.kind, c.obj, r.StatusCode, r.Body)
		}
	}
}
