package starlark

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"

	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/internal/jsonlimit"
	"github.com/plexushq/plexus/internal/starlark/memlimit"
	"github.com/plexushq/plexus/internal/starlark/stdlib"
	"github.com/plexushq/plexus/sdk/service"
)

// maxDepth bounds the nesting of converted values, which also stops a
// list that contains itself.
const maxDepth = memlimit.MaxDepth

// rawLimits decode a jsonlimit.Raw, which was checked against the
// server's limits already.
var rawLimits = jsonlimit.Limits{MaxDepth: math.MaxInt, MaxValues: math.MaxInt}

// converting is what conversions charge the allowance for.
const converting = "converting a value for Starlark"

// ToStarlark converts a Go value (a payload, an invocation result) into a
// Starlark value, charging a (nil: unlimited) for each value it makes.
// Maps become dicts with their keys sorted, slices lists, json.Number an
// int or float, a jsonlimit.Raw what its JSON holds, and other types go
// through their JSON form.
func ToStarlark(a *memlimit.Allowance, v any) (sl.Value, error) { return toStarlark(a, v, 0) }

func toStarlark(a *memlimit.Allowance, v any, depth int) (sl.Value, error) {
	if depth > maxDepth {
		return nil, memlimit.ErrTooDeep
	}
	switch x := v.(type) {
	case nil:
		return sl.None, nil
	case sl.Value:
		return x, nil
	case bool:
		return sl.Bool(x), nil
	case string:
		return sl.String(x), a.Charge(memlimit.StringCost(0), converting)
	case []byte:
		return sl.Bytes(x), a.Charge(memlimit.StringCost(int64(len(x))), converting)
	case jsonlimit.Raw:
		return memlimit.DecodeJSON(a, string(x), rawLimits, true)
	case int:
		return sl.MakeInt(x), nil
	case int64:
		return sl.MakeInt64(x), nil
	case int32:
		return sl.MakeInt64(int64(x)), nil
	case uint64:
		return sl.MakeUint64(x), nil
	case float64:
		return sl.Float(x), nil
	case float32:
		return sl.Float(x), nil
	case *big.Int:
		return sl.MakeBigInt(x), a.Charge(memlimit.IntCost(sl.MakeBigInt(x)), converting)
	case json.Number:
		return memlimit.NumberValue(a, string(x))
	case map[string]any:
		if err := a.Charge(dictCost(len(x)), converting); err != nil {
			return nil, err
		}
		// Keys sorted, so dicts iterate the same way every time; small
		// maps sort on the stack.
		var buf [16]string
		keys := buf[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		d := sl.NewDict(len(x))
		for _, k := range keys {
			sv, err := toStarlark(a, x[k], depth+1)
			if err != nil {
				return nil, err
			}
			d.SetKey(sl.String(k), sv)
		}
		return d, nil
	case service.Input:
		return toStarlark(a, map[string]any(x), depth)
	case map[string]string:
		if err := a.Charge(dictCost(len(x))+int64(len(x))*memlimit.StringCost(0), converting); err != nil {
			return nil, err
		}
		d := sl.NewDict(len(x))
		for _, k := range sortedKeys(x) {
			d.SetKey(sl.String(k), sl.String(x[k]))
		}
		return d, nil
	case url.Values:
		return multiDict(a, x)
	case http.Header:
		return multiDict(a, url.Values(x))
	case []any:
		if err := a.Charge(memlimit.ListCost(int64(len(x))), converting); err != nil {
			return nil, err
		}
		elems := make([]sl.Value, len(x))
		for i, e := range x {
			sv, err := toStarlark(a, e, depth+1)
			if err != nil {
				return nil, err
			}
			elems[i] = sv
		}
		return sl.NewList(elems), nil
	case []string:
		if err := a.Charge(memlimit.ListCost(int64(len(x)))+int64(len(x))*memlimit.StringCost(0), converting); err != nil {
			return nil, err
		}
		elems := make([]sl.Value, len(x))
		for i, e := range x {
			elems[i] = sl.String(e)
		}
		return sl.NewList(elems), nil
	}
	// Structs and other types: through their JSON form.
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("converting a %T to Starlark: %w", v, err)
	}
	if err := a.Charge(int64(len(data)), converting); err != nil {
		return nil, err
	}
	generic, err := jsonlimit.Decode(data, rawLimits)
	if err != nil {
		return nil, fmt.Errorf("converting a %T to Starlark: %w", v, err)
	}
	if reflect.TypeOf(generic) == reflect.TypeOf(v) {
		return nil, fmt.Errorf("cannot convert a %T to Starlark", v)
	}
	return toStarlark(a, generic, depth)
}

// dictCost is what a dict of n string keys takes.
func dictCost(n int) int64 {
	return memlimit.DictCost(int64(n)) + int64(n)*memlimit.StringCost(0)
}

