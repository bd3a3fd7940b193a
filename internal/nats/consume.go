package nats

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

	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/sdk/service"
)

// Outcomes of consumed messages, as plexus_nats_messages_total counts
// them.
const (
	outcomeAcked        = "acked"
	outcomeRetried      = "retried"
	outcomeDeadLettered = "dead_lettered"
	outcomeTerminated   = "terminated"
	outcomeFailed       = "failed"
	outcomeDropped      = "dropped"
	outcomeReturned     = "returned"
)

// collectors makes the channels' metric.
func collectors() []prometheus.Collector {
	return []prometheus.Collector{prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "plexus_nats_messages_total",
		Help: "Messages NATS channels consumed, by what became of them: acked (the service succeeded; on core NATS, handled), retried (JetStream: the service failed, delivered again after the back-off), dead_lettered (published to the dead-letter subject), terminated (JetStream: given up without a dead-letter subject), failed (core NATS: the service failed, the message is gone), dropped (core NATS: more arrived than pending_limit holds) or returned (JetStream: left to the server unfinished, as when the channel stops).",
	}, []string{"name", "outcome"})}
}

// handling is what a channel does with messages: the parts of its
// configuration that change without reconnecting.
type handling struct {
	cfg     *Channel
	ch      *dispatch.Channel
	backOff []time.Duration
}

func handlingOf(cfg *Channel) *handling {
	backOff, _ := ParseBackOff(cfg.BackOff) // validated
	return &handling{cfg: cfg, backOff: backOff,
		ch: broker.Channel(service.ChannelNATS, cfg.Name, cfg.Service, cfg.DataFormat, cfg.Security, cfg.Groups)}
}

// consumer is the running form of a NATS channel: its Run subscribes and
// hands each message to the pipeline.
type consumer struct {
	cfg      *Channel
	e        endpoint
	pipe     *dispatch.Pipeline
	log      *slog.Logger
	drain    time.Duration // how long messages in flight may finish once stopping
	counts   *prometheus.CounterVec
	handling atomic.Pointer[handling]
}

