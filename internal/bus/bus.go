// Package bus carries short messages between the servers of a cluster
// that share a PostgreSQL store, over LISTEN/NOTIFY: WebSocket broadcasts
// reach the clients of every server, and cache invalidations every
// server's copies. Each part of the server that uses it handles its own
// kind of message. Messages are best effort, as NOTIFY is: a server that
// is not listening when one is sent (its connection to PostgreSQL is
// being re-established) does not get it.
package bus

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/plexushq/plexus/sdk/service"
)

// MaxPayload is the largest message data a bus carries: PostgreSQL
// refuses NOTIFY payloads of 8,000 bytes or more, and the envelope and
// its encoding take some.
const MaxPayload = 5500

// maxPending bounds the messages waiting to be sent to PostgreSQL; more
// are refused with 503.
const maxPending = 1024

// Handler handles a message of its kind; own says this server sent it.
type Handler func(data []byte, own bool)

// Bus is a server's end of the cluster's bus. Publish returns at once;
// messages are sent in the background by Run. It is safe for concurrent
// use.
type Bus struct {
	db      *sql.DB
	node    string
	log     *slog.Logger
	pending chan []byte
	topic   string

	mu       sync.RWMutex
	handlers map[string]Handler
}

// New returns the bus of the server node over db. Run makes it work.
func New(db *sql.DB, node string, log *slog.Logger) *Bus {
	return &Bus{db: db, node: node, log: log, pending: make(chan []byte, maxPending), handlers: map[string]Handler{}}
}

// Handle sets the handler of a kind of message, replacing any other.
func (b *Bus) Handle(kind string, h Handler) {
	b.mu.Lock()
	b.handlers[kind] = h
	b.mu.Unlock()
}

// message is what a notification carries.
type message struct {
	Kind string `json:"k"`
	Node string `json:"n"`
	Data []byte `json:"d"`
}

// Publish queues data of a kind for every server, this one included. It
// fails with 413 when data is over MaxPayload, and with 503 while
// maxPending messages wait.
func (b *Bus) Publish(kind string, data []byte) error {
	if len(data) > MaxPayload {
		return service.NewError(413, "%d bytes is more than a message between the servers of a cluster carries (%d)", len(data), MaxPayload)
	}
	msg, _ := json.Marshal(message{Kind: kind, Node: b.node, Data: data})
	select {
	case b.pending <- msg:
		return nil
	default:
		return service.ServiceUnavailable("%d messages are waiting to be sent to the cluster", maxPending)
	}
}

// Run listens for the servers' messages and sends this server's until
// ctx ends, connecting again after a second when the connection to
// PostgreSQL is lost.
func (b *Bus) Run(ctx context.Context) {
	for ctx.Err() == nil {
		err := b.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("cluster bus: listening failed, retrying", "error", err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// topicOf names the notification channel of the store's database and
// schema, which the servers of one cluster share.
func (b *Bus) topicOf(ctx context.Context) (string, error) {
	if b.topic != "" {
		return b.topic, nil
	}
	var dbName, schema string
	if err := b.db.QueryRowContext(ctx, "SELECT current_database(), current_schema()").Scan(&dbName, &schema); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(dbName + "\x00" + schema))
	b.topic = "plexus_bus_" + hex.EncodeToString(sum[:8])
	return b.topic, nil
}

func (b *Bus) listen(ctx context.Context) error {
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
		go b.send(lctx, topic) // once listening, so that this server gets its own messages
		b.log.Info("cluster bus: listening", "topic", topic)
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				return err
			}
			var m message
			if json.Unmarshal([]byte(n.Payload), &m) != nil {
				continue
			}
			b.mu.RLock()
			h := b.handlers[m.Kind]
			b.mu.RUnlock()
			if h != nil {
				h(m.Data, m.Node == b.node)
			}
		}
	})
}

// send sends the queued messages until ctx ends.
func (b *Bus) send(ctx context.Context, topic string) {
	for {
		select {
		case <-ctx.Done():
			return
		case msg := <-b.pending:
			if _, err := b.db.ExecContext(ctx, "SELECT pg_notify($1, $2)", topic, string(msg)); err != nil && ctx.Err() == nil {
				b.log.Warn("cluster bus: message not sent", "error", err.Error())
			}
		}
	}
}
