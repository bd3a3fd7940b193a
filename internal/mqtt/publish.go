package mqtt

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt3 "github.com/eclipse/paho.mqtt.golang"
	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// publisher is the running form of an outgoing MQTT connection: its Run
// keeps a client connected, which sends publish on. It is safe for
// concurrent use.
type publisher struct {
	cfg *Outgoing
	e   endpoint

	client  *broker.Session[*paho.Client]
	client3 *broker.Session[mqtt3.Client] // with MQTT 3.1.1
}

func provisionOutgoing(env *registry.Env, obj registry.Object) (any, error) {
	cfg := obj.(*Outgoing)
	id := cfg.ClientID
	if id == "" {
		id = "plexus-out-" + cfg.Name
	}
	user, pass, err := broker.Login(env, "security", cfg.Security, cfg.Username, cfg.Password)
	if err != nil {
		return nil, err
	}
	unreachable := fmt.Sprintf("outgoing MQTT connection %q: the broker could not be reached in time", cfg.Name)
	return &publisher{cfg: cfg,
		client:  broker.NewSession(unreachable, func(c *paho.Client) bool { return !isDone(c) }),
		client3: broker.NewSession(unreachable, func(c mqtt3.Client) bool { return c.IsConnectionOpen() }),
		e:       endpoint{address: cfg.Address, username: user, password: pass, clientID: id, keepAlive: cfg.KeepAlive.D()}}, nil
}

// Run keeps the client connected until ctx ends; it returns the error
// that lost the connection, and the runtime connects again after a
// back-off.
func (p *publisher) Run(ctx context.Context, st *registry.Status) error {
	if !p.cfg.IsActive {
		return nil
	}
	if p.cfg.ProtocolVersion == Version311 {
		return p.run311(ctx, st)
	}
	c, err := p.e.connect(ctx, session{cleanStart: true})
	if err != nil {
		p.client.Failed(err)
		return err
	}
	p.client.Up(c)
	st.Running()
	select {
	case <-ctx.Done():
		err = nil
	case <-c.Done():
		err = errors.New("the connection to the broker was lost")
	}
	p.client.Down(err)
	if err == nil {
		disconnectClient(c)
	}
	return err
}

// run311 is Run with MQTT 3.1.1.
func (p *publisher) run311(ctx context.Context, st *registry.Status) error {
	c, lost, err := p.e.connect311(true, nil)
	if err != nil {
		p.client3.Failed(err)
		return err
	}
	p.client3.Up(c)
	st.Running()
	select {
	case <-ctx.Done():
		err = nil
	case <-lost:
		err = errLost
	}
	p.client3.Down(err)
	c.Disconnect(250)
	return err
}

// send311 publishes with MQTT 3.1.1, again on the next connection when
// one is lost before the broker acknowledged the message.
func (p *publisher) send311(ctx context.Context, pub *paho.Publish) error {
	for {
		c, err := p.client3.Wait(ctx)
		if err != nil {
			return err
		}
		err = publish311(ctx, c, pub)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return service.NewError(http.StatusGatewayTimeout, "outgoing MQTT connection %q: the broker did not acknowledge the message in time", p.cfg.Name)
		}
	}
}

// isDone reports a client whose connection was lost.
func isDone(c *paho.Client) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

