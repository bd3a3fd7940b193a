package kafka

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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/sdk/service"
)

// Outcomes of consumed records, as plexus_kafka_records_total counts
// them.
const (
	outcomeCommitted    = "committed"
	outcomeRetried      = "retried"
	outcomeDeadLettered = "dead_lettered"
	outcomeDropped      = "dropped"
	outcomeReturned     = "returned"
)

func collectors() []prometheus.Collector {
	return []prometheus.Collector{prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "plexus_kafka_records_total",
		Help: "Records Kafka channels consumed, by what became of them: committed (the service succeeded), retried (the service failed and runs again), dead_lettered (produced to the dead-letter topic), dropped (given up without a dead-letter topic) or returned (left uncommitted, consumed again, as when the server stops).",
	}, []string{"name", "outcome"})}
}

// handling is what a channel does with records: the parts of its
// configuration that change without reconnecting.
type handling struct {
	cfg *Channel
	ch  *dispatch.Channel
}

func handlingOf(cfg *Channel) *handling {
	return &handling{cfg: cfg, ch: broker.Channel(service.ChannelKafka, cfg.Name, cfg.Service, cfg.DataFormat, "", nil)}
}

// consumer is the running form of a Kafka channel.
type consumer struct {
	cfg      *Channel
	b        brokers
	pipe     *dispatch.Pipeline
	log      *slog.Logger
	drain    time.Duration
	counts   *prometheus.CounterVec
	handling atomic.Pointer[handling]
}

func provisionChannel(env *registry.Env, obj registry.Object) (any, error) {
	cfg := obj.(*Channel)
	b, err := cfg.brokers().login(env, cfg.Security)
	if err != nil {
		return nil, err
	}
	c := &consumer{cfg: cfg, b: b, log: env.Logger, drain: env.Settings.Limits.ShutdownTimeout.D()}
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

// updateChannel takes in place a change of what the channel does with
// records; any other change reconnects.
func updateChannel(_ *registry.Env, running any, old, obj registry.Object) func() {
	o, n := *old.(*Channel), *obj.(*Channel)
	for _, c := range []*Channel{&o, &n} {
		c.Service, c.DataFormat = "", ""
		c.MaxRetries, c.RetrySleepTime, c.DLQForwardTo = 0, 0, ""
	}
	if !reflect.DeepEqual(o, n) {
		return nil
	}
	c, cfg := running.(*consumer), obj.(*Channel)
	return func() { c.handling.Store(handlingOf(cfg)) }
}

func (c *consumer) count(outcome string, n int) {
	if c.counts != nil {
		c.counts.WithLabelValues(c.cfg.Name, outcome).Add(float64(n))
	}
}

// errStopped says a record was left uncommitted because the channel is
// stopping.
var errStopped = errors.New("stopping")

// Run joins the consumer group and consumes until ctx ends or a record
// cannot be settled (an error: the runtime starts again after a
// back-off, from the committed offsets). It fetches at most
// max_in_flight records at once, runs those of each partition in order,
// and commits each partition's offsets once their services succeeded or
// they were dead-lettered. Once ctx ends it stops fetching, lets the
// records in flight finish (within limits.shutdown_timeout), commits
// them and leaves the group.
func (c *consumer) Run(ctx context.Context, st *registry.Status) error {
	if !c.cfg.IsActive {
		return nil
	}
	if c.pipe == nil {
		return errors.New("the server has no request pipeline for Kafka channels")
	}
	opts := append(c.b.options("plexus-"+c.cfg.Name), kgo.ConsumerGroup(c.cfg.groupID()), kgo.ConsumeTopics(c.cfg.Topics...),
		kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(), kgo.FetchMaxWait(time.Second))
	if c.cfg.TopicRegex {
		opts = append(opts, kgo.ConsumeRegex())
	}
	if c.cfg.AutoOffsetReset == "latest" {
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	} else {
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := ping(ctx, cl); err != nil {
		return err
	}
	st.Running()
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go watch(wctx, cl, st)

	// Services outlive ctx by the drain time: a stopping channel lets
	// the records in flight finish.
	svcCtx, cancelSvc := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSvc()
	stopDrain := context.AfterFunc(ctx, func() { time.AfterFunc(c.drain, cancelSvc) })
	defer stopDrain()
	for {
		fetches := cl.PollRecords(ctx, c.cfg.MaxInFlight)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return nil
		}
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.Canceled) {
				return fmt.Errorf("fetching from topic %q: %w", fe.Topic, fe.Err)
			}
		}
		settled, err := c.handle(svcCtx, cl, fetches.Records())
		if len(settled) > 0 {
			if cerr := cl.CommitRecords(context.WithoutCancel(ctx), settled...); cerr != nil {
				return fmt.Errorf("committing offsets: %w", cerr)
			}
		}
		cl.AllowRebalance()
		switch {
		case errors.Is(err, errStopped):
			return nil
		case err != nil:
			return err
		}
	}
}

