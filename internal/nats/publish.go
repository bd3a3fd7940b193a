package nats

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// session is a publisher's open connection.
type session struct {
	conn *connection
	js   jetstream.JetStream // nil on core NATS
}

// publisher is the running form of an outgoing NATS connection: its Run
// keeps a connection to the server, which sends publish over. It is
// safe for concurrent use.
type publisher struct {
	cfg   *Outgoing
	e     endpoint
	slots chan struct{} // pool_size sends at once

	sess *broker.Session[*session]
}

// provisionOutgoing builds a publisher without connecting: Run does.
func provisionOutgoing(_ *registry.Env, obj registry.Object) (any, error) {
	cfg := obj.(*Outgoing)
	return &publisher{cfg: cfg, e: endpointOf(OutgoingKind, cfg.Name, cfg.Address, cfg.Username, cfg.Password, cfg.Token),
		slots: make(chan struct{}, cfg.PoolSize),
		sess:  broker.NewSession("the server could not be reached in time", func(s *session) bool { return !s.conn.nc.IsClosed() })}, nil
}

// Run keeps the publisher connected until ctx ends; it returns the error
// that lost the connection, and the runtime connects again after a
// back-off.
func (p *publisher) Run(ctx context.Context, st *registry.Status) error {
	if !p.cfg.IsActive {
		return nil
	}
	conn, err := p.e.acquire()
	if err != nil {
		p.sess.Failed(err)
		return err
	}
	sess := &session{conn: conn}
	if p.cfg.JetStream {
		if sess.js, err = jetstream.New(conn.nc); err != nil {
			conn.release(0)
			p.sess.Failed(err)
			return err
		}
	}
	p.sess.Up(sess)
	st.Running()
	select {
	case <-ctx.Done():
		// The connection stays open for the sends of channels still
		// finishing their messages (the server stopping lets them):
		// Close closes it once they are done.
		return nil
	case <-conn.closed:
		err = conn.err()
	}
	p.sess.Down(err)
	conn.release(0)
	return err
}

// SendMessage publishes a message and returns once the server has it
// (core NATS) or a stream stored it (JetStream), within the connection's
// timeout. A send cut off by a lost connection is sent again once it is
// back, so a message may reach the server twice, never none.
func (p *publisher) SendMessage(ctx context.Context, m *service.OutMessage) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout.D())
	defer cancel()
	msg, err := p.message(m)
	if err != nil {
		return err
	}
	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	case <-ctx.Done():
		return service.NewError(http.StatusGatewayTimeout, "outgoing NATS connection %q: all %d sends are waiting for the server", p.cfg.Name, p.cfg.PoolSize)
	}
	for {
		sess, err := p.sess.Wait(ctx)
		if err != nil {
			return fmt.Errorf("outgoing NATS connection %q: %w", p.cfg.Name, err)
		}
		err = p.publish(ctx, sess, msg)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return service.NewError(http.StatusGatewayTimeout, "outgoing NATS connection %q: the server did not take the message on %q within %s", p.cfg.Name, msg.Subject, p.cfg.Timeout.D())
		case !sess.conn.nc.IsClosed() && !errors.Is(err, natsio.ErrConnectionClosed) && !errors.Is(err, jetstream.ErrConnectionClosed):
			// Refused with the connection up: no stream takes the
			// subject, another stream took it. Sending it again would
			// fail the same.
			return service.NewError(http.StatusBadGateway, "outgoing NATS connection %q: publishing to %q: %v", p.cfg.Name, msg.Subject, err)
		}
		// The connection was lost: send again once it is back.
		select {
		case <-sess.conn.closed:
		case <-ctx.Done():
		}
	}
}

