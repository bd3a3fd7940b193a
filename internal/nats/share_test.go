package nats_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/nats"
	"github.com/plexushq/plexus/plexustest"
)

// A channel and an outgoing connection on the same server as the same
// user share one connection: both work over it; closing either leaves
// the other working on it; a change of either's configuration takes
// effect (a new address, a connection of its own); the last one to go
// closes it.
func TestSharedConnection(t *testing.T) {
	p := startPrivate(t)
	n := connect(t, p.url())
	stream := n.stream()
	in, out := n.subject("in"), n.subject("out")
	s := plexustest.Start(t, plexustest.Options{Services: []any{relay{out: out}}, Timeout: 60 * time.Second})
	s.Channel("relay", "t.relay", "POST", "/relay", nil)
	outObj := n.object(map[string]any{"jetstream": true})
	inObj := n.object(map[string]any{"subject": in, "stream": stream, "service": "t.relay", "data_format": "bytes", "pool_size": 2,
		"max_deliver": 1000, "back_off": []string{"100ms"}})
	s.Put(nats.OutgoingKind, "out", outObj)
	s.Put(nats.ChannelKind, "in", inObj)
	s.WaitState(nats.ChannelKind, "in", "running")
	s.WaitState(nats.OutgoingKind, "out", "running")
	got := n.collect(out)

	// relayed sends a message through the channel and checks that the
	// outgoing connection published it.
	relayed := func(body string) {
		t.Helper()
		n.publish(in, []byte(body), nil)
		if m := got.must(t); string(m.Data) != body {
			t.Fatalf("relayed %q, want %q", m.Data, body)
		}
	}
	// sent sends a message through the outgoing connection alone.
	sent := func(body string) {
		t.Helper()
		if r := s.Call("POST", "/relay", body, nil); r.StatusCode != 200 {
			t.Fatalf("sending: %d %s", r.StatusCode, r.Body)
		}
		if m := got.must(t); string(m.Data) != body {
			t.Fatalf("sent %q, want %q", m.Data, body)
		}
	}
	// conns waits until the server lists want connections of Plexus,
	// and returns their names.
	conns := func(want int) []string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			names := p.connections("plexus ")
			if len(names) == want {
				return names
			}
			if time.Now().After(deadline) {
				t.Fatalf("the server lists %d connections of Plexus, want %d: %q", len(names), want, names)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	conns(1)
	relayed("shared")

	// A change of the channel that needs a new consumer: it comes back
	// on the connection the outgoing connection kept open.
	inObj["pool_size"] = 3
	s.Put(nats.ChannelKind, "in", inObj)
	s.WaitState(nats.ChannelKind, "in", "running")
	conns(1)
	relayed("channel changed")
	// A change of the outgoing connection: the same.
	outObj["timeout"] = "5s"
	s.Put(nats.OutgoingKind, "out", outObj)
	s.WaitState(nats.OutgoingKind, "out", "running")
	conns(1)
	relayed("outgoing changed")

	// The channel goes: the outgoing connection goes on over the same
	// connection.
	s.AdminCall("DELETE", "/admin/api/v1/objects/"+nats.ChannelKind+"/in", "")
	conns(1)
	sent(`"channel gone"`)
	// It comes back, and shares the connection again.
	s.Put(nats.ChannelKind, "in", inObj)
	s.WaitState(nats.ChannelKind, "in", "running")
	conns(1)
	relayed("channel back")

	// The outgoing connection goes: the channel goes on consuming (its
	// service fails without it, and the message waits in the stream),
	// and the outgoing connection, back, shares its connection.
	s.AdminCall("DELETE", "/admin/api/v1/objects/"+nats.OutgoingKind+"/out", "")
	conns(1)
	n.publish(in, []byte("outgoing gone"), nil)
	s.Put(nats.OutgoingKind, "out", outObj)
	s.WaitState(nats.OutgoingKind, "out", "running")
	if m := got.must(t); string(m.Data) != "outgoing gone" {
		t.Fatalf("relayed %q, want %q", m.Data, "outgoing gone")
	}
	conns(1)

	// Another address of the same server: the channel has a connection
	// of its own, and both work. (The other connection is named after
	// whichever object opened it, the channel or the outgoing connection,
	// as the changes above happened to order it.)
	inObj["address"] = strings.Replace(p.url(), "127.0.0.1", "localhost", 1)
	s.Put(nats.ChannelKind, "in", inObj)
	s.WaitState(nats.ChannelKind, "in", "running")
	if names := conns(2); !slices.Contains(names, "plexus "+nats.ChannelKind+" in") {
		t.Errorf("connections %q", names)
	}
	relayed("own connections")
	sent(`"own connections"`)

	// Back on the same address: one connection again, closed once both
	// have gone.
	inObj["address"] = p.url()
	s.Put(nats.ChannelKind, "in", inObj)
	s.WaitState(nats.ChannelKind, "in", "running")
	conns(1)
	relayed("shared again")
	s.AdminCall("DELETE", "/admin/api/v1/objects/"+nats.ChannelKind+"/in", "")
	s.AdminCall("DELETE", "/admin/api/v1/objects/"+nats.OutgoingKind+"/out", "")
	conns(0)
}
