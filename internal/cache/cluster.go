package cache

import (
	"container/list"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/plexushq/plexus/internal/bus"
	"github.com/plexushq/plexus/internal/registry"
)

// Invalidation is a change of one cache that the other servers of a
// cluster must apply to their copies: the keys set, deleted or expired
// (their copies are dropped, and read again from the source), or all of
// them.
type Invalidation struct {
	Cache string
	Keys  []string
	// Prefix drops every key starting with it (delete_by_prefix).
	Prefix string
	All    bool
}

// Broadcaster sends a server's invalidations to the other servers of its
// cluster, which apply them with Caches.Apply. It is the hook a cluster
// feed (PostgreSQL LISTEN/NOTIFY, Redis pub/sub) implements; a server
// finds it among its subsystems. Without one, as on a single server,
// caches are local. Broadcast must not block: it queues or drops.
type Broadcaster interface {
	Broadcast(Invalidation)
}

// broadcast sends an invalidation to the other servers, if any.
func (c *Cache) broadcast(inv Invalidation) {
	if c.peers != nil {
		c.peers.Broadcast(inv)
	}
}

// Apply applies an invalidation another server sent, without sending it
// on.
func (c *Cache) Apply(inv Invalidation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if inv.All {
		c.entries, c.bytes = map[string]*list.Element{}, 0
		c.lru.Init()
		return
	}
	for _, k := range inv.Keys {
		if el, ok := c.entries[k]; ok {
			c.remove(el)
		}
	}
	if inv.Prefix != "" {
		for k, el := range c.entries {
			if strings.HasPrefix(k, inv.Prefix) {
				c.remove(el)
			}
		}
	}
}

// ClusterBroadcaster is a Broadcaster over the cluster's bus (package
// bus): it publishes this server's invalidations and applies the other
// servers' to the caches of the configuration state returns and to the
// default cache.
type ClusterBroadcaster struct {
	b   *bus.Bus
	log *slog.Logger
}

// NewClusterBroadcaster handles invalidations on b.
func NewClusterBroadcaster(b *bus.Bus, state func() registry.State, def *Builtin, log *slog.Logger) *ClusterBroadcaster {
	b.Handle("cache", func(data []byte, own bool) {
		var inv Invalidation
		if own || json.Unmarshal(data, &inv) != nil {
			return
		}
		if v, ok := state().Running(Kind, inv.Cache); ok {
			if r, ok := v.(*running); ok {
				r.c.Apply(inv)
				return
			}
		}
		if inv.Cache == DefaultName {
			def.Apply(inv)
		}
	})
	return &ClusterBroadcaster{b: b, log: log}
}

// Broadcast publishes an invalidation; one too large for the bus (many
// keys) invalidates the whole cache on the other servers instead.
func (c *ClusterBroadcaster) Broadcast(inv Invalidation) {
	data, _ := json.Marshal(inv)
	if len(data) > bus.MaxPayload {
		data, _ = json.Marshal(Invalidation{Cache: inv.Cache, All: true})
	}
	if err := c.b.Publish("cache", data); err != nil {
		c.log.Warn("cache invalidation not sent to the cluster", "cache", inv.Cache, "error", err.Error())
	}
}
