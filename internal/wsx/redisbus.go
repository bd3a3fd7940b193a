package wsx

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// DefaultRedisChannel is the Redis pub/sub channel of the broadcasts when
// the settings name none (websocket.redis_channel).
const DefaultRedisChannel = "plexus.websocket"

// RedisBus is a Bus over Redis pub/sub, for servers that name the same
// outgoing_redis connection in websocket.redis: a broadcast published by
// any of them is delivered to the channel's clients on all of them. Like
// PostgreSQL's NOTIFY, pub/sub is best effort: a server that is not
// subscribed when a broadcast is published (its connection is being
// re-established) does not get it.
type RedisBus struct {
	conn, topic string
	state       func() registry.State
	log         *slog.Logger
	pending     chan []byte // messages to publish, at most maxPendingBroadcasts
}

// NewRedisBus returns the bus over the outgoing_redis connection named
// conn, found in the configuration state returns (the server's current
// one), on the pub/sub channel topic (empty: DefaultRedisChannel). Run
// makes it work.
func NewRedisBus(conn, topic string, state func() registry.State, log *slog.Logger) *RedisBus {
	if topic == "" {
		topic = DefaultRedisChannel
	}
	return &RedisBus{conn: conn, topic: topic, state: state, log: log, pending: make(chan []byte, maxPendingBroadcasts)}
}

// Publish queues a broadcast for every server, this one included; it
// fails with 503 while maxPendingBroadcasts wait to be published.
func (b *RedisBus) Publish(channel string, data []byte) error {
	msg, _ := json.Marshal(busMessage{Channel: channel, Data: data})
	select {
	case b.pending <- msg:
		return nil
	default:
		return service.ServiceUnavailable("%d WebSocket broadcasts are waiting to be published to Redis", maxPendingBroadcasts)
	}
}

// client returns the connection's client, nil while it is not running.
func (b *RedisBus) client() goredis.UniversalClient {
	v, ok := b.state().Running(service.KindOutgoingRedis, b.conn)
	if !ok {
		return nil
	}
	c, ok := v.(interface {
		Client() goredis.UniversalClient
	})
	if !ok {
		return nil
	}
	return c.Client()
}

// Run subscribes to the broadcasts and publishes this server's until ctx
// ends, subscribing again after a second when the subscription fails
// (Redis is unreachable, or the connection was changed or deleted); the
// failure is logged at most once a minute.
func (b *RedisBus) Run(ctx context.Context) {
	var logged time.Time
	for ctx.Err() == nil {
		err := b.subscribe(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(logged) >= time.Minute {
			logged = time.Now()
			b.log.Warn("WebSocket bus: Redis subscription failed, retrying every second", "connection", b.conn, "error", err.Error())
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (b *RedisBus) subscribe(ctx context.Context) error {
	c := b.client()
	if c == nil {
		return service.ServiceUnavailable("outgoing_redis connection %q is not running", b.conn)
	}
	ps := c.Subscribe(ctx, b.topic)
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go b.send(sctx, c) // once subscribed, so that this server gets its own broadcasts
	b.log.Info("WebSocket bus: subscribed", "connection", b.conn, "channel", b.topic)
	for {
		v, err := ps.ReceiveTimeout(ctx, time.Second)
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			if b.client() != c {
				return errors.New("the connection was changed")
			}
		case err != nil:
			return err
		}
		if m, ok := v.(*goredis.Message); ok {
			deliver(b.state(), []byte(m.Payload), b.log)
		}
	}
}

// send publishes the queued broadcasts until ctx ends.
func (b *RedisBus) send(ctx context.Context, c goredis.UniversalClient) {
	for {
		select {
		case <-ctx.Done():
			return
		case msg := <-b.pending:
			if err := c.Publish(ctx, b.topic, msg).Err(); err != nil && ctx.Err() == nil {
				b.log.Warn("WebSocket bus: broadcast not published to Redis", "connection", b.conn, "error", err.Error())
			}
		}
	}
}
