package pubsub_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/plexushq/plexus/internal/pubsub"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/internal/testhook"
	"github.com/plexushq/plexus/plexustest"
)

// Two servers on one PostgreSQL store deliver each message once, in
// normal operation, whichever server it was published on.
func TestTwoNodesDeliverOnce(t *testing.T) {
	a := start(t, testenv.Postgres(t))
	a.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{"orders.new"}, "delivery_type": "push", "push_service": "t.recv"})
	a.Put(pubsub.KindSubscription, "audit", map[string]any{"topics": []string{"orders.new"}, "delivery_type": "push", "push_service": "t.recv"})
	dir := filepath.Join(t.TempDir(), "env")
	if err := os.CopyFS(dir, os.DirFS(a.Dir)); err != nil {
		t.Fatal(err)
	}
	recB := &recorder{}
	bs := plexustest.Start(t, plexustest.Options{Dir: dir, DB: a.DB(), Services: []any{recB}})
	b := &env{Server: bs, rec: recB, eng: testhook.Server(bs).PubSub}
	for _, s := range []*env{a, b} {
		s.Log.WaitFor(t, "cluster bus: listening")
	}
	waitFor(t, "the second node's configuration", func() bool {
		return b.Call("POST", "/pubsub/topic/orders.new", `{"data": "probe"}`, basic("pub", "pub-secret-1")).StatusCode == 200
	})
	const n = 200
	for i := range n {
		node := a
		if i%2 == 1 {
			node = b
		}
		node.publish(t, "orders.new", map[string]any{"data": i})
	}
	const want = 2 * (n + 1) // two subscriptions, the probe included
	total := func() int { return len(a.rec.messages()) + len(b.rec.messages()) }
	waitFor(t, fmt.Sprintf("%d deliveries", want), func() bool { return total() >= want })
	seen := map[string]int{}
	for _, m := range append(a.rec.messages(), b.rec.messages()...) {
		seen[fmt.Sprint(m["sub_name"], "/", m["msg_id"])]++
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("%s delivered %d times", k, c)
		}
	}
	if len(seen) != want || total() != want {
		t.Errorf("%d distinct deliveries of %d, %d in all", len(seen), want, total())
	}
	t.Logf("node a delivered %d, node b %d", len(a.rec.messages()), len(b.rec.messages()))
}
