// Package service is the public API for writing Plexus services in Go.
//
// A service is a value with a Handle method, or with one method per HTTP verb
// (HandleGET, HandlePOST, …), registered with plexus.New().Register. Every
// invocation gets a fresh *Context holding the request, the response being
// built, the channel that carried the call and the platform's facilities
// (logger, Invoke, outgoing connections). Services are shared by all
// requests, so a service type must be safe for concurrent use: keep
// per-request state on the Context, never on the service value.
//
// The names follow Zato's service API: ctx.Request.Payload is
// self.request.payload, ctx.Response.StatusCode is self.response.status_code,
// ctx.Invoke is self.invoke.
package service

import (
	"context"
	"log/slog"
)

// Context is one invocation of a service. It is also a context.Context that
// is cancelled when the caller goes away or the server shuts down, so it can
// be passed to anything that takes one. A Context is used by one goroutine.
type Context struct {
	context.Context

	// CID is the correlation ID of the request: 24 lowercase hex characters,
	// the same across every service invoked synchronously for one request.
	CID string

	// Name is the name of the service being invoked.
	Name string

	// Request is what the caller sent.
	Request *Request

	// Response is what the caller will receive; the service fills it in.
	Response *Response

	// Channel describes how the invocation arrived.
	Channel Channel

	// Depth is the number of Invoke and InvokeAsync calls above this one.
	Depth int

	platform Platform
	logger   *slog.Logger
}

// Platform is what the server provides to a Context. Services do not
// implement or call it; it exists so that the platform and tests can build
// contexts (see NewContext).
type Platform interface {
	// Invoke runs another service synchronously on behalf of c.
	Invoke(c *Context, name string, payload any, opts InvokeOptions) (any, error)
	// InvokeAsync schedules another service and returns its new CID.
	InvokeAsync(c *Context, name string, payload any, opts InvokeOptions) (string, error)
	// Logger returns the logger bound to c's CID and service name.
	Logger(c *Context) *slog.Logger
	// Resource returns a named resource of a kind, such as an outgoing
	// connection, or an error that says why it is not available.
	Resource(c *Context, kind, name string) (any, error)
}

// NewContext returns a Context for one invocation. The platform calls it;
// tests of Go services can call it with their own Platform.
func NewContext(parent context.Context, p Platform) *Context {
	// One allocation for the context, its request and its response.
	inv := &struct {
		c    Context
		req  Request
		resp Response
	}{}
	inv.c = Context{Context: parent, Request: &inv.req, Response: &inv.resp, platform: p}
	return &inv.c
}

// Platform returns the platform the context was created with.
func (c *Context) Platform() Platform { return c.platform }

// Logger returns a logger whose every line carries the CID and the service
// name.
func (c *Context) Logger() *slog.Logger {
	if c.logger == nil {
		c.logger = c.platform.Logger(c)
	}
	return c.logger
}

// InvokeOptions tune Invoke and InvokeAsync. The zero value is ready to use.
type InvokeOptions struct {
	// Verb selects the callee's HandleVERB method; empty calls Handle.
	Verb string
	// CID replaces the correlation ID passed to the callee (Invoke keeps the
	// caller's by default, InvokeAsync makes a new one).
	CID string
}

// Invoke runs the named service synchronously, with the same CID, and
// returns its response payload. The callee sees a Channel of type "invoke".
// A typed error raised by the callee (BadRequest, NotFound, …) is returned
// unchanged, so it reaches the original caller with its status unless
// handled.
func (c *Context) Invoke(name string, payload any) (any, error) {
	return c.platform.Invoke(c, name, payload, InvokeOptions{})
}

// InvokeWith is Invoke with options.
func (c *Context) InvokeWith(name string, payload any, opts InvokeOptions) (any, error) {
	return c.platform.Invoke(c, name, payload, opts)
}

// InvokeAsync schedules the named service to run in the background and
// returns at once with the CID the callee runs under. Its response is
// discarded; its errors are logged. The callee runs one level deeper than
// c. It returns a 503 *Error while the server runs as many background
// invocations as it allows (limits.max_async_invocations) and once it is
// shutting down; a background invocation's context is cancelled when the
// server stops.
func (c *Context) InvokeAsync(name string, payload any) (string, error) {
	return c.platform.InvokeAsync(c, name, payload, InvokeOptions{})
}

// Channel describes how an invocation arrived.
type Channel struct {
	// Name is the channel's configured name (empty for direct invocations).
	Name string
	// Type is one of "rest", "invoke", "invoke-async", "admin",
	// "scheduler", or the type of a message broker's channel: "amqp",
	// "mqtt", ….
	Type string
	// DataFormat is the channel's data format: "json", "form" or "raw"
	// (HTTP), "json", "text" or "bytes" (message brokers).
	DataFormat string
	// Security is the identity that passed the channel's security check.
	Security Security
	// Message describes the message that carried the invocation, for the
	// channels of message brokers; it is nil for the others.
	Message *Message
	// Client describes the WebSocket client whose message invoked the
	// service; it is nil for the other channels.
	Client *Client
}

// Client is a client connected to a WebSocket channel. Starlark services
// read it as self.channel.client: id, name, user, remote_addr.
type Client struct {
	// ID identifies the client on its channel: the id a service passes to
	// invoke, and the admin API lists and disconnects.
	ID string
	// Name is the client_name a Zato client gave in create-session, or "".
	Name string
	// User is the username the channel's security admitted, or "".
	User string
	// RemoteAddr is the client's address (host:port).
	RemoteAddr string
}

// Message describes a message a broker delivered to a channel: what every
// broker has, and in Details what is its own (documented with each
// channel kind, such as AMQP's exchange and routing_key). Starlark
// services read the same as self.channel.message: id, topic, headers,
// delivery_count, and each detail by its name.
type Message struct {
	// ID is the message's id as its publisher or the broker gave it; ""
	// when it has none.
	ID string
	// Topic is where the message was published: an AMQP routing key, an
	// MQTT topic, a NATS subject, a Kafka topic.
	Topic string
	// Headers are the message's headers (AMQP headers, MQTT 5 user
	// properties, …), their values as JSON decodes them: strings,
	// numbers, booleans, lists and maps.
	Headers map[string]any
	// DeliveryCount is how many times the message has been delivered,
	// this delivery included: 1 the first time.
	DeliveryCount int
	// Details are what the broker tells besides, by name.
	Details map[string]any
}

// Channel types.
const (
	ChannelREST        = "rest"
	ChannelInvoke      = "invoke"
	ChannelInvokeAsync = "invoke-async"
	ChannelAdmin       = "admin"
	ChannelScheduler   = "scheduler"
	ChannelAMQP        = "amqp"
	ChannelMQTT        = "mqtt"
	ChannelKafka       = "kafka"
	ChannelNATS        = "nats"
	ChannelWebSocket   = "web-socket"
	ChannelPubSub      = "pubsub"
)

// Security is the authenticated identity of a request: which definition
// admitted it and the username it carried. It is empty when the channel has
// no security.
type Security struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Username string `json:"username"`
}

// Username returns the username used to invoke the service, if any.
func (ch Channel) Username() string { return ch.Security.Username }
