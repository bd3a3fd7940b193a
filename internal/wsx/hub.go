package wsx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// maxPendingBroadcasts bounds the broadcasts of one channel waiting to be
// fanned out to its clients; more are refused with 503.
const maxPendingBroadcasts = 1024

// Bus carries broadcasts between the servers of a cluster. A server that
// has one among its subsystems (registry.Env.Subsystems) publishes every
// broadcast through it, and the bus hands each to Deliver of the
// channel's Hub on every server, this one included; without one a
// broadcast reaches the clients connected to this server. A Bus over
// PostgreSQL NOTIFY or Redis PUBLISH implements it.
type Bus interface {
	// Publish sends data, the broadcast's payload as bytes, to the
	// channel's clients on every server. It must not block for long:
	// services call it.
	Publish(channel string, data []byte) error
}

// handling is what a channel does with its clients' messages: the parts
// of its configuration that change without disconnecting anybody.
type handling struct {
	cfg *Channel
	ch  *dispatch.Channel
}

// Hub is the running form of a WebSocket channel: its connected clients.
// A change of the channel's configuration is applied in place, so no
// client is dropped. It is safe for concurrent use.
type Hub struct {
	name string
	pipe *dispatch.Pipeline
	log  *slog.Logger
	bus  Bus
	h    atomic.Pointer[handling]

	mu      sync.RWMutex
	clients map[string]*client
	list    []*client // the clients as a slice, for broadcasts; nil after a change
	closed  bool

	pending chan []byte // broadcasts to fan out

	gauge              prometheus.Gauge
	msgIn, msgOut, drp prometheus.Counter
}

func collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "plexus_websocket_clients",
			Help: "Clients connected to each WebSocket channel on this server."}, []string{"name"}),
		prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plexus_websocket_messages_total",
			Help: "Messages WebSocket channels received from clients (direction in) and sent to them (out)."}, []string{"name", "direction"}),
		prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plexus_websocket_dropped_sends_total",
			Help: "Messages not sent because a client's send queue was full; the client is disconnected."}, []string{"name"}),
	}
}

func handlingOf(cfg *Channel) *handling {
	df := cfg.DataFormat
	if df == "" {
		df = dispatch.FormatJSON
	}
	if df == "text" {
		df = dispatch.FormatText
	}
	return &handling{cfg: cfg, ch: &dispatch.Channel{Type: service.ChannelWebSocket, Name: cfg.Name, Service: cfg.Service,
		DataFormat: df, Security: cfg.Security, Groups: cfg.Groups}}
}

func provisionChannel(env *registry.Env, obj registry.Object) (any, error) {
	cfg := obj.(*Channel)
	h := &Hub{name: cfg.Name, log: env.Logger, clients: map[string]*client{}, pending: make(chan []byte, maxPendingBroadcasts)}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.pipe, _ = registry.Subsystem[*dispatch.Pipeline](env)
	h.bus, _ = registry.Subsystem[Bus](env)
	h.gauge, h.msgIn, h.msgOut, h.drp = prometheus.NewGauge(prometheus.GaugeOpts{Name: "unused"}),
		prometheus.NewCounter(prometheus.CounterOpts{Name: "unused"}), prometheus.NewCounter(prometheus.CounterOpts{Name: "unused"}),
		prometheus.NewCounter(prometheus.CounterOpts{Name: "unused"})
	if env.Collectors != nil {
		if cs := env.Collectors(ChannelKind); len(cs) == 3 {
			h.gauge = cs[0].(*prometheus.GaugeVec).WithLabelValues(cfg.Name)
			msgs := cs[1].(*prometheus.CounterVec)
			h.msgIn, h.msgOut = msgs.WithLabelValues(cfg.Name, "in"), msgs.WithLabelValues(cfg.Name, "out")
			h.drp = cs[2].(*prometheus.CounterVec).WithLabelValues(cfg.Name)
		}
	}
	h.h.Store(handlingOf(cfg))
	return h, nil
}

