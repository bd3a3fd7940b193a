package amqp

import (
	"fmt"

	"github.com/rabbitmq/amqp091-go"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Dial connects to the broker of an outgoing AMQP connection, with its
// address and credentials, for the parts of Plexus that keep their own
// data in the broker (pub/sub topics on RabbitMQ). It returns the
// connection's configuration too, which a caller compares to tell a
// changed one. The connection does not reconnect: once the broker goes
// away it is closed (IsClosed), and the caller dials again.
func Dial(st registry.State, name string) (*amqp091.Connection, registry.Object, error) {
	o, ok := st.Object(OutgoingKind, name)
	if !ok {
		return nil, nil, service.ServiceUnavailable("no outgoing AMQP connection named %q", name)
	}
	cfg := o.(*Outgoing)
	if !cfg.IsActive {
		return nil, nil, service.ServiceUnavailable("outgoing AMQP connection %q is inactive", name)
	}
	user, pass, err := broker.Login(st.Env(), "security", cfg.Security, cfg.Username, cfg.Password)
	if err != nil {
		return nil, nil, err
	}
	conn, err := brokerOf(OutgoingKind, cfg.Name, cfg.Address, user, pass, cfg.Heartbeat.D()).dial()
	if err != nil {
		return nil, nil, fmt.Errorf("outgoing AMQP connection %q: %w", name, err)
	}
	return conn, o, nil
}
