package broker

import (
	"fmt"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/starlark"
	"github.com/plexushq/plexus/internal/starlark/memlimit"
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
