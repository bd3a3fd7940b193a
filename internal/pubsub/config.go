package pubsub

import (
	"github.com/plexushq/plexus/internal/config"
)

// The kinds' ids, which are their enmasse sections (Zato's names).
const (
	KindTopic        = "pubsub_topic"
	KindPermission   = "pubsub_permission"
	KindSubscription = "pubsub_subscription"
)

// Delivery types and push types of a subscription.
const (
	DeliveryPush = "push"
	DeliveryPull = "pull"

	PushService = "service" // invoke a service with the message
	PushREST    = "rest"    // POST the message as JSON to an outgoing REST connection
	PushWSX     = "wsx"     // send the message to a WebSocket client (a registered PushTarget)

	AckAuto     = "auto"     // retrieving a pulled message acknowledges it (Zato's way)
	AckExplicit = "explicit" // a pulled message stays in flight until Ack
)

// TopicConfig is a topic (Zato's pubsub_topic).
type TopicConfig struct {
	Name                  string          `json:"name" label:"Name" group:"Topic" placeholder:"orders.new" doc:"Unique name of the topic: at most 200 ASCII characters, no '#', not containing 'zato' or 'zpsk'; names are case-insensitive."`
	Description           string          `json:"description" label:"Description" group:"Topic" widget:"multiline" doc:"What the topic carries, for people."`
	IsActive              bool            `json:"is_active" label:"Active" group:"Topic" doc:"Whether the topic takes messages; publishing to an inactive one is refused with 403."`
	MaxDepth              int64           `json:"max_depth" label:"Most messages" group:"Limits" min:"1" max:"100000000" doc:"Most messages of the topic waiting for delivery at once; a publish past it is refused with 503 until subscribers catch up."`
	DefaultExpiration     config.Duration `json:"default_expiration" label:"Default expiration" group:"Limits" min:"1s" placeholder:"24h" doc:"How long a message published without an expiration is kept for delivery; Zato's default is one year."`
	Backend               string          `json:"backend" enum:"store|nats|amqp" enum_labels:"The server's store (SQLite or PostgreSQL)|NATS JetStream, through an outgoing NATS connection|RabbitMQ, through an outgoing AMQP connection" label:"Backend" group:"Backend" advanced:"true" doc:"Where the topic's messages are kept: the server's store, a NATS JetStream stream or RabbitMQ queues, for topics that outgrow one database; publishing and delivery work the same either way. A change applies to messages published after it: those already kept stay where they are."`
	BackendConnection     string          `json:"backend_connection" ref:"outgoing_nats" when:"backend=nats" label:"Connection" group:"Backend" advanced:"true" doc:"The outgoing NATS connection to the server (with JetStream enabled) that keeps the messages (backend nats)."`
	BackendAMQPConnection string          `json:"backend_amqp_connection" ref:"outgoing_amqp" when:"backend=amqp" label:"Connection" group:"Backend" advanced:"true" doc:"The outgoing AMQP connection to the RabbitMQ broker that keeps the messages (backend amqp)."`
}

// PermissionConfig lets a security definition publish to and subscribe to
// the topics whose names match its patterns (Zato's pubsub_permission).
type PermissionConfig struct {
	Name     string   `json:"name" label:"Name" group:"Permission" placeholder:"orders.client" doc:"Unique name of the permission; imports from Zato name it after its security definition."`
	Security string   `json:"security" ref:"security" required:"true" label:"Security definition" group:"Permission" doc:"The security definition (a client's credentials) the permission is for."`
	Pub      []string `json:"pub" label:"Publish patterns" group:"Patterns" placeholder:"orders.*" doc:"Topic name patterns the client may publish to: '*' matches one dot-separated segment, '**' any number of them, the rest literally and case-insensitively; a pattern starting with '/' is a Zato 3.2 glob, matching names that start with what it matches."`
	Sub      []string `json:"sub" label:"Subscribe patterns" group:"Patterns" placeholder:"orders.**" doc:"Topic name patterns the client may subscribe to, with the same matching as pub."`
}

// SubscriptionConfig is a subscription: a subscriber, the topics it
// receives and how their messages reach it (Zato's pubsub_subscription).
type SubscriptionConfig struct {
	Name              string          `json:"name" label:"Name" group:"Subscription" placeholder:"billing.orders" doc:"Unique name of the subscription; imports from Zato name it after its security definition."`
	Security          string          `json:"security" ref:"security" label:"Subscriber" group:"Subscription" doc:"The security definition of the subscriber; required for pull, whose clients sign in with it."`
	Topics            []string        `json:"topics" required:"true" label:"Topics" group:"Subscription" placeholder:"orders.new" doc:"Names of the topics whose messages the subscription receives."`
	DeliveryType      string          `json:"delivery_type" enum:"pull|push" enum_labels:"Pull: the subscriber gets messages over REST|Push: delivered to a service, REST endpoint or WebSocket client" label:"Delivery" group:"Delivery" doc:"How messages reach the subscriber."`
	PushType          string          `json:"push_type" enum:"service|rest|wsx" enum_labels:"Service|Outgoing REST connection|WebSocket client" when:"delivery_type=push" label:"Push to" group:"Delivery" doc:"Where push delivery sends messages."`
	PushService       string          `json:"push_service" ref:"service" when:"delivery_type=push" label:"Service" group:"Delivery" doc:"The service invoked with each message (push_type service)."`
	PushRESTEndpoint  string          `json:"push_rest_endpoint" ref:"outgoing_rest" when:"delivery_type=push" label:"Outgoing REST connection" group:"Delivery" doc:"The outgoing REST connection POSTed each message as JSON (push_type rest); a status other than 2xx is a failure."`
	PushTarget        string          `json:"push_target" when:"delivery_type=push" label:"Target" group:"Delivery" doc:"The destination of a registered push type, such as the WebSocket channel (push_type wsx)."`
	IsDeliveryActive  bool            `json:"is_delivery_active" label:"Delivering" group:"Delivery" doc:"Whether messages are delivered; while off they wait in the queue."`
	IsPubActive       bool            `json:"is_pub_active" label:"Receiving" group:"Delivery" doc:"Whether new messages are queued for the subscription; while off, publishes skip it."`
	Ack               string          `json:"ack" enum:"auto|explicit" enum_labels:"Retrieving acknowledges|Acknowledged by a separate call" when:"delivery_type=pull" label:"Acknowledgement" group:"Pull" doc:"Whether pulling a message acknowledges it (Zato's way), or it stays in flight until POST /pubsub/messages/ack."`
	VisibilityTimeout config.Duration `json:"visibility_timeout" when:"delivery_type=pull" min:"1s" label:"Visibility timeout" group:"Pull" advanced:"true" doc:"How long a message pulled with explicit acknowledgement stays in flight before it returns to the queue."`
	MaxRetryTime      config.Duration `json:"max_retry_time" min:"1ms" label:"Most retry time" group:"Retries" doc:"How long a failing push delivery is retried before the message becomes a dead letter; Zato's default is 30 days."`
	RetryInitial      config.Duration `json:"retry_initial" min:"1ms" label:"First retry after" group:"Retries" advanced:"true" doc:"Wait before the first retry of a failed push delivery; waits grow to retry_max, with up to 10% jitter."`
	RetryMax          config.Duration `json:"retry_max" min:"1ms" label:"Longest retry wait" group:"Retries" advanced:"true" doc:"Longest wait between retries of a failed push delivery."`
	BatchSize         int             `json:"batch_size" min:"1" max:"1000" label:"Batch size" group:"Limits" advanced:"true" doc:"Most messages a push worker claims at once, which is also the subscription's limit of messages in flight."`
}
