package wsx

import (
	"encoding/json"
	"log/slog"

	"github.com/plexushq/plexus/internal/bus"
	"github.com/plexushq/plexus/internal/registry"
)

// ClusterBus is a Bus over the cluster's bus (package bus), for servers
// that share a PostgreSQL store: a broadcast published by any of them is
// delivered to the channel's clients on all of them. A broadcast's data
// must be at most bus.MaxPayload bytes.
type ClusterBus struct {
	b *bus.Bus
}

// busMessage is a broadcast as the cluster's bus carries it.
type busMessage struct {
	Channel string `json:"c"`
	Data    []byte `json:"d"`
}

// NewClusterBus handles broadcasts on b, delivering each to the clients
// of the channel of that name in the configuration state returns (the
// server's current one).
func NewClusterBus(b *bus.Bus, state func() registry.State, log *slog.Logger) *ClusterBus {
	b.Handle("wsx", func(data []byte, _ bool) { deliver(state(), data, log) })
	return &ClusterBus{b: b}
}

// deliver hands a broadcast from a bus to the clients of its channel on
// this server.
func deliver(st registry.State, msg []byte, log *slog.Logger) {
	var m busMessage
	if json.Unmarshal(msg, &m) != nil {
		return
	}
	v, _ := st.Running(ChannelKind, m.Channel)
	if h, ok := v.(*Hub); ok {
		if err := h.Deliver(m.Data); err != nil {
			log.Warn("WebSocket cluster broadcast dropped", "channel", m.Channel, "error", err.Error())
		}
	}
}

// Publish queues a broadcast for every server, this one included.
func (c *ClusterBus) Publish(channel string, data []byte) error {
	msg, _ := json.Marshal(busMessage{Channel: channel, Data: data})
	return c.b.Publish("wsx", msg)
}
