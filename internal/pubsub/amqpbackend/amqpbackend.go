// Package amqpbackend keeps the messages of pub/sub topics whose backend
// is amqp in RabbitMQ, through an outgoing AMQP connection.
//
// Each topic is a durable fanout exchange (plexus.pubsub.topic. and a
// hash of the topic's lower-cased name), and each subscription of the
// topic a durable quorum queue bound to it (plexus.pubsub.sub. and a hash
// of the topic and the subscription), at most max_depth messages with
// overflow reject-publish, declared before the first publish that is for
// it. A publish is persistent and returns once the broker confirmed it;
// the message id is its message-id, the rest of the message its
// properties and plexus-* headers, its data the body. A message names
// the subscriptions it is for, and a queue of another one skips it.
//
// A push subscription consumes its queue with manual acknowledgement and
// a prefetch of one, so order is kept and, with several servers, each
// message goes to one; a failed message stays unacknowledged with this
// server and is handed out again after the back-off. Dead letters are
// published to the durable queue plexus.pubsub.dead, then acknowledged;
// so is a message of a queue that is not a message of Plexus, which the
// engine logs. A pull subscription takes its messages with basic.get.
// A subscription deleted from the configuration has its queue deleted,
// a topic its exchange and its subscriptions' queues (pubsub.Remover).
package amqpbackend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rabbitmq/amqp091-go"

	"github.com/plexushq/plexus/internal/amqp"
	"github.com/plexushq/plexus/internal/pubsub"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

func init() {
	pubsub.RegisterBackend(pubsub.BackendAMQP, func(e *pubsub.Engine) pubsub.Backend { return &backend{e: e, conns: map[string]*conn{}} })
}

// Names in RabbitMQ.
const (
	exchangePrefix = "plexus.pubsub.topic."
	queuePrefix    = "plexus.pubsub.sub."
	// DeadQueue is the queue of dead letters, of every subscription.
	DeadQueue = "plexus.pubsub.dead"
	opTimeout = 10 * time.Second
	// publishers bounds the confirm channels publishing at once over a
	// connection.
	publishers = 8
)

// Headers of the messages, beside their properties.
const (
	hdrTopic      = "plexus-topic"
	hdrSubs       = "plexus-subs"
	hdrInReplyTo  = "plexus-in-reply-to"
	hdrExtClient  = "plexus-ext-client-id"
	hdrCID        = "plexus-cid"
	hdrPublisher  = "plexus-publisher"
	hdrPubTime    = "plexus-pub-time-ms"
	hdrExpiration = "plexus-expiration-ms"
	// hdrDeliveries is the count of a quorum queue's earlier deliveries.
	hdrDeliveries = "x-delivery-count"
)

// ExchangeOf returns the name of a topic's exchange.
func ExchangeOf(topic string) string {
	return exchangePrefix + pubsub.BackendHash(strings.ToLower(topic))
}

// QueueOf returns the name of a subscription's queue of a topic.
func QueueOf(topic, sub string) string {
	return queuePrefix + pubsub.BackendHash(strings.ToLower(topic)+"\x00"+sub)
}

// backend keeps a connection per outgoing AMQP connection used.
type backend struct {
	e      *pubsub.Engine
	mu     sync.Mutex
	conns  map[string]*conn
	closed bool // no more connections: one dialled now would hold messages nobody delivers
}

// conn is a connection with what was declared through it and its
// channels.
type conn struct {
	ac  *amqp091.Connection
	cfg registry.Object // the outgoing connection's configuration dialled
	pub chan *amqp.ConfirmChannel

	mu        sync.Mutex
	made      map[string]string    // exchange or queue → the configuration declared, as a key
	consumers map[string]*consumer // push consumers, by queue
	getters   map[string]*amqp091.Channel
}

// conn returns the connection of a topic's backend, dialling it when
// there is none, it was lost, or its configuration changed.
func (b *backend) conn(q pubsub.Queue) (*conn, error) {
	name := q.Topic.Connection()
	cur, _ := q.State.Object(amqp.OutgoingKind, name)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, service.ServiceUnavailable("the server is stopping")
	}
	if c := b.conns[name]; c != nil {
		if !c.ac.IsClosed() && c.cfg == cur {
			return c, nil
		}
		c.ac.Close()
		delete(b.conns, name)
	}
	ac, cfg, err := amqp.Dial(q.State, name)
	if err != nil {
		return nil, err
	}
	c := &conn{ac: ac, cfg: cfg, pub: make(chan *amqp.ConfirmChannel, publishers), made: map[string]string{},
		consumers: map[string]*consumer{}, getters: map[string]*amqp091.Channel{}}
	b.conns[name] = c
	return c, nil
}