// handle runs records through the pipeline, those of a partition in
// order, and returns those settled (committed, dead-lettered or
// dropped); an error says a record could not be, and that it and the
// rest of its partition must be consumed again.
func (c *consumer) handle(ctx context.Context, cl *kgo.Client, records []*kgo.Record) ([]*kgo.Record, error) {
	type part struct {
		topic     string
		partition int32
	}
	byPart := map[part][]*kgo.Record{}
	var order []part
	for _, r := range records {
		p := part{r.Topic, r.Partition}
		if byPart[p] == nil {
			order = append(order, p)
		}
		byPart[p] = append(byPart[p], r)
	}
	var (
		mu       sync.Mutex
		settled  []*kgo.Record
		firstErr error
		wg       sync.WaitGroup
	)
	for _, p := range order {
		wg.Add(1)
		go func(rs []*kgo.Record) {
			defer wg.Done()
			for _, r := range rs {
				err := c.settle(ctx, cl, r)
				mu.Lock()
				if err == nil {
					settled = append(settled, r)
				} else if firstErr == nil || errors.Is(firstErr, errStopped) {
					firstErr = err
				}
				mu.Unlock()
				if err != nil {
					c.count(outcomeReturned, 1)
					return
				}
			}
		}(byPart[p])
	}
	wg.Wait()
	return settled, firstErr
}

// settle runs one record through the pipeline, again after failures as
// the channel says, and dead-letters or drops it if it never succeeds.
func (c *consumer) settle(ctx context.Context, cl *kgo.Client, r *kgo.Record) error {
	for attempt := 0; ; attempt++ {
		h := c.handling.Load()
		res := broker.Serve(ctx, c.pipe, ChannelKind, h.ch, delivery(r, h.cfg.groupID(), attempt))
		log := c.log.With("cid", res.CID, "kind", ChannelKind, "channel", c.cfg.Name, "topic", r.Topic,
			"partition", r.Partition, "offset", r.Offset)
		switch {
		case res.Outcome == broker.Ack:
			c.count(outcomeCommitted, 1)
			return nil
		case res.Status == reply.StatusClientClosed:
			return errStopped
		case res.Outcome == broker.Retry && attempt < h.cfg.MaxRetries:
			c.count(outcomeRetried, 1)
			wait := min(h.cfg.RetrySleepTime.D()<<attempt, maxRetryWait)
			log.Info("the service failed; it runs again", "attempt", attempt+1, "after", wait.String())
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return errStopped
			}
		default:
			return c.deadLetter(ctx, log, cl, r, h, res)
		}
	}
}

// deadLetter produces the record to the dead-letter topic with why it
// failed; without a topic it is dropped, logged.
func (c *consumer) deadLetter(ctx context.Context, log *slog.Logger, cl *kgo.Client, r *kgo.Record, h *handling, res broker.Result) error {
	topic := h.cfg.DLQForwardTo
	if topic == "" {
		log.Warn("record dropped: the channel has no dlq_forward_to", "status", res.Status, "details", res.Details)
		c.count(outcomeDropped, 1)
		return nil
	}
	dl := &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: append([]kgo.RecordHeader(nil), r.Headers...)}
	dl.Headers = append(dl.Headers, kgo.RecordHeader{Key: ErrorHeader, Value: []byte(res.Details)},
		kgo.RecordHeader{Key: StatusHeader, Value: []byte(strconv.Itoa(res.Status))},
		kgo.RecordHeader{Key: TopicHeader, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: PartitionHeader, Value: []byte(strconv.Itoa(int(r.Partition)))},
		kgo.RecordHeader{Key: OffsetHeader, Value: []byte(strconv.FormatInt(r.Offset, 10))},
		kgo.RecordHeader{Key: broker.CIDHeader, Value: []byte(res.CID)})
	pctx, cancel := context.WithTimeout(ctx, defaultTimeout)
	defer cancel()
	if err := cl.ProduceSync(pctx, dl).FirstErr(); err != nil {
		log.Error("dead-lettering the record failed; it is consumed again", "dlq_forward_to", topic, "error", err.Error())
		return fmt.Errorf("dead-lettering to %q: %w", topic, err)
	}
	log.Warn("record dead-lettered", "status", res.Status, "details", res.Details, "dlq_forward_to", topic)
	c.count(outcomeDeadLettered, 1)
	return nil
}

// delivery returns a record as the pipeline takes it; attempt counts the
// runs after failures before this one.
func delivery(r *kgo.Record, group string, attempt int) *broker.Delivery {
	headers := map[string]any{}
	for _, h := range r.Headers {
		switch v := headers[h.Key].(type) {
		case nil:
			headers[h.Key] = string(h.Value)
		case string:
			headers[h.Key] = []any{v, string(h.Value)}
		case []any:
			headers[h.Key] = append(v, string(h.Value))
		}
	}
	details := map[string]any{"partition": int64(r.Partition), "offset": r.Offset, "key": string(r.Key),
		"timestamp": r.Timestamp.UTC().Format(time.RFC3339Nano), "group_id": group}
	return &broker.Delivery{Payload: r.Value, Headers: headers,
		Message: service.Message{Topic: r.Topic, DeliveryCount: 1 + attempt, Details: details}}
}
