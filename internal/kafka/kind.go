// Package kafka connects Plexus to Kafka: kind channel_kafka consumes
// topics as a member of a consumer group and invokes a service for each
// record, through the same pipeline as a REST request, committing its
// offset once the service succeeded; kind outgoing_kafka produces what
// services send with an idempotent producer that waits for every in-sync
// replica (self.out.kafka["Name"].send in Starlark, s.Out().Kafka("Name")
// in Go). Both connect in the background, report their status and
// reconnect with a back-off when the brokers go away.
package kafka

import (
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Kind ids.
const (
	ChannelKind  = "channel_kafka"
	OutgoingKind = service.KindOutgoingKafka
)

// Headers Plexus sets on dead letters.
const (
	ErrorHeader     = "x-plexus-error"
	StatusHeader    = "x-plexus-status"
	TopicHeader     = "x-plexus-topic"
	PartitionHeader = "x-plexus-partition"
	OffsetHeader    = "x-plexus-offset"
)

// brokers is how an object reaches the brokers.
type brokers struct {
	address, mechanism, username, password string
	tls                                    bool
	fromDefinition                         bool // the credentials are a security definition's
}

// check reports what is wrong with the brokers' fields.
func (b brokers) check() []error {
	var errs []error
	for _, a := range b.seeds() {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			errs = append(errs, registry.FieldProblem("address", "%q is not host:port, such as kafka1:9092", a))
		}
	}
	if b.mechanism != "" && b.username == "" && !b.fromDefinition {
		errs = append(errs, registry.FieldProblem("username", "sasl_mechanism %s needs a username", b.mechanism))
	}
	return errs
}