// Close closes the connections: the broker puts back what they had not
// acknowledged.
func (b *backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for n, c := range b.conns {
		c.ac.Close()
		delete(b.conns, n)
	}
	return nil
}

// declare declares a topic's exchange and the queues of subs bound to
// it, once per configuration. A queue declared earlier with another
// max_depth keeps it.
func (c *conn) declare(t *pubsub.TopicConfig, subs []string) error {
	ex := ExchangeOf(t.Name)
	key := strconv.FormatInt(t.MaxDepth, 10)
	var todo []string
	c.mu.Lock()
	if c.made[ex] == "" {
		todo = append(todo, "")
	}
	for _, s := range subs {
		if c.made[QueueOf(t.Name, s)] != key {
			todo = append(todo, s)
		}
	}
	c.mu.Unlock()
	if len(todo) == 0 {
		return nil
	}
	ch, err := c.ac.Channel()
	if err != nil {
		return err
	}
	defer func() { ch.Close() }()
	if err := ch.ExchangeDeclare(ex, amqp091.ExchangeFanout, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declaring the exchange of topic %s: %w", t.Name, err)
	}
	c.mu.Lock()
	c.made[ex] = "made"
	c.mu.Unlock()
	for _, s := range todo {
		if s == "" {
			continue
		}
		q := QueueOf(t.Name, s)
		_, err := ch.QueueDeclare(q, true, false, false, false, amqp091.Table{"x-queue-type": "quorum",
			"x-max-length": t.MaxDepth, "x-overflow": "reject-publish"})
		var ae *amqp091.Error
		if errors.As(err, &ae) && ae.Code == amqp091.PreconditionFailed {
			// Declared before with other arguments: it stays as it is.
			if ch, err = c.ac.Channel(); err == nil {
				_, err = ch.QueueDeclarePassive(q, true, false, false, false, nil)
			}
		}
		if err == nil {
			err = ch.QueueBind(q, "", ex, false, nil)
		}
		if err != nil {
			return fmt.Errorf("declaring the queue of subscription %s: %w", s, err)
		}
		c.mu.Lock()
		c.made[q] = key
		c.mu.Unlock()
	}
	return nil
}

// lost forgets what was declared through a connection after an error, so
// that the next call declares it again (a queue may have been deleted).
func (b *backend) lost(c *conn, err error) error {
	c.mu.Lock()
	clear(c.made)
	c.mu.Unlock()
	return err
}

// publish sends a message on an idle confirm channel and waits for the
// broker's confirm.
func (c *conn) publish(ctx context.Context, exchange, key string, msg amqp091.Publishing) error {
	var ch *amqp.ConfirmChannel
	select {
	case ch = <-c.pub:
	default:
		var err error
		if ch, err = amqp.OpenConfirm(c.ac); err != nil {
			return err
		}
	}
	err := ch.Publish(ctx, exchange, key, true, msg)
	if err != nil && !errors.Is(err, amqp.ErrNacked) && !errors.Is(err, amqp.ErrUnroutable) {
		ch.Close()
		return err
	}
	select {
	case c.pub <- ch:
	default:
		ch.Close()
	}
	return err
}

// Publish declares the exchange and the queues of the message's
// subscriptions, then publishes it and waits for the broker's confirm.
func (b *backend) Publish(ctx context.Context, q pubsub.Queue, subs []string, m *pubsub.Message) error {
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	c, err := b.conn(q)
	if err != nil {
		return err
	}
	if err := c.declare(q.Topic, subs); err != nil {
		return b.lost(c, err)
	}
	err = c.publish(octx, ExchangeOf(q.Topic.Name), "", encode(m, subs))
	switch {
	case errors.Is(err, amqp.ErrNacked):
		return service.ServiceUnavailable("Topic %s is full (max_depth %d); try again later", q.Topic.Name, q.Topic.MaxDepth)
	case err != nil && ctx.Err() == nil && octx.Err() != nil:
		return service.NewError(http.StatusServiceUnavailable, "Topic %s: the broker did not confirm the message within %s; try again", q.Topic.Name, opTimeout)
	case err != nil:
		return b.lost(c, fmt.Errorf("publishing to the exchange of topic %s: %w", q.Topic.Name, err))
	}
	return nil
}

