// Package natsbackend keeps the messages of pub/sub topics whose backend
// is nats in NATS JetStream, through an outgoing NATS connection.
//
// Each topic is a stream (PLEXUS_PUBSUB_ and a hash of the topic's
// lower-cased name, subject plexus.pubsub.<hash>, file storage, interest
// retention, at most max_depth messages: a publish past it is refused),
// and each subscription of the topic a durable pull consumer of it
// (plexus_ and a hash of the subscription's name), created before the
// first publish that is for it: the stream keeps a message until every
// consumer has acknowledged it. A publish returns once the stream stored
// the message (JetStream's acknowledgement); the message carries the
// names of the subscriptions it is for, and a consumer of another one
// skips it. A push consumer has one message unacknowledged at a time, so
// order is kept and, with several servers, each message goes to one; a
// failed message is negatively acknowledged with the back-off as delay.
// Dead letters are published to the stream PLEXUS_PUBSUB_DEAD (subject
// plexus.pubsub-dead.<hash of the subscription>), then acknowledged; so
// is a message of the stream that is not a message of Plexus, which the
// engine logs. A subscription deleted from the configuration has its
// consumer deleted, a topic its stream (pubsub.Remover).
package natsbackend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/plexushq/plexus/internal/nats"
	"github.com/plexushq/plexus/internal/pubsub"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

func init() {
	pubsub.RegisterBackend(pubsub.BackendNATS, func(e *pubsub.Engine) pubsub.Backend { return &backend{e: e, conns: map[string]*conn{}} })
}

// Names in JetStream.
const (
	streamPrefix  = "PLEXUS_PUBSUB_"
	subjectPrefix = "plexus.pubsub."
	deadStream    = "PLEXUS_PUBSUB_DEAD"
	deadPrefix    = "plexus.pubsub-dead."
	durablePrefix = "plexus_"
	// pushAckWait is how long a push delivery may go without telling the
	// server it is still working (the worker does, every third of it)
	// before the message is delivered again: a server that dies
	// mid-delivery leaves it to another after this long.
	pushAckWait = 30 * time.Second
	// pullPending bounds the messages of a pull subscription in flight.
	pullPending = 10 * pubsub.MaxGetMessages
	opTimeout   = 10 * time.Second
)

// Headers of dead letters.
const (
	ErrorHeader        = pubsub.DeadErrorHeader
	SubscriptionHeader = pubsub.DeadSubscriptionHeader
	AttemptsHeader     = pubsub.DeadAttemptsHeader
)

// StreamOf returns the name of a topic's stream and its subject.
func StreamOf(topic string) (stream, subject string) {
	h := pubsub.BackendHash(strings.ToLower(topic))
	return streamPrefix + h, subjectPrefix + h
}

// DurableOf returns the name of a subscription's consumer.
func DurableOf(sub string) string { return durablePrefix + pubsub.BackendHash(sub) }

// DeadSubjectOf returns the subject of a subscription's dead letters, in
// stream PLEXUS_PUBSUB_DEAD.
func DeadSubjectOf(sub string) string { return deadPrefix + pubsub.BackendHash(sub) }

// backend keeps a connection per outgoing NATS connection used.
type backend struct {
	e     *pubsub.Engine
	mu    sync.Mutex
	conns map[string]*conn
}

// conn is a connection with the streams and consumers made through it.
type conn struct {
	nc  *natsio.Conn
	js  jetstream.JetStream
	cfg registry.Object // the outgoing connection's configuration dialled

	mu        sync.Mutex
	streams   map[string]string // stream name → the configuration made, as a key
	consumers map[string]consumerMade
}

type consumerMade struct {
	key  string
	cons jetstream.Consumer
}

