package pubsub

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/kind"
	"github.com/plexushq/plexus/sdk/service"
)

// resourcePubSub is the resource services publish through.
const resourcePubSub = service.KindPubSub

// resolveEngine returns what Go services publish through.
func resolveEngine(st registry.State, _ string) (any, error) {
	e, ok := registry.Subsystem[*Engine](st.Env())
	if !ok {
		return nil, service.ServiceUnavailable("this server has no publish/subscribe")
	}
	return servicePublisher{e}, nil
}

// servicePublisher publishes for services: the service is the publisher,
// its cid the message's.
type servicePublisher struct{ e *Engine }

func (p servicePublisher) Publish(ctx context.Context, c *service.Context, topic string, data any, opts service.PublishOptions) (string, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return "", fmt.Errorf("publish: the data is not JSON: %w", err)
	}
	req := PublishRequest{Topic: topic, Data: raw, Expiration: opts.Expiration, CorrelID: opts.CorrelID, InReplyTo: opts.InReplyTo,
		ExtClientID: opts.ExtClientID, CID: c.CID, Publisher: c.Name}
	if opts.Priority != 0 {
		req.Priority = &opts.Priority
	}
	return p.e.Publish(ctx, req)
}

// selfAttrs are the Starlark self attributes of the kind.
var selfAttrs = map[string]registry.SelfFunc{"publish": selfPublish}

// selfPublish is self.publish(topic, data, priority=5, expiration=None,
// correl_id=None, in_reply_to=None, ext_client_id=None): it returns the
// message id. Expiration is in seconds, as in Zato.
func selfPublish(c *service.Context) (sl.Value, error) {
	return sl.NewBuiltin("publish", func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var topic string
		var data sl.Value
		priority := DefaultPriority
		var expiration sl.Value = sl.None
		var correl, inReplyTo, extClient string
		if err := sl.UnpackArgs(b.Name(), args, kwargs, "topic", &topic, "data", &data, "priority?", &priority, "expiration?", &expiration,
			"correl_id?", &correl, "in_reply_to?", &inReplyTo, "ext_client_id?", &extClient); err != nil {
			return nil, err
		}
		v, err := kind.FromStarlark(th, data)
		if err != nil {
			return nil, fmt.Errorf("publish: %w", err)
		}
		opts := service.PublishOptions{CorrelID: correl, InReplyTo: inReplyTo, ExtClientID: extClient}
		if priority != DefaultPriority {
			opts.Priority = priority
			if priority < 1 || priority > MaxPriority {
				opts.Priority = DefaultPriority
			}
		}
		if expiration != sl.None {
			secs, ok := sl.AsFloat(expiration)
			if !ok {
				return nil, fmt.Errorf("publish: expiration is a number of seconds, not %s", expiration.Type())
			}
			opts.Expiration = time.Duration(secs * float64(time.Second))
		}
		id, err := c.Publish(topic, v, opts)
		if err != nil {
			return nil, err
		}
		return sl.String(id), nil
	}), nil
}