// encode returns a message as published: its data the body, the rest in
// properties and headers.
func encode(m *pubsub.Message, subs []string) amqp091.Publishing {
	list := make([]any, len(subs))
	for i, s := range subs {
		list[i] = s
	}
	return amqp091.Publishing{
		MessageId: m.ID, CorrelationId: m.CorrelID, Priority: uint8(min(max(m.Priority, 0), 9)),
		Timestamp: m.PubTime, ContentType: "application/json", DeliveryMode: amqp091.Persistent,
		Body: m.Data,
		Headers: amqp091.Table{hdrTopic: m.Topic, hdrSubs: list, hdrInReplyTo: m.InReplyTo, hdrExtClient: m.ExtClientID,
			hdrCID: m.CID, hdrPublisher: m.Publisher, hdrPubTime: m.PubTime.UnixMilli(), hdrExpiration: m.Expiration.UnixMilli()},
	}
}

// decode returns the message a delivery holds and the subscriptions it
// is for; an error when it is not a message of Plexus.
func decode(d *amqp091.Delivery) (*pubsub.Message, []string, error) {
	if d.MessageId == "" {
		return nil, nil, errors.New("it has no message-id")
	}
	if !json.Valid(d.Body) {
		return nil, nil, errors.New("its body is not JSON")
	}
	h := d.Headers
	str := func(k string) string { s, _ := h[k].(string); return s }
	ms := func(k string) time.Time { return time.UnixMilli(int64(amqp.HeaderInt(h, k))).UTC() }
	m := &pubsub.Message{ID: d.MessageId, Topic: str(hdrTopic), Data: d.Body, Size: len(d.Body), Priority: int(d.Priority),
		CorrelID: d.CorrelationId, InReplyTo: str(hdrInReplyTo), ExtClientID: str(hdrExtClient), CID: str(hdrCID),
		Publisher: str(hdrPublisher), PubTime: ms(hdrPubTime), Expiration: ms(hdrExpiration), DeliveryCount: 1}
	if n := amqp.HeaderInt(h, hdrDeliveries); n > 0 {
		m.DeliveryCount += n
	} else if d.Redelivered {
		m.DeliveryCount = 2
	}
	list, _ := h[hdrSubs].([]any)
	subs := make([]string, 0, len(list))
	for _, s := range list {
		if s, ok := s.(string); ok {
			subs = append(subs, s)
		}
	}
	slices.Sort(subs)
	return m, subs, nil
}

// consumer is a push subscription's consumer of its queue, with the
// message it was handed and retries later.
type consumer struct {
	ch   *amqp091.Channel
	dels <-chan amqp091.Delivery
	held *delivery // a failed message, handed out again at due
	due  time.Time
}

// consumer returns the consumer of a queue, starting it when there is
// none or its channel closed.
func (c *conn) consumer(queue, sub string) (*consumer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cons := c.consumers[queue]; cons != nil && !cons.ch.IsClosed() {
		return cons, nil
	}
	delete(c.consumers, queue)
	ch, err := c.ac.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.Qos(1, 0, false); err != nil {
		ch.Close()
		return nil, err
	}
	dels, err := ch.Consume(queue, "plexus "+sub, false, false, false, false, nil)
	if err != nil {
		ch.Close()
		return nil, fmt.Errorf("consuming the queue of subscription %s: %w", sub, err)
	}
	cons := &consumer{ch: ch, dels: dels}
	c.consumers[queue] = cons
	return cons, nil
}

// stopConsumer closes a queue's push consumer, if any: the broker puts
// back its message.
func (c *conn) stopConsumer(queue string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cons := c.consumers[queue]; cons != nil {
		cons.ch.Close()
		delete(c.consumers, queue)
	}
}

// Next hands out the subscription's message retried once its back-off is
// over, or the next one the broker delivers.
func (b *backend) Next(ctx context.Context, q pubsub.Queue, s *pubsub.SubscriptionConfig, wait time.Duration) (pubsub.Delivery, error) {
	c, err := b.conn(q)
	if err != nil {
		return nil, err
	}
	if err := c.declare(q.Topic, []string{s.Name}); err != nil {
		return nil, b.lost(c, err)
	}
	queue := QueueOf(q.Topic.Name, s.Name)
	cons, err := c.consumer(queue, s.Name)
	if err != nil {
		return nil, b.lost(c, err)
	}
	if d := cons.held; d != nil {
		if in := time.Until(cons.due); in > 0 {
			t := time.NewTimer(min(in, wait))
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return nil, nil
			}
			if in > wait {
				return nil, nil
			}
		}
		cons.held = nil
		d.m.DeliveryCount++
		return d, nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return nil, nil
		case <-ctx.Done():
			return nil, nil
		case raw, ok := <-cons.dels:
			if !ok {
				c.stopConsumer(queue)
				return nil, b.lost(c, fmt.Errorf("the broker closed the consumer of subscription %s", s.Name))
			}
			d, err := b.newDelivery(ctx, c, q.Topic.Name, s.Name, &raw, cons)
			if err != nil {
				return nil, b.lost(c, err)
			}
			if d != nil {
				return d, nil
			}
		}
	}
}

