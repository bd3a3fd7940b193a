package wsx_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/internal/wsx"
)

// session connects a zato-protocol client and creates its session,
// returning the token.
func session(t *testing.T, s *servertest.Server, path string) (*websocket.Conn, string) {
	t.Helper()
	c := mustDial(t, s, path, nil)
	send(t, c, map[string]any{"meta": map[string]any{"action": "create-session", "id": "s1", "username": "wsuser", "secret": "ws-pass-123"}})
	m := recv(t, c)
	token, _ := m["data"].(map[string]any)["token"].(string)
	if token == "" {
		t.Fatalf("create-session: %v", m)
	}
	return c, token
}

// frames reads messages until it has one of each msg_type wanted.
func frames(t *testing.T, c *websocket.Conn, types ...string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for len(out) < len(types) {
		m := recv(t, c)
		typ, _ := m["meta"].(map[string]any)["msg_type"].(string)
		out[typ] = m
	}
	for _, typ := range types {
		if out[typ] == nil {
			t.Fatalf("no %s among %v", typ, out)
		}
	}
	return out
}

// pushed returns the one message of a zwsx.psrq and the psrq's id.
func pushed(t *testing.T, m map[string]any) (map[string]any, string) {
	t.Helper()
	list, _ := m["data"].([]any)
	if len(list) != 1 {
		t.Fatalf("zwsx.psrq without one message: %v", m)
	}
	return list[0].(map[string]any), str(m["meta"].(map[string]any)["id"])
}

// Clients of a zato-protocol channel publish with meta.action publish,
// and a push subscription with push_type wsx delivers to one of them as
// zwsx.psrq, which the client acknowledges with a client-response; a
// message whose client leaves before acknowledging goes to the next
// client.
func TestPubSub(t *testing.T) {
	s := start(t)
	s.Put("security", "ws.client", map[string]any{"type": "basic_auth", "username": "wsuser", "password": "ws-pass-123"})
	s.Put("pubsub_permission", "ws.client", map[string]any{"security": "ws.client", "pub": []string{"ws.**"}})
	s.Put("pubsub_topic", "ws.events", map[string]any{"is_active": true, "max_depth": 1000})
	s.Put(wsx.ChannelKind, "live", map[string]any{"url_path": "/ws/live", "service": "test.echo", "protocol": "zato", "security": "ws.client"})
	s.Put("pubsub_subscription", "ws.push", map[string]any{"security": "ws.client", "topics": []string{"ws.events"}, "delivery_type": "push",
		"push_type": "wsx", "push_target": "live", "is_delivery_active": true, "is_pub_active": true,
		"retry_initial": "50ms", "retry_max": "200ms"})

	a, token := session(t, s, "/ws/live")
	send(t, a, map[string]any{"meta": map[string]any{"action": "publish", "id": "p1", "token": token, "topic": "ws.events", "priority": 7, "correl_id": "c-1"},
		"data": map[string]any{"n": 1}})
	got := frames(t, a, "zwsx.rspok", "zwsx.psrq")
	ok := got["zwsx.rspok"]
	meta := ok["meta"].(map[string]any)
	msgID, _ := ok["data"].(map[string]any)["msg_id"].(string)
	if meta["in_reply_to"] != "p1" || str(meta["status"]) != "200" || msgID == "" {
		t.Fatalf("publish answered %v", ok)
	}
	msg, psrq := pushed(t, got["zwsx.psrq"])
	if msg["msg_id"] != msgID || msg["topic_name"] != "ws.events" || str(msg["priority"]) != "7" || msg["correl_id"] != "c-1" ||
		str(msg["data"].(map[string]any)["n"]) != "1" {
		t.Fatalf("pushed %v", msg)
	}
	send(t, a, map[string]any{"meta": map[string]any{"action": "client-response", "in_reply_to": psrq, "token": token}, "data": "ok"})
	waitQueue(t, s, "ws.push", 0)

	// A client that leaves without acknowledging: the next one gets the
	// message again.
	send(t, a, map[string]any{"meta": map[string]any{"action": "publish", "id": "p2", "token": token, "topic": "ws.events"}, "data": "second"})
	got = frames(t, a, "zwsx.rspok", "zwsx.psrq")
	first, _ := pushed(t, got["zwsx.psrq"])
	a.Close(websocket.StatusNormalClosure, "")
	b, tokenB := session(t, s, "/ws/live")
	again, psrq := pushed(t, frames(t, b, "zwsx.psrq")["zwsx.psrq"])
	if again["msg_id"] != first["msg_id"] || again["data"] != "second" {
		t.Fatalf("redelivered %v, first delivered %v", again, first)
	}
	send(t, b, map[string]any{"meta": map[string]any{"action": "client-response", "in_reply_to": psrq, "token": tokenB}, "data": nil})
	waitQueue(t, s, "ws.push", 0)

	// Mistakes are answered zwsx.rsperr with Zato's statuses.
	for _, c := range []struct {
		meta   map[string]any
		data   any
		status string
	}{
		{map[string]any{"action": "publish", "id": "e1", "token": tokenB}, 1, "400"},
		{map[string]any{"action": "publish", "id": "e2", "token": tokenB, "topic": "ws.events"}, nil, "400"},
		{map[string]any{"action": "publish", "id": "e3", "token": tokenB, "topic": "other.events"}, 1, "401"},
	} {
		send(t, b, map[string]any{"meta": c.meta, "data": c.data})
		m := frames(t, b, "zwsx.rsperr")["zwsx.rsperr"]
		meta := m["meta"].(map[string]any)
		if meta["in_reply_to"] != c.meta["id"] || str(meta["status"]) != c.status || meta["error_message"] == "" {
			t.Errorf("%v: %v", c.meta, m)
		}
	}
	send(t, b, map[string]any{"meta": map[string]any{"action": "publish", "id": "e4", "token": "guess", "topic": "ws.events"}, "data": 1})
	if m := recv(t, b); m["meta"].(map[string]any)["msg_type"] != "zwsx.merr" {
		t.Errorf("publish without a session: %v", m)
	}
}

// waitQueue waits until a subscription has n messages waiting or in
// flight.
func waitQueue(t *testing.T, s *servertest.Server, sub string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		var st struct {
			Backlog  int `json:"backlog"`
			InFlight int `json:"in_flight"`
		}
		r := s.AdminCall("GET", "/admin/api/v1/pubsub/subscriptions/"+sub, "")
		if err := json.Unmarshal(r.Body, &st); err != nil {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
		if st.Backlog+st.InFlight == n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("subscription %s: %+v, want %d messages", sub, st, n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
