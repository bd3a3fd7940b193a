package pubsub

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/plexushq/plexus/internal/bus"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/store"
)

// Limits and defaults, Zato's where Zato has them.
const (
	// DefaultPriority is a message's priority unless the publisher gives
	// one from MinPriority to MaxPriority; higher is delivered first.
	DefaultPriority = 5
	MinPriority     = 0
	MaxPriority     = 9
	// DefaultExpiration is how long a message is kept for delivery unless
	// its publisher or its topic says otherwise: one year.
	DefaultExpiration = 365 * 24 * time.Hour
	// MaxPayload is the largest message data, encoded as JSON.
	MaxPayload = 5_000_000
	// Pull limits: the messages and bytes of data one Get returns.
	DefaultGetMessages = 50
	MaxGetMessages     = 1000
	DefaultGetLen      = 5_000_000
	MaxGetLen          = 5_000_000
	// MaxPushWorkers bounds the push subscriptions a server delivers for,
	// one goroutine each; more are reported degraded.
	MaxPushWorkers = 1000
	// MaxPage is the most messages one Browse or DeadLetters returns.
	MaxPage = 1000
)

// Message is a message as a subscriber or an administrator sees it.
// Fields after Publisher describe its delivery to one subscription.
type Message struct {
	ID          string          `json:"msg_id"`
	Topic       string          `json:"topic_name"`
	Data        json.RawMessage `json:"data"`
	Size        int             `json:"size"`
	Priority    int             `json:"priority"`
	CorrelID    string          `json:"correl_id"`
	InReplyTo   string          `json:"in_reply_to"`
	ExtClientID string          `json:"ext_client_id"`
	CID         string          `json:"cid"`
	// Publisher is the security definition or the service that published.
	Publisher  string    `json:"publisher"`
	PubTime    time.Time `json:"pub_time"`
	Expiration time.Time `json:"expiration_time"`

	// Subscription is the subscription whose queue holds the message.
	Subscription string `json:"sub_name,omitempty"`
	// State is the delivery's: StateQueued, StateInFlight or StateDead.
	State string `json:"state,omitempty"`
	// DeliveryCount counts the attempts to deliver the message.
	DeliveryCount int `json:"delivery_count"`
	// LastError says why the last attempt failed.
	LastError string `json:"last_error,omitempty"`
	// NextAttempt is when a failed delivery is retried.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
}

// States of a message in a subscription's queue.
const (
	StateQueued   = "queued"    // waiting for delivery (or a retry)
	StateInFlight = "in_flight" // being delivered, or pulled and not yet acknowledged
	StateDead     = "dead"      // a dead letter: delivery gave up, kept until redelivered or cleared
)

// PublishRequest is one message to publish.
type PublishRequest struct {
	// Topic is the topic's name, or a deployed service's: publishing to a
	// service is a durable asynchronous invocation.
	Topic string
	// Data is the message: a JSON value other than null, at most
	// MaxPayload bytes.
	Data json.RawMessage
	// Priority is from MinPriority to MaxPriority; nil, or any other
	// value, is DefaultPriority (as in Zato).
	Priority *int
	// Expiration is how long the message is kept for delivery; 0 is the
	// topic's default_expiration, less than a second a second.
	Expiration  time.Duration
	CorrelID    string
	InReplyTo   string
	ExtClientID string
	// CID is the publisher's correlation id; CorrelID defaults to it.
	CID string
	// Publisher names who publishes: a service, or the security
	// definition of a client.
	Publisher string
	// Security, when set, is the publisher's security definition: one of
	// its permissions must allow publishing to the topic. Services
	// publish without one.
	Security string
}

// GetRequest asks for a pull subscription's messages.
type GetRequest struct {
	Subscription string
	// MaxMessages is the most messages returned: 0 is
	// DefaultGetMessages, at most MaxGetMessages.
	MaxMessages int
	// MaxLen is the most bytes of data returned together: 0 is
	// DefaultGetLen, at most MaxGetLen. A first message larger than it
	// is returned alone.
	MaxLen int
}

// PageRequest selects a page of a subscription's queue.
type PageRequest struct {
	// Offset is the number of messages skipped; Limit the most returned
	// (0: 50, at most MaxPage).
	Offset, Limit int
}

// Page is a page of a subscription's queue, in delivery order, without
// the messages' data (Message gives it).
type Page struct {
	Messages []Message `json:"messages"`
	// Total is the number of messages in the queue (or dead letters).
	Total int `json:"total"`
}

// MessageDetail is one message with its delivery to every subscription
// that still holds it.
type MessageDetail struct {
	Message
	Deliveries []Message `json:"deliveries"`
}

// Stats are the topics and subscriptions with what their queues hold.
type Stats struct {
	Topics        []TopicStats        `json:"topics"`
	Subscriptions []SubscriptionStats `json:"subscriptions"`
}

// TopicStats are one topic's numbers.
type TopicStats struct {
	Name string `json:"name"`
	// Depth is the number of the topic's messages waiting for delivery to
	// some subscription.
	Depth    int64 `json:"depth"`
	MaxDepth int64 `json:"max_depth"`
	IsActive bool  `json:"is_active"`
}

