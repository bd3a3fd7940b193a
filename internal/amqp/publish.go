package amqp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/rabbitmq/amqp091-go"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// ConfirmChannel is an AMQP channel in confirm mode that publishes one
// message at a time and waits for the broker's confirm.
type ConfirmChannel struct {
	ch      *amqp091.Channel
	returns chan amqp091.Return
}

// OpenConfirm opens a channel in confirm mode on a connection.
func OpenConfirm(conn *amqp091.Connection) (*ConfirmChannel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.Confirm(false); err != nil {
		ch.Close()
		return nil, err
	}
	// One publish at a time, drained before the next: at most one return
	// waits here, so the channel's reader never blocks on it.
	return &ConfirmChannel{ch: ch, returns: ch.NotifyReturn(make(chan amqp091.Return, 1))}, nil
}

// Close closes the channel.
func (c *ConfirmChannel) Close() error { return c.ch.Close() }

// ErrUnroutable and ErrNacked are the broker's refusals of a message.
var (
	ErrUnroutable = errors.New("the broker routed the message to no queue")
	ErrNacked     = errors.New("the broker refused the message")
)

// publish sends one message and returns once the broker confirmed it:
// an error when it refused it, returned it as unroutable (mandatory) or
// ctx ended first.
func (c *ConfirmChannel) Publish(ctx context.Context, exchange, key string, mandatory bool, msg amqp091.Publishing) error {
	select {
	case <-c.returns: // a return of an earlier message that timed out
	default:
	}
	dc, err := c.ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, mandatory, false, msg)
	if err != nil {
		return err
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNacked
	}
	select {
	case <-c.returns: // sent before the confirm of the message it returns
		return ErrUnroutable
	default:
	}
	return nil
}

// session is one connection of a publisher, with its idle channels.
type session struct {
	conn *amqp091.Connection
	idle chan *ConfirmChannel
}

// publisher is the running form of an outgoing AMQP connection: its Run
// keeps a connection to the broker, over which sends publish on pooled
// confirm channels. It is safe for concurrent use.
type publisher struct {
	cfg   *Outgoing
	b     endpoint
	slots chan struct{} // pool_size sends at once

	sess *broker.Session[*session]
}

// provisionOutgoing builds a publisher without connecting: Run does.
func provisionOutgoing(env *registry.Env, obj registry.Object) (any, error) {
	cfg := obj.(*Outgoing)
	user, pass, err := broker.Login(env, "security", cfg.Security, cfg.Username, cfg.Password)
	if err != nil {
		return nil, err
	}
	return &publisher{cfg: cfg, b: brokerOf(OutgoingKind, cfg.Name, cfg.Address, user, pass, cfg.Heartbeat.D()),
		slots: make(chan struct{}, cfg.PoolSize),
		sess:  broker.NewSession("the broker could not be reached in time", func(s *session) bool { return !s.conn.IsClosed() })}, nil
}

func brokerOf(kind, name, address, username, password string, heartbeat time.Duration) endpoint {
	return endpoint{address: address, username: username, password: password, heartbeat: heartbeat,
		name: "plexus " + kind + " " + name}
}

// Run keeps the publisher connected until ctx ends; it returns the
// error that closed the connection, and the runtime connects again after
// a back-off.
func (p *publisher) Run(ctx context.Context, st *registry.Status) error {
	if !p.cfg.IsActive {
		return nil
	}
	conn, err := p.b.dial()
	if err != nil {
		p.sess.Failed(err)
		return err
	}
	closed := conn.NotifyClose(make(chan *amqp091.Error, 1))
	sess := &session{conn: conn, idle: make(chan *ConfirmChannel, p.cfg.PoolSize)}
	p.sess.Up(sess)
	st.Running()
	select {
	case <-ctx.Done():
		err = nil
	case e := <-closed:
		err = fmt.Errorf("the broker closed the connection: %w", closeError(e))
	}
	p.sess.Down(err)
	conn.Close()
	return err
}

// closeError is the error a connection or channel closed with.
func closeError(e *amqp091.Error) error {
	if e == nil {
		return errors.New("closed")
	}
	return e
}

// SendMessage publishes a message and returns once the broker confirmed
// it, within the connection's timeout. A send the broker did not confirm
// because the connection was lost is sent again once it is back, so a
// message may reach the broker twice, never none.
func (p *publisher) SendMessage(ctx context.Context, m *service.OutMessage) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout.D())
	defer cancel()
	exchange, key, msg, err := p.message(m)
	if err != nil {
		return err
	}
	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	case <-ctx.Done():
		return service.NewError(http.StatusGatewayTimeout, "outgoing AMQP connection %q: all %d sends are waiting for their confirms", p.cfg.Name, p.cfg.PoolSize)
	}
	for {
		sess, err := p.sess.Wait(ctx)
		if err != nil {
			return fmt.Errorf("outgoing AMQP connection %q: %w", p.cfg.Name, err)
		}
		err = sess.publish(ctx, exchange, key, p.cfg.Mandatory, msg)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrUnroutable), errors.Is(err, ErrNacked):
			return service.NewError(http.StatusBadGateway, "outgoing AMQP connection %q: %v (exchange %q, routing key %q)", p.cfg.Name, err, exchange, key)
		case ctx.Err() != nil:
			return service.NewError(http.StatusGatewayTimeout, "outgoing AMQP connection %q: the broker did not confirm the message within %s", p.cfg.Name, p.cfg.Timeout.D())
		}
		if !sess.conn.IsClosed() {
			// A channel error of this message's own, the connection up:
			// an exchange that does not exist, say. Sending it again
			// would fail the same.
			return service.NewError(http.StatusBadGateway, "outgoing AMQP connection %q: %v", p.cfg.Name, err)
		}
		// The connection was lost: send again once it is back.
	}
}

