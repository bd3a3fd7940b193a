package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/session/state"
	mqtt3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/sdk/service"
)

// Outcomes of consumed messages, as plexus_mqtt_messages_total counts
// them.
const (
	outcomeAcked        = "acked"
	outcomeRetried      = "retried"
	outcomeDeadLettered = "dead_lettered"
	outcomeDropped      = "dropped"
	outcomeReturned     = "returned"
)

func collectors() []prometheus.Collector {
	return []prometheus.Collector{prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "plexus_mqtt_messages_total",
		Help: "Messages MQTT channels consumed, by what became of them: acked (the service succeeded), retried (the service failed and runs again), dead_lettered (published to the dead-letter topic), dropped (given up without a dead-letter topic) or returned (left unacknowledged to the broker, as when the server stops).",
	}, []string{"name", "outcome"})}
}

// maxRetryWait caps the back-off between runs of a failed message.
const maxRetryWait = 30 * time.Second

// handling is what a channel does with messages: the parts of its
// configuration that change without reconnecting.
type handling struct {
	cfg *Channel
	ch  *dispatch.Channel
}

func handlingOf(cfg *Channel) *handling {
	return &handling{cfg: cfg, ch: broker.Channel(service.ChannelMQTT, cfg.Name, cfg.Service, cfg.DataFormat, cfg.Security, cfg.Groups)}
}

// consumer is the running form of an MQTT channel: its Run subscribes
// and hands each message to the pipeline.
type consumer struct {
	cfg      *Channel
	e        endpoint
	pipe     *dispatch.Pipeline
	log      *slog.Logger
	drain    time.Duration
	counts   *prometheus.CounterVec
	state    *state.State // the client's side of a persistent session
	handling atomic.Pointer[handling]
}

func provisionChannel(env *registry.Env, obj registry.Object) (any, error) {
	cfg := obj.(*Channel)
	user, pass, err := broker.Login(env, "broker_security", cfg.BrokerSecurity, cfg.Username, cfg.Password)
	if err != nil {
		return nil, err
	}
	c := &consumer{cfg: cfg, e: endpoint{address: cfg.Address, username: user, password: pass,
		clientID: cfg.clientID(), keepAlive: cfg.KeepAlive.D()}, log: env.Logger, drain: env.Settings.Limits.ShutdownTimeout.D()}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.pipe, _ = registry.Subsystem[*dispatch.Pipeline](env)
	if cs := env.Collectors(ChannelKind); len(cs) > 0 {
		c.counts = cs[0].(*prometheus.CounterVec)
	}
	if !cfg.CleanStart {
		c.state = state.NewInMemory()
	}
	c.handling.Store(handlingOf(cfg))
	return c, nil
}

// updateChannel takes in place a change of what the channel does with
// messages; any other change reconnects.
func updateChannel(_ *registry.Env, running any, old, obj registry.Object) func() {
	o, n := *old.(*Channel), *obj.(*Channel)
	for _, c := range []*Channel{&o, &n} {
		c.Service, c.DataFormat, c.Security, c.Groups = "", "", "", nil
		c.OnError, c.MaxRedeliveries, c.DeadLetterTopic = "", 0, ""
	}
	if !reflect.DeepEqual(o, n) {
		return nil
	}
	c, cfg := running.(*consumer), obj.(*Channel)
	return func() { c.handling.Store(handlingOf(cfg)) }
}

func (c *consumer) count(outcome string) {
	if c.counts != nil {
		c.counts.WithLabelValues(c.cfg.Name, outcome).Inc()
	}
}

// inbound is a message the channel received, with how to acknowledge
// it.
type inbound struct {
	p   *paho.Publish
	dup bool // the broker delivered it again
	ack func() error
}

// link is the channel's connection as its workers use it: publishing
// dead letters.
type link interface {
	publish(ctx context.Context, p *paho.Publish) error
}

// lazyLink is the link once the channel has connected.
type lazyLink struct {
	ready chan struct{}
	l     link
}

func (z *lazyLink) set(l link) { z.l = l; close(z.ready) }

func (z *lazyLink) publish(ctx context.Context, p *paho.Publish) error {
	select {
	case <-z.ready:
		return z.l.publish(ctx, p)
	case <-ctx.Done():
		return ctx.Err()
	}
}

