package mqtt_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/mqtt"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/plexustest"
)

func TestDeclarations(t *testing.T) {
	for _, id := range []string{mqtt.ChannelKind, mqtt.OutgoingKind} {
		k, ok := registry.Lookup(id)
		if !ok {
			t.Fatalf("%s is not registered", id)
		}
		for _, err := range k.Lint() {
			t.Error(err)
		}
	}
}

// client is a test's own MQTT client, subscribed to what it asks for.
type client struct {
	t   *testing.T
	c   *paho.Client
	got chan *paho.Publish
	id  string
}

func newClient(t *testing.T) (*client, string) {
	t.Helper()
	addr := testenv.Value(t, "PLEXUS_TEST_MQTT", "an MQTT address such as tcp://127.0.0.1:1883")
	u, _ := url.Parse(addr)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	rand.Read(b[:])
	cl := &client{t: t, got: make(chan *paho.Publish, 100), id: hex.EncodeToString(b[:])}
	cl.c = paho.NewClient(paho.ClientConfig{Conn: conn, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(pr paho.PublishReceived) (bool, error) { cl.got <- pr.Packet; return true, nil }}})
	if _, err := cl.c.Connect(context.Background(), &paho.Connect{ClientID: "plexus-test-" + cl.id, CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.c.Disconnect(&paho.Disconnect{}) })
	return cl, addr
}

// topic returns a topic of the test's own.
func (cl *client) topic(what string) string { return "plexus-test/" + cl.id + "/" + what }

func (cl *client) subscribe(filter string) {
	cl.t.Helper()
	if _, err := cl.c.Subscribe(context.Background(), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}}); err != nil {
		cl.t.Fatal(err)
	}
}

func (cl *client) publish(topic string, body string, props ...paho.UserProperty) {
	cl.t.Helper()
	if _, err := cl.c.Publish(context.Background(), &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(body),
		Properties: &paho.PublishProperties{User: props}}); err != nil {
		cl.t.Fatal(err)
	}
}

func (cl *client) must() *paho.Publish {
	cl.t.Helper()
	select {
	case p := <-cl.got:
		return p
	case <-time.After(10 * time.Second):
		cl.t.Fatal("no message arrived")
		return nil
	}
}

// echo sends what it got on to the reply topic its message names, with
// what self.channel.message says of it.
const echo = `
def handle(self):
    m = self.channel.message
    if self.request.payload.get("fail"):
        fail("the device is unknown")
    self.out.mqtt["out"].send({"payload": self.request.payload, "topic": m.topic, "qos": m.qos,
        "delivery_count": m.delivery_count, "header": m.headers.get("x-device"), "type": self.channel.type},
        topic=m.headers["x-reply"], headers={"x-from": "starlark"})
`

