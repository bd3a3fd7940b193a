package pubsub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/plexushq/plexus/sdk/service"
)

// depthEstimate is what a server knows of a topic's depth: counted at
// some time, plus its own publishes since. The count is made again when
// the estimate reaches max_depth, and at least every depthRecount, so a
// publish past max_depth is refused exactly on one server, and within
// depthRecount of other servers' publishes in a cluster.
type depthEstimate struct {
	count int64
	at    time.Time
}

const depthRecount = time.Second

// Publish stores a message for every subscription of its topic and
// returns its id (zpsm…) once it is committed to the store. Errors are
// *service.Error values with the status the REST endpoint answers: 400
// for a bad topic name or data, 401 when Security's permissions do not
// allow the topic, 403 for an inactive topic, 404 for an unknown one,
// 503 for a full topic.
func (e *Engine) Publish(ctx context.Context, req PublishRequest) (msgID string, err error) {
	if e.db == nil {
		return "", errNotStarted
	}
	st := e.state()
	name := req.Topic
	var subs []string
	var expiration time.Duration
	maxDepth := int64(defaultMaxDepth)
	topic, ok := topicOf(st, name)
	switch {
	case ok:
		name = topic.Name
	case req.Security == "" && st.Env() != nil && st.Env().Services != nil && st.Env().Services.Get(req.Topic) != nil:
		// Publishing to a service: its hidden topic and subscription.
		name = serviceTopicPrefix + req.Topic
		subs = []string{name}
		expiration = DefaultExpiration
	default:
		if err := CheckTopicName(req.Topic); err != nil {
			return "", badRequest("Invalid topic name %q: %s", truncate(req.Topic, MaxTopicName), err)
		}
	}
	if req.Security != "" {
		if _, ok := permissionsOf(st).pub[req.Security].Match(req.Topic); !ok {
			return "", service.Unauthorized("Permission denied")
		}
	}
	if topic == nil && subs == nil {
		return "", notFound(fmt.Sprintf("Topic %s does not exist", req.Topic))
	}
	if topic != nil {
		if !topic.IsActive {
			return "", service.Forbidden("Topic %s is inactive", topic.Name)
		}
		expiration, maxDepth = topic.DefaultExpiration.D(), topic.MaxDepth
		for _, s := range subsOfTopic(st, topic.Name) {
			if s.IsPubActive {
				subs = append(subs, s.Name)
			}
		}
	}
	data := bytes.TrimSpace(req.Data)
	switch {
	case len(data) == 0 || string(data) == "null":
		return "", badRequest("Invalid input: 'data' element missing")
	case len(data) > MaxPayload:
		return "", service.NewError(413, "The message's data is %d bytes; at most %d are taken", len(data), MaxPayload)
	case !req.dataChecked && !json.Valid(data):
		return "", badRequest("Invalid input: 'data' is not a JSON value")
	}
	if req.Expiration > 0 {
		expiration = max(req.Expiration, time.Second)
	}
	prio := DefaultPriority
	if req.Priority != nil && *req.Priority >= MinPriority && *req.Priority <= MaxPriority {
		prio = *req.Priority
	}
	if b, err := e.backendOf(topic); b != nil || err != nil {
		if err != nil {
			return "", err
		}
		return e.publishMessage(ctx, b, topic, subs, req, data, prio, expiration)
	}
	if len(subs) > 0 {
		if err := e.checkDepth(ctx, name, maxDepth); err != nil {
			return "", err
		}
	}
	now := e.clock()
	msgID = newMsgID(now)
	correl := req.CorrelID
	if correl == "" {
		correl = req.CID
	}
	exp := now.Add(expiration).UnixMilli()
	var keep []byte
	if len(subs) > 0 {
		keep = data // with no subscriber, only a trace of the message is kept
	}
	if err := e.store(&stored{args: []any{msgID, name, keep, len(data), prio, correl, req.InReplyTo, req.ExtClientID, req.CID, req.Publisher, now.UnixMilli(), exp},
		subs: subs, msgID: msgID, topic: name, prio: prio, size: len(data), exp: exp}); err != nil {
		return "", err
	}
	e.published(name, subs)
	return msgID, nil
}

// published counts a committed message and wakes its subscriptions'
// workers here (commitLoop wakes the other servers').
func (e *Engine) published(topic string, subs []string) {
	if s := e.stats.Load(); s != nil {
		s.published.WithLabelValues(metricTopic(topic)).Inc()
	}
	if strings.HasPrefix(topic, serviceTopicPrefix) {
		e.startHidden(topic)
	}
	for _, s := range subs {
		e.wakeSub(s)
	}
}

// checkDepth refuses a publish to a topic holding maxDepth messages.
func (e *Engine) checkDepth(ctx context.Context, topic string, maxDepth int64) error {
	key := strings.ToLower(topic)
	e.mu.Lock()
	d := e.depth[key]
	if d != nil && d.count < maxDepth && time.Since(d.at) < depthRecount {
		d.count++
		e.mu.Unlock()
		return nil
	}
	e.mu.Unlock()
	var n int64
	if err := e.db.QueryRowContext(ctx, e.rebind("SELECT COUNT(DISTINCT seq) FROM pubsub_delivery WHERE topic = ?"), topic).Scan(&n); err != nil {
		return storeError(err)
	}
	e.mu.Lock()
	e.depth[key] = &depthEstimate{count: n + 1, at: time.Now()}
	e.mu.Unlock()
	if n >= maxDepth {
		return errFull(topic, n)
	}
	return nil
}

// storeError is the error of a failed statement: 503, with the cause
// (nil for none).
func storeError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*service.Error); ok {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &service.Error{Status: 503, Message: "The pub/sub store is unavailable; try again", Cause: err}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// MayPublish says whether a security definition's permissions let its
// clients publish to a topic.
func (e *Engine) MayPublish(security, topic string) bool {
	_, ok := permissionsOf(e.state()).pub[security].Match(topic)
	return ok
}

// MaySubscribe says whether a security definition's permissions let its
// clients subscribe to a topic themselves (as WebSocket clients do).
// Subscriptions an administrator configures are not checked against
// them.
func (e *Engine) MaySubscribe(security, topic string) bool {
	_, ok := permissionsOf(e.state()).sub[security].Match(topic)
	return ok
}
