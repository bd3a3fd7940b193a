package service

import "context"

// Kinds of the outgoing connections of message brokers, as
// Platform.Resource knows them.
const (
	KindOutgoingAMQP  = "outgoing_amqp"
	KindOutgoingMQTT  = "outgoing_mqtt"
	KindOutgoingKafka = "outgoing_kafka"
	KindOutgoingNATS  = "outgoing_nats"
)

// AMQP returns the outgoing AMQP connection with a name: s.Out().AMQP("Orders")
// is Zato's self.out.amqp['Orders']. The name is looked up on each send,
// in the configuration current at that moment.
func (o Out) AMQP(name string) *MessageConn {
	return &MessageConn{c: o.c, kind: KindOutgoingAMQP, name: name}
}

// MQTT returns the outgoing MQTT connection with a name, as AMQP does.
func (o Out) MQTT(name string) *MessageConn {
	return &MessageConn{c: o.c, kind: KindOutgoingMQTT, name: name}
}

// Kafka returns the outgoing Kafka connection with a name, as AMQP does.
func (o Out) Kafka(name string) *MessageConn {
	return &MessageConn{c: o.c, kind: KindOutgoingKafka, name: name}
}

// NATS returns the outgoing NATS connection with a name, as AMQP does.
func (o Out) NATS(name string) *MessageConn {
	return &MessageConn{c: o.c, kind: KindOutgoingNATS, name: name}
}

// MessageConn is an outgoing connection to a message broker as a service
// sends through it.
type MessageConn struct {
	c          *Context
	kind, name string
}

// Name returns the connection's name.
func (m *MessageConn) Name() string { return m.name }

// Send publishes data: a []byte or string as it is, anything else as JSON
// (with Content-Type application/json). It returns once the broker has
// the message (an AMQP publisher confirm, an MQTT PUBACK or PUBCOMP, a
// JetStream acknowledgement or a core NATS server's answer to a ping;
// at once for MQTT QoS 0), or an error: the broker refused it or could not
// be reached in time (*Error 502 or 504), or the connection is missing
// or inactive (503). The message carries the service's cid in the
// X-Plexus-CID header unless opts names another.
func (m *MessageConn) Send(data any, opts SendOptions) error {
	s, err := Resource[MessageSender](m.c, m.kind, m.name)
	if err != nil {
		return err
	}
	msg := &OutMessage{SendOptions: opts, Data: data}
	if msg.CID == "" {
		msg.CID = m.c.CID
	}
	var ctx context.Context = m.c
	if m.c.Context == nil {
		ctx = context.Background()
	}
	return s.SendMessage(ctx, msg)
}

// SendOptions say where and how one message is sent; empty fields take
// the connection's settings.
type SendOptions struct {
	// Exchange is the AMQP exchange ("" is the connection's; the default
	// exchange when it has none).
	Exchange string
	// RoutingKey is the AMQP routing key.
	RoutingKey string
	// Topic is the MQTT or Kafka topic.
	Topic string
	// Key is the Kafka record's key, which picks its partition.
	Key []byte
	// Subject is the NATS subject.
	Subject string
	// Headers go with the message: AMQP headers, MQTT 5 user properties,
	// Kafka record headers, NATS headers.
	Headers map[string]any
	// QoS is the MQTT quality of service (0, 1 or 2); nil is the
	// connection's.
	QoS *int
	// Retain asks an MQTT broker to keep the message for new subscribers;
	// nil is the connection's.
	Retain *bool
	// Properties are the AMQP properties of the message (content_type,
	// priority, expiration, message_id, correlation_id, reply_to, type,
	// user_id, app_id, delivery_mode), over the connection's.
	Properties map[string]any
	// CID is sent in the X-Plexus-CID header; empty sends the service's.
	CID string
}

// OutMessage is one message a service sends, as the platform receives
// it.
type OutMessage struct {
	SendOptions
	// Data is the payload: []byte and string as they are, anything else
	// as JSON.
	Data any
}

// MessageSender is what the platform returns for an outgoing connection
// of a message broker. Services use MessageConn; tests of services may
// implement it in their own Platform.
type MessageSender interface {
	SendMessage(ctx context.Context, msg *OutMessage) error
}
