package feed_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/feed"
)

// Every node registers; the cluster's state shows each one's revision,
// the scheduler leader, lagging and stale nodes, and forgets long-gone
// ones; a node that stops leaves the list.
func TestNodes(t *testing.T) {
	db, n := cluster(t, 3)
	n[0].Channel("x", "plexus.ping", "", "/x", nil)
	status := func() feed.Cluster {
		var c feed.Cluster
		r := n[1].AdminCall("GET", prefix+"/cluster", "")
		if r.StatusCode != 200 {
			t.Fatalf("GET /cluster: %d %s", r.StatusCode, r.Body)
		}
		m := r.JSON(t)
		c.Rev = int64(m["rev"].(float64))
		c.Leader, _ = m["scheduler_leader"].(string)
		for _, v := range m["nodes"].([]any) {
			x := v.(map[string]any)
			c.Nodes = append(c.Nodes, feed.Node{ID: x["id"].(string), Rev: int64(x["rev"].(float64)),
				Leader: x["scheduler_leader"].(bool), Lagging: x["lagging"].(bool), Stale: x["stale"].(bool), Address: x["address"].(string)})
		}
		return c
	}
	eventually(t, "three nodes on the latest revision, one leading", func() bool {
		c := status()
		if len(c.Nodes) != 3 || c.Leader == "" {
			return false
		}
		leaders := 0
		for _, node := range c.Nodes {
			if node.Lagging || node.Stale || node.Rev != c.Rev {
				return false
			}
			if node.Leader {
				leaders++
			}
		}
		return leaders == 1
	})
	pg, err := sql.Open("pgx", db)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	ins := "INSERT INTO cluster_nodes (id, name, address, version, rev, leader, started_at, heartbeat) VALUES ($1, 'gone', '10.0.0.9:11223', 'v0', $2, 0, $3, $3)"
	ago := func(d time.Duration) string { return time.Now().Add(-d).UTC().Format(time.RFC3339Nano) }
	if _, err := pg.ExecContext(context.Background(), ins, "crashed", 0, ago(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.ExecContext(context.Background(), ins, "ancient", 0, ago(2*feed.ForgetAfter)); err != nil {
		t.Fatal(err)
	}
	c := status()
	byID := map[string]feed.Node{}
	for _, node := range c.Nodes {
		byID[node.ID] = node
	}
	if got := byID["crashed"]; !got.Stale || !got.Lagging || len(c.Nodes) != 4 {
		t.Fatalf("a crashed node: %+v in %+v", got, c)
	}
	if _, ok := byID["ancient"]; ok {
		t.Fatal("a node gone for longer than ForgetAfter is listed")
	}
	if byID[n[2].NodeID].Address != n[2].Server.APIAddr() {
		t.Errorf("address %q, want %q", byID[n[2].NodeID].Address, n[2].Server.APIAddr())
	}
	n[2].Stop()
	c = status()
	for _, node := range c.Nodes {
		if node.ID == n[2].NodeID {
			t.Fatal("a stopped node is still listed")
		}
	}
}
