package cache

import (
	"container/list"
	"strings"
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
