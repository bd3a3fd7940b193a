package wsx_test

import (
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
