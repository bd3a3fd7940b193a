// Package mqtt connects Plexus to MQTT 5 and 3.1.1 brokers such as Mosquitto: kind
// channel_mqtt subscribes to a topic filter and invokes a service for
// each message, through the same pipeline as a REST request, and kind
// outgoing_mqtt publishes what services send (self.out.mqtt["Name"].send
// in Starlark, s.Out().MQTT("Name") in Go). Both connect in the
// background, report their status and reconnect with a back-off when the
// broker goes away.
package mqtt

import (
	"net/url"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Kind ids.
const (
	ChannelKind  = "channel_mqtt"
	OutgoingKind = service.KindOutgoingMQTT
)

// What a channel does with a message its service failed.
const (
	// OnErrorRetry runs the service again, up to max_redeliveries times
	// with a back-off, holding the message unacknowledged, then
	// dead-letters it.
	OnErrorRetry = "retry"
	// OnErrorDeadLetter dead-letters the message at once.
	OnErrorDeadLetter = "dead_letter"
)

// User properties Plexus sets on dead letters.
const (
	ErrorProperty  = "x-plexus-error"
	StatusProperty = "x-plexus-status"
	TopicProperty  = "x-plexus-topic"
)

// Channel is the configuration of an MQTT channel.
type Channel struct {
	Name            string          `json:"name" label:"Name" group:"Channel" placeholder:"sensors.in" doc:"Unique name of the channel."`
	IsActive        bool            `json:"is_active" label:"Active" group:"Channel" doc:"Whether the channel consumes; an inactive channel is stopped."`
	Address         string          `json:"address" required:"true" label:"Broker address" group:"Broker" placeholder:"tcp://mosquitto.example.com:1883" doc:"The broker's tcp:// (or mqtt://) address, or ssl:// (mqtts://) for TLS; no password: give it in password."`
	Username        string          `json:"username" label:"Username" group:"Broker" doc:"The user the channel logs in to the broker as; empty logs in anonymously."`
	Password        string          `json:"password" label:"Password" group:"Broker" widget:"password" secret:"true" doc:"The password of username, stored encrypted."`
	BrokerSecurity  string          `json:"broker_security" label:"Broker credentials" group:"Broker" ref:"security" doc:"Name of a basic_auth security definition whose username and password the channel logs in to the broker with, instead of username and password. A change of the definition applies when the channel is next saved or the server restarts."`
	ProtocolVersion string          `json:"protocol_version" label:"Protocol version" group:"Broker" enum:"5|3.1.1" enum_labels:"MQTT 5|MQTT 3.1.1" doc:"The MQTT version spoken: 5, or 3.1.1 for brokers that lack 5. MQTT 3.1.1 has no user properties: messages carry no headers, so no X-Plexus-CID, and dead letters carry no reasons (the log has them); it has no receive maximum or session expiry (a persistent session lasts until the broker drops it)."`
	ClientID        string          `json:"client_id" label:"Client ID" group:"Broker" placeholder:"plexus-sensors" doc:"The client ID the channel connects with, which names its session on the broker; empty: plexus- and the channel's name. Two clients with one ID push each other off the broker."`
	KeepAlive       config.Duration `json:"keep_alive" label:"Keep-alive" group:"Broker" advanced:"true" min:"1s" max:"18h" placeholder:"30s" doc:"How often the channel tells the broker it is alive; a connection silent for longer is taken as gone, and the channel reconnects."`
	Topic           string          `json:"topic" required:"true" label:"Topic filter" group:"Subscription" placeholder:"sensors/+/temperature" doc:"The topic filter the channel subscribes to: + matches one level, # the rest (sensors/#)."`
	SharedGroup     string          `json:"shared_group" label:"Shared subscription group" group:"Subscription" placeholder:"plexus" doc:"A group name subscribes as $share/GROUP/topic: the broker gives each message to one member of the group, so several servers share the load. Empty: every subscriber gets every message."`
	QoS             int             `json:"qos" label:"QoS" group:"Subscription" min:"0" max:"2" doc:"The highest quality of service the channel takes: 0 (at most once), 1 (at least once) or 2 (exactly once between the broker and the channel)."`
	CleanStart      bool            `json:"clean_start" label:"Clean start" group:"Subscription" doc:"Whether the channel starts a new session on each connection; otherwise the broker keeps the session (its subscriptions and the messages of QoS 1 and 2 that arrive while the channel is away) for session_expiry."`
	SessionExpiry   config.Duration `json:"session_expiry" label:"Session expiry" group:"Subscription" when:"clean_start=false" min:"0s" max:"1193046h" placeholder:"1h" doc:"How long the broker keeps the channel's session while it is disconnected."`
	Service         string          `json:"service" required:"true" ref:"service" label:"Service" group:"Consuming" doc:"Name of the service invoked for each message."`
	DataFormat      string          `json:"data_format" label:"Data format" group:"Consuming" enum:"json|text|bytes" enum_labels:"JSON|Text|Bytes" doc:"How a message's payload becomes self.request.payload: json (decoded; malformed JSON is dead-lettered at once), text (a string), bytes (the payload as it is)."`
	PoolSize        int             `json:"pool_size" label:"Messages at once" group:"Consuming" min:"1" max:"65535" doc:"How many messages the channel's service handles at once; the broker sends no more unacknowledged messages of QoS 1 and 2 (the receive maximum), so a slow service holds the rest on the broker."`
	OnError         string          `json:"on_error" label:"When the service fails" group:"Failures" enum:"retry|dead_letter" enum_labels:"Run again|Dead-letter" doc:"What happens to a message whose service failed or was unavailable (a 5xx, 408 or 429): retry runs the service again up to max_redeliveries times, after 1s, 2s, 4s… (at most 30s), holding the message unacknowledged, then dead-letters it; dead_letter dead-letters it at once. A message that can never succeed (malformed, too large, refused by security, invalid input: a 4xx) is dead-lettered at once either way."`
	MaxRedeliveries int             `json:"max_redeliveries" label:"Runs again at most" group:"Failures" when:"on_error=retry" min:"0" max:"100" doc:"How many times the service runs again for a failed message before it is dead-lettered."`
	DeadLetterTopic string          `json:"dead_letter_topic" label:"Dead-letter topic" group:"Failures" placeholder:"sensors/dead" doc:"The topic a dead letter is published to (QoS 1), with the user properties x-plexus-error, x-plexus-status, x-plexus-topic and X-Plexus-CID; empty drops it, with a log line."`

	Security string   `json:"security" label:"Security definition" group:"Security" ref:"security" doc:"Name of the security definition every message must pass, with credentials in its user properties (Authorization: Basic or Bearer, or the API key property); a message that fails is dead-lettered. Empty: no definition."`
	Groups   []string `json:"groups" label:"Security groups" group:"Security" ref:"groups" doc:"Security groups whose members the channel admits, as for REST channels."`
}

// Validate checks the address and the topic filter.
func (c *Channel) Validate() []error {
	errs := checkAddress(c.Address)
	if c.Topic != "" {
		if err := checkFilter(c.Topic); err != "" {
			errs = append(errs, registry.FieldProblem("topic", "%s", err))
		}
	}
	if strings.ContainsAny(c.SharedGroup, "/+#") {
		errs = append(errs, registry.FieldProblem("shared_group", "a group name holds no /, + or #"))
	}
	if c.DeadLetterTopic != "" && strings.ContainsAny(c.DeadLetterTopic, "+#") {
		errs = append(errs, registry.FieldProblem("dead_letter_topic", "a topic to publish to holds no + or #"))
	}
	return errs
}

// filter returns the filter the channel subscribes with.
func (c *Channel) filter() string {
	if c.SharedGroup != "" {
		return "$share/" + c.SharedGroup + "/" + c.Topic
	}
	return c.Topic
}

// clientID returns the channel's client ID.
func (c *Channel) clientID() string {
	if c.ClientID != "" {
		return c.ClientID
	}
	return "plexus-" + c.Name
}

// Outgoing is the configuration of an outgoing MQTT connection.
type Outgoing struct {
	Name            string          `json:"name" label:"Name" group:"Connection" placeholder:"sensors.out" doc:"Unique name of the connection; services use it: self.out.mqtt[\"sensors.out\"]."`
	IsActive        bool            `json:"is_active" label:"Active" group:"Connection" doc:"Whether the connection is used; an inactive one is not connected, and services using it get 503."`
	Address         string          `json:"address" required:"true" label:"Broker address" group:"Broker" placeholder:"tcp://mosquitto.example.com:1883" doc:"The broker's tcp:// (or mqtt://) address, or ssl:// (mqtts://) for TLS; no password: give it in password."`
	Username        string          `json:"username" label:"Username" group:"Broker" doc:"The user the connection logs in to the broker as; empty logs in anonymously."`
	Password        string          `json:"password" label:"Password" group:"Broker" widget:"password" secret:"true" doc:"The password of username, stored encrypted."`
	Security        string          `json:"security" label:"Broker credentials" group:"Broker" ref:"security" doc:"Name of a basic_auth security definition whose username and password the connection logs in to the broker with, instead of username and password. A change of the definition applies when the connection is next saved or the server restarts."`
	ProtocolVersion string          `json:"protocol_version" label:"Protocol version" group:"Broker" enum:"5|3.1.1" enum_labels:"MQTT 5|MQTT 3.1.1" doc:"The MQTT version spoken: 5, or 3.1.1 for brokers that lack 5. MQTT 3.1.1 has no user properties: send refuses headers (400) and the cid does not travel."`
	ClientID        string          `json:"client_id" label:"Client ID" group:"Broker" advanced:"true" placeholder:"plexus-out-sensors" doc:"The client ID the connection connects with; empty: plexus-out- and the connection's name."`
	KeepAlive       config.Duration `json:"keep_alive" label:"Keep-alive" group:"Broker" advanced:"true" min:"1s" max:"18h" placeholder:"30s" doc:"How often the connection tells the broker it is alive."`
	Topic           string          `json:"topic" label:"Topic" group:"Publishing" placeholder:"sensors/alerts" doc:"The topic of messages whose send names none."`
	QoS             int             `json:"qos" label:"QoS" group:"Publishing" min:"0" max:"2" doc:"The quality of service of messages whose send names none: 0 returns once the message is written to the connection, 1 once the broker acknowledged it (PUBACK), 2 once it completed the exchange (PUBCOMP)."`
	Retain          bool            `json:"retain" label:"Retain" group:"Publishing" doc:"Whether the broker keeps the last message of a topic for subscribers that come later, unless send says otherwise."`
	Timeout         config.Duration `json:"timeout" label:"Timeout" group:"Publishing" min:"1ms" max:"10m" placeholder:"10s" doc:"How long send waits for the broker's acknowledgement, and for the connection while the broker is away, before failing with 504."`
}

// Validate checks the address and the topic.
func (o *Outgoing) Validate() []error {
	errs := checkAddress(o.Address)
	if strings.ContainsAny(o.Topic, "+#") {
		errs = append(errs, registry.FieldProblem("topic", "a topic to publish to holds no + or #"))
	}
	return errs
}

// checkAddress reports what is wrong with a broker's address.
func checkAddress(address string) []error {
	if address == "" {
		return nil // reported as required
	}
	u, err := url.Parse(address)
	if err != nil || u.Host == "" {
		return []error{registry.FieldProblem("address", "%q is not a URL such as tcp://mosquitto.example.com:1883", address)}
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts":
	default:
		return []error{registry.FieldProblem("address", "scheme %q: use tcp:// or mqtt://, or ssl:// or mqtts:// for TLS", u.Scheme)}
	}
	if u.User != nil {
		return []error{registry.FieldProblem("address", "the address holds user information: give username and password in their fields")}
	}
	return nil
}

// checkFilter says what is wrong with a topic filter, or "".
func checkFilter(f string) string {
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return "# must be the last level of a topic filter"
		case l != "#" && l != "+" && strings.ContainsAny(l, "+#"):
			return "+ and # stand alone in their level: sensors/+/temperature, sensors/#"
		}
	}
	return ""
}