// updateChannel applies every change in place: the clients stay
// connected, and their next messages go to the new service, security and
// limits. A channel made inactive disconnects them.
func updateChannel(_ *registry.Env, running any, _, obj registry.Object) func() {
	h, cfg := running.(*Hub), obj.(*Channel)
	if cfg.Name != h.name {
		return nil
	}
	return func() {
		h.h.Store(handlingOf(cfg))
		if !cfg.IsActive {
			h.disconnectAll(closeGoingAway, "channel made inactive")
		}
	}
}

// TakeOver moves the clients of the previous running form of the channel
// to h, for the Handover swap policy.
func (h *Hub) TakeOver(old any) {
	o, ok := old.(*Hub)
	if !ok || o == h {
		return
	}
	o.mu.Lock()
	moved := o.clients
	o.clients, o.list = map[string]*client{}, nil
	o.mu.Unlock()
	h.mu.Lock()
	for id, c := range moved {
		c.hub.Store(h)
		h.clients[id] = c
	}
	h.list = nil
	n := len(h.clients)
	h.mu.Unlock()
	h.gauge.Set(float64(n))
}

// Run fans broadcasts out to the clients until ctx ends.
func (h *Hub) Run(ctx context.Context, st *registry.Status) error {
	st.Running()
	for {
		select {
		case <-ctx.Done():
			return nil
		case data := <-h.pending:
			h.fanOut(data)
		}
	}
}

// Close disconnects every client: the channel was deleted or the server
// is stopping.
func (h *Hub) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.disconnectAll(closeGoingAway, "channel closed")
	return nil
}

func (h *Hub) handling() *handling { return h.h.Load() }

// add registers a client, refusing it past max_clients.
func (h *Hub) add(c *client) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return service.NotFound("URL not found")
	}
	if max := h.handling().cfg.MaxClients; max > 0 && len(h.clients) >= max {
		return service.ServiceUnavailable("WebSocket channel %q has as many clients as it takes (%d)", h.name, max)
	}
	h.clients[c.id] = c
	h.list = nil
	h.gauge.Set(float64(len(h.clients)))
	return nil
}

// remove forgets a client once it is gone.
func (h *Hub) remove(c *client) {
	h.mu.Lock()
	if h.clients[c.id] == c {
		delete(h.clients, c.id)
		h.list = nil
	}
	n := len(h.clients)
	h.mu.Unlock()
	h.gauge.Set(float64(n))
}

func (h *Hub) client(id string) *client {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.clients[id]
}

func (h *Hub) disconnectAll(code int, reason string) {
	h.mu.RLock()
	all := make([]*client, 0, len(h.clients))
	for _, c := range h.clients {
		all = append(all, c)
	}
	h.mu.RUnlock()
	for _, c := range all {
		c.close(code, reason)
	}
}

// Broadcast sends data to every client of the channel, on every server of
// the cluster when the server has a Bus, and returns at once: the
// messages are queued to each client in the background and no reply is
// awaited. Bytes and strings are sent as they are, anything else as JSON.
// It fails with 503 when maxPendingBroadcasts are already waiting.
func (h *Hub) Broadcast(data any) error {
	body, _, err := broker.Payload(data)
	if err != nil {
		return service.BadRequest("broadcast to WebSocket channel %q: %v", h.name, err)
	}
	if h.bus != nil {
		return h.bus.Publish(h.name, body)
	}
	return h.Deliver(body)
}

// Deliver queues a broadcast's payload for the channel's clients on this
// server: what a Bus calls on each server.
func (h *Hub) Deliver(data []byte) error {
	select {
	case h.pending <- data:
		return nil
	default:
		return service.ServiceUnavailable("WebSocket channel %q has %d broadcasts waiting to be sent", h.name, maxPendingBroadcasts)
	}
}

// minShard is the fewest clients a broadcast's worker writes to: below
// it, handing the writes to another goroutine costs more than it saves.
const minShard = 256