// Fetch takes what a pull subscription's queue has waiting, with
// basic.get; what is not acknowledged within inFlight is put back.
func (b *backend) Fetch(ctx context.Context, q pubsub.Queue, s *pubsub.SubscriptionConfig, n int, inFlight time.Duration) ([]pubsub.Delivery, error) {
	c, err := b.conn(q)
	if err != nil {
		return nil, err
	}
	if err := c.declare(q.Topic, []string{s.Name}); err != nil {
		return nil, b.lost(c, err)
	}
	queue := QueueOf(q.Topic.Name, s.Name)
	c.stopConsumer(queue) // a subscription once push
	ch, err := c.getter(queue)
	if err != nil {
		return nil, b.lost(c, err)
	}
	var out []pubsub.Delivery
	for len(out) < n && ctx.Err() == nil {
		raw, ok, err := ch.Get(queue, false)
		if err != nil {
			return out, b.lost(c, err)
		}
		if !ok {
			break
		}
		d, err := b.newDelivery(ctx, c, q.Topic.Name, s.Name, &raw, nil)
		if err != nil {
			return out, b.lost(c, err)
		}
		if d == nil {
			continue
		}
		d.timer = time.AfterFunc(max(inFlight, time.Second), func() { d.settle(func() error { return raw.Nack(false, true) }) })
		out = append(out, d)
	}
	return out, nil
}

// getter returns the channel a pull subscription's messages are taken
// on: they are acknowledged on it.
func (c *conn) getter(queue string) (*amqp091.Channel, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch := c.getters[queue]; ch != nil && !ch.IsClosed() {
		return ch, nil
	}
	ch, err := c.ac.Channel()
	if err != nil {
		return nil, err
	}
	c.getters[queue] = ch
	return ch, nil
}

// delivery is a message taken from a queue.
type delivery struct {
	c     *conn
	raw   *amqp091.Delivery
	m     *pubsub.Message
	subs  []string
	cons  *consumer   // of a push subscription
	timer *time.Timer // of a pull subscription: puts the message back
	done  atomic.Bool // acknowledged, put back or dead
}

// newDelivery decodes a delivery of a subscription's queue. One that is
// not a message of Plexus is made a dead letter of the subscription,
// logged, and nil is returned; if it cannot be, it goes back to the queue
// and the error is returned.
func (b *backend) newDelivery(ctx context.Context, c *conn, topic, sub string, raw *amqp091.Delivery, cons *consumer) (*delivery, error) {
	m, subs, err := decode(raw)
	if err == nil {
		return &delivery{c: c, raw: raw, m: m, subs: subs, cons: cons}, nil
	}
	reason := "not a Plexus pub/sub message: " + err.Error()
	attempts := 1 + amqp.HeaderInt(raw.Headers, hdrDeliveries)
	if derr := c.deadLetter(ctx, raw, raw.MessageId, sub, reason, attempts); derr != nil {
		raw.Nack(false, true)
		return nil, derr
	}
	if err := raw.Ack(false); err != nil {
		return nil, err
	}
	if b.e != nil {
		b.e.Undecodable(topic, sub, fmt.Sprintf("message-id %q, delivery tag %d", raw.MessageId, raw.DeliveryTag), len(raw.Body), reason, DeadQueue)
	}
	return nil, nil
}

func (d *delivery) Message() *pubsub.Message { return d.m }

func (d *delivery) For(sub string) bool {
	_, ok := slices.BinarySearch(d.subs, sub)
	return ok
}

// settle does what ends the delivery, once.
func (d *delivery) settle(do func() error) error {
	if d.done.Swap(true) {
		return errors.New("the message was put back on its queue: its visibility timeout is over")
	}
	if d.timer != nil {
		d.timer.Stop()
	}
	return do()
}

// Ack acknowledges the message (AMQP 0-9-1 has the broker confirm no
// acknowledgement: one lost with the connection is delivered again).
func (d *delivery) Ack(context.Context) error {
	return d.settle(func() error { return d.raw.Ack(false) })
}

