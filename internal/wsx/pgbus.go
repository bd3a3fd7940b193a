package wsx

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// maxNotifyPayload is the largest broadcast PGBus carries: PostgreSQL
// refuses NOTIFY payloads of 8,000 bytes or more, and the envelope takes
// some.
const maxNotifyPayload = 7500

// maxPendingPublishes bounds the broadcasts waiting to be sent to
// PostgreSQL; more are refused with 503.
const maxPendingPublishes = 1024

// PGBus is a Bus over PostgreSQL LISTEN/NOTIFY, for servers that share a
// PostgreSQL store: every server listens on one notification channel of
// the store's database and schema, and a broadcast published by any of
// them is delivered to the channel's clients on all of them. Publish
// returns at once; the notification is sent in the background. A
// broadcast's payload must be under 7,500 bytes (a NOTIFY limit). It is
// safe for concurrent use.
type PGBus struct {
	db      *sql.DB
	state   func() registry.State
	log     *slog.Logger
	pending chan []byte
	topic   string
}

// NewPGBus returns a bus over db, delivering to the channels of the
// configuration state returns (the server's current one). Run makes it
// work.
func NewPGBus(db *sql.DB, state func() registry.State, log *slog.Logger) *PGBus {
	return &PGBus{db: db, state: state, log: log, pending: make(chan []byte, maxPendingPublishes)}
}

// hub returns this server's running channel of a name, or nil.
func (b *PGBus) hub(name string) *Hub {
	v, _ := b.state().Running(ChannelKind, name)
	h, _ := v.(*Hub)
	return h
}

// busMessage is a broadcast as a notification carries it.
type busMessage struct {
	Channel string `json:"c"`
	Data    []byte `json:"d"`
}

// Publish queues a broadcast for every server.
func (b *PGBus) Publish(channel string, data []byte) error {
	msg, _ := json.Marshal(busMessage{Channel: channel, Data: data})
	if len(msg) > maxNotifyPayload {
		return service.NewError(413, "broadcast to WebSocket channel %q: %d bytes is more than a cluster's broadcast carries (about %d)", channel, len(data), maxNotifyPayload*3/4)
	}
	select {
	case b.pending <- msg:
		return nil
	default:
		return service.ServiceUnavailable("%d broadcasts are waiting to be sent to the cluster", maxPendingPublishes)
	}
}

// Run listens for the other servers' broadcasts and sends this server's,
// until ctx ends, connecting again after a second when the connection to
// PostgreSQL is lost.
func (b *PGBus) Run(ctx context.Context) {
	for ctx.Err() == nil {
		err := b.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("WebSocket cluster broadcasts: listening failed, retrying", "error", err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// topicOf names the notification channel of the store's database and
// schema.
func (b *PGBus) topicOf(ctx context.Context) (string, error) {
	if b.topic != "" {
		return b.topic, nil
	}
	var dbName, schema string
	if err := b.db.QueryRowContext(ctx, "SELECT current_database(), current_schema()").Scan(&dbName, &schema); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(dbName + "\x00" + schema))
	b.topic = "plexus_wsx_" + hex.EncodeToString(sum[:8])
	return b.topic, nil
}

func (b *PGBus) listen(ctx context.Context) error {
	topic, err := b.topicOf(ctx)
	if err != nil {
		return err
	}
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go b.send(lctx, topic)
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("the store is not PostgreSQL")
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+topic); err != nil {
			return fmt.Errorf("LISTEN: %w", err)
		}
		defer pc.Exec(context.WithoutCancel(ctx), "UNLISTEN "+topic)
		b.log.Info("WebSocket cluster broadcasts: listening", "topic", topic)
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				return err
			}
			var m busMessage
			if json.Unmarshal([]byte(n.Payload), &m) != nil {
				continue
			}
			if h := b.hub(m.Channel); h != nil {
				if err := h.Deliver(m.Data); err != nil {
					b.log.Warn("WebSocket cluster broadcast dropped", "channel", m.Channel, "error", err.Error())
				}
			}
		}
	})
}

// send sends the queued broadcasts until ctx ends.
func (b *PGBus) send(ctx context.Context, topic string) {
	for {
		select {
		case <-ctx.Done():
			return
		case msg := <-b.pending:
			if _, err := b.db.ExecContext(ctx, "SELECT pg_notify($1, $2)", topic, string(msg)); err != nil && ctx.Err() == nil {
				b.log.Warn("WebSocket cluster broadcast not sent", "error", err.Error())
			}
		}
	}
}
