package wsx

import (
	"context"
	"fmt"
	"time"

	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/starlark"
	"github.com/plexushq/plexus/internal/starlark/memlimit"
	"github.com/plexushq/plexus/sdk/service"
)

// selfChannels is self.wsx.channel of every Starlark service: the
// WebSocket channels by name, each with broadcast(data) and
// invoke(client_id, data, timeout=5).
func selfChannels(c *service.Context) (sl.Value, error) {
	return &channels{c: c}, nil
}

// channels is self.wsx.channel.
type channels struct{ c *service.Context }

var _ sl.Mapping = (*channels)(nil)

func (*channels) String() string        { return "<wsx.channel>" }
func (*channels) Type() string          { return "wsx.channel" }
func (*channels) Freeze()               {}
func (*channels) Truth() sl.Bool        { return sl.True }
func (*channels) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: wsx.channel") }

func (w *channels) Get(k sl.Value) (sl.Value, bool, error) {
	name, ok := k.(sl.String)
	if !ok {
		return nil, false, fmt.Errorf("wsx.channel: channel names are strings, not %s", k.Type())
	}
	h, err := service.Resource[*Hub](w.c, ChannelKind, string(name))
	if err != nil {
		return nil, false, err
	}
	return starlarkHub(w.c, h), true, nil
}

func starlarkHub(c *service.Context, h *Hub) sl.Value {
	broadcast := sl.NewBuiltin("broadcast", func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var data sl.Value
		if err := sl.UnpackArgs(b.Name(), args, kwargs, "data", &data); err != nil {
			return nil, err
		}
		d, err := broker.StarlarkData(memlimit.Of(th), data)
		if err != nil {
			return nil, fmt.Errorf("%s: data: %w", b.Name(), err)
		}
		return sl.None, h.Broadcast(d)
	})
	invoke := sl.NewBuiltin("invoke", func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var id string
		var data sl.Value
		timeout := sl.Value(sl.MakeInt(5))
		if err := sl.UnpackArgs(b.Name(), args, kwargs, "client_id", &id, "data", &data, "timeout?", &timeout); err != nil {
			return nil, err
		}
		secs, ok := sl.AsFloat(timeout)
		if !ok || secs <= 0 || secs > 600 {
			return nil, fmt.Errorf("%s: timeout: want seconds between 0 and 600", b.Name())
		}
		a := memlimit.Of(th)
		d, err := broker.StarlarkData(a, data)
		if err != nil {
			return nil, fmt.Errorf("%s: data: %w", b.Name(), err)
		}
		v, err := h.Invoke(c, id, d, time.Duration(secs*float64(time.Second)))
		if err != nil {
			return nil, err
		}
		return starlark.ToStarlark(a, v)
	})
	return starlarkstruct.FromStringDict(sl.String("wsx.channel"), sl.StringDict{
		"name": sl.String(h.name), "broadcast": broadcast, "invoke": invoke})
}

// Admin actions on a channel.
var (
	clientsAction = registry.Action{
		Name: "clients",
		Doc:  `Lists the clients connected to this server: {"clients": [{"id", "name", "user", "remote_addr", "connected_at", "messages_in", "messages_out"}]}, oldest first.`,
		Run: func(_ context.Context, call *registry.Call) (any, error) {
			h, ok := call.Running.(*Hub)
			if !ok {
				return map[string]any{"clients": []ClientInfo{}}, nil
			}
			return map[string]any{"clients": h.Clients()}, nil
		},
	}
	disconnectAction = registry.Action{
		Name: "disconnect",
		Doc:  `Disconnects the client of {"client_id": "…"}, closing its connection with status 1008 and reason "disconnected by an administrator"; 404 when no such client is connected to this server.`,
		Run: func(_ context.Context, call *registry.Call) (any, error) {
			var in struct {
				ClientID string `json:"client_id"`
			}
			if err := call.DecodeBody(&in, `{"client_id": "…"}`); err != nil {
				return nil, err
			}
			if in.ClientID == "" {
				return nil, service.BadRequest(`Expected {"client_id": "…"}`)
			}
			h, ok := call.Running.(*Hub)
			if !ok || !h.Disconnect(in.ClientID, "disconnected by an administrator") {
				return nil, service.NotFound("no client %q is connected to WebSocket channel %q", in.ClientID, call.Name)
			}
			call.Logger.Info("WebSocket client disconnected by an administrator", "cid", call.CID, "channel", call.Name, "client", in.ClientID)
			return map[string]any{"client_id": in.ClientID, "disconnected": true}, nil
		},
	}
)
