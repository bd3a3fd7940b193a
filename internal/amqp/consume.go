package amqp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rabbitmq/amqp091-go"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/sdk/service"
)

// Outcomes of consumed messages, as plexus_amqp_messages_total counts
// them.
const (
	outcomeAcked        = "acked"
	outcomeRequeued     = "requeued"
	outcomeDeadLettered = "dead_lettered"
	outcomeRejected     = "rejected"
	outcomeReturned     = "returned"
)

// collectors makes the channels' metric.
func collectors() []prometheus.Collector {
	return []prometheus.Collector{prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "plexus_amqp_messages_total",
		Help: "Messages AMQP channels consumed, by what became of them: acked (the service succeeded), requeued (failed, put back on the queue), dead_lettered (published to the dead-letter exchange), rejected (rejected to the broker's own dead-lettering) or returned (left to the broker unfinished, as when the server stops).",
	}, []string{"name", "outcome"})}
}

// handling is what a channel does with messages: the parts of its
// configuration that change without reconnecting.
type handling struct {
	cfg *Channel
	ch  *dispatch.Channel
}

// consumer is the running form of an AMQP channel: its Run consumes the
// queue and hands each message to the pipeline.
type consumer struct {
	cfg      *Channel
	b        endpoint
	pipe     *dispatch.Pipeline
	log      *slog.Logger
	drain    time.Duration // how long messages in flight may finish once stopping
	counts   *prometheus.CounterVec
	handling atomic.Pointer[handling]
}

// provisionChannel builds a consumer without connecting: Run does.
func provisionChannel(env *registry.Env, obj registry.Object) (any, error) {
	cfg := obj.(*Channel)
	user, pass, err := broker.Login(env, "broker_security", cfg.BrokerSecurity, cfg.Username, cfg.Password)
	if err != nil {
		return nil, err
	}
	c := &consumer{cfg: cfg, b: brokerOf(ChannelKind, cfg.Name, cfg.Address, user, pass, cfg.Heartbeat.D()),
		log: env.Logger, drain: env.Settings.Limits.ShutdownTimeout.D()}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.pipe, _ = registry.Subsystem[*dispatch.Pipeline](env)
	if cs := env.Collectors(ChannelKind); len(cs) > 0 {
		c.counts = cs[0].(*prometheus.CounterVec)
	}
	c.handling.Store(handlingOf(cfg))
	return c, nil
}

func handlingOf(cfg *Channel) *handling {
	return &handling{cfg: cfg, ch: broker.Channel(service.ChannelAMQP, cfg.Name, cfg.Service, cfg.DataFormat, cfg.Security, cfg.Groups)}
}

// updateChannel takes in place a change of what the channel does with
// messages (its service, data format, security, failure handling): the
// channel goes on consuming. Any other change reconnects.
func updateChannel(_ *registry.Env, running any, old, obj registry.Object) func() {
	o, n := *old.(*Channel), *obj.(*Channel)
	for _, c := range []*Channel{&o, &n} {
		c.Service, c.DataFormat, c.Security, c.Groups = "", "", "", nil
		c.OnError, c.MaxRedeliveries, c.DeadLetterExchange, c.DeadLetterRoutingKey = "", 0, "", ""
	}
	if !reflect.DeepEqual(o, n) {
		return nil
	}
	c := running.(*consumer)
	cfg := obj.(*Channel)
	return func() { c.handling.Store(handlingOf(cfg)) }
}

// count counts a message's outcome.
func (c *consumer) count(outcome string) {
	if c.counts != nil {
		c.counts.WithLabelValues(c.cfg.Name, outcome).Inc()
	}
}

