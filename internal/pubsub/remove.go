package pubsub

import (
	"context"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Remover is a Backend that removes what it keeps for a subscription, or
// a topic, deleted from the configuration (optional: the engine asks
// with a type assertion). Every server of a cluster removes it as it
// learns of the change: removing what is already gone is no error.
type Remover interface {
	// RemoveSubscription removes the queue of subscription sub of the
	// topic q.Topic, with the messages in it.
	RemoveSubscription(ctx context.Context, q Queue, sub string) error
	// RemoveTopic removes the topic q.Topic with the queues of subs, the
	// subscriptions it had, and the messages in them.
	RemoveTopic(ctx context.Context, q Queue, subs []string) error
}

// DeadLetterLocator is a Backend that says where it keeps a
// subscription's dead letters (optional): the admin API's refusals of
// what only the store's queues offer name it.
type DeadLetterLocator interface {
	DeadLettersOf(sub string) string
}

// storeOnly refuses, with a 409 *service.Error, what only the store's
// queues offer (browse, dead letters, redeliver, clear) for a
// subscription whose topic is on a backend.
func (e *Engine) storeOnly(st registry.State, c *SubscriptionConfig, what string) error {
	for _, n := range c.Topics {
		t, ok := topicOf(st, n)
		if !ok || !onBackend(t) {
			continue
		}
		where := "the broker"
		if b, err := e.backendOf(t); err == nil {
			if l, ok := b.(DeadLetterLocator); ok {
				where = l.DeadLettersOf(c.Name)
			}
		}
		return service.Conflict("Subscription %s receives topic %s, kept in backend %s: %s is available only for topics kept in the store; "+
			"its dead letters are in %s, read them with the broker's tools", c.Name, t.Name, t.Backend, what, where)
	}
	return nil
}

// removeWait bounds how long the removal waits for the worker of a
// deleted subscription on this server to stop, and removeTimeout the
// removal itself.
const (
	removeWait    = 30 * time.Second
	removeTimeout = 30 * time.Second
)

// removal is what a change removed from a topic on a backend: the topic
// itself, or some of its subscriptions.
type removal struct {
	topic *TopicConfig
	whole bool
	subs  []string
	gone  map[string]bool // the subscriptions deleted, not only taken from the topic
}

// Changed removes, from their backends, the topics a change of the
// configuration deleted and the queues of the subscriptions it deleted
// or took the topic from; the server calls it after every change it
// applied, not at start-up or shutdown. A topic whose backend changed
// keeps what it has in the previous one.
func (e *Engine) Changed(old, next registry.State) {
	ctx := e.running()
	if ctx == nil || old == nil || next == nil {
		return
	}
	byTopic := map[string]*removal{}
	add := func(t *TopicConfig) *removal {
		r := byTopic[strings.ToLower(t.Name)]
		if r == nil {
			r = &removal{topic: t}
			byTopic[strings.ToLower(t.Name)] = r
		}
		return r
	}
	for _, n := range old.Names(KindTopic) {
		o, _ := old.Object(KindTopic, n)
		t := o.(*TopicConfig)
		if _, ok := topicOf(next, t.Name); !ok && onBackend(t) {
			add(t).whole = true
		}
	}
	for _, n := range old.Names(KindSubscription) {
		o, _ := old.Object(KindSubscription, n)
		c := o.(*SubscriptionConfig)
		var now *SubscriptionConfig
		if o, ok := next.Object(KindSubscription, n); ok {
			now = o.(*SubscriptionConfig)
		}
		for _, tn := range c.Topics {
			t, ok := topicOf(old, tn)
			if !ok || !onBackend(t) || (now != nil && hasTopic(now, tn)) {
				continue
			}
			r := add(t)
			r.subs = append(r.subs, c.Name)
			if now == nil {
				if r.gone == nil {
					r.gone = map[string]bool{}
				}
				r.gone[c.Name] = true
			}
		}
	}
	if len(byTopic) == 0 {
		return
	}
	for _, r := range byTopic {
		if r.whole { // the queues of the subscriptions still naming it too
			r.subs = r.subs[:0]
			for _, c := range subsOfTopic(old, r.topic.Name) {
				r.subs = append(r.subs, c.Name)
			}
		}
	}
	e.mu.Lock()
	if e.ctx == nil || e.ctx.Err() != nil { // Close cancels under e.mu, then waits
		e.mu.Unlock()
		return
	}
	e.workers.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.workers.Done()
		for _, r := range byTopic {
			e.remove(ctx, old, next, r)
		}
	}()
}

