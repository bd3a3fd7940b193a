package wsx_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/coder/websocket"

	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/internal/wsx"
)

// Two servers sharing a PostgreSQL store: a broadcast a service makes on
// one reaches the channel's clients on both, through LISTEN/NOTIFY.
func TestClusterBroadcast(t *testing.T) {
	dsn := testenv.Postgres(t)
	a := servertest.Start(t, servertest.Options{DB: dsn})
	a.Deploy("echo.star", echoSvc)
	a.Deploy("notify.star", notifySvc)
	a.Channel("notify", "test.notify", "POST", "/notify", nil)
	a.Put(wsx.ChannelKind, "live", map[string]any{"url_path": "/ws/live", "service": "test.echo", "protocol": "json"})

	// The second node: the same environment (its server key) and store.
	dir := filepath.Join(t.TempDir(), "env")
	if err := os.CopyFS(dir, os.DirFS(a.Dir)); err != nil {
		t.Fatal(err)
	}
	b := servertest.Start(t, servertest.Options{Dir: dir, DB: a.Server.Settings.DB})
	for _, s := range []*servertest.Server{a, b} {
		s.Log.WaitFor(t, "cluster bus: listening")
	}
	ca, cb := mustDial(t, a, "/ws/live", nil), mustDial(t, b, "/ws/live", nil)
	if r := a.Call("POST", "/notify", `{"channel": "live", "data": {"to": "everyone"}}`, nil); r.StatusCode != 200 {
		t.Fatalf("notify: %d %s", r.StatusCode, r.Body)
	}
	for name, c := range map[string]*websocket.Conn{"first": ca, "second": cb} {
		if m := recv(t, c); str(m["to"]) != "everyone" {
			t.Errorf("%s node's client: %v", name, m)
		}
	}
}

// Two servers of their own (no shared store) naming one outgoing_redis
// connection in websocket.redis: a broadcast a service makes on one
// reaches the channel's clients on both, through Redis pub/sub.
func TestRedisBroadcast(t *testing.T) {
	_, redis := testenv.Redis(t)
	var b [6]byte
	rand.Read(b[:])
	settings := "websocket:\n  redis: bus\n  redis_channel: plexus.test." + hex.EncodeToString(b[:]) + "\n"
	var nodes []*servertest.Server
	for range 2 {
		s := servertest.Start(t, servertest.Options{Settings: settings})
		s.Put("outgoing_redis", "bus", redis)
		s.Deploy("echo.star", echoSvc)
		s.Deploy("notify.star", notifySvc)
		s.Channel("notify", "test.notify", "POST", "/notify", nil)
		s.Put(wsx.ChannelKind, "live", map[string]any{"url_path": "/ws/live", "service": "test.echo", "protocol": "json"})
		s.Log.WaitFor(t, "WebSocket bus: subscribed")
		nodes = append(nodes, s)
	}
	ca, cb := mustDial(t, nodes[0], "/ws/live", nil), mustDial(t, nodes[1], "/ws/live", nil)
	if r := nodes[1].Call("POST", "/notify", `{"channel": "live", "data": {"to": "everyone"}}`, nil); r.StatusCode != 200 {
		t.Fatalf("notify: %d %s", r.StatusCode, r.Body)
	}
	for name, c := range map[string]*websocket.Conn{"first": ca, "second": cb} {
		if m := recv(t, c); str(m["to"]) != "everyone" {
			t.Errorf("%s node's client: %v", name, m)
		}
	}
}