// multiDict turns multi-valued maps (query strings, forms) into a dict
// where a key given once maps to a string and a repeated key to a list.
func multiDict(a *memlimit.Allowance, v url.Values) (*sl.Dict, error) {
	n := dictCost(len(v))
	for _, vs := range v {
		n += int64(len(vs)) * memlimit.StringCost(0)
		if len(vs) > 1 {
			n += memlimit.ListCost(int64(len(vs)))
		}
	}
	if err := a.Charge(n, converting); err != nil {
		return nil, err
	}
	d := sl.NewDict(len(v))
	for _, k := range sortedKeys(v) {
		vs := v[k]
		if len(vs) == 1 {
			d.SetKey(sl.String(k), sl.String(vs[0]))
			continue
		}
		elems := make([]sl.Value, len(vs))
		for i, s := range vs {
			elems[i] = sl.String(s)
		}
		d.SetKey(sl.String(k), sl.NewList(elems))
	}
	return d, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// FromStarlark converts a Starlark value into a Go value that encodes as
// JSON: dicts (with string keys) become map[string]any, lists and tuples
// []any, ints int64 (or *big.Int when larger), bytes []byte. It charges a
// (nil: unlimited) for each value it makes and for the text of its
// strings, so that neither the Go value nor its JSON can be larger than
// the allowance, however often the Starlark value holds the same list.
func FromStarlark(a *memlimit.Allowance, v sl.Value) (any, error) {
	return (&exporter{a: a}).value(v, 0)
}

// exporter converts Starlark values into Go values.
type exporter struct {
	a      *memlimit.Allowance
	decode *jsonlimit.GoBuilder // made on first use
}

// exporting is what exports charge the allowance for.
const exporting = "converting a Starlark value"

func (e *exporter) charge(n int64) error { return e.a.Charge(n, exporting) }

func (e *exporter) value(v sl.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, memlimit.ErrTooDeep
	}
	switch x := v.(type) {
	case sl.NoneType:
		return nil, nil
	case sl.Bool:
		return bool(x), nil
	case sl.Int:
		if i, ok := x.Int64(); ok {
			return i, e.charge(scalarCost)
		}
		return x.BigInt(), e.charge(memlimit.IntCost(x))
	case sl.Float:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%v cannot be sent as JSON", x)
		}
		return f, e.charge(scalarCost)
	case sl.String:
		return string(x), e.charge(scalarCost + int64(len(x)))
	case sl.Bytes:
		return []byte(x), e.charge(jsonlimit.SliceCost(0) + 2*int64(len(x)))
	case *sl.List:
		return e.list(x.Len(), x.Index, depth)
	case sl.Tuple:
		return e.list(x.Len(), x.Index, depth)
	case *sl.Set:
		if err := e.charge(jsonlimit.SliceCost(x.Len())); err != nil {
			return nil, err
		}
		out := make([]any, 0, x.Len())
		for el := range sl.Elements(x) {
			g, err := e.value(el, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		return out, nil
	case *sl.Dict:
		if err := e.charge(jsonlimit.MapCost(x.Len())); err != nil {
			return nil, err
		}
		out := make(map[string]any, x.Len())
		for key, val := range x.Entries() {
			k, ok := key.(sl.String)
			if !ok {
				return nil, fmt.Errorf("dict key %s is a %s; keys must be strings", key, key.Type())
			}
			if err := e.charge(int64(len(k))); err != nil {
				return nil, err
			}
			g, err := e.value(val, depth+1)
			if err != nil {
				return nil, err
			}
			out[string(k)] = g
		}
		return out, nil
	case *inputValue:
		return x.export(e, depth)
	case *payloadValue:
		return e.value(x.d, depth)
	case *modelInstance:
		return e.value(x.fields, depth)
	case stdlib.Exporter:
		return x.Export(), nil
	case *starlarkstruct.Struct:
		d := sl.NewDict(len(x.AttrNames()))
		for _, name := range x.AttrNames() {
			av, _ := x.Attr(name)
			d.SetKey(sl.String(name), av)
		}
		return e.value(d, depth)
	}
	return nil, fmt.Errorf("a %s cannot be sent as JSON", v.Type())
}

// scalarCost is what a number or a string's header takes in an
// interface.
const scalarCost = 16

func (e *exporter) list(n int, index func(int) sl.Value, depth int) ([]any, error) {
	if err := e.charge(jsonlimit.SliceCost(n)); err != nil {
		return nil, err
	}
	out := make([]any, n)
	for i := range n {
		g, err := e.value(index(i), depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = g
	}
	return out, nil
}

// raw decodes a jsonlimit.Raw into Go values, charging them.
func (e *exporter) raw(r jsonlimit.Raw) (any, error) {
	if e.decode == nil {
		e.decode = &jsonlimit.GoBuilder{Charge: e.charge}
	}
	return jsonlimit.Parse[any](string(r), rawLimits, e.decode)
}