// conn returns the connection of a topic's backend, dialling it when
// there is none, it was lost, or its configuration changed.
func (b *backend) conn(q pubsub.Queue) (*conn, error) {
	name := q.Topic.Connection()
	cur, _ := q.State.Object(nats.OutgoingKind, name)
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.conns[name]; c != nil {
		if !c.nc.IsClosed() && c.cfg == cur {
			return c, nil
		}
		c.nc.Close()
		delete(b.conns, name)
	}
	nc, cfg, err := nats.Dial(q.State, name)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	c := &conn{nc: nc, js: js, cfg: cfg, streams: map[string]string{}, consumers: map[string]consumerMade{}}
	b.conns[name] = c
	return c, nil
}

// Close closes the connections.
func (b *backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for n, c := range b.conns {
		c.nc.Drain()
		delete(b.conns, n)
	}
	return nil
}

// stream makes (or updates) a topic's stream, once per configuration.
func (c *conn) stream(ctx context.Context, t *pubsub.TopicConfig) (string, string, error) {
	name, subject := StreamOf(t.Name)
	key := strconv.FormatInt(t.MaxDepth, 10)
	c.mu.Lock()
	done := c.streams[name] == key
	c.mu.Unlock()
	if done {
		return name, subject, nil
	}
	_, err := c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject},
		Description: "Plexus pub/sub topic " + t.Name, Storage: jetstream.FileStorage, Retention: jetstream.InterestPolicy,
		MaxMsgs: t.MaxDepth, Discard: jetstream.DiscardNew, Duplicates: 2 * time.Minute})
	if err != nil {
		return "", "", fmt.Errorf("making the stream of topic %s: %w", t.Name, err)
	}
	c.mu.Lock()
	c.streams[name] = key
	c.mu.Unlock()
	return name, subject, nil
}

// consumer makes (or updates) a subscription's consumer of a stream,
// once per configuration.
func (c *conn) consumer(ctx context.Context, stream string, s *pubsub.SubscriptionConfig) (jetstream.Consumer, error) {
	durable := DurableOf(s.Name)
	wait, pending := pushAckWait, 1
	if s.DeliveryType == pubsub.DeliveryPull {
		wait, pending = max(s.VisibilityTimeout.D(), time.Second), pullPending
	}
	key := stream + "/" + wait.String() + "/" + strconv.Itoa(pending)
	c.mu.Lock()
	made, ok := c.consumers[durable]
	c.mu.Unlock()
	if ok && made.key == key {
		return made.cons, nil
	}
	cons, err := c.js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: durable,
		Description: "Plexus pub/sub subscription " + s.Name, AckPolicy: jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverNewPolicy, AckWait: wait, MaxAckPending: pending, MaxDeliver: -1})
	if err != nil {
		return nil, fmt.Errorf("making the consumer of subscription %s: %w", s.Name, err)
	}
	c.mu.Lock()
	c.consumers[durable] = consumerMade{key: key, cons: cons}
	c.mu.Unlock()
	return cons, nil
}

// envelope is a message as the stream keeps it.
type envelope struct {
	pubsub.Message
	// Subs are the subscriptions the message is for, sorted.
	Subs []string `json:"subs"`
}

// Publish makes the consumers of the message's subscriptions, then
// publishes it and waits for the stream's acknowledgement.
func (b *backend) Publish(ctx context.Context, q pubsub.Queue, subs []string, m *pubsub.Message) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	c, err := b.conn(q)
	if err != nil {
		return err
	}
	stream, subject, err := c.stream(ctx, q.Topic)
	if err != nil {
		return b.lost(c, err)
	}
	for _, s := range subs {
		if o, ok := q.State.Object(pubsub.KindSubscription, s); ok {
			if _, err := c.consumer(ctx, stream, o.(*pubsub.SubscriptionConfig)); err != nil {
				return b.lost(c, err)
			}
		}
	}
	body, err := json.Marshal(envelope{Message: *m, Subs: subs})
	if err != nil {
		return err
	}
	msg := &natsio.Msg{Subject: subject, Data: body, Header: natsio.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, m.ID)
	_, err = c.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(stream))
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && strings.Contains(apiErr.Description, "maximum messages") {
		return service.ServiceUnavailable("Topic %s is full (max_depth %d); try again later", q.Topic.Name, q.Topic.MaxDepth)
	}
	if err != nil {
		return b.lost(c, fmt.Errorf("publishing to the stream of topic %s: %w", q.Topic.Name, err))
	}
	return nil
}