func (b brokers) seeds() []string {
	var out []string
	for _, a := range strings.Split(b.address, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Channel is the configuration of a Kafka channel (Zato's field names,
// where Zato has the field).
type Channel struct {
	Name            string          `json:"name" label:"Name" group:"Channel" placeholder:"orders.in" doc:"Unique name of the channel."`
	IsActive        bool            `json:"is_active" label:"Active" group:"Channel" doc:"Whether the channel consumes; an inactive channel is stopped."`
	Address         string          `json:"address" required:"true" label:"Brokers" group:"Broker" placeholder:"kafka1:9092,kafka2:9092" doc:"The seed brokers, host:port separated by commas; the client learns the rest of the cluster from them."`
	SASLMechanism   string          `json:"sasl_mechanism" label:"SASL mechanism" group:"Broker" enum:"|PLAIN|SCRAM-SHA-256|SCRAM-SHA-512" enum_labels:"None|PLAIN|SCRAM-SHA-256|SCRAM-SHA-512" doc:"How the client logs in with username and password; empty: no SASL."`
	Username        string          `json:"username" label:"Username" group:"Broker" doc:"The SASL user."`
	Password        string          `json:"password" label:"Password" group:"Broker" widget:"password" secret:"true" doc:"The SASL password, stored encrypted."`
	SSL             bool            `json:"ssl" label:"TLS" group:"Broker" doc:"Whether the client connects with TLS, checking the brokers' certificates against the system's roots."`
	Security        string          `json:"security" label:"Broker credentials" group:"Broker" ref:"security" doc:"Name of a basic_auth security definition whose username and password the client logs in with (SASL, PLAIN unless sasl_mechanism says otherwise), instead of username and password, as in Zato. A change of the definition applies when the object is next saved or the server restarts."`
	Topics          []string        `json:"topics" required:"true" label:"Topics" group:"Consuming" placeholder:"orders" doc:"The topics the channel consumes; with topic_regex, regular expressions that topics' names must match in full."`
	TopicRegex      bool            `json:"topic_regex" label:"Topics are patterns" group:"Consuming" doc:"Whether topics are regular expressions (orders\\..*): the channel consumes every topic whose name matches, those created later included."`
	GroupID         string          `json:"group_id" label:"Consumer group" group:"Consuming" placeholder:"plexus-orders" doc:"The consumer group the channel joins: the group's members share the topics' partitions, and its committed offsets say where consuming resumes. Empty: plexus- and the channel's name."`
	AutoOffsetReset string          `json:"auto_offset_reset" label:"Start from" group:"Consuming" enum:"earliest|latest" enum_labels:"The earliest record|New records only" doc:"Where a group with no committed offset for a partition starts: its earliest record or only records produced from now on."`
	Service         string          `json:"service" required:"true" ref:"service" label:"Service" group:"Consuming" doc:"Name of the service invoked for each record."`
	DataFormat      string          `json:"data_format" label:"Data format" group:"Consuming" enum:"json|text|bytes" enum_labels:"JSON|Text|Bytes" doc:"How a record's value becomes self.request.payload: json (decoded; malformed JSON is dead-lettered at once), text (a string), bytes (the value as it is)."`
	MaxInFlight     int             `json:"max_in_flight" label:"Records at once" group:"Consuming" min:"1" max:"1000" doc:"How many records the channel fetches and handles at once, at most one at a time per partition (records of a partition run in order); a slow service leaves the rest on the brokers."`
	MaxRetries      int             `json:"max_retries" label:"Runs again at most" group:"Failures" min:"0" max:"100" doc:"How many times a record whose service failed or was unavailable (a 5xx, 408 or 429) runs again, after retry_sleep_time, doubling each time (at most 30 s), before it is dead-lettered. A record that can never succeed (malformed, too large, invalid input: a 4xx) is dead-lettered at once."`
	RetrySleepTime  config.Duration `json:"retry_sleep_time" label:"First wait before running again" group:"Failures" min:"0s" max:"10m" placeholder:"1s" doc:"How long a failed record waits before it runs again the first time."`
	DLQForwardTo    string          `json:"dlq_forward_to" label:"Dead-letter topic" group:"Failures" placeholder:"orders.dead" doc:"The topic a record is dead-lettered to, with its key and headers and x-plexus-error, x-plexus-status, x-plexus-topic, x-plexus-partition, x-plexus-offset and X-Plexus-CID; empty: it is dropped, with a log line. Either way its offset is then committed."`
}

// Validate checks the brokers and the topics.
func (c *Channel) Validate() []error {
	errs := c.brokers().check()
	for _, t := range c.Topics {
		if c.TopicRegex {
			if _, err := regexp.Compile(t); err != nil {
				errs = append(errs, registry.FieldProblem("topics", "%q is not a regular expression: %v", t, err))
			}
		} else if t == "" || strings.ContainsAny(t, " ,/") {
			errs = append(errs, registry.FieldProblem("topics", "%q is not a topic's name", t))
		}
	}
	return errs
}

func (c *Channel) brokers() brokers {
	return brokers{c.Address, c.SASLMechanism, c.Username, c.Password, c.SSL, c.Security != ""}
}

func (o *Outgoing) brokers() brokers {
	return brokers{o.Address, o.SASLMechanism, o.Username, o.Password, o.SSL, o.Security != ""}
}

// login returns b with the credentials of the security definition it
// names, if any.
func (b brokers) login(env *registry.Env, def string) (brokers, error) {
	user, pass, err := broker.Login(env, "security", def, b.username, b.password)
	if err != nil {
		return b, err
	}
	b.username, b.password = user, pass
	if def != "" && b.mechanism == "" {
		b.mechanism = "PLAIN"
	}
	return b, nil
}

func (c *Channel) groupID() string {
	if c.GroupID != "" {
		return c.GroupID
	}
	return "plexus-" + c.Name
}

// Outgoing is the configuration of an outgoing Kafka connection (Zato's
// field names, where Zato has the field).
type Outgoing struct {
	Name          string          `json:"name" label:"Name" group:"Connection" placeholder:"orders.out" doc:"Unique name of the connection; services use it: self.out.kafka[\"orders.out\"]."`
	IsActive      bool            `json:"is_active" label:"Active" group:"Connection" doc:"Whether the connection is used; an inactive one is not connected, and services using it get 503."`
	Address       string          `json:"address" required:"true" label:"Brokers" group:"Broker" placeholder:"kafka1:9092,kafka2:9092" doc:"The seed brokers, host:port separated by commas; the client learns the rest of the cluster from them."`
	SASLMechanism string          `json:"sasl_mechanism" label:"SASL mechanism" group:"Broker" enum:"|PLAIN|SCRAM-SHA-256|SCRAM-SHA-512" enum_labels:"None|PLAIN|SCRAM-SHA-256|SCRAM-SHA-512" doc:"How the client logs in with username and password; empty: no SASL."`
	Username      string          `json:"username" label:"Username" group:"Broker" doc:"The SASL user."`
	Password      string          `json:"password" label:"Password" group:"Broker" widget:"password" secret:"true" doc:"The SASL password, stored encrypted."`
	SSL           bool            `json:"ssl" label:"TLS" group:"Broker" doc:"Whether the client connects with TLS, checking the brokers' certificates against the system's roots."`
	Security      string          `json:"security" label:"Broker credentials" group:"Broker" ref:"security" doc:"Name of a basic_auth security definition whose username and password the client logs in with (SASL, PLAIN unless sasl_mechanism says otherwise), instead of username and password, as in Zato. A change of the definition applies when the object is next saved or the server restarts."`
	Topic         string          `json:"topic" label:"Topic" group:"Producing" placeholder:"orders" doc:"The topic of records whose send names none."`
	Compression   string          `json:"compression" label:"Compression" group:"Producing" advanced:"true" enum:"none|gzip|snappy|lz4|zstd" enum_labels:"None|gzip|Snappy|LZ4|Zstandard" doc:"How batches of records are compressed."`
	SendTimeout   config.Duration `json:"send_timeout" label:"Timeout" group:"Producing" min:"1ms" max:"10m" placeholder:"10s" doc:"How long send waits for every in-sync replica to have the record, and for the brokers while they are away, before failing with 504."`
}

// Validate checks the brokers and the topic.
func (o *Outgoing) Validate() []error {
	errs := o.brokers().check()
	if strings.ContainsAny(o.Topic, " ,/") {
		errs = append(errs, registry.FieldProblem("topic", "%q is not a topic's name", o.Topic))
	}
	return errs
}

// Defaults.
const (
	defaultMaxInFlight = 10
	defaultMaxRetries  = 3
	defaultRetrySleep  = time.Second
	defaultTimeout     = 10 * time.Second
	maxRetryWait       = 30 * time.Second
)

// zatoChannelFields and zatoOutgoingFields are the fields of Zato's Kafka
// sections that Plexus spells differently or does not use.
var (
	zatoChannelFields = map[string]string{
		"topic": "topics", "service_name": "service",
		"max_message_size": registry.ZatoUnsupported, "should_deliver_tombstones": registry.ZatoUnsupported,
		"dedup_header": registry.ZatoUnsupported, "dedup_ttl": registry.ZatoUnsupported, "routing": registry.ZatoUnsupported,
		"retry_backoff_threshold": registry.ZatoUnsupported, "retry_backoff_multiplier": registry.ZatoUnsupported,
		"use_dlq": registry.ZatoUnsupported, "dlq_action": registry.ZatoUnsupported, "dlq_retries": registry.ZatoUnsupported,
		"dlq_retry_interval": registry.ZatoUnsupported, "dlq_keep_header": registry.ZatoUnsupported,
		"ssl_ca_file": registry.ZatoUnsupported, "ssl_cert_file": registry.ZatoUnsupported, "ssl_key_file": registry.ZatoUnsupported,
		"ssl_key_password": registry.ZatoUnsupported,
	}
	zatoOutgoingFields = map[string]string{
		"acks": registry.ZatoUnsupported, "is_idempotent": registry.ZatoUnsupported, "max_message_size": registry.ZatoUnsupported,
		"linger_ms": registry.ZatoUnsupported, "max_retries": registry.ZatoUnsupported, "retry_sleep_time": registry.ZatoUnsupported,
		"retry_backoff_threshold": registry.ZatoUnsupported, "retry_backoff_multiplier": registry.ZatoUnsupported,
		"use_queue": registry.ZatoUnsupported, "use_dlq": registry.ZatoUnsupported, "dlq_action": registry.ZatoUnsupported,
		"dlq_retries": registry.ZatoUnsupported, "dlq_retry_interval": registry.ZatoUnsupported, "dlq_forward_to": registry.ZatoUnsupported,
		"dlq_keep_header": registry.ZatoUnsupported, "ssl_ca_file": registry.ZatoUnsupported, "ssl_cert_file": registry.ZatoUnsupported,
		"ssl_key_file": registry.ZatoUnsupported, "ssl_key_password": registry.ZatoUnsupported,
	}
)

func init() {
	registry.Register(registry.Kind{
		ID:         ChannelKind,
		Title:      "Kafka channel",
		Summary:    "Consumes Kafka topics in a consumer group and invokes a service for each record, committing its offset once the service succeeded.",
		ZatoFields: zatoChannelFields,
		Order:      60,
		New: func() registry.Object {
			return &Channel{IsActive: true, DataFormat: "json", AutoOffsetReset: "earliest", MaxInFlight: defaultMaxInFlight,
				MaxRetries: defaultMaxRetries, RetrySleepTime: config.Duration(defaultRetrySleep)}
		},
		Examples: []string{
			`{"name": "orders.in", "address": "kafka1:9092,kafka2:9092", "topics": ["orders"], "group_id": "plexus-orders", "service": "orders.create"}`,
			`{"name": "events.in", "address": "kafka.example.com:9093", "ssl": true, "sasl_mechanism": "SCRAM-SHA-512", "username": "plexus", "topics": ["events\\..*"], "topic_regex": true, "service": "events.record", "data_format": "text", "max_in_flight": 50, "max_retries": 5, "dlq_forward_to": "events.dead"}`,
		},
		Provision:  provisionChannel,
		Update:     updateChannel,
		Swap:       registry.StopThenStart,
		Collectors: collectors,
	})
	registry.Register(registry.Kind{
		ID:         OutgoingKind,
		Title:      "Outgoing Kafka connection",
		Summary:    "Produces the records services send to Kafka with an idempotent producer, returning once every in-sync replica has each.",
		ZatoFields: zatoOutgoingFields,
		Order:      40,
		New: func() registry.Object {
			return &Outgoing{IsActive: true, Compression: "none", SendTimeout: config.Duration(defaultTimeout)}
		},
		Examples: []string{
			`{"name": "orders.out", "address": "kafka1:9092,kafka2:9092", "topic": "orders"}`,
			`{"name": "audit", "address": "kafka.example.com:9093", "ssl": true, "sasl_mechanism": "PLAIN", "username": "plexus", "compression": "zstd", "send_timeout": "2s"}`,
		},
		Provision: provisionOutgoing,
		Out:       &registry.Out{Section: "kafka", Resolve: resolveOutgoing, Starlark: starlarkOutgoing},
		Actions:   []registry.Action{pingAction},
	})
}