// A message on a channel's topic filter invokes its service through the
// pipeline, which sends one back out through an outgoing connection with
// the cid; a failing service runs again, then its message is
// dead-lettered.
func TestRoundTrip(t *testing.T) {
	cl, addr := newClient(t)
	reply, dead := cl.topic("reply"), cl.topic("dead")
	cl.subscribe(reply)
	cl.subscribe(dead)
	s := plexustest.Start(t, plexustest.Options{})
	s.Deploy("echo.star", echo)
	s.Put(mqtt.OutgoingKind, "out", map[string]any{"address": addr})
	s.Put(mqtt.ChannelKind, "in", map[string]any{"address": addr, "topic": cl.topic("sensors/+/temp"), "service": "echo",
		"client_id": "plexus-test-in-" + cl.id, "clean_start": true, "max_redeliveries": 1, "dead_letter_topic": dead})
	s.WaitState(mqtt.ChannelKind, "in", "running")
	s.WaitState(mqtt.OutgoingKind, "out", "running")

	id := cid.New()
	cl.publish(cl.topic("sensors/7/temp"), `{"c": 21.5}`, paho.UserProperty{Key: "X-Plexus-CID", Value: id},
		paho.UserProperty{Key: "x-device", Value: "d-7"}, paho.UserProperty{Key: "x-reply", Value: reply})
	p := cl.must()
	var got map[string]any
	json.Unmarshal(p.Payload, &got)
	want := map[string]any{"payload": map[string]any{"c": 21.5}, "topic": cl.topic("sensors/7/temp"), "qos": float64(1),
		"delivery_count": float64(1), "header": "d-7", "type": "mqtt"}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v (%s)", k, got[k], v, p.Payload)
		}
	}
	if p.Topic != reply || p.Properties.User.Get("X-Plexus-CID") != id || p.Properties.User.Get("x-from") != "starlark" ||
		p.Properties.ContentType != "application/json" {
		t.Errorf("sent: %s %v", p.Topic, p.Properties)
	}

	cl.publish(cl.topic("sensors/8/temp"), `{"fail": true}`, paho.UserProperty{Key: "X-Plexus-CID", Value: id})
	p = cl.must()
	if p.Topic != dead || string(p.Payload) != `{"fail": true}` || p.Properties.User.Get("x-plexus-status") != "500" ||
		p.Properties.User.Get("x-plexus-topic") != cl.topic("sensors/8/temp") || p.Properties.User.Get("X-Plexus-CID") != id {
		t.Errorf("dead letter: %s %s %v", p.Topic, p.Payload, p.Properties.User)
	}
	s.Log.WaitFor(t, "message dead-lettered", "cid="+id)
	if n := len(s.Log.Lines("service failed", "the device is unknown", "cid="+id)); n != 2 {
		t.Errorf("the failing service ran %d times, want 2\n%s", n, s.Log)
	}
	metrics := string(s.AdminCall("GET", "/metrics", "").Body)
	for _, want := range []string{`outcome="acked"} 1`, `outcome="retried"} 1`, `outcome="dead_lettered"} 1`} {
		if !strings.Contains(metrics, `plexus_mqtt_messages_total{name="in",`+want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// relay311 sends what it got on to the topic its payload names, with
// what self.channel.message says of it; MQTT 3.1.1 carries no headers.
const relay311 = `
def handle(self):
    m = self.channel.message
    if self.request.payload.get("fail"):
        fail("the device is unknown")
    self.out.mqtt["out"].send({"payload": self.request.payload, "topic": m.topic, "qos": m.qos,
        "delivery_count": m.delivery_count, "type": self.channel.type}, topic=self.request.payload["reply"])
`

// With protocol_version 3.1.1 a channel and an outgoing connection speak
// MQTT 3.1.1 to Mosquitto, with the same behaviour: a round trip, a
// failing service run again then dead-lettered, and headers refused on
// send since 3.1.1 has none.
func TestMQTT311(t *testing.T) {
	cl, addr := newClient(t)
	reply, dead := cl.topic("reply"), cl.topic("dead")
	cl.subscribe(reply)
	cl.subscribe(dead)
	s := plexustest.Start(t, plexustest.Options{})
	s.Deploy("relay311.star", relay311)
	s.Deploy("headers311.star", "def handle(self):\n    self.out.mqtt[\"out\"].send(\"x\", topic=\"t\", headers={\"a\": \"b\"})\n")
	s.Put(mqtt.OutgoingKind, "out", map[string]any{"address": addr, "protocol_version": "3.1.1", "client_id": "plexus-test-out-" + cl.id})
	s.Put(mqtt.ChannelKind, "in", map[string]any{"address": addr, "protocol_version": "3.1.1", "topic": cl.topic("sensors/#"), "service": "relay311",
		"client_id": "plexus-test-in-" + cl.id, "clean_start": true, "max_redeliveries": 1, "dead_letter_topic": dead})
	s.WaitState(mqtt.ChannelKind, "in", "running")
	s.WaitState(mqtt.OutgoingKind, "out", "running")

	cl.publish(cl.topic("sensors/7"), fmt.Sprintf(`{"c": 21.5, "reply": %q}`, reply))
	p := cl.must()
	var got map[string]any
	json.Unmarshal(p.Payload, &got)
	want := map[string]any{"topic": cl.topic("sensors/7"), "qos": float64(1), "delivery_count": float64(1), "type": "mqtt"}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v (%s)", k, got[k], v, p.Payload)
		}
	}
	if p.Topic != reply || len(p.Properties.User) != 0 {
		t.Errorf("sent: %s %v", p.Topic, p.Properties.User)
	}

	cl.publish(cl.topic("sensors/8"), `{"fail": true}`)
	p = cl.must()
	if p.Topic != dead || string(p.Payload) != `{"fail": true}` {
		t.Errorf("dead letter: %s %s", p.Topic, p.Payload)
	}
	s.Log.WaitFor(t, "message dead-lettered", "topic="+cl.topic("sensors/8"))
	if n := len(s.Log.Lines("service failed", "the device is unknown")); n != 2 {
		t.Errorf("the failing service ran %d times, want 2", n)
	}
	s.Channel("headers", "headers311", "", "/headers311", nil)
	if r := s.Call("POST", "/headers311", "", nil); r.StatusCode != 400 || !strings.Contains(string(r.Body), "carry no headers") {
		t.Errorf("headers on MQTT 3.1.1: %d %s", r.StatusCode, r.Body)
	}
}
