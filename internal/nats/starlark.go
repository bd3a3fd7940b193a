package nats

import (
	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/sdk/service"
)

// starlarkOutgoing is self.out.nats["Name"] of a Starlark service:
// send(data, subject=None, headers=None, cid=None) publishes and returns
// None once the server (or, with jetstream, a stream) has the message.
func starlarkOutgoing(c *service.Context, name string, resource any) (sl.Value, error) {
	p := resource.(*publisher)
	send := sl.NewBuiltin("send", func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var data sl.Value
		var subject, id string
		var headers *sl.Dict
		if err := sl.UnpackArgs(b.Name(), args, kwargs, "data", &data, "subject?", &subject,
			"headers?", &headers, "cid?", &id); err != nil {
			return nil, err
		}
		m := &service.OutMessage{SendOptions: service.SendOptions{Subject: subject, CID: id}}
		return broker.Send(th, b.Name(), c, p, m, data, headers)
	})
	return starlarkstruct.FromStringDict(sl.String("nats"), sl.StringDict{"name": sl.String(name), "send": send}), nil
}
