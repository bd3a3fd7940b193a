package kvdb

import (
	"fmt"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Kind is the resource id of the key-value database.
const Kind = service.KindKVDB

// Resolve returns the Conn of self.kvdb.conn in a state: the Redis
// connection plexus.yaml kvdb.redis names, or the embedded store. The
// kind that declares the Redis connections registers it as a resource.
func Resolve(st registry.State, _ string) (any, error) {
	env := st.Env()
	if env != nil && env.Settings != nil && env.Settings.KVDB.Redis != "" {
		name := env.Settings.KVDB.Redis
		r := registry.Resolver(service.KindOutgoingRedis)
		if r == nil {
			return nil, service.ServiceUnavailable("The key-value database is Redis connection %q, and this server has no Redis connections", name)
		}
		c, err := r(st, name)
		if err != nil {
			return nil, fmt.Errorf("kvdb.redis: %w", err)
		}
		return c, nil
	}
	e, ok := registry.Subsystem[*Embedded](env)
	if !ok {
		return nil, service.ServiceUnavailable("The embedded key-value store is not available on this server")
	}
	return e, nil
}

// Self is self.kvdb.conn of a Starlark service: the key-value database,
// resolved in the configuration current when the service first uses it.
func Self(c *service.Context) (sl.Value, error) {
	res, err := c.Platform().Resource(c, Kind, "")
	if err != nil {
		return nil, err
	}
	conn, ok := res.(Conn)
	if !ok {
		return nil, fmt.Errorf("the key-value database is a %T, not a connection", res)
	}
	return newStarlarkConn(c, conn, "kvdb"), nil
}
