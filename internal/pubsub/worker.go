package pubsub

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/registry"
)

// pusher is a push subscription's running form: its worker runs as the
// object's Run.
type pusher struct{ *subscription }

// Run delivers the subscription's messages until ctx is done.
func (p *pusher) Run(ctx context.Context, st *registry.Status) error {
	if p.e == nil {
		return errors.New("this server has no pub/sub engine")
	}
	return p.e.deliverLoop(ctx, p.cfg.Load().Name, p.cfg.Load, st)
}

// serviceSubscription is the hidden subscription of a service published
// to: push to the service, with the default retries.
func serviceSubscription(name string) *SubscriptionConfig {
	return &SubscriptionConfig{Name: name, Topics: []string{name}, DeliveryType: DeliveryPush, PushType: PushService,
		PushService: strings.TrimPrefix(name, serviceTopicPrefix), IsDeliveryActive: true, IsPubActive: true,
		MaxRetryTime: config.Duration(30 * 24 * time.Hour), RetryInitial: config.Duration(3 * time.Second),
		RetryMax: config.Duration(10 * time.Second), BatchSize: 100}
}

// startHidden starts the worker of a service's hidden subscription, once.
func (e *Engine) startHidden(name string) {
	ctx := e.running()
	if ctx == nil {
		return
	}
	e.mu.Lock()
	if e.hidden[name] {
		e.mu.Unlock()
		return
	}
	e.hidden[name] = true
	e.workers.Add(1)
	e.mu.Unlock()
	cfg := serviceSubscription(name)
	go func() {
		defer e.workers.Done()
		e.deliverLoop(ctx, name, func() *SubscriptionConfig { return cfg }, nil)
	}()
}

