package service

import (
	"context"
	"time"
)

// KindPubSub is the resource of publish/subscribe, as Platform.Resource
// knows it; its only name is "".
const KindPubSub = "pubsub"

// PublishOptions tune Publish; the zero value publishes with the
// defaults.
type PublishOptions struct {
	// Priority is from 1 to 9, higher delivered first; 0 is the default,
	// 5.
	Priority int
	// Expiration is how long the message is kept for delivery; 0 is the
	// topic's default_expiration.
	Expiration  time.Duration
	CorrelID    string
	InReplyTo   string
	ExtClientID string
}

// Publisher publishes messages: what the platform returns for
// KindPubSub.
type Publisher interface {
	Publish(ctx context.Context, c *Context, topic string, data any, opts PublishOptions) (msgID string, err error)
}

// Publish publishes data (any value JSON encodes) to a topic, or to a
// service by its name (a durable asynchronous invocation), and returns the
// message's id (zpsm…) once the message is stored: Zato's
// self.publish(topic, data, …). It is refused with the status an
// outside publisher would get (404 for an unknown topic, 403 for an
// inactive one, 503 for a full one).
func (c *Context) Publish(topic string, data any, opts PublishOptions) (string, error) {
	p, err := Resource[Publisher](c, KindPubSub, "")
	if err != nil {
		return "", err
	}
	ctx := context.Context(c)
	if c.Context == nil {
		ctx = context.Background()
	}
	return p.Publish(ctx, c, topic, data, opts)
}
