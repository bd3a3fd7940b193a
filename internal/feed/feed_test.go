package feed_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/secret"
	"github.com/plexushq/plexus/internal/server"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/internal/testenv"
)

const prefix = admin.Prefix

// cluster starts n servers on one new PostgreSQL schema, sharing one
// server key, as nodes of a cluster are.
func cluster(t *testing.T, n int, services ...any) (db string, nodes []*servertest.Server) {
	t.Helper()
	db = testenv.Postgres(t)
	var key []byte
	for i := range n {
		dir := filepath.Join(t.TempDir(), "env")
		env, err := envdir.Create(dir)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if key, err = os.ReadFile(env.Path(envdir.ServerKey)); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(env.Path(envdir.ServerKey), key, 0o600); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, servertest.Start(t, servertest.Options{Dir: dir, DB: db, Services: services}))
	}
	return db, nodes
}

// eventually waits until ok holds, failing the test after a deadline.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const greet = `
def handle(self):
    self.response.payload = {"greeting": "hello from v%d"}
`

func basic(user, pw string) http.Header {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pw)
	return r.Header
}

// A deploy, a channel, a secret and a typed I/O switch made on node A
// answer on B and C without a restart; a delete on C goes everywhere.
func TestChangesReachEveryNode(t *testing.T) {
	_, n := cluster(t, 3)
	a, b, c := n[0], n[1], n[2]
	a.Deploy("greet.star", strings.Replace(greet, "%d", "1", 1))
	a.Put("security", "partner", map[string]any{"type": "basic_auth", "username": "partner", "password": "s3cret-1"})
	a.Channel("greet", "greet", "", "/greet", map[string]any{"security": "partner"})
	for _, s := range []*servertest.Server{b, c} {
		eventually(t, "the channel answers on "+s.API, func() bool {
			r := s.Call("GET", "/greet", "", basic("partner", "s3cret-1"))
			return r.StatusCode == 200 && strings.Contains(string(r.Body), "hello from v1")
		})
		if r := s.Call("GET", "/greet", "", basic("partner", "wrong")); r.StatusCode != 401 {
			t.Errorf("a wrong password on %s: %d", s.API, r.StatusCode)
		}
	}
	// A new version of the code replaces the old one everywhere.
	b.Deploy("greet.star", strings.Replace(greet, "%d", "2", 1))
	for _, s := range []*servertest.Server{a, c} {
		eventually(t, "v2 answers on "+s.API, func() bool {
			return strings.Contains(string(s.Call("GET", "/greet", "", basic("partner", "s3cret-1")).Body), "hello from v2")
		})
	}
	if r := a.AdminCall("PUT", prefix+"/services/greet/io", `{"detailed_errors": true}`); r.StatusCode != 200 {
		t.Fatalf("switch: %d %s", r.StatusCode, r.Body)
	}
	eventually(t, "the I/O switch shows on C", func() bool {
		return c.AdminCall("GET", prefix+"/services/greet/io", "").JSON(t)["detailed_errors"] == true
	})
	if r := c.AdminCall("DELETE", prefix+"/objects/channel_rest/greet", ""); r.StatusCode != 204 {
		t.Fatalf("delete: %d %s", r.StatusCode, r.Body)
	}
	for _, s := range []*servertest.Server{a, b} {
		eventually(t, "the channel is gone on "+s.API, func() bool {
			return s.Call("GET", "/greet", "", basic("partner", "s3cret-1")).StatusCode == 404
		})
	}
	want := c.Runtime.State().Rev
	for _, s := range n {
		eventually(t, "every node runs the last revision", func() bool { return s.Runtime.State().Rev == want })
	}
}

// A node whose notification connection is terminated reconnects and
// catches up on what it missed.
func TestNotificationConnectionLost(t *testing.T) {
	db, n := cluster(t, 2)
	a, b := n[0], n[1]
	a.Deploy("greet.star", strings.Replace(greet, "%d", "1", 1))
	eventually(t, "B listens", b.Feed.Connected)
	pg, err := sql.Open("pgx", db)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	var killed int
	if err := pg.QueryRowContext(context.Background(),
		"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
		"plexus feed "+b.NodeID).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminating B's notification connection: %d, %v", killed, err)
	}
	// Changed while B may not be listening.
	a.Channel("greet", "greet", "", "/greet", nil)
	eventually(t, "B catches up", func() bool { return b.Call("GET", "/greet", "", nil).StatusCode == 200 })
	eventually(t, "B listens again", b.Feed.Connected)
	b.Log.WaitFor(t, "the change feed lost its database connection")
	// And follows changes again.
	a.Channel("greet2", "greet", "", "/greet2", nil)
	eventually(t, "B follows again", func() bool { return b.Call("GET", "/greet2", "", nil).StatusCode == 200 })
}

// A node stopped while the others change the configuration gets every
// change when it starts again.
func TestRestartedNodeCatchesUp(t *testing.T) {
	_, n := cluster(t, 2)
	a, b := n[0], n[1]
	b.Stop()
	a.Deploy("greet.star", strings.Replace(greet, "%d", "1", 1))
	a.Channel("greet", "greet", "", "/greet", nil)
	b = b.Restart()
	if r := b.Call("GET", "/greet", "", nil); r.StatusCode != 200 || !strings.Contains(string(r.Body), "hello from v1") {
		t.Fatalf("after the restart: %d %s", r.StatusCode, r.Body)
	}
	b.Channel("greet2", "greet", "", "/greet2", nil)
	eventually(t, "A sees the change of the restarted node", func() bool { return a.Call("GET", "/greet2", "", nil).StatusCode == 200 })
}

// A JWT session opened on one node works on every node, and a log-out on
// one ends it there at once (on the others within 10 seconds).
func TestSessionsOnEveryNode(t *testing.T) {
	_, n := cluster(t, 2)
	a, b := n[0], n[1]
	a.Put("security", "app", map[string]any{"type": "jwt", "username": "frontend", "password": "fe-pass-1", "ttl": "1h"})
	a.Channel("who", "plexus.ping", "", "/who", map[string]any{"security": "app"})
	eventually(t, "B has the channel", func() bool { return b.Runtime.State().Count("channel_rest") == 1 })
	r := b.Call("POST", "/plexus/jwt/log-in", `{"username": "frontend", "password": "fe-pass-1"}`, nil)
	token, _ := r.JSON(t)["token"].(string)
	if r.StatusCode != 200 || token == "" {
		t.Fatalf("log-in on B: %d %s", r.StatusCode, r.Body)
	}
	bearer := http.Header{"Authorization": {"Bearer " + token}}
	if r := a.Call("GET", "/who", "", bearer); r.StatusCode != 200 {
		t.Fatalf("B's session on A: %d %s", r.StatusCode, r.Body)
	}
	if r := a.Call("POST", "/plexus/jwt/log-out", "", bearer); r.StatusCode != 200 {
		t.Fatalf("log-out on A: %d %s", r.StatusCode, r.Body)
	}
	if r := a.Call("GET", "/who", "", bearer); r.StatusCode != 401 {
		t.Fatalf("after log-out on A: %d", r.StatusCode)
	}
}

// A node whose server key differs from the cluster's refuses to start.
func TestOtherKeyRefused(t *testing.T) {
	db, _ := cluster(t, 1)
	dir := filepath.Join(t.TempDir(), "env")
	if _, err := envdir.Create(dir); err != nil {
		t.Fatal(err)
	}
	_, err := server.Open(context.Background(), server.Options{Dir: dir, DB: db, Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", LogOutput: io.Discard})
	if !errors.Is(err, secret.ErrOtherKey) {
		t.Fatalf("a node with another key: %v", err)
	}
}
