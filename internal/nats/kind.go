// Package nats connects Plexus to NATS servers: kind channel_nats
// subscribes to a subject, on core NATS (with a queue group) or through a
// JetStream durable consumer (explicit acknowledgements, a bounded
// number of deliveries with a back-off), and invokes a service for each
// message through the same pipeline as a REST request; kind outgoing_nats
// publishes what services send, on core NATS or to JetStream waiting for
// the stream's acknowledgement (self.out.nats["Name"].send(...) in
// Starlark, s.Out().NATS("Name") in Go). Both connect in the background,
// report their status and reconnect with a back-off when the server goes
// away; those on the same server as the same user share one connection.
package nats

import (
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Kind ids.
const (
	ChannelKind  = "channel_nats"
	OutgoingKind = service.KindOutgoingNATS
)

// Headers Plexus sets on the replies and dead letters it publishes.
const (
	// ErrorHeader and StatusHeader say why a dead letter failed (the
	// error envelope's details and its status), and StatusHeader carries
	// the status of a reply to a request.
	ErrorHeader  = "X-Plexus-Error"
	StatusHeader = "X-Plexus-Status"
	// SubjectHeader names the subject a dead letter was consumed from.
	SubjectHeader = "X-Plexus-Subject"
)

// Channel is the configuration of a NATS channel.
type Channel struct {
	Name              string          `json:"name" label:"Name" group:"Channel" placeholder:"orders.in" doc:"Unique name of the channel."`
	IsActive          bool            `json:"is_active" label:"Active" group:"Channel" doc:"Whether the channel consumes; an inactive channel is stopped."`
	Address           string          `json:"address" required:"true" label:"Server address" group:"Server" placeholder:"nats://nats.example.com:4222" doc:"The server's nats:// (or tls://) URL; several, separated by commas, are tried in turn. No password or token: give them in password and token."`
	Username          string          `json:"username" label:"Username" group:"Server" placeholder:"orders" doc:"The user the channel logs in as; empty: none, or the token."`
	Password          string          `json:"password" label:"Password" group:"Server" widget:"password" secret:"true" doc:"The password of username, stored encrypted."`
	Token             string          `json:"token" label:"Token" group:"Server" widget:"password" secret:"true" doc:"The authentication token, when the server takes one instead of a username; stored encrypted."`
	Subject           string          `json:"subject" required:"true" label:"Subject" group:"Consuming" placeholder:"orders.>" doc:"The subject the channel consumes: * matches one token, > the rest (orders.>). With a stream, the consumer's filter subject."`
	QueueGroup        string          `json:"queue_group" label:"Queue group" group:"Consuming" placeholder:"billing" doc:"Core NATS: the queue group the channel subscribes in; the server gives each message to one member of the group, so several servers share the load. Empty: every subscriber gets every message."`
	Stream            string          `json:"stream" label:"JetStream stream" group:"JetStream" placeholder:"ORDERS" doc:"The JetStream stream to consume through a durable consumer, acknowledging each message once its service succeeded (at least once). Empty: core NATS, at most once: a message that arrives while the channel is away, or that its service fails, is gone."`
	Durable           string          `json:"durable" label:"Durable consumer" group:"JetStream" placeholder:"billing" doc:"The name of the durable consumer the channel creates on the stream, or updates, and consumes through; servers sharing it share the messages. Empty: plexus- and the channel's name."`
	AckWait           config.Duration `json:"ack_wait" label:"Acknowledgement wait" group:"JetStream" min:"1s" max:"24h" placeholder:"30s" doc:"How long the server waits for a message's acknowledgement before delivering it again; the channel tells it the service is still working every half of it."`
	MaxDeliver        int             `json:"max_deliver" label:"Deliveries at most" group:"JetStream" min:"1" max:"100000" doc:"How many times a message is delivered at most; once its service has failed that many times it is dead-lettered."`
	BackOff           []string        `json:"back_off" label:"Back-off" group:"JetStream" placeholder:"1s, 10s, 1m" doc:"How long a failed message waits before it is delivered again, the first time, the second, …; the last repeats. Durations such as 500ms, 10s, 1m. Empty: at once."`
	Service           string          `json:"service" required:"true" ref:"service" label:"Service" group:"Consuming" doc:"Name of the service invoked for each message."`
	DataFormat        string          `json:"data_format" label:"Data format" group:"Consuming" enum:"json|text|bytes" enum_labels:"JSON|Text|Bytes" doc:"How a message's payload becomes self.request.payload: json (decoded; malformed JSON is dead-lettered at once), text (a string), bytes (the payload as it is)."`
	PoolSize          int             `json:"pool_size" label:"Messages at once" group:"Consuming" min:"1" max:"1000" doc:"How many messages the channel's service handles at once."`
	MaxAckPending     int             `json:"max_ack_pending" label:"Messages in flight" group:"JetStream" min:"0" max:"100000" doc:"How many messages the server delivers without their acknowledgement: what the channel holds at most, so a slow service holds the rest in the stream. 0: twice pool_size."`
	PendingLimit      int             `json:"pending_limit" label:"Messages waiting" group:"Consuming" advanced:"true" min:"1" max:"1000000" doc:"Core NATS: how many messages wait for a free worker; core NATS has no back-pressure, so the messages that arrive beyond it are dropped (counted as dropped, with a warning)."`
	DeadLetterSubject string          `json:"dead_letter_subject" label:"Dead-letter subject" group:"Failures" placeholder:"orders.failed" doc:"The subject a message is published to when it is given up (it can never succeed, or its service failed max_deliver times), with the headers X-Plexus-Error, X-Plexus-Status, X-Plexus-Subject and X-Plexus-CID; on JetStream it is then terminated. Empty: it is terminated, or dropped, with a warning."`

	Security string   `json:"security" label:"Security definition" group:"Security" ref:"security" doc:"Name of the security definition every message must pass, with credentials in its headers (Authorization: Basic or Bearer, or the API key header); a message that fails is dead-lettered. Empty: no definition."`
	Groups   []string `json:"groups" label:"Security groups" group:"Security" ref:"groups" doc:"Security groups whose members the channel admits, as for REST channels."`
}

// Validate checks the address, the subjects and the back-off.
func (c *Channel) Validate() []error {
	errs := checkAddress(c.Address)
	if err := checkSubject("subject", c.Subject, true); err != nil {
		errs = append(errs, err)
	}
	if err := checkSubject("dead_letter_subject", c.DeadLetterSubject, false); err != nil {
		errs = append(errs, err)
	}
	if c.Stream != "" && !validName(c.Stream) {
		errs = append(errs, registry.FieldProblem("stream", "%q is not a stream name: no spaces, dots, *, > or path separators", c.Stream))
	}
	if c.Durable != "" && !validName(c.Durable) {
		errs = append(errs, registry.FieldProblem("durable", "%q is not a consumer name: no spaces, dots, *, > or path separators", c.Durable))
	}
	if _, err := ParseBackOff(c.BackOff); err != nil {
		errs = append(errs, registry.FieldProblem("back_off", "%v", err))
	}
	return errs
}

// durable returns the name of the channel's durable consumer.
func (c *Channel) durable() string {
	if c.Durable != "" {
		return c.Durable
	}
	return "plexus-" + sanitizeName(c.Name)
}

// maxAckPending returns how many unacknowledged messages the consumer
// holds at most.
func (c *Channel) maxAckPending() int {
	if c.MaxAckPending > 0 {
		return c.MaxAckPending
	}
	return 2 * c.PoolSize
}

// Outgoing is the configuration of an outgoing NATS connection.
type Outgoing struct {
	Name         string          `json:"name" label:"Name" group:"Connection" placeholder:"orders.out" doc:"Unique name of the connection; services use it: self.out.nats[\"orders.out\"]."`
	IsActive     bool            `json:"is_active" label:"Active" group:"Connection" doc:"Whether the connection is used; an inactive one is not connected, and services using it get 503."`
	Address      string          `json:"address" required:"true" label:"Server address" group:"Server" placeholder:"nats://nats.example.com:4222" doc:"The server's nats:// (or tls://) URL; several, separated by commas, are tried in turn. No password or token: give them in password and token."`
	Username     string          `json:"username" label:"Username" group:"Server" placeholder:"orders" doc:"The user the connection logs in as; empty: none, or the token."`
	Password     string          `json:"password" label:"Password" group:"Server" widget:"password" secret:"true" doc:"The password of username, stored encrypted."`
	Token        string          `json:"token" label:"Token" group:"Server" widget:"password" secret:"true" doc:"The authentication token, when the server takes one instead of a username; stored encrypted."`
	Subject      string          `json:"subject" label:"Subject" group:"Publishing" placeholder:"orders.new" doc:"The subject of messages whose send names none."`
	JetStream    bool            `json:"jetstream" label:"JetStream" group:"Publishing" doc:"Whether send publishes to JetStream and returns once a stream stored the message (502 when no stream takes the subject); otherwise it publishes on core NATS and returns once the server has it, whether or not anyone subscribes."`
	ExpectStream string          `json:"expect_stream" label:"Expected stream" group:"Publishing" when:"jetstream=true" placeholder:"ORDERS" doc:"JetStream: the stream that must store the message; another one storing it fails the send with 502. Empty: any."`
	Timeout      config.Duration `json:"timeout" label:"Timeout" group:"Publishing" min:"1ms" max:"10m" placeholder:"10s" doc:"How long send waits for the server (and for the connection while the server is away) before failing with 504."`
	PoolSize     int             `json:"pool_size" label:"Sends at once" group:"Publishing" min:"1" max:"1000" doc:"How many sends wait for the server at once; more wait their turn, within timeout."`
}

// Validate checks the address, the subject and the stream.
func (o *Outgoing) Validate() []error {
	errs := checkAddress(o.Address)
	if err := checkSubject("subject", o.Subject, false); err != nil {
		errs = append(errs, err)
	}
	if o.Subject != "" && hasWildcard(o.Subject) {
		errs = append(errs, registry.FieldProblem("subject", "%q has a wildcard: messages are published to one subject", o.Subject))
	}
	if o.ExpectStream != "" && !validName(o.ExpectStream) {
		errs = append(errs, registry.FieldProblem("expect_stream", "%q is not a stream name", o.ExpectStream))
	}
	return errs
}

// Defaults.
const (
	defaultPoolSize     = 10
	defaultMaxDeliver   = 5
	defaultAckWait      = 30 * time.Second
	defaultPendingLimit = 10000
	defaultTimeout      = 10 * time.Second
)

func init() {
	registry.Register(registry.Kind{
		ID:      ChannelKind,
		Title:   "NATS channel",
		Summary: "Consumes a NATS subject, on core NATS or through a JetStream durable consumer, and invokes a service for each message, acknowledging it once the service succeeded.",
		Order:   60,
		New: func() registry.Object {
			return &Channel{IsActive: true, DataFormat: "json", PoolSize: defaultPoolSize, MaxDeliver: defaultMaxDeliver,
				AckWait: config.Duration(defaultAckWait), PendingLimit: defaultPendingLimit}
		},
		Examples: []string{
			`{"name": "orders.in", "address": "nats://nats.example.com:4222", "subject": "orders.new", "queue_group": "billing", "service": "orders.create"}`,
			`{"name": "billing.in", "address": "nats://nats.example.com:4222", "username": "billing", "subject": "billing.>", "stream": "BILLING", "durable": "billing", "service": "billing.handle", "data_format": "text", "pool_size": 20, "max_deliver": 10, "back_off": ["1s", "10s", "1m"], "dead_letter_subject": "billing.failed"}`,
		},
		Provision:  provisionChannel,
		Update:     updateChannel,
		Swap:       registry.StopThenStart,
		Collectors: collectors,
	})
	registry.Register(registry.Kind{
		ID:      OutgoingKind,
		Title:   "Outgoing NATS connection",
		Summary: "Publishes the messages services send to NATS, on core NATS or to JetStream, returning once the server (or the stream) has each.",
		Order:   40,
		New: func() registry.Object {
			return &Outgoing{IsActive: true, PoolSize: defaultPoolSize, Timeout: config.Duration(defaultTimeout)}
		},
		Examples: []string{
			`{"name": "orders.out", "address": "nats://nats.example.com:4222", "subject": "orders.new"}`,
			`{"name": "audit", "address": "nats://nats.example.com:4222", "token": "s3cret", "subject": "audit.events", "jetstream": true, "expect_stream": "AUDIT", "timeout": "2s"}`,
		},
		Provision: provisionOutgoing,
		Out:       &registry.Out{Section: "nats", Resolve: resolveOutgoing, Starlark: starlarkOutgoing},
		Actions:   []registry.Action{pingAction},
	})
}