// publish sends on an idle channel of the session, opening one if none
// is idle, and keeps the channel for the next send unless it failed.
func (s *session) publish(ctx context.Context, exchange, key string, mandatory bool, msg amqp091.Publishing) error {
	var c *ConfirmChannel
	select {
	case c = <-s.idle:
	default:
		var err error
		if c, err = OpenConfirm(s.conn); err != nil {
			return err
		}
	}
	err := c.Publish(ctx, exchange, key, mandatory, msg)
	if err != nil && !errors.Is(err, ErrUnroutable) && !errors.Is(err, ErrNacked) {
		c.ch.Close()
		return err
	}
	select {
	case s.idle <- c:
	default:
		c.ch.Close()
	}
	return err
}

// message builds the publishing of a message a service sends: the
// connection's settings, overridden by the send's.
func (p *publisher) message(m *service.OutMessage) (exchange, key string, msg amqp091.Publishing, err error) {
	cfg := p.cfg
	exchange, key = cfg.Exchange, cfg.RoutingKey
	if m.Exchange != "" {
		exchange = m.Exchange
	}
	if m.RoutingKey != "" {
		key = m.RoutingKey
	}
	body, ctype, err := broker.Payload(m.Data)
	if err != nil {
		return "", "", msg, service.BadRequest("%v", err)
	}
	msg = amqp091.Publishing{
		Body: body, ContentType: ctype, Priority: uint8(cfg.Priority), Expiration: cfg.Expiration,
		UserId: cfg.UserID, AppId: cfg.AppID, ContentEncoding: cfg.ContentEncoding, Timestamp: time.Now().UTC().Truncate(time.Second),
		DeliveryMode: amqp091.Persistent,
	}
	if cfg.ContentType != "" {
		msg.ContentType = cfg.ContentType
	}
	if cfg.DeliveryMode == "non_persistent" {
		msg.DeliveryMode = amqp091.Transient
	}
	msg.Headers = amqp091.Table{}
	for k, v := range m.Headers {
		msg.Headers[k] = fromJSON(v)
	}
	if m.CID != "" {
		msg.Headers[broker.CIDHeader] = m.CID
	}
	if err := setProperties(&msg, m.Properties); err != nil {
		return "", "", msg, err
	}
	if err := msg.Headers.Validate(); err != nil {
		return "", "", msg, service.BadRequest("headers: %v", err)
	}
	return exchange, key, msg, nil
}

// setProperties sets the AMQP properties a send names.
func setProperties(msg *amqp091.Publishing, props map[string]any) error {
	for k, v := range props {
		s := fmt.Sprint(v)
		switch k {
		case "content_type":
			msg.ContentType = s
		case "content_encoding":
			msg.ContentEncoding = s
		case "message_id":
			msg.MessageId = s
		case "correlation_id":
			msg.CorrelationId = s
		case "reply_to":
			msg.ReplyTo = s
		case "type":
			msg.Type = s
		case "user_id":
			msg.UserId = s
		case "app_id":
			msg.AppId = s
		case "expiration":
			msg.Expiration = s
		case "priority":
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > 9 {
				return service.BadRequest("property priority: %q is not a priority from 0 to 9", s)
			}
			msg.Priority = uint8(n)
		case "delivery_mode":
			switch s {
			case "persistent", "2":
				msg.DeliveryMode = amqp091.Persistent
			case "non_persistent", "1":
				msg.DeliveryMode = amqp091.Transient
			default:
				return service.BadRequest("property delivery_mode: %q is neither persistent nor non_persistent", s)
			}
		default:
			return service.BadRequest("no AMQP property %q: use content_type, content_encoding, message_id, correlation_id, reply_to, type, user_id, app_id, expiration, priority or delivery_mode", k)
		}
	}
	return nil
}

// Close closes the connection, if Run left it open.
func (p *publisher) Close() error {
	if sess := p.sess.Current(); sess != nil {
		return sess.conn.Close()
	}
	return nil
}

// resolveOutgoing gives services the publisher with a name.
func resolveOutgoing(st registry.State, name string) (any, error) {
	v, ok := st.Running(OutgoingKind, name)
	if !ok {
		msg := fmt.Sprintf("no outgoing AMQP connection named %q", name)
		if s := registry.Suggest(name, st.Names(OutgoingKind)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, errors.New(msg)
	}
	p := v.(*publisher)
	if !p.cfg.IsActive {
		return nil, service.ServiceUnavailable("outgoing AMQP connection %q is inactive", name)
	}
	return p, nil
}

// pingAction connects to the broker anew and says whether it answered.
var pingAction = registry.Action{
	Name: "ping",
	Doc:  `Connects to the broker, as the connection does, and answers {"name", "cid", "target", "ok", "status", "time_ms", "error"}.`,
	Run: func(ctx context.Context, call *registry.Call) (any, error) {
		p := call.Running.(*publisher)
		start := time.Now()
		res := registry.PingResult{Name: call.Name, CID: call.CID, Target: redactURL(p.cfg.Address)}
		conn, err := p.b.dial()
		if err == nil {
			conn.Close()
			res.OK = true
		} else {
			res.Error = err.Error()
		}
		res.TimeMS = float64(time.Since(start).Microseconds()) / 1000
		return res, nil
	},
}
