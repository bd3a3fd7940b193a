package amqp

import (
	"fmt"

	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/internal/starlark/memlimit"
	"github.com/plexushq/plexus/sdk/service"
)

// starlarkOutgoing is self.out.amqp["Name"] of a Starlark service:
// send(data, exchange=None, routing_key=None, headers=None,
// properties=None, cid=None) publishes and returns None once the broker
// confirmed the message, as Zato's self.out.amqp.send does.
func starlarkOutgoing(c *service.Context, name string, resource any) (sl.Value, error) {
	p := resource.(*publisher)
	send := sl.NewBuiltin("send", func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var data sl.Value
		var exchange, key, id string
		var headers, props *sl.Dict
		if err := sl.UnpackArgs(b.Name(), args, kwargs, "data", &data, "exchange?", &exchange, "routing_key?", &key,
			"headers?", &headers, "properties?", &props, "cid?", &id); err != nil {
			return nil, err
		}
		m := &service.OutMessage{SendOptions: service.SendOptions{Exchange: exchange, RoutingKey: key, CID: id}}
		var err error
		if m.Properties, err = broker.StarlarkDict(memlimit.Of(th), props); err != nil {
			return nil, fmt.Errorf("%s: properties: %w", b.Name(), err)
		}
		return broker.Send(th, b.Name(), c, p, m, data, headers)
	})
	return starlarkstruct.FromStringDict(sl.String("amqp"), sl.StringDict{"name": sl.String(name), "send": send}), nil
}