// Defaults.
const (
	defaultPoolSize        = 10
	defaultMaxRedeliveries = 3
	defaultKeepAlive       = 30 * time.Second
	defaultTimeout         = 10 * time.Second
	defaultSessionExpiry   = time.Hour
)

func init() {
	registry.Register(registry.Kind{
		ID:      ChannelKind,
		Title:   "MQTT channel",
		Summary: "Subscribes to a topic filter of an MQTT 5 or 3.1.1 broker (Mosquitto) and invokes a service for each message, acknowledging it once the service succeeded.",
		Order:   60,
		New: func() registry.Object {
			return &Channel{IsActive: true, ProtocolVersion: Version5, DataFormat: "json", QoS: 1, PoolSize: defaultPoolSize, OnError: OnErrorRetry,
				MaxRedeliveries: defaultMaxRedeliveries, KeepAlive: config.Duration(defaultKeepAlive), SessionExpiry: config.Duration(defaultSessionExpiry)}
		},
		Examples: []string{
			`{"name": "sensors.in", "address": "tcp://mosquitto.example.com:1883", "topic": "sensors/+/temperature", "service": "sensors.record"}`,
			`{"name": "orders.in", "address": "ssl://mq.example.com:8883", "username": "plexus", "topic": "orders/#", "shared_group": "plexus", "qos": 2, "service": "orders.create", "on_error": "dead_letter", "dead_letter_topic": "orders/dead"}`,
		},
		Provision:  provisionChannel,
		Update:     updateChannel,
		Swap:       registry.StopThenStart,
		Collectors: collectors,
	})
	registry.Register(registry.Kind{
		ID:      OutgoingKind,
		Title:   "Outgoing MQTT connection",
		Summary: "Publishes the messages services send to an MQTT 5 or 3.1.1 broker (Mosquitto), returning once the broker acknowledged each.",
		Order:   40,
		New: func() registry.Object {
			return &Outgoing{IsActive: true, ProtocolVersion: Version5, QoS: 1, Timeout: config.Duration(defaultTimeout), KeepAlive: config.Duration(defaultKeepAlive)}
		},
		Examples: []string{
			`{"name": "sensors.out", "address": "tcp://mosquitto.example.com:1883", "topic": "sensors/alerts"}`,
			`{"name": "status", "address": "ssl://mq.example.com:8883", "username": "plexus", "qos": 2, "retain": true, "timeout": "2s"}`,
		},
		Provision: provisionOutgoing,
		// Overlap would connect the new version with the client ID the
		// old one still holds, and the broker would push one off.
		Swap:    registry.StopThenStart,
		Out:     &registry.Out{Section: "mqtt", Resolve: resolveOutgoing, Starlark: starlarkOutgoing},
		Actions: []registry.Action{pingAction},
	})
}
