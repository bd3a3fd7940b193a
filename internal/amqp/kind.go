// Package amqp connects Plexus to AMQP 0-9-1 brokers such as RabbitMQ:
// kind channel_amqp consumes a queue and invokes a service for each
// message, through the same pipeline as a REST request, and kind
// outgoing_amqp publishes what services send, with publisher confirms
// (self.out.amqp["Name"].send(...) in Starlark, s.Out().AMQP("Name") in
// Go). Both connect in the background, report their status and reconnect
// with a back-off when the broker goes away.
package amqp

import (
	"strconv"
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Kind ids.
const (
	ChannelKind  = "channel_amqp"
	OutgoingKind = service.KindOutgoingAMQP
)

// What a channel does with a message its service failed.
const (
	// OnErrorRequeue delivers the message again, up to max_redeliveries
	// times, then dead-letters it.
	OnErrorRequeue = "requeue"
	// OnErrorDeadLetter dead-letters the message at once.
	OnErrorDeadLetter = "dead_letter"
)

// Headers Plexus sets on the messages it requeues and dead-letters.
const (
	// RedeliveriesHeader counts the times Plexus put a message back on its
	// queue after its service failed.
	RedeliveriesHeader = "x-plexus-redeliveries"
	// ErrorHeader and StatusHeader say why a dead letter failed: the
	// error envelope's details and its status.
	ErrorHeader  = "x-plexus-error"
	StatusHeader = "x-plexus-status"
	// QueueHeader names the queue a dead letter came from.
	QueueHeader = "x-plexus-queue"
)

// Channel is the configuration of an AMQP channel (Zato's field names,
// where Zato has the field).
type Channel struct {
	Name                 string          `json:"name" label:"Name" group:"Channel" placeholder:"orders.in" doc:"Unique name of the channel."`
	IsActive             bool            `json:"is_active" label:"Active" group:"Channel" doc:"Whether the channel consumes; an inactive channel is stopped."`
	Address              string          `json:"address" required:"true" label:"Broker address" group:"Broker" placeholder:"amqp://rabbitmq.example.com:5672/" doc:"The broker's amqp:// or amqps:// URL, with the virtual host as its path (/ is the default one); no password: give it in password."`
	Username             string          `json:"username" label:"Username" group:"Broker" placeholder:"orders" doc:"The user the channel logs in to the broker as; empty takes the address's, or guest."`
	Password             string          `json:"password" label:"Password" group:"Broker" widget:"password" secret:"true" doc:"The password of username, stored encrypted."`
	BrokerSecurity       string          `json:"broker_security" label:"Broker credentials" group:"Broker" ref:"security" doc:"Name of a basic_auth security definition whose username and password the channel logs in to the broker with, instead of username and password. A change of the definition applies when the channel is next saved or the server restarts."`
	Heartbeat            config.Duration `json:"heartbeat" label:"Heartbeat" group:"Broker" advanced:"true" min:"0s" max:"10m" placeholder:"10s" doc:"How often the connection checks the broker is alive; a broker silent for three heartbeats is taken as gone, and the channel reconnects. 0 takes the broker's."`
	Queue                string          `json:"queue" required:"true" label:"Queue" group:"Consuming" placeholder:"orders" doc:"The queue the channel consumes."`
	DeclareQueue         bool            `json:"declare_queue" label:"Declare the queue" group:"Consuming" doc:"Whether the channel creates the queue, durable, when it does not exist; otherwise it must exist."`
	Service              string          `json:"service" required:"true" ref:"service" label:"Service" group:"Consuming" doc:"Name of the service invoked for each message."`
	DataFormat           string          `json:"data_format" label:"Data format" group:"Consuming" enum:"json|text|bytes" enum_labels:"JSON|Text|Bytes" doc:"How a message's payload becomes self.request.payload: json (decoded; malformed JSON is dead-lettered at once), text (a string), bytes (the payload as it is)."`
	PrefetchCount        int             `json:"prefetch_count" label:"Prefetch count" group:"Consuming" min:"0" max:"65535" doc:"How many messages the broker sends ahead without their acknowledgement: what the channel holds at most. 0 takes pool_size."`
	PoolSize             int             `json:"pool_size" label:"Messages at once" group:"Consuming" min:"1" max:"1000" doc:"How many messages the channel's service handles at once; a slow service holds the rest on the broker."`
	ConsumerTagPrefix    string          `json:"consumer_tag_prefix" label:"Consumer tag prefix" group:"Consuming" advanced:"true" placeholder:"orders-worker" doc:"The start of the consumer tag the broker shows for the channel, followed by a random suffix; empty: plexus."`
	Exclusive            bool            `json:"exclusive" label:"Exclusive" group:"Consuming" advanced:"true" doc:"Whether the channel is the queue's only consumer: the broker refuses others while it consumes."`
	OnError              string          `json:"on_error" label:"When the service fails" group:"Failures" enum:"requeue|dead_letter" enum_labels:"Deliver again|Dead-letter" doc:"What happens to a message whose service failed or was unavailable (a 5xx, 408 or 429): requeue puts it back at the end of the queue, up to max_redeliveries times, then dead-letters it; dead_letter dead-letters it at once. A message that can never succeed (malformed, too large, refused by security, invalid input: a 4xx) is dead-lettered at once either way."`
	MaxRedeliveries      int             `json:"max_redeliveries" label:"Deliveries again at most" group:"Failures" when:"on_error=requeue" min:"0" max:"10000" doc:"How many times a failed message is put back on the queue before it is dead-lettered."`
	DeadLetterExchange   string          `json:"dead_letter_exchange" label:"Dead-letter exchange" group:"Failures" placeholder:"orders.dlx" doc:"The exchange a dead letter is published to, with the headers x-plexus-error, x-plexus-status, x-plexus-queue and X-Plexus-CID; empty rejects it to the broker, which dead-letters it as the queue's arguments or policy say (x-dead-letter-exchange) or drops it."`
	DeadLetterRoutingKey string          `json:"dead_letter_routing_key" label:"Dead-letter routing key" group:"Failures" advanced:"true" placeholder:"orders.failed" doc:"The routing key of dead letters published to dead_letter_exchange; empty keeps the message's own."`

	Security string   `json:"security" label:"Security definition" group:"Security" ref:"security" doc:"Name of the security definition every message must pass, with credentials in its headers (Authorization: Basic or Bearer, or the API key header); a message that fails is dead-lettered. Empty: no definition."`
	Groups   []string `json:"groups" label:"Security groups" group:"Security" ref:"groups" doc:"Security groups whose members the channel admits, as for REST channels."`
}

// Validate checks the address.
func (c *Channel) Validate() []error { return checkAddress(c.Address) }

// prefetch returns the prefetch count the channel asks for.
func (c *Channel) prefetch() int {
	if c.PrefetchCount > 0 {
		return c.PrefetchCount
	}
	return c.PoolSize
}

// Outgoing is the configuration of an outgoing AMQP connection (Zato's
// field names, where Zato has the field).
type Outgoing struct {
	Name            string          `json:"name" label:"Name" group:"Connection" placeholder:"orders.out" doc:"Unique name of the connection; services use it: self.out.amqp[\"orders.out\"]."`
	IsActive        bool            `json:"is_active" label:"Active" group:"Connection" doc:"Whether the connection is used; an inactive one is not connected, and services using it get 503."`
	Address         string          `json:"address" required:"true" label:"Broker address" group:"Broker" placeholder:"amqp://rabbitmq.example.com:5672/" doc:"The broker's amqp:// or amqps:// URL, with the virtual host as its path (/ is the default one); no password: give it in password."`
	Username        string          `json:"username" label:"Username" group:"Broker" placeholder:"orders" doc:"The user the connection logs in to the broker as; empty takes the address's, or guest."`
	Password        string          `json:"password" label:"Password" group:"Broker" widget:"password" secret:"true" doc:"The password of username, stored encrypted."`
	Security        string          `json:"security" label:"Broker credentials" group:"Broker" ref:"security" doc:"Name of a basic_auth security definition whose username and password the connection logs in to the broker with, instead of username and password. A change of the definition applies when the connection is next saved or the server restarts."`
	Heartbeat       config.Duration `json:"heartbeat" label:"Heartbeat" group:"Broker" advanced:"true" min:"0s" max:"10m" placeholder:"10s" doc:"How often the connection checks the broker is alive; a broker silent for three heartbeats is taken as gone, and the connection reconnects. 0 takes the broker's."`
	Exchange        string          `json:"exchange" label:"Exchange" group:"Publishing" placeholder:"orders" doc:"The exchange messages go to when send names none; empty is the default exchange, which routes by queue name."`
	RoutingKey      string          `json:"routing_key" label:"Routing key" group:"Publishing" placeholder:"orders.new" doc:"The routing key of messages whose send names none."`
	DeliveryMode    string          `json:"delivery_mode" label:"Delivery mode" group:"Publishing" enum:"persistent|non_persistent" enum_labels:"Persistent|Not persistent" doc:"Whether the broker writes messages to disk (persistent: they survive its restart, on durable queues) or keeps them in memory."`
	Mandatory       bool            `json:"mandatory" label:"Must reach a queue" group:"Publishing" doc:"Whether send fails (502) when the broker routes the message to no queue, rather than the broker dropping it."`
	Timeout         config.Duration `json:"timeout" label:"Timeout" group:"Publishing" min:"1ms" max:"10m" placeholder:"10s" doc:"How long send waits for the broker to confirm a message, and for the connection while the broker is away, before failing with 504."`
	PoolSize        int             `json:"pool_size" label:"Sends at once" group:"Publishing" min:"1" max:"1000" doc:"How many sends wait for their confirms at once; more wait their turn, within timeout."`
	Priority        int             `json:"priority" label:"Priority" group:"Properties" advanced:"true" min:"0" max:"9" doc:"The priority of messages (0 to 9), for queues with priorities."`
	ContentType     string          `json:"content_type" label:"Content type" group:"Properties" advanced:"true" placeholder:"application/json" doc:"The content type of messages; empty: application/json for data sent as JSON, none otherwise."`
	ContentEncoding string          `json:"content_encoding" label:"Content encoding" group:"Properties" advanced:"true" doc:"The content encoding of messages."`
	Expiration      string          `json:"expiration" label:"Expiration (ms)" group:"Properties" advanced:"true" placeholder:"60000" doc:"How many milliseconds a message may wait in a queue before the broker discards it; empty: no limit."`
	UserID          string          `json:"user_id" label:"User ID" group:"Properties" advanced:"true" doc:"The user_id property of messages; RabbitMQ checks it is the connection's user."`
	AppID           string          `json:"app_id" label:"Application ID" group:"Properties" advanced:"true" doc:"The app_id property of messages."`
}

// Validate checks the address and the expiration.
func (o *Outgoing) Validate() []error {
	errs := checkAddress(o.Address)
	if o.Expiration != "" {
		if n, err := strconv.ParseUint(o.Expiration, 10, 32); err != nil || n == 0 && o.Expiration != "0" {
			errs = append(errs, registry.FieldProblem("expiration", "%q is not a number of milliseconds", o.Expiration))
		}
	}
	return errs
}

// Defaults.
const (
	defaultPoolSize        = 10
	defaultMaxRedeliveries = 5
	defaultHeartbeat       = 10 * time.Second
	defaultTimeout         = 10 * time.Second
)

// zatoChannelFields and zatoOutgoingFields are the fields of Zato's AMQP
// sections that Plexus spells differently or does not use.
var (
	zatoChannelFields = map[string]string{
		"service_name": "service",
		// def_name names a 3.2 AMQP definition: its broker is folded into
		// the channel on import.
		"def_name": registry.ZatoUnsupported, "def_id": registry.ZatoUnsupported,
		// ack_mode reject acknowledged messages before their service ran;
		// Plexus acknowledges after it succeeds.
		"ack_mode": registry.ZatoUnsupported, "frame_max": registry.ZatoUnsupported,
	}
	zatoOutgoingFields = map[string]string{
		"def_name": registry.ZatoUnsupported, "def_id": registry.ZatoUnsupported, "frame_max": registry.ZatoUnsupported,
	}
)

func init() {
	registry.Register(registry.Kind{
		ID:         ChannelKind,
		Title:      "AMQP channel",
		Summary:    "Consumes a queue of an AMQP broker (RabbitMQ) and invokes a service for each message, acknowledging it once the service succeeded.",
		ZatoFields: zatoChannelFields,
		Order:      60,
		New: func() registry.Object {
			return &Channel{IsActive: true, DataFormat: "json", PoolSize: defaultPoolSize, OnError: OnErrorRequeue,
				MaxRedeliveries: defaultMaxRedeliveries, Heartbeat: config.Duration(defaultHeartbeat)}
		},
		Examples: []string{
			`{"name": "orders.in", "address": "amqp://rabbitmq.example.com:5672/", "username": "orders", "queue": "orders", "service": "orders.create"}`,
			`{"name": "billing.in", "address": "amqps://mq.example.com/billing", "queue": "billing", "declare_queue": true, "service": "billing.handle", "data_format": "text", "prefetch_count": 50, "pool_size": 20, "on_error": "dead_letter", "dead_letter_exchange": "billing.dlx"}`,
		},
		Provision:  provisionChannel,
		Update:     updateChannel,
		Swap:       registry.StopThenStart,
		Collectors: collectors,
	})
	registry.Register(registry.Kind{
		ID:         OutgoingKind,
		Title:      "Outgoing AMQP connection",
		Summary:    "Publishes the messages services send to an AMQP broker (RabbitMQ), returning once the broker confirmed each.",
		Aliases:    []string{"outconn_amqp"},
		ZatoFields: zatoOutgoingFields,
		Order:      40,
		New: func() registry.Object {
			return &Outgoing{IsActive: true, DeliveryMode: "persistent", Mandatory: true, PoolSize: defaultPoolSize,
				Timeout: config.Duration(defaultTimeout), Heartbeat: config.Duration(defaultHeartbeat)}
		},
		Examples: []string{
			`{"name": "orders.out", "address": "amqp://rabbitmq.example.com:5672/", "username": "orders", "exchange": "orders", "routing_key": "orders.new"}`,
			`{"name": "audit", "address": "amqps://mq.example.com/audit", "delivery_mode": "non_persistent", "mandatory": false, "timeout": "2s", "expiration": "60000", "app_id": "billing"}`,
		},
		Provision: provisionOutgoing,
		Out:       &registry.Out{Section: "amqp", Resolve: resolveOutgoing, Starlark: starlarkOutgoing},
		Actions:   []registry.Action{pingAction},
	})
}