// lost forgets what was made through a connection after an error, so
// that the next call makes it again (the stream may have been deleted).
func (b *backend) lost(c *conn, err error) error {
	c.mu.Lock()
	clear(c.streams)
	clear(c.consumers)
	c.mu.Unlock()
	return err
}

// Next fetches the subscription's next message.
func (b *backend) Next(ctx context.Context, q pubsub.Queue, s *pubsub.SubscriptionConfig, wait time.Duration) (pubsub.Delivery, error) {
	ds, err := b.fetch(ctx, q, s, 1, wait)
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	return ds[0], nil
}

// Fetch takes what a pull subscription has waiting.
func (b *backend) Fetch(ctx context.Context, q pubsub.Queue, s *pubsub.SubscriptionConfig, n int, _ time.Duration) ([]pubsub.Delivery, error) {
	return b.fetch(ctx, q, s, n, 0)
}

// fetch takes up to n messages, waiting at most wait for the first (0:
// only those waiting now).
func (b *backend) fetch(ctx context.Context, q pubsub.Queue, s *pubsub.SubscriptionConfig, n int, wait time.Duration) ([]pubsub.Delivery, error) {
	c, err := b.conn(q)
	if err != nil {
		return nil, err
	}
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	stream, _, err := c.stream(octx, q.Topic)
	if err != nil {
		return nil, b.lost(c, err)
	}
	cons, err := c.consumer(octx, stream, s)
	if err != nil {
		return nil, b.lost(c, err)
	}
	var batch jetstream.MessageBatch
	if wait > 0 {
		batch, err = cons.Fetch(n, jetstream.FetchMaxWait(wait))
	} else {
		batch, err = cons.FetchNoWait(n)
	}
	if err != nil {
		return nil, b.lost(c, err)
	}
	var out []pubsub.Delivery
	for msg := range batch.Messages() {
		d, err := decode(c, msg)
		if err == nil {
			out = append(out, d)
			continue
		}
		if err := b.undecodable(octx, c, q.Topic.Name, s.Name, msg, err); err != nil {
			msg.Nak()
			return out, b.lost(c, err)
		}
	}
	if err := batch.Error(); err != nil && !errors.Is(err, natsio.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		return out, b.lost(c, err)
	}
	return out, nil
}

// decode returns the message a stream's message holds; an error when it
// is not a message of Plexus.
func decode(c *conn, msg jetstream.Msg) (*delivery, error) {
	var env envelope
	err := json.Unmarshal(msg.Data(), &env)
	if _, syntax := err.(*json.SyntaxError); syntax {
		return nil, errors.New("its body is not JSON")
	}
	if err != nil || env.ID == "" {
		return nil, errors.New("its body is not a Plexus message (a JSON object with an id)")
	}
	if meta, err := msg.Metadata(); err == nil {
		env.DeliveryCount = int(meta.NumDelivered)
	}
	return &delivery{c: c, msg: msg, env: &env}, nil
}

// delivery is a message fetched from a consumer.
type delivery struct {
	c   *conn
	msg jetstream.Msg
	env *envelope
}

func (d *delivery) Message() *pubsub.Message { return &d.env.Message }

func (d *delivery) For(sub string) bool {
	_, ok := slices.BinarySearch(d.env.Subs, sub)
	return ok
}

// Ack acknowledges the message and waits for the server's confirmation.
func (d *delivery) Ack(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	return d.msg.DoubleAck(ctx)
}

func (d *delivery) Retry(_ context.Context, after time.Duration) error {
	if after <= 0 {
		return d.msg.Nak()
	}
	return d.msg.NakWithDelay(after)
}

func (d *delivery) Working(context.Context) error { return d.msg.InProgress() }