// Retry keeps a push subscription's message to hand it out again after
// the wait, before any other; a pulled one goes back to its queue.
func (d *delivery) Retry(_ context.Context, after time.Duration) error {
	if d.cons != nil {
		d.cons.held, d.cons.due = d, time.Now().Add(after)
		return nil
	}
	return d.settle(func() error { return d.raw.Nack(false, true) })
}

// Working does nothing: the broker waits for the acknowledgement as long
// as the connection lives (up to its consumer_timeout).
func (d *delivery) Working(context.Context) error { return nil }

// Dead publishes the message to the dead letters' queue, then
// acknowledges it.
func (d *delivery) Dead(ctx context.Context, reason string) error {
	if err := d.c.deadLetter(ctx, d.raw, d.m.ID, d.m.Subscription, reason, d.m.DeliveryCount); err != nil {
		return err
	}
	return d.Ack(ctx)
}

// deadLetter publishes a copy of a delivery to the dead letters' queue,
// with why, and waits for the broker's confirm.
func (c *conn) deadLetter(ctx context.Context, raw *amqp091.Delivery, id, sub, reason string, attempts int) error {
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	ch, err := c.ac.Channel()
	if err != nil {
		return err
	}
	_, err = ch.QueueDeclare(DeadQueue, true, false, false, false, amqp091.Table{"x-queue-type": "quorum"})
	ch.Close()
	if err != nil {
		return fmt.Errorf("declaring the dead letters' queue: %w", err)
	}
	msg := amqp091.Publishing{MessageId: id, CorrelationId: raw.CorrelationId, Priority: raw.Priority,
		Timestamp: raw.Timestamp, ContentType: raw.ContentType, DeliveryMode: amqp091.Persistent, Body: raw.Body, Headers: amqp091.Table{}}
	for k, v := range raw.Headers {
		if k != hdrDeliveries {
			msg.Headers[k] = v
		}
	}
	msg.Headers[pubsub.DeadErrorHeader] = pubsub.DeadReason(reason)
	msg.Headers[pubsub.DeadSubscriptionHeader] = sub
	msg.Headers[pubsub.DeadAttemptsHeader] = int64(attempts)
	if err := c.publish(ctx, "", DeadQueue, msg); err != nil {
		return fmt.Errorf("publishing a dead letter of subscription %s: %w", sub, err)
	}
	return nil
}

// RemoveSubscription deletes a deleted subscription's queue of the
// topic, with the messages in it.
func (b *backend) RemoveSubscription(_ context.Context, q pubsub.Queue, sub string) error {
	c, err := b.conn(q)
	if err != nil {
		return err
	}
	return c.remove(q.Topic.Name, []string{sub}, false)
}

// RemoveTopic deletes a deleted topic's exchange and its subscriptions'
// queues, with the messages in them.
func (b *backend) RemoveTopic(_ context.Context, q pubsub.Queue, subs []string) error {
	c, err := b.conn(q)
	if err != nil {
		return err
	}
	return c.remove(q.Topic.Name, subs, true)
}

// remove deletes the queues of subs of a topic, and with exchange its
// exchange; what is already gone is no error.
func (c *conn) remove(topic string, subs []string, exchange bool) error {
	ch, err := c.ac.Channel()
	if err != nil {
		return err
	}
	defer func() { ch.Close() }()
	for _, s := range subs {
		queue := QueueOf(topic, s)
		c.stopConsumer(queue)
		c.mu.Lock()
		if g := c.getters[queue]; g != nil {
			g.Close()
			delete(c.getters, queue)
		}
		delete(c.made, queue)
		c.mu.Unlock()
		if _, err := ch.QueueDelete(queue, false, false, false); err != nil {
			return fmt.Errorf("deleting the queue of subscription %s: %w", s, err)
		}
	}
	if !exchange {
		return nil
	}
	ex := ExchangeOf(topic)
	c.mu.Lock()
	delete(c.made, ex)
	c.mu.Unlock()
	err = ch.ExchangeDelete(ex, false, false)
	var ae *amqp091.Error
	if errors.As(err, &ae) && ae.Code == amqp091.NotFound {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("deleting the exchange of topic %s: %w", topic, err)
	}
	return nil
}

// DeadLettersOf says where a subscription's dead letters are.
func (b *backend) DeadLettersOf(sub string) string {
	return "the RabbitMQ queue " + DeadQueue + ", those with the header " + pubsub.DeadSubscriptionHeader + ": " + sub
}