// deliverLoop is a push subscription's worker on this server. It holds
// the subscription's lease while it delivers, so that one server at a
// time delivers a subscription's messages, in order; the others stand
// by and take over when the lease runs out.
func (e *Engine) deliverLoop(ctx context.Context, name string, cfg func() *SubscriptionConfig, status *registry.Status) error {
	w := &worker{e: e, name: name, cfg: cfg, holder: token(), status: status}
	wake, stop := e.listen(name)
	defer stop()
	defer w.release()
	for ctx.Err() == nil {
		wait, err := w.next(ctx)
		if err != nil && ctx.Err() == nil {
			w.degraded(err)
			wait = e.poll
		}
		if wait <= 0 {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
	return nil
}

// worker is one run of deliverLoop.
type worker struct {
	e          *Engine
	name       string
	cfg        func() *SubscriptionConfig
	holder     string
	status     *registry.Status
	leaseUntil int64
	created    bool         // the subscription's row in pubsub_sub exists
	pending    acks         // delivered, removed by the next claim
	reported   atomic.Value // the state last reported
	ext        *extState    // the message out, of a topic on a backend
}

func (w *worker) running(what string) {
	if w.status != nil && w.reported.Load() != what {
		w.reported.Store(what)
		w.status.Running()
	}
}

func (w *worker) degraded(err error) {
	if w.reported.Swap(err.Error()) == err.Error() {
		return // reported already
	}
	if w.status != nil {
		w.status.Degraded(err)
	}
	w.e.log.Warn("pub/sub delivery", "subscription", w.name, "error", err.Error())
}

// step delivers what it can and returns how long to wait before the next
// step (0: go on at once).
func (w *worker) step(ctx context.Context) (time.Duration, error) {
	e, c := w.e, w.cfg()
	if !c.IsDeliveryActive {
		w.running("inactive")
		return e.poll, w.flush()
	}
	if t := c.pushType(); t != PushService && t != PushREST {
		if _, ok := pushTarget(t); !ok {
			return 0, errors.Join(w.flush(), fmt.Errorf("push type %q is not available in this server: its messages wait in the queue", t))
		}
	}
	batch := max(c.BatchSize, 1)
	held, rows, err := w.claim(ctx, batch, w.pending)
	if err != nil {
		return 0, err
	}
	w.pending = acks{}
	if !held {
		w.running("standby") // another server delivers, or it is paused
		return e.poll, nil
	}
	w.running("delivering")
	if len(rows) == 0 {
		return e.poll, nil
	}
	var done acks
	for _, r := range rows {
		if ctx.Err() != nil {
			return 0, w.done(done)
		}
		now := e.nowMS()
		if r.nextAt > now {
			// A failed message waits for its retry, and the ones after it
			// with it: the order of the queue is kept.
			if err := w.done(done); err != nil {
				return 0, err
			}
			return min(time.Duration(r.nextAt-now)*time.Millisecond, e.poll), nil
		}
		if r.expiresAt <= now {
			done.add(r, "expired")
			continue
		}
		if err := w.renew(ctx); err != nil {
			return 0, errors.Join(err, w.done(done))
		}
		r.DeliveryCount++
		derr := e.deliver(ctx, c, r)
		if ctx.Err() != nil {
			return 0, w.done(done)
		}
		if derr == nil {
			done.add(r, "delivered")
			continue
		}
		if err := w.done(done); err != nil {
			return 0, err
		}
		if err := w.failed(ctx, c, r, derr); err != nil {
			return 0, err
		}
		return 0, nil
	}
	// The next claim, at once, removes them in its transaction.
	w.pending = done
	return 0, nil
}

// flush removes the messages delivered and not removed yet.
func (w *worker) flush() error {
	if err := w.done(w.pending); err != nil {
		return err
	}
	w.pending = acks{}
	return nil
}

// lease takes or renews the subscription's lease; it is refused while
// another server holds it or the subscription is paused.
func (w *worker) lease(ctx context.Context) (bool, error) {
	e := w.e
	now := e.nowMS()
	until := now + leaseFor.Milliseconds()
	if !w.created {
		if _, err := e.db.ExecContext(ctx, e.rebind("INSERT INTO pubsub_sub (sub) VALUES (?) ON CONFLICT (sub) DO NOTHING"), w.name); err != nil {
			return false, storeError(err)
		}
		w.created = true
	}
	res, err := e.db.ExecContext(ctx, e.rebind(`UPDATE pubsub_sub SET holder = ?, lease_until = ?
		WHERE sub = ? AND paused = 0 AND (holder = ? OR lease_until <= ?)`), w.holder, until, w.name, w.holder, now)
	if err != nil {
		return false, storeError(err)
	}
	n, _ := res.RowsAffected()
	if n == 1 {
		w.leaseUntil = until
	}
	return n == 1, nil
}

// renew renews the lease once a third of it is gone.
func (w *worker) renew(ctx context.Context) error {
	if w.leaseUntil-w.e.nowMS() > 2*leaseFor.Milliseconds()/3 {
		return nil
	}
	held, err := w.lease(ctx)
	if err == nil && !held {
		err = fmt.Errorf("subscription %s: the lease was lost (paused, or taken by another server)", w.name)
	}
	return err
}

// release gives the lease up, so that another server takes over at
// once; the messages of the batch not delivered stay in the queue, where
// they were.
func (w *worker) release() {
	if err := w.flush(); err != nil {
		w.e.log.Warn("pub/sub delivery", "subscription", w.name, "error", err.Error())
	}
	if w.leaseUntil == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.e.db.ExecContext(ctx, w.e.rebind("UPDATE pubsub_sub SET holder = '', lease_until = 0, in_flight = 0 WHERE sub = ? AND holder = ?"), w.name, w.holder)
}

// failed records a failed attempt: a retry after the back-off, or a dead
// letter once max_retry_time has passed since the first attempt.
func (w *worker) failed(ctx context.Context, c *SubscriptionConfig, r *row, cause error) error {
	e := w.e
	now := e.nowMS()
	first := r.firstTry
	if first == 0 {
		first = now
	}
	msg := truncate(cause.Error(), 1000)
	state, next, outcome := stQueued, now+backoff(c, r.DeliveryCount).Milliseconds(), "retried"
	if now-first >= c.MaxRetryTime.D().Milliseconds() {
		state, next, outcome = stDead, 0, "dead_lettered"
	}
	if _, err := e.db.ExecContext(ctx, e.rebind(`UPDATE pubsub_delivery SET state = ?, attempts = ?, first_attempt = ?, next_at = ?, last_error = ?
		WHERE sub = ? AND seq = ?`), state, r.DeliveryCount, first, next, msg, w.name, r.seq); err != nil {
		return storeError(err)
	}
	e.count(r.Topic, w.name, outcome)
	e.log.Info("pub/sub delivery failed", "subscription", w.name, "msg_id", r.ID, "attempt", r.DeliveryCount, "outcome", outcome, "error", msg)
	return nil
}

// backoff is the wait after a subscription's attempt-th failed attempt:
// retry_initial, doubling up to retry_max, plus up to 10% jitter (with
// Zato's 3 s and 10 s: 3 s, 6 s, then 10 s).
func backoff(c *SubscriptionConfig, attempt int) time.Duration {
	d := c.RetryInitial.D()
	for i := 1; i < attempt && d < c.RetryMax.D(); i++ {
		d *= 2
	}
	d = min(d, c.RetryMax.D())
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}