// SubscriptionStats are one subscription's numbers.
type SubscriptionStats struct {
	Name         string   `json:"name"`
	Topics       []string `json:"topics"`
	DeliveryType string   `json:"delivery_type"`
	// Backlog counts the messages waiting; InFlight those being delivered
	// or pulled and not acknowledged; DeadLetters the dead letters.
	Backlog     int64 `json:"backlog"`
	InFlight    int64 `json:"in_flight"`
	DeadLetters int64 `json:"dead_letters"`
	// OldestAge is the age of the oldest message waiting, in seconds.
	OldestAge float64 `json:"oldest_age"`
	Paused    bool    `json:"paused"`
}

// Options are what an Engine works with.
type Options struct {
	Store *store.Store
	// State returns the configuration current at the call.
	State func() registry.State
	// Pipeline runs the services push subscriptions invoke, and admits
	// the REST endpoints' clients; set it with Attach when it is made
	// later.
	Pipeline *dispatch.Pipeline
	// Bus, with a PostgreSQL store, wakes the workers of the other
	// servers on a publish; nil with SQLite.
	Bus    *bus.Bus
	Logger *slog.Logger
	// Now returns the time; tests move it. Nil is time.Now.
	Now func() time.Time
}

// Engine keeps and delivers the messages of the server's topics. It is
// one of the server's subsystems (registry.Subsystem[*pubsub.Engine])
// and is safe for concurrent use.
type Engine struct {
	opts Options
}

// New returns an Engine; Start starts its delivery.
func New(opts Options) *Engine {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Engine{opts: opts}
}

// Attach gives the engine the pipeline, made after it.
func (e *Engine) Attach(p *dispatch.Pipeline) { e.opts.Pipeline = p }

// Start starts the push workers, the sweep and the poll; they stop when
// ctx is done or at Close.
func (e *Engine) Start(ctx context.Context) error { return nil }

// Close stops delivery and waits for the workers to end; messages in
// flight return to their queues when their leases run out.
func (e *Engine) Close() error { return nil }

// Publish stores a message for every subscription of its topic and
// returns its id (zpsm…) once it is committed to the store. Errors are
// *service.Error values with the status the REST endpoint answers: 400
// for a bad topic name or data, 401 when Security's permissions do not
// allow the topic, 403 for an inactive topic, 404 for an unknown one,
// 503 for a full topic.
func (e *Engine) Publish(ctx context.Context, req PublishRequest) (msgID string, err error) {
	return "", errUnavailable
}

// Get returns a pull subscription's next messages, in order of priority
// then publication. With ack auto they are acknowledged (removed from the
// queue); with ack explicit they stay in flight until Ack or until the
// subscription's visibility timeout returns them.
func (e *Engine) Get(ctx context.Context, req GetRequest) ([]Message, error) {
	return nil, errUnavailable
}

// Ack acknowledges messages pulled with explicit acknowledgement and
// returns how many were in flight; the others are ignored.
func (e *Engine) Ack(ctx context.Context, sub string, msgIDs []string) (int, error) {
	return 0, errUnavailable
}

// Browse returns a page of a subscription's queue (waiting and in flight
// messages), in delivery order.
func (e *Engine) Browse(ctx context.Context, sub string, p PageRequest) (*Page, error) {
	return nil, errUnavailable
}

// DeadLetters returns a page of a subscription's dead letters, oldest
// first.
func (e *Engine) DeadLetters(ctx context.Context, sub string, p PageRequest) (*Page, error) {
	return nil, errUnavailable
}

// Message returns one message, its data included, with its deliveries;
// a 404 *service.Error when no queue holds it.
func (e *Engine) Message(ctx context.Context, msgID string) (*MessageDetail, error) {
	return nil, errUnavailable
}

// Clear removes every message of a subscription's queue, dead letters
// included, and returns how many it removed.
func (e *Engine) Clear(ctx context.Context, sub string) (int, error) {
	return 0, errUnavailable
}

// Redeliver returns dead letters (or in-flight messages) of a
// subscription to its queue for delivery now, with a fresh retry time;
// no ids means every dead letter. It returns how many it returned.
func (e *Engine) Redeliver(ctx context.Context, sub string, msgIDs []string) (int, error) {
	return 0, errUnavailable
}

// Pause stops the delivery of a subscription's messages, on every
// server, until Resume; publishing goes on filling its queue. Paused
// pull subscriptions answer Get with no messages.
func (e *Engine) Pause(ctx context.Context, sub string) error { return errUnavailable }

// Resume restarts the delivery of a paused subscription.
func (e *Engine) Resume(ctx context.Context, sub string) error { return errUnavailable }

// Stats returns every topic with its depth and every subscription with
// its backlog, messages in flight, oldest message's age and dead letters.
func (e *Engine) Stats(ctx context.Context) (*Stats, error) { return nil, errUnavailable }

// Sweep removes the expired messages and the payloads no delivery needs
// any more, and returns how many messages expired. The engine sweeps by
// itself every minute.
func (e *Engine) Sweep(ctx context.Context) (int, error) { return 0, errUnavailable }