// fanOut sends one broadcast to every client, never waiting for one: the
// frame is encoded once, and the clients are split among up to
// GOMAXPROCS goroutines, each writing the frame to its clients in turn
// (see client.sendBorrowed). The next broadcast starts once this one is written
// or queued to all, which keeps each client's messages in order.
func (h *Hub) fanOut(data []byte) {
	var frame []byte
	if h.handling().cfg.Protocol == ProtocolZato {
		frame = zatoFrame(meta{ID: newID("zwsx.rqc"), MsgType: msgRequest}, data)
	} else {
		frame = data
	}
	all := h.snapshot()
	if len(all) == 0 {
		return
	}
	wire := appendFrame(make([]byte, 0, len(frame)+10), frame)
	shards := min(runtime.GOMAXPROCS(0), max(1, len(all)/minShard))
	var wg sync.WaitGroup
	for i := range shards {
		part := all[i*len(all)/shards : (i+1)*len(all)/shards]
		if i == shards-1 {
			h.sendAll(part, frame, wire)
			break
		}
		wg.Go(func() { h.sendAll(part, frame, wire) })
	}
	wg.Wait()
}

// sendAll sends a message to each of clients; wire is the message
// encoded as a frame, written as it is to each client's sock.
func (h *Hub) sendAll(clients []*client, msg, wire []byte) {
	var n int
	for _, c := range clients {
		if c.sendBorrowed(msg, wire, false) {
			n++
		}
	}
	h.msgOut.Add(float64(n))
}

// snapshot returns the connected clients; the slice is never changed.
func (h *Hub) snapshot() []*client {
	h.mu.RLock()
	all := h.list
	h.mu.RUnlock()
	if all != nil {
		return all
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.list == nil {
		h.list = make([]*client, 0, len(h.clients))
		for _, c := range h.clients {
			h.list = append(h.list, c)
		}
	}
	return h.list
}

// Invoke sends data to one client as a request and returns its reply,
// waiting at most timeout (0: 5s): 504 when the client does not answer in
// time, 404 for a client not connected to this server. The channel must
// speak the zato protocol, whose client-response carries the reply.
func (h *Hub) Invoke(ctx context.Context, clientID string, data any, timeout time.Duration) (any, error) {
	if h.handling().cfg.Protocol != ProtocolZato {
		return nil, service.BadRequest("WebSocket channel %q speaks plain JSON, whose clients cannot reply: invoke needs protocol zato", h.name)
	}
	c := h.client(clientID)
	if c == nil {
		return nil, service.NotFound("no client %q is connected to WebSocket channel %q", clientID, h.name)
	}
	body, _, err := broker.Payload(data)
	if err != nil {
		return nil, service.BadRequest("invoke of a WebSocket client: %v", err)
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return c.request(ctx, body, timeout)
}

// ClientInfo describes a connected client, as the admin API lists it.
type ClientInfo struct {
	ID          string    `json:"id"`
	Name        string    `json:"name,omitempty"`
	User        string    `json:"user,omitempty"`
	RemoteAddr  string    `json:"remote_addr"`
	ConnectedAt time.Time `json:"connected_at"`
	MessagesIn  int64     `json:"messages_in"`
	MessagesOut int64     `json:"messages_out"`
}

// Clients lists the clients connected to this server, oldest first.
func (h *Hub) Clients() []ClientInfo {
	h.mu.RLock()
	out := make([]ClientInfo, 0, len(h.clients))
	for _, c := range h.clients {
		out = append(out, c.info())
	}
	h.mu.RUnlock()
	slices.SortFunc(out, func(a, b ClientInfo) int {
		if d := a.ConnectedAt.Compare(b.ConnectedAt); d != 0 {
			return d
		}
		return compareStrings(a.ID, b.ID)
	})
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Disconnect closes a client's connection with a reason; false when no
// such client is connected to this server.
func (h *Hub) Disconnect(id, reason string) bool {
	c := h.client(id)
	if c == nil {
		return false
	}
	c.close(closePolicy, reason)
	return true
}

// resolveChannel gives Go services a channel's Hub:
// service.Resource[*wsx.Hub](s, wsx.ChannelKind, name).
func resolveChannel(st registry.State, name string) (any, error) {
	v, ok := st.Running(ChannelKind, name)
	if !ok {
		msg := fmt.Sprintf("no WebSocket channel named %q", name)
		if s := registry.Suggest(name, st.Names(ChannelKind)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, errors.New(msg)
	}
	h := v.(*Hub)
	if !h.handling().cfg.IsActive {
		return nil, service.ServiceUnavailable("WebSocket channel %q is inactive", name)
	}
	return h, nil
}

// newID returns a new message or client id with a prefix.
func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + "." + hex.EncodeToString(b[:])
}
