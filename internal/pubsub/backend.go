package pubsub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Backends a topic keeps its messages in (TopicConfig.Backend).
const (
	BackendStore = "store" // the server's store (SQLite or PostgreSQL): the default
	BackendNATS  = "nats"  // a NATS JetStream stream, through an outgoing NATS connection
	BackendAMQP  = "amqp"  // RabbitMQ queues, through an outgoing AMQP connection
)

// connectionField returns the field naming the connection of the topic's
// backend and its value: none for the store.
func (c *TopicConfig) connectionField() (field, value string) {
	switch c.Backend {
	case "", BackendStore:
		return "", ""
	case BackendAMQP:
		return "backend_amqp_connection", c.BackendAMQPConnection
	}
	return "backend_connection", c.BackendConnection
}

// Connection returns the name of the connection that reaches the
// topic's backend (backend_connection, or backend_amqp_connection for
// amqp).
func (c *TopicConfig) Connection() string {
	_, v := c.connectionField()
	return v
}

// Headers of the dead letters a backend keeps.
const (
	DeadErrorHeader        = "Plexus-Error"
	DeadSubscriptionHeader = "Plexus-Subscription"
	DeadAttemptsHeader     = "Plexus-Attempts"
)

// BackendHash returns a name's hash, as a token of the names a backend
// gives streams, queues and consumers (topic and subscription names may
// hold characters those cannot).
func BackendHash(name string) string {
	h := sha256.Sum256([]byte(name))
	return hex.EncodeToString(h[:16])
}

// DeadReason returns a dead letter's reason on one line, as a header
// holds it.
func DeadReason(reason string) string {
	return strings.ReplaceAll(strings.ReplaceAll(reason, "\r", " "), "\n", " ")
}

// Backend keeps and hands out the messages of the topics whose backend
// is an external engine (a topic's backend setting); the server's store
// keeps the others. The Engine does the rest as for any topic: checks,
// permissions, fan-out (the subscriptions a message is for), expiry,
// delivery to the targets, retries with the back-off, dead letters,
// pause and resume. Implementations register with RegisterBackend and
// are safe for concurrent use.
type Backend interface {
	// Publish stores a message for subs, the subscriptions that receive
	// it (those of the topic taking publishes when it is published), and
	// returns only once the engine confirmed it. A full topic is a
	// *service.Error with status 503.
	Publish(ctx context.Context, q Queue, subs []string, m *Message) error
	// Next waits at most wait for a subscription's next message, in
	// order: nil without one. The subscription has at most one message
	// out at once: the next comes once this one is done.
	Next(ctx context.Context, q Queue, sub *SubscriptionConfig, wait time.Duration) (Delivery, error)
	// Fetch takes up to n of a pull subscription's messages waiting now;
	// each stays in flight for inFlight unless done.
	Fetch(ctx context.Context, q Queue, sub *SubscriptionConfig, n int, inFlight time.Duration) ([]Delivery, error)
	// Close closes the backend's connections.
	Close() error
}

// Queue is where a Backend keeps a topic's messages.
type Queue struct {
	// Topic is the topic, with its backend and connection.
	Topic *TopicConfig
	// State is the configuration current at the call: the backend finds
	// the topic's connection in it.
	State registry.State
}

// Delivery is one message a Backend handed out.
type Delivery interface {
	// Message is the message, with its subscriptions (For) and its
	// DeliveryCount counting this attempt.
	Message() *Message
	// For says whether the message is for the subscription: false when
	// the subscription did not take publishes when it was published.
	For(sub string) bool
	// Ack removes the message from the subscription's queue.
	Ack(ctx context.Context) error
	// Retry hands the message out again after a wait, before any other.
	Retry(ctx context.Context, after time.Duration) error
	// Dead makes it a dead letter of the subscription, with why.
	Dead(ctx context.Context, reason string) error
	// Working tells the engine the delivery is still going on.
	Working(ctx context.Context) error
}

// BackendOpener makes a backend for an Engine.
type BackendOpener func(e *Engine) Backend

var (
	backendsMu sync.RWMutex
	backends   = map[string]BackendOpener{}
)

// RegisterBackend makes open the maker of the backend named name (such
// as BackendNATS); call it from the package's init.
func RegisterBackend(name string, open BackendOpener) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	if name == BackendStore || name == "" {
		panic("pubsub: the store backend is built in")
	}
	if _, dup := backends[name]; dup {
		panic(fmt.Sprintf("pubsub: backend %q registered twice", name))
	}
	backends[name] = open
}

// Logger returns the engine's logger, for backends.
func (e *Engine) Logger() *slog.Logger { return e.log }

// Undecodable is what a backend calls once it made a dead letter of a
// message it found in a subscription's queue that is not a message of
// Plexus (something else published it to the broker): the engine logs it
// (its size, never its body) and counts it dead_lettered. brokerID
// identifies it in the broker; deadIn names where the dead letter is.
func (e *Engine) Undecodable(topic, sub, brokerID string, size int, reason, deadIn string) {
	e.log.Warn("pub/sub backend message is not a Plexus message: made a dead letter", "topic", topic, "subscription", sub,
		"broker_id", truncate(brokerID, 200), "size", size, "reason", reason, "dead_letters", deadIn)
	e.count(topic, sub, "dead_lettered")
}

