package nats

import (
	"fmt"

	natsio "github.com/nats-io/nats.go"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Dial connects to the server of an outgoing NATS connection, with its
// address and credentials, for the parts of Plexus that keep their own
// data in NATS (pub/sub topics on JetStream). It returns the connection's
// configuration too, which a caller compares to tell a changed one. The
// connection does not reconnect: once the server goes away it is closed
// (IsClosed), and the caller dials again.
func Dial(st registry.State, name string) (*natsio.Conn, registry.Object, error) {
	o, ok := st.Object(OutgoingKind, name)
	if !ok {
		return nil, nil, service.ServiceUnavailable("no outgoing NATS connection named %q", name)
	}
	cfg := o.(*Outgoing)
	if !cfg.IsActive {
		return nil, nil, service.ServiceUnavailable("outgoing NATS connection %q is inactive", name)
	}
	conn, err := endpointOf(OutgoingKind, cfg.Name, cfg.Address, cfg.Username, cfg.Password, cfg.Token).dial()
	if err != nil {
		return nil, nil, fmt.Errorf("outgoing NATS connection %q: %w", name, err)
	}
	return conn.nc, o, nil
}