// Dead publishes the message to the dead letters' stream, then
// acknowledges it.
func (d *delivery) Dead(ctx context.Context, reason string) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	sub := d.env.Subscription
	if err := d.c.deadLetter(ctx, d.msg.Data(), sub+"/"+d.env.ID, sub, reason, d.env.DeliveryCount); err != nil {
		return err
	}
	// Acknowledged, not terminated: the dead letter holds it now, and an
	// interest stream drops what every consumer acknowledged.
	return d.msg.DoubleAck(ctx)
}

// undecodable makes a dead letter of the subscription of a stream's
// message that is not a message of Plexus, acknowledges it and has the
// engine log it.
func (b *backend) undecodable(ctx context.Context, c *conn, topic, sub string, msg jetstream.Msg, why error) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	id, attempts := "", 1
	if meta, err := msg.Metadata(); err == nil {
		id, attempts = "stream sequence "+strconv.FormatUint(meta.Sequence.Stream, 10), int(meta.NumDelivered)
	}
	reason := "not a Plexus pub/sub message: " + why.Error()
	if err := c.deadLetter(ctx, msg.Data(), sub+"/"+id, sub, reason, attempts); err != nil {
		return err
	}
	if err := msg.DoubleAck(ctx); err != nil {
		return err
	}
	if b.e != nil {
		b.e.Undecodable(topic, sub, id, len(msg.Data()), reason, deadStream+" "+DeadSubjectOf(sub))
	}
	return nil
}

// deadLetter publishes a dead letter of a subscription to the dead
// letters' stream, with why, and waits for the stream's acknowledgement.
// id is its Nats-Msg-Id: a dead letter published again is not stored
// twice.
func (c *conn) deadLetter(ctx context.Context, data []byte, id, sub, reason string, attempts int) error {
	if _, err := c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: deadStream, Subjects: []string{deadPrefix + ">"},
		Description: "Plexus pub/sub dead letters", Storage: jetstream.FileStorage}); err != nil {
		return fmt.Errorf("making the dead letters' stream: %w", err)
	}
	msg := &natsio.Msg{Subject: DeadSubjectOf(sub), Data: data, Header: natsio.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, id)
	msg.Header.Set(ErrorHeader, pubsub.DeadReason(reason))
	msg.Header.Set(SubscriptionHeader, sub)
	msg.Header.Set(AttemptsHeader, strconv.Itoa(attempts))
	if _, err := c.js.PublishMsg(ctx, msg, jetstream.WithExpectStream(deadStream)); err != nil {
		return fmt.Errorf("publishing a dead letter of subscription %s: %w", sub, err)
	}
	return nil
}

// RemoveSubscription deletes a deleted subscription's consumer of the
// topic's stream: the stream drops the messages only it was keeping.
func (b *backend) RemoveSubscription(ctx context.Context, q pubsub.Queue, sub string) error {
	c, err := b.conn(q)
	if err != nil {
		return err
	}
	stream, _ := StreamOf(q.Topic.Name)
	c.mu.Lock()
	delete(c.consumers, DurableOf(sub))
	c.mu.Unlock()
	err = c.js.DeleteConsumer(ctx, stream, DurableOf(sub))
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("deleting the consumer of subscription %s: %w", sub, err)
	}
	return nil
}

// RemoveTopic deletes a deleted topic's stream, with its consumers and
// messages.
func (b *backend) RemoveTopic(ctx context.Context, q pubsub.Queue, subs []string) error {
	c, err := b.conn(q)
	if err != nil {
		return err
	}
	stream, _ := StreamOf(q.Topic.Name)
	c.mu.Lock()
	delete(c.streams, stream)
	for _, s := range subs {
		delete(c.consumers, DurableOf(s))
	}
	c.mu.Unlock()
	if err := c.js.DeleteStream(ctx, stream); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("deleting the stream of topic %s: %w", q.Topic.Name, err)
	}
	return nil
}

// DeadLettersOf says where a subscription's dead letters are.
func (b *backend) DeadLettersOf(sub string) string {
	return "the JetStream stream " + deadStream + ", subject " + DeadSubjectOf(sub)
}