// publish sends one message on a session.
func (p *publisher) publish(ctx context.Context, sess *session, msg *natsio.Msg) error {
	if sess.js == nil {
		if err := sess.conn.nc.PublishMsg(msg); err != nil {
			return err
		}
		return sess.conn.nc.FlushWithContext(ctx)
	}
	var opts []jetstream.PublishOpt
	if p.cfg.ExpectStream != "" {
		opts = append(opts, jetstream.WithExpectStream(p.cfg.ExpectStream))
	}
	_, err := sess.js.PublishMsg(ctx, msg, opts...)
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, natsio.ErrNoResponders) {
		return errors.New("no stream takes the subject")
	}
	return err
}

// message builds the message a service sends: the connection's subject
// unless the send names one, the send's headers and the cid.
func (p *publisher) message(m *service.OutMessage) (*natsio.Msg, error) {
	subject := p.cfg.Subject
	if m.Subject != "" {
		subject = m.Subject
	}
	if subject == "" {
		return nil, service.BadRequest("outgoing NATS connection %q has no subject: give one to send", p.cfg.Name)
	}
	if problem := subjectProblem(subject, false); problem != "" {
		return nil, service.BadRequest("%q is not a subject to publish to: %s", subject, problem)
	}
	body, ctype, err := broker.Payload(m.Data)
	if err != nil {
		return nil, service.BadRequest("%v", err)
	}
	h, err := natsHeaders(m.Headers)
	if err != nil {
		return nil, err
	}
	if ctype != "" && h.Get("Content-Type") == "" {
		h.Set("Content-Type", ctype)
	}
	if m.CID != "" {
		h.Set(broker.CIDHeader, m.CID)
	}
	return &natsio.Msg{Subject: subject, Data: body, Header: h}, nil
}

// Close lets go of the connection Run left open (closing it, if no
// channel shares it), once what was sent on it reached the server
// (within the connection's timeout).
func (p *publisher) Close() error {
	if sess := p.sess.Take(); sess != nil {
		sess.conn.nc.FlushTimeout(p.cfg.Timeout.D())
		sess.conn.release(p.cfg.Timeout.D())
	}
	return nil
}

// resolveOutgoing gives services the publisher with a name.
func resolveOutgoing(st registry.State, name string) (any, error) {
	v, ok := st.Running(OutgoingKind, name)
	if !ok {
		msg := fmt.Sprintf("no outgoing NATS connection named %q", name)
		if s := registry.Suggest(name, st.Names(OutgoingKind)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, errors.New(msg)
	}
	p := v.(*publisher)
	if !p.cfg.IsActive {
		return nil, service.ServiceUnavailable("outgoing NATS connection %q is inactive", name)
	}
	return p, nil
}

// pingAction connects to the server anew and says whether it answered
// a ping (and, for JetStream, whether JetStream is enabled).
var pingAction = registry.Action{
	Name: "ping",
	Doc:  `Connects to the server, as the connection does, and pings it (and, with jetstream, asks for its JetStream account); answers {"name", "cid", "target", "ok", "status", "time_ms", "error"}.`,
	Run: func(ctx context.Context, call *registry.Call) (any, error) {
		p := call.Running.(*publisher)
		start := time.Now()
		res := registry.PingResult{Name: call.Name, CID: call.CID, Target: p.cfg.Address}
		err := ping(ctx, p.e, p.cfg.JetStream)
		if err == nil {
			res.OK = true
		} else {
			res.Error = err.Error()
		}
		res.TimeMS = float64(time.Since(start).Microseconds()) / 1000
		return res, nil
	},
}

// ping connects, round-trips a ping and, with js, reads the account's
// JetStream information.
func ping(ctx context.Context, e endpoint, js bool) error {
	conn, err := e.dial()
	if err != nil {
		return err
	}
	defer conn.nc.Close()
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if err := conn.nc.FlushWithContext(ctx); err != nil {
		return err
	}
	if !js {
		return nil
	}
	j, err := jetstream.New(conn.nc)
	if err != nil {
		return err
	}
	if _, err := j.AccountInfo(ctx); err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}
	return nil
}
