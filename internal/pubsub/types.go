package pubsub

import (
	"encoding/json"
	"time"
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
	// dataChecked says Data was decoded from JSON already.
	dataChecked bool
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
	// Backend is the topic's backend other than the store, whose
	// messages Depth does not count.
	Backend string `json:"backend,omitempty"`
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
	// Backend is the backend other than the store of the subscription's
	// topic, whose messages the numbers do not count.
	Backend string `json:"backend,omitempty"`
}