type link5 struct{ c *paho.Client }

func (l link5) publish(ctx context.Context, p *paho.Publish) error {
	_, err := l.c.Publish(ctx, p)
	return err
}

// Run subscribes and consumes until ctx ends or the connection is lost
// (an error: the runtime reconnects after a back-off). Once ctx ends it
// stops taking messages, lets those in flight finish (within
// limits.shutdown_timeout), acknowledges them and disconnects.
func (c *consumer) Run(ctx context.Context, st *registry.Status) error {
	if !c.cfg.IsActive {
		return nil
	}
	if c.pipe == nil {
		return errors.New("the server has no request pipeline for MQTT channels")
	}
	work := make(chan inbound)
	stopping := make(chan struct{})
	var stopOnce sync.Once
	stop := func() { stopOnce.Do(func() { close(stopping) }) }
	defer stop()
	take := func(in inbound) {
		select { // blocks the connection's reader: back-pressure
		case work <- in:
		case <-stopping:
		}
	}
	// The workers start first: a persistent session's messages may
	// arrive before the subscription is acknowledged.
	svcCtx, cancelSvc := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSvc()
	l := &lazyLink{ready: make(chan struct{})}
	var wg sync.WaitGroup
	for range c.cfg.PoolSize {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case in := <-work:
					c.handle(svcCtx, l, in)
				case <-stopping:
					return
				}
			}
		}()
	}
	fail := func(err error) error {
		stop()
		broker.WaitDrained(&wg, 0, cancelSvc)
		return err
	}
	var (
		conn       link
		lost       <-chan struct{}
		disconnect func()
	)
	if c.cfg.ProtocolVersion == Version311 {
		client, gone, err := c.e.connect311(c.cfg.CleanStart, func(m mqtt3.Message) {
			take(inbound{p: &paho.Publish{Topic: m.Topic(), Payload: m.Payload(), QoS: m.Qos(), Retain: m.Retained(), PacketID: m.MessageID()},
				dup: m.Duplicate(), ack: func() error { m.Ack(); return nil }})
		})
		if err != nil {
			return fail(err)
		}
		if err := subscribe311(client, c.cfg.filter(), byte(c.cfg.QoS)); err != nil {
			client.Disconnect(250)
			return fail(err)
		}
		conn, lost, disconnect = link311{client}, gone, func() { client.Disconnect(250) }
	} else {
		sess := session{cleanStart: c.cfg.CleanStart, expiry: c.cfg.SessionExpiry.D(), receiveMax: c.cfg.PoolSize, state: c.state}
		sess.onPublish = func(pr paho.PublishReceived) (bool, error) {
			p := pr.Packet
			take(inbound{p: p, dup: p.Duplicate(), ack: func() error { return pr.Client.Ack(p) }})
			return true, nil
		}
		client, err := c.e.connect(ctx, sess)
		if err != nil {
			return fail(err)
		}
		sa, err := client.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: c.cfg.filter(), QoS: byte(c.cfg.QoS)}}})
		if err == nil && len(sa.Reasons) > 0 && sa.Reasons[0] >= 0x80 {
			err = fmt.Errorf("the broker refused the subscription to %q (reason %d)", c.cfg.filter(), sa.Reasons[0])
		}
		if err != nil {
			disconnectClient(client)
			return fail(fmt.Errorf("subscribing to %q: %w", c.cfg.filter(), err))
		}
		conn, lost, disconnect = link5{client}, client.Done(), func() { disconnectClient(client) }
	}
	l.set(conn)
	st.Running()
	select {
	case <-ctx.Done():
		stop()
		broker.WaitDrained(&wg, c.drain, cancelSvc)
		time.Sleep(50 * time.Millisecond) // the acks go out in batches
		disconnect()
		return nil
	case <-lost:
		stop()
		broker.WaitDrained(&wg, 0, cancelSvc)
		return errors.New("the connection to the broker was lost")
	}
}

