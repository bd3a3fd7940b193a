package broker

import (
	"context"
	"fmt"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/starlark"
	"github.com/plexushq/plexus/internal/starlark/memlimit"
	"github.com/plexushq/plexus/sdk/service"
)

// StarlarkData converts what a Starlark service sends: bytes and strings
// as they are, anything else to Go values sent as JSON, charged to the
// invocation's allowance.
func StarlarkData(a *memlimit.Allowance, v sl.Value) (any, error) {
	switch x := v.(type) {
	case sl.Bytes:
		return []byte(x), nil
	case sl.String:
		return string(x), nil
	}
	return starlark.FromStarlark(a, v)
}

// StarlarkDict converts an optional dict of headers or properties.
func StarlarkDict(a *memlimit.Allowance, d *sl.Dict) (map[string]any, error) {
	if d == nil {
		return nil, nil
	}
	v, err := starlark.FromStarlark(a, d)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a dict with string keys")
	}
	return m, nil
}

// Sender sends a message a service built: the running form of every
// outgoing broker connection is one.
type Sender interface {
	SendMessage(ctx context.Context, m *service.OutMessage) error
}

// Send ends the send(data, …, headers=…) of a Starlark service: it
// converts data and headers into m, whose cid is the invocation's unless
// the call named one, charged to the invocation's allowance, and sends it
// through s, returning None once the broker has it. fn names the call in
// errors.
func Send(th *sl.Thread, fn string, c *service.Context, s Sender, m *service.OutMessage, data sl.Value, headers *sl.Dict) (sl.Value, error) {
	if m.CID == "" {
		m.CID = c.CID
	}
	a := memlimit.Of(th)
	var err error
	if m.Data, err = StarlarkData(a, data); err != nil {
		return nil, fmt.Errorf("%s: data: %w", fn, err)
	}
	if m.Headers, err = StarlarkDict(a, headers); err != nil {
		return nil, fmt.Errorf("%s: headers: %w", fn, err)
	}
	if err := s.SendMessage(c, m); err != nil {
		return nil, err
	}
	return sl.None, nil
}