// SendMessage publishes a message and returns once the broker
// acknowledged it as its QoS says, within the connection's timeout. A
// message of QoS 1 or 2 the connection lost before the broker
// acknowledged it is sent again once it is back, so it may reach the
// broker twice, never none.
func (p *publisher) SendMessage(ctx context.Context, m *service.OutMessage) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout.D())
	defer cancel()
	pub := &paho.Publish{Topic: p.cfg.Topic, QoS: byte(p.cfg.QoS), Retain: p.cfg.Retain, Properties: &paho.PublishProperties{}}
	if m.Topic != "" {
		pub.Topic = m.Topic
	}
	if pub.Topic == "" {
		return service.BadRequest("outgoing MQTT connection %q has no topic: name one in send", p.cfg.Name)
	}
	if m.QoS != nil {
		if *m.QoS < 0 || *m.QoS > 2 {
			return service.BadRequest("QoS %d: use 0, 1 or 2", *m.QoS)
		}
		pub.QoS = byte(*m.QoS)
	}
	if m.Retain != nil {
		pub.Retain = *m.Retain
	}
	var err error
	if pub.Payload, pub.Properties.ContentType, err = broker.Payload(m.Data); err != nil {
		return service.BadRequest("%v", err)
	}
	for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
		pub.Properties.User = append(pub.Properties.User, paho.UserProperty{Key: k, Value: fmt.Sprint(m.Headers[k])})
	}
	if p.cfg.ProtocolVersion == Version311 {
		if len(m.Headers) > 0 {
			return service.BadRequest("outgoing MQTT connection %q speaks MQTT 3.1.1, whose messages carry no headers", p.cfg.Name)
		}
		return p.send311(ctx, pub)
	}
	if m.CID != "" {
		pub.Properties.User = append(pub.Properties.User, paho.UserProperty{Key: broker.CIDHeader, Value: m.CID})
	}
	for {
		c, err := p.client.Wait(ctx)
		if err != nil {
			return err
		}
		resp, err := c.Publish(ctx, pub)
		switch {
		case err == nil:
			return nil
		case resp != nil && resp.ReasonCode >= 0x80:
			return service.NewError(http.StatusBadGateway, "outgoing MQTT connection %q: the broker refused the message (reason %d %s)", p.cfg.Name, resp.ReasonCode, resp.Properties.ReasonString)
		case ctx.Err() != nil:
			return service.NewError(http.StatusGatewayTimeout, "outgoing MQTT connection %q: the broker did not acknowledge the message within %s", p.cfg.Name, p.cfg.Timeout.D())
		case pub.QoS == 0:
			return service.NewError(http.StatusBadGateway, "outgoing MQTT connection %q: %v", p.cfg.Name, err)
		}
		select { // the connection was lost: send again once it is back
		case <-c.Done():
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Close disconnects the client, if Run left it connected.
func (p *publisher) Close() error {
	if c := p.client.Current(); c != nil {
		disconnectClient(c)
	}
	return nil
}

// resolveOutgoing gives services the publisher with a name.
func resolveOutgoing(st registry.State, name string) (any, error) {
	v, ok := st.Running(OutgoingKind, name)
	if !ok {
		msg := fmt.Sprintf("no outgoing MQTT connection named %q", name)
		if s := registry.Suggest(name, st.Names(OutgoingKind)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, errors.New(msg)
	}
	p := v.(*publisher)
	if !p.cfg.IsActive {
		return nil, service.ServiceUnavailable("outgoing MQTT connection %q is inactive", name)
	}
	return p, nil
}

// starlarkOutgoing is self.out.mqtt["Name"] of a Starlark service:
// send(data, topic=None, qos=None, retain=None, headers=None, cid=None)
// publishes and returns None once the broker acknowledged the message.
func starlarkOutgoing(c *service.Context, name string, resource any) (sl.Value, error) {
	p := resource.(*publisher)
	send := sl.NewBuiltin("send", func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var data, qos, retain sl.Value = nil, sl.None, sl.None
		var topic, id string
		var headers *sl.Dict
		if err := sl.UnpackArgs(b.Name(), args, kwargs, "data", &data, "topic?", &topic, "qos?", &qos, "retain?", &retain,
			"headers?", &headers, "cid?", &id); err != nil {
			return nil, err
		}
		m := &service.OutMessage{SendOptions: service.SendOptions{Topic: topic, CID: id}}
		if qos != sl.None {
			n, err := sl.AsInt32(qos)
			if err != nil {
				return nil, fmt.Errorf("%s: qos: %w", b.Name(), err)
			}
			q := int(n)
			m.QoS = &q
		}
		if retain != sl.None {
			r := bool(retain.Truth())
			m.Retain = &r
		}
		return broker.Send(th, b.Name(), c, p, m, data, headers)
	})
	return starlarkstruct.FromStringDict(sl.String("mqtt"), sl.StringDict{"name": sl.String(name), "send": send}), nil
}

// pingAction connects to the broker anew and says whether it answered.
var pingAction = registry.Action{
	Name: "ping",
	Doc:  `Connects to the broker, as the connection does, and answers {"name", "cid", "target", "ok", "status", "time_ms", "error"}.`,
	Run: func(ctx context.Context, call *registry.Call) (any, error) {
		p := call.Running.(*publisher)
		start := time.Now()
		res := registry.PingResult{Name: call.Name, CID: call.CID, Target: p.cfg.Address}
		e := p.e
		e.clientID += "-ping"
		var err error
		if p.cfg.ProtocolVersion == Version311 {
			var c mqtt3.Client
			if c, _, err = e.connect311(true, nil); err == nil {
				c.Disconnect(250)
			}
		} else {
			var c *paho.Client
			if c, err = e.connect(ctx, session{cleanStart: true}); err == nil {
				disconnectClient(c)
			}
		}
		if err == nil {
			res.OK = true
		} else {
			res.Error = err.Error()
		}
		res.TimeMS = float64(time.Since(start).Microseconds()) / 1000
		return res, nil
	},
}