// Run consumes the queue until ctx ends or the connection is lost (an
// error: the runtime reconnects after a back-off). Once ctx ends it
// stops consuming, lets the messages in flight finish (within
// limits.shutdown_timeout) and acknowledges them; the broker delivers
// again whatever was not acknowledged.
func (c *consumer) Run(ctx context.Context, st *registry.Status) error {
	if !c.cfg.IsActive {
		return nil
	}
	if c.pipe == nil {
		return errors.New("the server has no request pipeline for AMQP channels")
	}
	conn, err := c.b.dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("opening a channel: %w", err)
	}
	if err := ch.Qos(c.cfg.prefetch(), 0, false); err != nil {
		return fmt.Errorf("setting the prefetch count: %w", err)
	}
	if c.cfg.DeclareQueue {
		if _, err := ch.QueueDeclare(c.cfg.Queue, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declaring queue %q: %w", c.cfg.Queue, err)
		}
	}
	tag := consumerTag(c.cfg.ConsumerTagPrefix)
	deliveries, err := ch.Consume(c.cfg.Queue, tag, false, c.cfg.Exclusive, false, false, nil)
	if err != nil {
		return fmt.Errorf("consuming queue %q: %w", c.cfg.Queue, err)
	}
	closed := conn.NotifyClose(make(chan *amqp091.Error, 1))
	chClosed := ch.NotifyClose(make(chan *amqp091.Error, 1))
	st.Running()

	w := &workers{c: c, conn: conn, ch: ch, work: make(chan amqp091.Delivery)}
	// Services outlive ctx by the drain time: a stopping channel lets
	// the messages in flight finish.
	svcCtx, cancelSvc := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSvc()
	w.ctx = svcCtx
	for range c.cfg.PoolSize {
		w.wg.Add(1)
		go w.run()
	}
	for err == nil {
		select {
		case <-ctx.Done():
			ch.Cancel(tag, false)
			w.stop(c.drain, cancelSvc)
			return nil
		case e := <-closed:
			err = fmt.Errorf("the broker closed the connection: %w", closeError(e))
		case e := <-chClosed:
			err = fmt.Errorf("the broker closed the channel: %w", closeError(e))
		case d, ok := <-deliveries:
			if !ok {
				err = errors.New("the broker cancelled the consumer (the queue was deleted?)")
				break
			}
			select {
			case w.work <- d:
			case <-ctx.Done():
				d.Nack(false, true)
				c.count(outcomeReturned)
			}
		}
	}
	// The connection is gone: what is in flight cannot be acknowledged
	// and will be delivered again.
	w.stop(0, cancelSvc)
	return err
}

