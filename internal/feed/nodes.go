package feed

import (
	"context"
	"embed"
	"fmt"
	"net/http"
	"runtime/debug"
	"sort"
	"time"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/store"
)

//go:embed migrations
var migrations embed.FS

func init() {
	store.RegisterMigrations(store.Migrations{Owner: "cluster", FS: migrations, Dir: "migrations"})
}

// Timing of the nodes' registrations.
const (
	// DefaultHeartbeat is how often a node writes its heartbeat and the
	// revision it runs.
	DefaultHeartbeat = 2 * time.Second
	// StaleAfter is how long after its last heartbeat a node is reported
	// stale: it stopped without leaving, or cannot reach the store.
	StaleAfter = 10 * time.Second
	// ForgetAfter is how long a stale node stays listed.
	ForgetAfter = time.Hour
)

// Self describes this node in the cluster's list of nodes.
type Self struct {
	// ID identifies the node; a new one is drawn at each start.
	ID string
	// Name is the host's name.
	Name string
	// Address is where the node's API listener answers.
	Address string
	// Leading reports whether the node leads the scheduler (nil: never).
	Leading func() bool
}

// Node is one node as the cluster sees it.
type Node struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Address   string    `json:"address"`
	Version   string    `json:"version"`
	Rev       int64     `json:"rev"`
	Leader    bool      `json:"scheduler_leader"`
	StartedAt time.Time `json:"started_at"`
	Heartbeat time.Time `json:"heartbeat"`
	// Lagging: the node runs an older revision than the store's latest.
	Lagging bool `json:"lagging"`
	// Stale: no heartbeat for StaleAfter.
	Stale bool `json:"stale"`
}

// Cluster is the state of the nodes sharing the store.
type Cluster struct {
	// Rev is the store's latest revision.
	Rev   int64  `json:"rev"`
	Nodes []Node `json:"nodes"` // by name, then id
	// Leader is the id of the node that leads the scheduler, if a live
	// node does.
	Leader string `json:"scheduler_leader"`
}

// version is the Plexus version this binary was built from.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}

// beat writes this node's row: registration, heartbeat and revision.
func (f *Feed) beat(ctx context.Context, now time.Time) error {
	st, self := f.opts.Store, f.opts.Self
	leading := 0
	if self.Leading != nil && self.Leading() {
		leading = 1
	}
	_, err := st.DB().ExecContext(ctx, st.Rebind(`INSERT INTO cluster_nodes (id, name, address, version, rev, leader, started_at, heartbeat)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET rev = excluded.rev, leader = excluded.leader, heartbeat = excluded.heartbeat, address = excluded.address`),
		self.ID, self.Name, self.Address, f.version, f.opts.Runtime.State().Rev, leading, f.started.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("writing the node's heartbeat: %w", err)
	}
	return nil
}

// leave removes this node's row.
func (f *Feed) leave(ctx context.Context) error {
	st := f.opts.Store
	_, err := st.DB().ExecContext(ctx, st.Rebind("DELETE FROM cluster_nodes WHERE id = ?"), f.opts.Self.ID)
	return err
}

// heartbeat writes the node's heartbeat every Heartbeat, and as soon as
// its revision or leadership changes.
func (f *Feed) heartbeat(ctx context.Context) {
	t := time.NewTicker(f.opts.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-f.beatNow:
		}
		f.beatOnce(ctx)
	}
}

// beatOnce writes the node's row and logs a failure.
func (f *Feed) beatOnce(ctx context.Context) {
	if err := f.beat(ctx, time.Now()); err != nil && ctx.Err() == nil {
		f.opts.Logger.Warn("cannot write this node's heartbeat", "error", err.Error())
	}
}

// Status reads the state of the cluster's nodes from the store and
// forgets the nodes stale for ForgetAfter.
func Status(ctx context.Context, st *store.Store, now time.Time) (*Cluster, error) {
	rev, err := st.Rev(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := st.DB().QueryContext(ctx, "SELECT id, name, address, version, rev, leader, started_at, heartbeat FROM cluster_nodes")
	if err != nil {
		return nil, fmt.Errorf("reading the cluster's nodes: %w", err)
	}
	defer rows.Close()
	c := &Cluster{Rev: rev, Nodes: []Node{}}
	var forget []string
	for rows.Next() {
		var n Node
		var leader int
		var started, beat string
		if err := rows.Scan(&n.ID, &n.Name, &n.Address, &n.Version, &n.Rev, &leader, &started, &beat); err != nil {
			return nil, fmt.Errorf("reading the cluster's nodes: %w", err)
		}
		n.StartedAt, _ = time.Parse(time.RFC3339Nano, started)
		n.Heartbeat, _ = time.Parse(time.RFC3339Nano, beat)
		age := now.Sub(n.Heartbeat)
		if age > ForgetAfter {
			forget = append(forget, n.ID)
			continue
		}
		n.Stale = age > StaleAfter
		n.Leader = leader == 1 && !n.Stale
		n.Lagging = n.Rev < rev
		if n.Leader {
			c.Leader = n.ID
		}
		c.Nodes = append(c.Nodes, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the cluster's nodes: %w", err)
	}
	for _, id := range forget {
		st.DB().ExecContext(ctx, st.Rebind("DELETE FROM cluster_nodes WHERE id = ?"), id)
	}
	sort.Slice(c.Nodes, func(i, j int) bool {
		a, b := c.Nodes[i], c.Nodes[j]
		return a.Name < b.Name || a.Name == b.Name && a.ID < b.ID
	})
	return c, nil
}

// ServeHTTP answers GET /admin/api/v1/cluster: the Cluster as JSON, or
// 503 when the store cannot be read.
func (f *Feed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := Status(r.Context(), f.opts.Store, time.Now())
	if err != nil {
		id := cid.New()
		w.Header().Set(reply.CIDHeader, id)
		f.opts.Logger.Error("reading the cluster's state", "cid", id, "error", err.Error())
		reply.Envelope(w, http.StatusServiceUnavailable, id, "The store cannot be read; the cluster's state is unknown")
		return
	}
	reply.JSON(w, http.StatusOK, c)
}