// backendOf returns the backend of a topic, nil for the store.
func (e *Engine) backendOf(t *TopicConfig) (Backend, error) {
	if t == nil || !onBackend(t) {
		return nil, nil
	}
	e.extMu.Lock()
	defer e.extMu.Unlock()
	if b, ok := e.ext[t.Backend]; ok {
		return b, nil
	}
	if e.extClosed {
		// Closing: a backend opened now would hold messages nobody delivers.
		return nil, service.ServiceUnavailable("Topic %s: the server is stopping", t.Name)
	}
	backendsMu.RLock()
	open, ok := backends[t.Backend]
	backendsMu.RUnlock()
	if !ok {
		return nil, service.ServiceUnavailable("Topic %s: backend %q is not available in this server", t.Name, t.Backend)
	}
	if e.ext == nil {
		e.ext = map[string]Backend{}
	}
	b := open(e)
	e.ext[t.Backend] = b
	return b, nil
}

// closeBackends closes the backends opened.
func (e *Engine) closeBackends() {
	e.extMu.Lock()
	defer e.extMu.Unlock()
	e.extClosed = true
	for n, b := range e.ext {
		b.Close()
		delete(e.ext, n)
	}
}

// subQueue returns the backend and queue of a subscription whose topic
// is on one (nil for the store). A subscription on a backend has that
// one topic.
func (e *Engine) subQueue(st registry.State, c *SubscriptionConfig) (Backend, Queue, error) {
	var on []*TopicConfig
	for _, n := range c.Topics {
		if t, ok := topicOf(st, n); ok && onBackend(t) {
			on = append(on, t)
		}
	}
	if len(on) == 0 {
		return nil, Queue{}, nil
	}
	if len(c.Topics) > 1 {
		return nil, Queue{}, fmt.Errorf("subscription %s: topic %s is kept in %s; a subscription to a topic on a backend other than the store has only that topic", c.Name, on[0].Name, on[0].Backend)
	}
	b, err := e.backendOf(on[0])
	return b, Queue{Topic: on[0], State: st}, err
}

// publishExt stores a message of a topic on a backend.
func (e *Engine) publishExt(ctx context.Context, b Backend, t *TopicConfig, subs []string, m *Message) error {
	if len(subs) == 0 {
		e.published(t.Name, nil)
		return nil // as with the store, no subscriber: only a trace, here none
	}
	sort.Strings(subs)
	if err := b.Publish(ctx, Queue{Topic: t, State: e.state()}, subs, m); err != nil {
		var se *service.Error
		if errors.As(err, &se) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return &service.Error{Status: 503, Message: fmt.Sprintf("Topic %s: its backend is unavailable; try again", t.Name), Cause: err}
	}
	e.published(t.Name, subs)
	return nil
}

// extState is a push worker's memory of the message it delivers from a
// backend.
type extState struct {
	msgID    string
	firstTry int64
}

// stepExt delivers a push subscription's next message from its backend:
// the same outcomes as step (delivered, expired, retried after the
// back-off, dead-lettered once max_retry_time has passed since the first
// attempt this server made).
func (w *worker) stepExt(ctx context.Context, c *SubscriptionConfig, b Backend, q Queue) (time.Duration, error) {
	e := w.e
	if !c.IsDeliveryActive {
		w.running("inactive")
		return e.poll, nil
	}
	if paused, err := e.paused(ctx, c.Name); err != nil || paused {
		w.running("paused")
		return e.poll, err
	}
	if t := c.pushType(); t != PushService && t != PushREST {
		if _, ok := pushTarget(t); !ok {
			return 0, fmt.Errorf("push type %q is not available in this server: its messages wait in the queue", t)
		}
	}
	d, err := b.Next(ctx, q, c, e.poll)
	if err != nil || d == nil {
		if err == nil {
			w.running("delivering")
		}
		return 0, err
	}
	w.running("delivering")
	m := d.Message()
	m.Subscription = c.Name
	now := e.nowMS()
	switch {
	case !d.For(c.Name):
		return 0, d.Ack(ctx)
	case m.Expiration.UnixMilli() <= now:
		if err := d.Ack(ctx); err != nil {
			return 0, err
		}
		e.count(m.Topic, c.Name, "expired")
		return 0, nil
	}
	if w.ext == nil || w.ext.msgID != m.ID {
		w.ext = &extState{msgID: m.ID, firstTry: now}
	}
	working, stop := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(leaseFor / 3)
		defer t.Stop()
		for {
			select {
			case <-working.Done():
				return
			case <-t.C:
				d.Working(working)
			}
		}
	}()
	derr := e.deliver(ctx, c, &row{Message: *m})
	stop()
	if ctx.Err() != nil {
		// Stopping: the message goes back, to be delivered again.
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return 0, d.Retry(rctx, 0)
	}
	if derr == nil {
		w.ext = nil
		if err := d.Ack(ctx); err != nil {
			return 0, err
		}
		e.count(m.Topic, c.Name, "delivered")
		return 0, nil
	}
	msg := truncate(derr.Error(), 1000)
	outcome := "retried"
	if now-w.ext.firstTry >= c.MaxRetryTime.D().Milliseconds() {
		outcome = "dead_lettered"
		w.ext = nil
		err = d.Dead(ctx, msg)
	} else {
		err = d.Retry(ctx, backoff(c, m.DeliveryCount))
	}
	if err != nil {
		return 0, err
	}
	e.count(m.Topic, c.Name, outcome)
	e.log.Info("pub/sub delivery failed", "subscription", c.Name, "msg_id", m.ID, "attempt", m.DeliveryCount, "outcome", outcome, "error", msg)
	return 0, nil
}