// handle runs one message through the pipeline, again after failures as
// the channel says, and settles it.
func (c *consumer) handle(ctx context.Context, l link, in inbound) {
	p := in.p
	for attempt := 0; ; attempt++ {
		h := c.handling.Load()
		res := broker.Serve(ctx, c.pipe, ChannelKind, h.ch, delivery(in, attempt))
		log := c.log.With("cid", res.CID, "kind", ChannelKind, "channel", c.cfg.Name, "topic", p.Topic)
		switch {
		case res.Outcome == broker.Ack:
			c.ack(log, in, outcomeAcked)
			return
		case res.Status == reply.StatusClientClosed:
			c.count(outcomeReturned) // the server is stopping: the broker delivers it again
			return
		case res.Outcome == broker.Retry && h.cfg.OnError == OnErrorRetry && attempt < h.cfg.MaxRedeliveries:
			c.count(outcomeRetried)
			wait := min(time.Second<<attempt, maxRetryWait)
			log.Info("the service failed; it runs again", "attempt", attempt+1, "after", wait.String())
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return
			}
		default:
			c.deadLetter(ctx, log, l, in, h, res)
			return
		}
	}
}

// ack acknowledges a message (QoS 1 and 2; QoS 0 has nothing to say).
func (c *consumer) ack(log *slog.Logger, in inbound, outcome string) {
	if err := in.ack(); err != nil {
		log.Warn("acknowledging the message failed; the broker will deliver it again", "error", err.Error())
		return
	}
	c.count(outcome)
}

// deadLetter publishes the message to the dead-letter topic with why it
// failed, then acknowledges it; without a topic it is dropped, logged.
func (c *consumer) deadLetter(ctx context.Context, log *slog.Logger, l link, in inbound, h *handling, res broker.Result) {
	p := in.p
	topic := h.cfg.DeadLetterTopic
	if topic == "" {
		log.Warn("message dropped: the channel has no dead_letter_topic", "status", res.Status, "details", res.Details)
		c.ack(log, in, outcomeDropped)
		return
	}
	props := &paho.PublishProperties{}
	if p.Properties != nil {
		*props = *p.Properties
		props.SubscriptionIdentifier, props.TopicAlias = nil, nil
	}
	props.User = append(append(paho.UserProperties{}, props.User...),
		paho.UserProperty{Key: ErrorProperty, Value: res.Details}, paho.UserProperty{Key: StatusProperty, Value: strconv.Itoa(res.Status)},
		paho.UserProperty{Key: TopicProperty, Value: p.Topic}, paho.UserProperty{Key: broker.CIDHeader, Value: res.CID})
	pctx, cancel := context.WithTimeout(ctx, defaultTimeout)
	defer cancel()
	if err := l.publish(pctx, &paho.Publish{Topic: topic, QoS: 1, Payload: p.Payload, Properties: props}); err != nil {
		log.Error("dead-lettering the message failed; it stays unacknowledged", "dead_letter_topic", topic, "error", err.Error())
		c.count(outcomeReturned)
		return
	}
	log.Warn("message dead-lettered", "status", res.Status, "details", res.Details, "dead_letter_topic", topic)
	c.ack(log, in, outcomeDeadLettered)
}

// delivery returns a message as the pipeline takes it; attempt counts
// the runs after failures before this one.
func delivery(in inbound, attempt int) *broker.Delivery {
	p := in.p
	headers := map[string]any{}
	d := &broker.Delivery{Payload: p.Payload, Headers: headers}
	details := map[string]any{"qos": int64(p.QoS), "retain": p.Retain, "packet_id": int64(p.PacketID), "duplicate": in.dup}
	if pp := p.Properties; pp != nil {
		for _, u := range pp.User {
			switch v := headers[u.Key].(type) {
			case nil:
				headers[u.Key] = u.Value
			case string:
				headers[u.Key] = []any{v, u.Value}
			case []any:
				headers[u.Key] = append(v, u.Value)
			}
		}
		d.ContentType, d.CID = pp.ContentType, string(pp.CorrelationData)
		details["content_type"], details["response_topic"], details["correlation_data"] = pp.ContentType, pp.ResponseTopic, string(pp.CorrelationData)
		if pp.MessageExpiry != nil {
			details["message_expiry"] = int64(*pp.MessageExpiry)
		}
	}
	count := 1 + attempt
	if in.dup {
		count++
	}
	d.Message = service.Message{Topic: p.Topic, DeliveryCount: count, Details: details}
	return d
}