// provisionChannel builds a consumer without connecting: Run does.
func provisionChannel(env *registry.Env, obj registry.Object) (any, error) {
	cfg := obj.(*Channel)
	c := &consumer{cfg: cfg, e: endpointOf(ChannelKind, cfg.Name, cfg.Address, cfg.Username, cfg.Password, cfg.Token),
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

func endpointOf(kind, name, address, username, password, token string) endpoint {
	return endpoint{address: address, username: username, password: password, token: token, name: "plexus " + kind + " " + name}
}

// updateChannel takes in place a change of what the channel does with
// messages (its service, data format, security, back-off, dead-letter
// subject): the channel goes on consuming. Any other change reconnects.
func updateChannel(_ *registry.Env, running any, old, obj registry.Object) func() {
	o, n := *old.(*Channel), *obj.(*Channel)
	for _, c := range []*Channel{&o, &n} {
		c.Service, c.DataFormat, c.Security, c.Groups = "", "", "", nil
		c.BackOff, c.DeadLetterSubject = nil, ""
	}
	if !reflect.DeepEqual(o, n) {
		return nil
	}
	c := running.(*consumer)
	cfg := obj.(*Channel)
	return func() { c.handling.Store(handlingOf(cfg)) }
}

// count counts a message's outcome.
func (c *consumer) count(outcome string, n int) {
	if c.counts != nil && n > 0 {
		c.counts.WithLabelValues(c.cfg.Name, outcome).Add(float64(n))
	}
}

// Run consumes until ctx ends or the connection is lost (an error: the
// runtime reconnects after a back-off). Once ctx ends it stops
// consuming, lets the messages in flight finish (within
// limits.shutdown_timeout) and acknowledges them; JetStream delivers
// again whatever was not acknowledged.
func (c *consumer) Run(ctx context.Context, st *registry.Status) error {
	if !c.cfg.IsActive {
		return nil
	}
	if c.pipe == nil {
		return errors.New("the server has no request pipeline for NATS channels")
	}
	conn, err := c.e.acquire()
	if err != nil {
		return err
	}
	defer conn.release(dialTimeout)
	// Services outlive ctx by the drain time: a stopping channel lets
	// the messages in flight finish.
	svcCtx, cancelSvc := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSvc()
	w := &workers{c: c, conn: conn, ctx: svcCtx, work: make(chan job), stopped: make(chan struct{})}
	if c.cfg.Stream != "" {
		w.js, err = jetstream.New(conn.nc)
		if err != nil {
			return err
		}
	}
	if c.cfg.Stream == "" {
		for range c.cfg.PoolSize {
			w.wg.Add(1)
			go w.run()
		}
		err = c.runCore(ctx, st, w)
	} else {
		err = c.runJetStream(ctx, st, w)
	}
	if err != nil {
		// The connection is gone: what is in flight cannot be
		// acknowledged and will be delivered again.
		w.stop(0, cancelSvc)
		return err
	}
	w.stop(c.drain, cancelSvc)
	// The acknowledgements of the last messages reach the server before
	// Run returns (and the connection closes, if no one else uses it).
	conn.nc.FlushTimeout(dialTimeout)
	return nil
}

// runCore subscribes on core NATS and hands messages to the workers
// until ctx ends (nil) or the connection is lost.
func (c *consumer) runCore(ctx context.Context, st *registry.Status, w *workers) error {
	nc := w.conn.nc
	msgs := make(chan *natsio.Msg, c.cfg.PendingLimit)
	sub, err := nc.ChanQueueSubscribe(c.cfg.Subject, c.cfg.QueueGroup, msgs)
	if err != nil {
		return fmt.Errorf("subscribing to %q: %w", c.cfg.Subject, err)
	}
	if err := nc.FlushTimeout(dialTimeout); err != nil {
		return fmt.Errorf("subscribing to %q: %w", c.cfg.Subject, err)
	}
	if err := nc.LastError(); err != nil {
		return fmt.Errorf("subscribing to %q: %w", c.cfg.Subject, err)
	}
	st.Running()
	var dropped int
	countDropped := func() {
		if n, err := sub.Dropped(); err == nil && n > dropped {
			c.log.Warn("messages dropped: more arrived than pending_limit holds", "kind", ChannelKind, "channel", c.cfg.Name,
				"subject", c.cfg.Subject, "dropped", n-dropped, "pending_limit", c.cfg.PendingLimit)
			c.count(outcomeDropped, n-dropped)
			dropped = n
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			sub.Unsubscribe()
			countDropped()
			if n := len(msgs); n > 0 {
				c.log.Warn("messages dropped: the channel stopped before handling them", "kind", ChannelKind, "channel", c.cfg.Name, "dropped", n)
				c.count(outcomeDropped, n)
			}
			return nil
		case <-w.conn.closed:
			countDropped()
			return w.conn.err()
		case <-tick.C:
			countDropped()
		case m := <-msgs:
			select {
			case w.work <- job{core: m}:
			case <-ctx.Done():
				c.count(outcomeDropped, 1)
			}
		}
	}
}

// runJetStream consumes through the channel's durable consumer, created
// or updated first, until ctx ends (nil) or the connection is lost.
func (c *consumer) runJetStream(ctx context.Context, st *registry.Status, w *workers) error {
	cfg := c.cfg
	cctx, cancel := context.WithTimeout(ctx, dialTimeout)
	cons, err := w.js.CreateOrUpdateConsumer(cctx, cfg.Stream, jetstream.ConsumerConfig{
		Durable:       cfg.durable(),
		Description:   "Plexus channel " + cfg.Name,
		FilterSubject: cfg.Subject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait.D(),
		MaxDeliver:    cfg.MaxDeliver,
		MaxAckPending: cfg.maxAckPending(),
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("creating durable consumer %q on stream %q: %w", cfg.durable(), cfg.Stream, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(cfg.maxAckPending()))
	if err != nil {
		return fmt.Errorf("consuming through %q: %w", cfg.durable(), err)
	}
	st.Running()
	// The workers pull from the iterator themselves; once draining, they
	// hand the messages the client still holds back to the server at
	// once, for the next consumer to have them without waiting for
	// ack_wait.
	w.it = it
	w.inFlight = make([]atomic.Pointer[jsInFlight], cfg.PoolSize)
	for i := range cfg.PoolSize {
		w.wg.Add(1)
		w.pulling.Add(1)
		go func() {
			defer w.wg.Done()
			w.pull(&w.inFlight[i])
		}()
	}
	pulled := make(chan error, 1)
	go func() {
		w.pulling.Wait()
		pulled <- nil
	}()
	go w.keepInProgress(cfg.AckWait.D() / 2)
	select {
	case <-ctx.Done():
		w.draining.Store(true)
		it.Drain()
		select {
		case <-pulled:
		case <-w.conn.closed:
		case <-time.After(dialTimeout):
		}
		return nil
	case <-w.conn.closed:
		it.Stop()
		return w.conn.err()
	case <-pulled:
		// The iterator ended by itself: the consumer was deleted, or
		// the connection is going.
		select {
		case <-w.conn.closed:
			return w.conn.err()
		case <-time.After(100 * time.Millisecond):
		}
		return fmt.Errorf("consuming through %q: %w", cfg.durable(), w.pullErr())
	}
}

// pull is a worker's loop on JetStream: it takes the next message from
// the iterator and handles it, until the iterator ends.
func (w *workers) pull(slot *atomic.Pointer[jsInFlight]) {
	defer w.pulling.Done()
	for {
		m, err := w.it.Next()
		if err != nil {
			w.errOnce.Do(func() { w.err = err })
			return
		}
		if w.draining.Load() {
			m.Nak()
			w.c.count(outcomeReturned, 1)
			continue
		}
		slot.Store(&jsInFlight{m: m, since: time.Now()})
		w.handleJetStream(m)
		slot.Store(nil)
	}
}

// pullErr is the error that ended the iterator.
func (w *workers) pullErr() error {
	if w.err == nil {
		return errors.New("the iterator ended")
	}
	return w.err
}

// jsInFlight is a JetStream message a worker handles, since when.
type jsInFlight struct {
	m     jetstream.Msg
	since time.Time
}

// keepInProgress tells the server, every half of ack_wait, that the
// messages handled for longer than that are in progress, so a long
// service keeps its message, while the channel drains too.
func (w *workers) keepInProgress(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-w.stopped:
			return
		case <-w.conn.closed:
			return
		case now := <-t.C:
			for i := range w.inFlight {
				if f := w.inFlight[i].Load(); f != nil && now.Sub(f.since) >= every {
					f.m.InProgress()
				}
			}
		}
	}
}

// job is one core NATS message for a worker.
type job struct {
	core *natsio.Msg
}

// workers handle a channel's messages, pool_size at once.
type workers struct {
	c    *consumer
	conn *connection
	js   jetstream.JetStream
	ctx  context.Context
	work chan job // core NATS
	wg   sync.WaitGroup

	// JetStream
	it       jetstream.MessagesContext
	inFlight []atomic.Pointer[jsInFlight] // one slot per worker
	draining atomic.Bool
	pulling  sync.WaitGroup
	stopped  chan struct{} // closed once the workers have returned
	errOnce  sync.Once
	err      error
}

// stop ends the workers once the messages in flight are finished; after
// drain their services' context is cancelled.
func (w *workers) stop(drain time.Duration, cancel context.CancelFunc) {
	close(w.work)
	if w.it != nil {
		w.it.Stop()
	}
	broker.WaitDrained(&w.wg, drain, cancel)
	close(w.stopped)
}

func (w *workers) run() {
	defer w.wg.Done()
	for j := range w.work {
		w.handleCore(j.core)
	}
}

// handleCore runs a core NATS message through the pipeline, and answers
// it when it is a request (it has a reply subject).
func (w *workers) handleCore(m *natsio.Msg) {
	c := w.c
	h := c.handling.Load()
	res := broker.Serve(w.ctx, c.pipe, ChannelKind, h.ch, coreDelivery(m, h.cfg.QueueGroup))
	log := c.logFor(res, m.Subject)
	if m.Reply != "" {
		r := &natsio.Msg{Subject: m.Reply, Data: res.Body, Header: natsio.Header{}}
		r.Header.Set(broker.CIDHeader, res.CID)
		r.Header.Set(StatusHeader, strconv.Itoa(res.Status))
		if err := w.conn.nc.PublishMsg(r); err != nil {
			log.Warn("answering the request failed", "reply", m.Reply, "error", err.Error())
		}
	}
	if res.Outcome == broker.Ack {
		c.count(outcomeAcked, 1)
		return
	}
	if m.Reply == "" && w.deadLetter(log, m.Subject, m.Data, m.Header, h, res) {
		return
	}
	log.Warn("the service failed; core NATS does not deliver the message again", "status", res.Status, "details", res.Details)
	c.count(outcomeFailed, 1)
}

// handleJetStream runs a JetStream message through the pipeline and
// settles it: acknowledged once the service succeeded, delivered again
// after the back-off when it failed, up to max_deliver deliveries, then
// dead-lettered.
func (w *workers) handleJetStream(m jetstream.Msg) {
	c := w.c
	h := c.handling.Load()
	d, meta := jsDelivery(m)
	res := broker.Serve(w.ctx, c.pipe, ChannelKind, h.ch, d)
	if res.Outcome == broker.Ack {
		if err := m.Ack(); err != nil {
			w.settle(c.logFor(res, m.Subject()), err, outcomeAcked)
			return
		}
		c.count(outcomeAcked, 1)
		return
	}
	log := c.logFor(res, m.Subject())
	switch res.Outcome {
	case broker.Retry:
		if res.Status == reply.StatusClientClosed {
			// The server is stopping: the service did not fail.
			w.settle(log, m.Nak(), outcomeReturned)
			return
		}
		if n := deliveries(meta); n < h.cfg.MaxDeliver {
			wait := backOffFor(h.backOff, n)
			log.Info("the service failed; the message is delivered again", "status", res.Status, "details", res.Details,
				"delivery", n, "max_deliver", h.cfg.MaxDeliver, "back_off", wait.String())
			var err error
			if wait > 0 {
				err = m.NakWithDelay(wait)
			} else {
				err = m.Nak()
			}
			w.settle(log, err, outcomeRetried)
			return
		}
	}
	if !w.deadLetter(log, m.Subject(), m.Data(), m.Headers(), h, res) {
		log.Warn("message given up and terminated", "status", res.Status, "details", res.Details)
		w.settle(log, m.TermWithReason(res.Details), outcomeTerminated)
		return
	}
	if err := m.Term(); err != nil {
		log.Warn("terminating the dead-lettered message failed; it may be delivered again", "error", err.Error())
	}
}

// logFor returns the logger of a message's lines.
func (c *consumer) logFor(res broker.Result, subject string) *slog.Logger {
	return c.log.With("cid", res.CID, "kind", ChannelKind, "channel", c.cfg.Name, "subject", subject)
}

// deliveries returns how many times a message has been delivered.
func deliveries(meta *jetstream.MsgMetadata) int {
	if meta == nil {
		return 1
	}
	return int(meta.NumDelivered)
}

// backOffFor returns the wait before a message delivered n times is
// delivered again.
func backOffFor(backOff []time.Duration, n int) time.Duration {
	if len(backOff) == 0 {
		return 0
	}
	return backOff[min(n, len(backOff))-1]
}

// settle records the outcome of an acknowledgement.
func (w *workers) settle(log *slog.Logger, err error, outcome string) {
	if err != nil {
		log.Warn("settling the message failed; the server will deliver it again", "outcome", outcome, "error", err.Error())
		return
	}
	w.c.count(outcome, 1)
}

// deadLetter publishes a message given up to the dead-letter subject,
// with why it failed, and reports whether it did: to JetStream when a
// stream takes the subject (waiting for its acknowledgement), else on
// core NATS.
func (w *workers) deadLetter(log *slog.Logger, subject string, data []byte, headers natsio.Header, h *handling, res broker.Result) bool {
	if h.cfg.DeadLetterSubject == "" {
		return false
	}
	msg := &natsio.Msg{Subject: h.cfg.DeadLetterSubject, Data: data, Header: natsio.Header{}}
	for k, v := range headers {
		if k != "Nats-Msg-Id" {
			msg.Header[k] = append([]string(nil), v...)
		}
	}
	msg.Header.Set(ErrorHeader, res.Details)
	msg.Header.Set(StatusHeader, strconv.Itoa(res.Status))
	msg.Header.Set(SubjectHeader, subject)
	msg.Header.Set(broker.CIDHeader, res.CID)
	if err := publish(w.ctx, w.conn.nc, w.js, msg, "", defaultTimeout); err != nil {
		log.Error("dead-lettering the message failed", "dead_letter_subject", h.cfg.DeadLetterSubject, "error", err.Error())
		return false
	}
	log.Warn("message dead-lettered", "status", res.Status, "details", res.Details, "dead_letter_subject", h.cfg.DeadLetterSubject)
	w.c.count(outcomeDeadLettered, 1)
	return true
}

// publish sends a message to JetStream and waits for the stream's
// acknowledgement, or, when js is nil or no stream takes the subject and
// expect is empty, publishes it on core NATS and waits for the server
// to have it.
func publish(ctx context.Context, nc *natsio.Conn, js jetstream.JetStream, msg *natsio.Msg, expect string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if js != nil {
		var opts []jetstream.PublishOpt
		if expect != "" {
			opts = append(opts, jetstream.WithExpectStream(expect))
		}
		_, err := js.PublishMsg(ctx, msg, opts...)
		if !errors.Is(err, jetstream.ErrNoStreamResponse) && !errors.Is(err, natsio.ErrNoResponders) || expect != "" {
			return err
		}
	}
	if err := nc.PublishMsg(msg); err != nil {
		return err
	}
	return nc.FlushWithContext(ctx)
}

// coreDelivery returns a core NATS message as the pipeline takes it.
func coreDelivery(m *natsio.Msg, group string) *broker.Delivery {
	details := map[string]any{"subject": m.Subject, "reply": m.Reply, "queue_group": group}
	return &broker.Delivery{
		Payload: m.Data, Headers: headersOf(m.Header),
		Message: service.Message{ID: m.Header.Get(natsio.MsgIdHdr), Topic: m.Subject, DeliveryCount: 1, Details: details},
	}
}

// jsDelivery returns a JetStream message as the pipeline takes it, and
// its metadata (nil when its reply subject does not carry them).
func jsDelivery(m jetstream.Msg) (*broker.Delivery, *jetstream.MsgMetadata) {
	h := m.Headers()
	details := make(map[string]any, 8) // room for every detail: no growing
	details["subject"] = m.Subject()
	id := h.Get(natsio.MsgIdHdr)
	meta, err := m.Metadata()
	if err != nil {
		meta = nil
	}
	if meta != nil {
		details["stream"] = meta.Stream
		details["consumer"] = meta.Consumer
		details["stream_sequence"] = int64(meta.Sequence.Stream)
		details["consumer_sequence"] = int64(meta.Sequence.Consumer)
		details["pending"] = int64(meta.NumPending)
		details["timestamp"] = meta.Timestamp.UTC().Format(time.RFC3339Nano)
		if meta.Domain != "" {
			details["domain"] = meta.Domain
		}
		if id == "" {
			id = strconv.FormatUint(meta.Sequence.Stream, 10)
		}
	}
	return &broker.Delivery{
		Payload: m.Data(), Headers: headersOf(h),
		Message: service.Message{ID: id, Topic: m.Subject(), DeliveryCount: deliveries(meta), Details: details},
	}, meta
}