// inFlight are the messages pulled from backends with explicit
// acknowledgement, by subscription and id, until acknowledged or their
// visibility timeout is over.
type inFlight struct {
	mu    sync.Mutex
	byKey map[string]pulled
}

type pulled struct {
	d     Delivery
	until time.Time
	topic string
}

// maxInFlight bounds the pulled messages a server remembers for their
// acknowledgement; past it those whose visibility timeout is over are
// forgotten, then others, enough to make room (a forgotten message returns
// to the queue when its visibility timeout is over).
const maxInFlight = 100_000

func (f *inFlight) put(sub string, d Delivery, until time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byKey == nil {
		f.byKey = map[string]pulled{}
	}
	now := time.Now()
	if len(f.byKey) >= maxInFlight {
		for k, p := range f.byKey {
			if p.until.Before(now) || len(f.byKey) >= maxInFlight {
				delete(f.byKey, k)
			}
		}
	}
	f.byKey[sub+"\x00"+d.Message().ID] = pulled{d: d, until: until, topic: d.Message().Topic}
}

func (f *inFlight) take(sub, id string) (pulled, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := sub + "\x00" + id
	p, ok := f.byKey[k]
	delete(f.byKey, k)
	return p, ok && p.until.After(time.Now())
}

// getExt is Get for a subscription on a backend.
func (e *Engine) getExt(ctx context.Context, b Backend, q Queue, cfg *SubscriptionConfig, maxN, maxLen int) ([]Message, error) {
	ds, err := b.Fetch(ctx, q, cfg, maxN, cfg.VisibilityTimeout.D())
	if err != nil {
		return nil, storeError(err)
	}
	out := []Message{}
	size := 0
	now := e.clock()
	for i, d := range ds {
		m := d.Message()
		if !d.For(cfg.Name) || !m.Expiration.After(now) {
			if err := d.Ack(ctx); err != nil {
				return out, storeError(err)
			}
			if d.For(cfg.Name) {
				e.count(m.Topic, cfg.Name, "expired")
			}
			continue
		}
		size += len(m.Data)
		if len(out) > 0 && size > maxLen {
			for _, rest := range ds[i:] {
				rest.Retry(ctx, 0)
			}
			break
		}
		m.Subscription = cfg.Name
		if cfg.Ack == AckExplicit {
			e.pulled.put(cfg.Name, d, now.Add(cfg.VisibilityTimeout.D()))
			m.State = StateInFlight
		} else {
			if err := d.Ack(ctx); err != nil {
				return out, storeError(err)
			}
			e.count(m.Topic, cfg.Name, "delivered")
		}
		out = append(out, *m)
	}
	return out, nil
}

// ackExt is Ack for a subscription on a backend: the messages this
// server handed out.
func (e *Engine) ackExt(ctx context.Context, sub string, msgIDs []string) (int, error) {
	n := 0
	for _, id := range msgIDs {
		p, ok := e.pulled.take(sub, id)
		if !ok {
			continue
		}
		if err := p.d.Ack(ctx); err != nil {
			return n, storeError(err)
		}
		e.count(p.topic, sub, "delivered")
		n++
	}
	return n, nil
}

// next is a worker's step: from the store, or from the backend of the
// subscription's topic.
func (w *worker) next(ctx context.Context) (time.Duration, error) {
	c := w.cfg()
	b, q, err := w.e.subQueue(w.e.state(), c)
	if err != nil {
		return 0, err
	}
	if b == nil {
		return w.step(ctx)
	}
	return w.stepExt(ctx, c, b, q)
}

// publishMessage builds a message for a topic on a backend and stores it.
func (e *Engine) publishMessage(ctx context.Context, b Backend, t *TopicConfig, subs []string, req PublishRequest, data []byte, prio int, expiration time.Duration) (string, error) {
	now := e.clock()
	correl := req.CorrelID
	if correl == "" {
		correl = req.CID
	}
	m := &Message{ID: newMsgID(now), Topic: t.Name, Data: data, Size: len(data), Priority: prio, CorrelID: correl, InReplyTo: req.InReplyTo,
		ExtClientID: req.ExtClientID, CID: req.CID, Publisher: req.Publisher, PubTime: now.UTC(), Expiration: now.Add(expiration).UTC()}
	if err := e.publishExt(ctx, b, t, subs, m); err != nil {
		return "", err
	}
	return m.ID, nil
}