// remove removes what a change deleted from a topic's backend, once the
// workers of the deleted subscriptions on this server have stopped (one
// still running would declare its queue again); a subscription that
// only no longer names the topic goes on with its other topics.
func (e *Engine) remove(ctx context.Context, old, next registry.State, r *removal) {
	b, err := e.backendOf(r.topic)
	rm, ok := b.(Remover)
	if err != nil || !ok {
		return
	}
	for s := range r.gone {
		for deadline := time.Now().Add(removeWait); e.listening(s) && time.Now().Before(deadline); {
			select {
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, removeTimeout)
	defer cancel()
	// A server leaves out of its state an object it cannot read (one
	// written by a newer version): only what the store no longer holds
	// was deleted.
	if r.whole && e.stored(ctx, KindTopic, r.topic.Name) {
		return
	}
	subs := r.subs[:0:0]
	for _, s := range r.subs {
		if !r.gone[s] || !e.stored(ctx, KindSubscription, s) {
			subs = append(subs, s)
		}
	}
	r.subs = subs
	// The connection as configured now, or as it was if the change
	// deleted it.
	q, was := Queue{Topic: r.topic, State: next}, Queue{Topic: r.topic, State: old}
	if r.whole {
		err := rm.RemoveTopic(ctx, q, r.subs)
		if err != nil {
			err = rm.RemoveTopic(ctx, was, r.subs)
		}
		if err != nil {
			e.log.Warn("pub/sub: removing a deleted topic from its backend", "topic", r.topic.Name, "backend", r.topic.Backend, "error", err.Error())
			return
		}
		e.log.Info("pub/sub: removed a deleted topic from its backend", "topic", r.topic.Name, "backend", r.topic.Backend, "subscriptions", r.subs)
		return
	}
	for _, s := range r.subs {
		err := rm.RemoveSubscription(ctx, q, s)
		if err != nil {
			err = rm.RemoveSubscription(ctx, was, s)
		}
		if err != nil {
			e.log.Warn("pub/sub: removing a subscription's queue from its backend", "topic", r.topic.Name, "subscription", s, "backend", r.topic.Backend, "error", err.Error())
			continue
		}
		e.log.Info("pub/sub: removed a subscription's queue from its backend", "topic", r.topic.Name, "subscription", s, "backend", r.topic.Backend)
	}
}

// stored says whether the store holds an object: when it cannot tell,
// yes.
func (e *Engine) stored(ctx context.Context, kind, name string) bool {
	if e.opts.Store == nil {
		return false
	}
	ok, err := e.opts.Store.Stored(ctx, kind, name)
	if err != nil {
		e.log.Warn("pub/sub: not removing from the backend what may still be configured", "kind", kind, "name", name, "error", err.Error())
		return true
	}
	if ok {
		e.log.Warn("pub/sub: not removing from the backend what the store still holds", "kind", kind, "name", name)
	}
	return ok
}

// listening says whether a worker of the subscription runs on this
// server.
func (e *Engine) listening(sub string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.wake[sub]) > 0
}

// onBackend says whether a topic is kept outside the store.
func onBackend(t *TopicConfig) bool { return t.Backend != "" && t.Backend != BackendStore }

func hasTopic(c *SubscriptionConfig, topic string) bool {
	for _, t := range c.Topics {
		if strings.EqualFold(t, topic) {
			return true
		}
	}
	return false
}