// consumerTag returns a consumer tag: the prefix (or plexus) and a random
// suffix, unique on the broker.
func consumerTag(prefix string) string {
	if prefix == "" {
		prefix = "plexus"
	}
	var b [6]byte
	rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// workers handle a channel's messages, pool_size at once.
type workers struct {
	c    *consumer
	conn *amqp091.Connection
	ch   *amqp091.Channel
	ctx  context.Context
	work chan amqp091.Delivery
	wg   sync.WaitGroup

	pubMu sync.Mutex
	pub   *ConfirmChannel // for requeues and dead letters
}

// stop ends the workers once the messages in flight are finished; after
// drain their services' context is cancelled.
func (w *workers) stop(drain time.Duration, cancel context.CancelFunc) {
	close(w.work)
	broker.WaitDrained(&w.wg, drain, cancel)
}

func (w *workers) run() {
	defer w.wg.Done()
	for d := range w.work {
		w.handle(d)
	}
}

// handle runs one message through the pipeline and settles it.
func (w *workers) handle(d amqp091.Delivery) {
	c := w.c
	h := c.handling.Load()
	res := broker.Serve(w.ctx, c.pipe, ChannelKind, h.ch, delivery(&d, h.cfg.Queue))
	log := c.log.With("cid", res.CID, "kind", ChannelKind, "channel", c.cfg.Name, "queue", h.cfg.Queue)
	switch res.Outcome {
	case broker.Ack:
		w.settle(log, d.Ack(false), outcomeAcked)
	case broker.Retry:
		if res.Status == reply.StatusClientClosed {
			// The server is stopping: the service did not fail.
			w.settle(log, d.Nack(false, true), outcomeReturned)
			return
		}
		if n := HeaderInt(d.Headers, RedeliveriesHeader); h.cfg.OnError == OnErrorRequeue && n < h.cfg.MaxRedeliveries {
			w.requeue(log, &d, h, n+1)
			return
		}
		w.deadLetter(log, &d, h, res)
	default:
		w.deadLetter(log, &d, h, res)
	}
}

// settle records the outcome of an acknowledgement.
func (w *workers) settle(log *slog.Logger, err error, outcome string) {
	if err != nil {
		log.Warn("settling the message failed; the broker will deliver it again", "outcome", outcome, "error", err.Error())
		return
	}
	w.c.count(outcome)
}

// requeue puts a copy of the message back at the end of its queue, with
// its count of redeliveries, then acknowledges the message: a crash in
// between delivers it twice, never loses it.
func (w *workers) requeue(log *slog.Logger, d *amqp091.Delivery, h *handling, n int) {
	msg := republished(d)
	msg.Headers[RedeliveriesHeader] = int32(n)
	if err := w.publish("", h.cfg.Queue, msg); err != nil {
		log.Warn("requeueing the failed message failed; the broker delivers it again", "error", err.Error())
		w.settle(log, d.Nack(false, true), outcomeReturned)
		return
	}
	log.Info("message requeued after its service failed", "redeliveries", n, "max_redeliveries", h.cfg.MaxRedeliveries)
	w.settle(log, d.Ack(false), outcomeRequeued)
}

// deadLetter gives the message up: published to the dead-letter exchange
// with why it failed, then acknowledged; or, without one, rejected to
// the broker's own dead-lettering.
func (w *workers) deadLetter(log *slog.Logger, d *amqp091.Delivery, h *handling, res broker.Result) {
	if h.cfg.DeadLetterExchange == "" {
		log.Warn("message rejected: the broker dead-letters it if the queue has a dead-letter exchange, else drops it",
			"status", res.Status, "details", res.Details)
		w.settle(log, d.Reject(false), outcomeRejected)
		return
	}
	msg := republished(d)
	msg.Headers[ErrorHeader] = res.Details
	msg.Headers[StatusHeader] = int32(res.Status)
	msg.Headers[QueueHeader] = h.cfg.Queue
	msg.Headers[broker.CIDHeader] = res.CID
	key := h.cfg.DeadLetterRoutingKey
	if key == "" {
		key = d.RoutingKey
	}
	if err := w.publish(h.cfg.DeadLetterExchange, key, msg); err != nil {
		log.Error("dead-lettering the message failed; the broker delivers it again", "dead_letter_exchange", h.cfg.DeadLetterExchange, "error", err.Error())
		w.settle(log, d.Nack(false, true), outcomeReturned)
		return
	}
	log.Warn("message dead-lettered", "status", res.Status, "details", res.Details, "dead_letter_exchange", h.cfg.DeadLetterExchange)
	w.settle(log, d.Ack(false), outcomeDeadLettered)
}

// publish publishes a message on the workers' confirm channel, opened on
// first use and again after a failure, and waits for its confirm.
func (w *workers) publish(exchange, key string, msg amqp091.Publishing) error {
	w.pubMu.Lock()
	defer w.pubMu.Unlock()
	if w.pub == nil {
		pub, err := OpenConfirm(w.conn)
		if err != nil {
			return err
		}
		w.pub = pub
	}
	ctx, cancel := context.WithTimeout(context.Background(), defaultTimeout)
	defer cancel()
	err := w.pub.Publish(ctx, exchange, key, true, msg)
	if err != nil && !errors.Is(err, ErrUnroutable) && !errors.Is(err, ErrNacked) {
		w.pub.ch.Close()
		w.pub = nil
	}
	return err
}

// republished returns a delivered message as it is published again: its
// body, properties and a copy of its headers.
func republished(d *amqp091.Delivery) amqp091.Publishing {
	h := make(amqp091.Table, len(d.Headers)+4)
	for k, v := range d.Headers {
		h[k] = v
	}
	return amqp091.Publishing{
		Headers: h, ContentType: d.ContentType, ContentEncoding: d.ContentEncoding, DeliveryMode: d.DeliveryMode,
		Priority: d.Priority, CorrelationId: d.CorrelationId, ReplyTo: d.ReplyTo, Expiration: d.Expiration,
		MessageId: d.MessageId, Timestamp: d.Timestamp, Type: d.Type, UserId: d.UserId, AppId: d.AppId, Body: d.Body,
	}
}

// delivery returns a consumed message as the pipeline takes it.
func delivery(d *amqp091.Delivery, queue string) *broker.Delivery {
	// Plexus counts the times it requeued the message; a quorum queue
	// counts the deliveries it made again (x-delivery-count).
	count := 1 + HeaderInt(d.Headers, RedeliveriesHeader) + HeaderInt(d.Headers, "x-delivery-count")
	if d.Redelivered && count == 1 {
		count = 2
	}
	details := map[string]any{
		"exchange": d.Exchange, "routing_key": d.RoutingKey, "queue": queue, "redelivered": d.Redelivered,
		"delivery_tag": int64(d.DeliveryTag), "consumer_tag": d.ConsumerTag,
		"content_type": d.ContentType, "content_encoding": d.ContentEncoding, "correlation_id": d.CorrelationId,
		"reply_to": d.ReplyTo, "expiration": d.Expiration, "type": d.Type, "user_id": d.UserId, "app_id": d.AppId,
		"priority": int64(d.Priority), "delivery_mode": int64(d.DeliveryMode),
	}
	if !d.Timestamp.IsZero() {
		details["timestamp"] = d.Timestamp.UTC().Format(time.RFC3339)
	}
	return &broker.Delivery{
		Payload: d.Body, Headers: tableToJSON(d.Headers), ContentType: d.ContentType, CID: d.CorrelationId,
		Message: service.Message{ID: d.MessageId, Topic: d.RoutingKey, DeliveryCount: count, Details: details},
	}
}
