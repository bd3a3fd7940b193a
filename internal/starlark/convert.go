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
	"strconv"
	"strings"

	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/internal/starlark/stdlib"
	"github.com/plexushq/plexus/sdk/service"
)

// maxDepth bounds the nesting of converted values, which also stops a
// list that contains itself.
const maxDepth = 1000

// ToStarlark converts a Go value (a payload, an invocation result) into a
// Starlark value. Maps become dicts with their keys sorted, slices lists,
// json.Number an int or float, and other types go through their JSON form.
func ToStarlark(v any) (sl.Value, error) { return toStarlark(v, 0) }

func toStarlark(v any, depth int) (sl.Value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value is nested more than %d levels deep", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		return sl.None, nil
	case sl.Value:
		return x, nil
	case bool:
		return sl.Bool(x), nil
	case string:
		return sl.String(x), nil
	case []byte:
		return sl.Bytes(x), nil
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
		return sl.MakeBigInt(x), nil
	case json.Number:
		return numberToStarlark(x)
	case map[string]any:
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
			sv, err := toStarlark(x[k], depth+1)
			if err != nil {
				return nil, err
			}
			d.SetKey(sl.String(k), sv)
		}
		return d, nil
	case service.Input:
		return toStarlark(map[string]any(x), depth)
	case map[string]string:
		d := sl.NewDict(len(x))
		for _, k := range sortedKeys(x) {
			d.SetKey(sl.String(k), sl.String(x[k]))
		}
		return d, nil
	case url.Values:
		return multiDict(x), nil
	case http.Header:
		return multiDict(url.Values(x)), nil
	case []any:
		elems := make([]sl.Value, len(x))
		for i, e := range x {
			sv, err := toStarlark(e, depth+1)
			if err != nil {
				return nil, err
			}
			elems[i] = sv
		}
		return sl.NewList(elems), nil
	case []string:
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
	var generic any
	dec := json.NewDecoder(bytesReader(data))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, fmt.Errorf("converting a %T to Starlark: %w", v, err)
	}
	if reflect.TypeOf(generic) == reflect.TypeOf(v) {
		return nil, fmt.Errorf("cannot convert a %T to Starlark", v)
	}
	return toStarlark(generic, depth)
}

func numberToStarlark(n json.Number) (sl.Value, error) {
	if !strings.ContainsAny(string(n), ".eE") {
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return sl.MakeInt64(i), nil
		}
		if b, ok := new(big.Int).SetString(string(n), 10); ok {
			return sl.MakeBigInt(b), nil
		}
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return nil, fmt.Errorf("converting number %s: %w", n, err)
	}
	return sl.Float(f), nil
}

// multiDict turns multi-valued maps (query strings, forms) into a dict
// where a key given once maps to a string and a repeated key to a list.
func multiDict(v url.Values) *sl.Dict {
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
	return d
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
// []any, ints int64 (or *big.Int when larger), bytes []byte.
func FromStarlark(v sl.Value) (any, error) { return fromStarlark(v, 0) }

func fromStarlark(v sl.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value is nested more than %d levels deep", maxDepth)
	}
	switch x := v.(type) {
	case sl.NoneType:
		return nil, nil
	case sl.Bool:
		return bool(x), nil
	case sl.Int:
		if i, ok := x.Int64(); ok {
			return i, nil
		}
		return x.BigInt(), nil
	case sl.Float:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%v cannot be sent as JSON", x)
		}
		return f, nil
	case sl.String:
		return string(x), nil
	case sl.Bytes:
		return []byte(x), nil
	case *sl.List:
		return listFrom(x.Len(), x.Index, depth)
	case sl.Tuple:
		return listFrom(x.Len(), x.Index, depth)
	case *sl.Set:
		out := make([]any, 0, x.Len())
		for e := range sl.Elements(x) {
			g, err := fromStarlark(e, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		return out, nil
	case *sl.Dict:
		out := make(map[string]any, x.Len())
		for key, val := range x.Entries() {
			k, ok := key.(sl.String)
			if !ok {
				return nil, fmt.Errorf("dict key %s is a %s; keys must be strings", key, key.Type())
			}
			g, err := fromStarlark(val, depth+1)
			if err != nil {
				return nil, err
			}
			out[string(k)] = g
		}
		return out, nil
	case *inputValue:
		return x.export(depth)
	case *modelInstance:
		return x.toGo(depth)
	case stdlib.Exporter:
		return x.Export(), nil
	case *starlarkstruct.Struct:
		d := sl.NewDict(len(x.AttrNames()))
		for _, name := range x.AttrNames() {
			av, _ := x.Attr(name)
			d.SetKey(sl.String(name), av)
		}
		return fromStarlark(d, depth)
	}
	return nil, fmt.Errorf("a %s cannot be sent as JSON", v.Type())
}

func listFrom(n int, index func(int) sl.Value, depth int) ([]any, error) {
	out := make([]any, n)
	for i := range n {
		g, err := fromStarlark(index(i), depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = g
	}
	return out, nil
}
