package memlimit

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/jsonlimit"
)

// DecodeJSON makes Starlark values from one JSON document, charging a for
// each before it is made, so that a document costs no more than the
// allowance whatever its shape: objects become dicts (their keys sorted,
// or in the document's order), arrays lists, numbers ints (of any size)
// or floats.
func DecodeJSON(a *Allowance, src string, lim jsonlimit.Limits, sortKeys bool) (sl.Value, error) {
	return jsonlimit.Parse[sl.Value](src, lim, &jsonBuilder{a: a, sortKeys: sortKeys})
}

// jsonBuilder makes Starlark values for jsonlimit.Parse.
type jsonBuilder struct {
	a        *Allowance
	sortKeys bool
	order    []int
}

const decodingJSON = "decoding JSON"

func (b *jsonBuilder) Null() (sl.Value, error)       { return sl.None, nil }
func (b *jsonBuilder) Bool(v bool) (sl.Value, error) { return sl.Bool(v), nil }

func (b *jsonBuilder) String(s string) (sl.Value, error) {
	return sl.String(s), b.a.Charge(stringHeader, decodingJSON)
}

func (b *jsonBuilder) Number(lit string) (sl.Value, error) {
	return NumberValue(b.a, lit)
}

// NumberValue converts a JSON number: an int when it has no fraction or
// exponent, else a float.
func NumberValue(a *Allowance, lit string) (sl.Value, error) {
	if !strings.ContainsAny(lit, ".eE") {
		if i, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return sl.MakeInt64(i), nil
		}
		if err := a.Charge(bigIntCost(int64(len(lit))*4), decodingJSON); err != nil {
			return nil, err
		}
		if n, ok := new(big.Int).SetString(lit, 10); ok {
			return sl.MakeBigInt(n), nil
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return nil, fmt.Errorf("converting number %s: %w", lit, err)
	}
	return sl.Float(f), nil
}

func (b *jsonBuilder) Array(elems []sl.Value) (sl.Value, error) {
	if err := b.a.Charge(ListCost(int64(len(elems))), decodingJSON); err != nil {
		return nil, err
	}
	return sl.NewList(slices.Clone(elems)), nil
}

func (b *jsonBuilder) Object(keys []string, vals []sl.Value) (sl.Value, error) {
	n := int64(len(keys))
	if err := b.a.Charge(sat(DictCost(n), satMul(n, stringHeader)), decodingJSON); err != nil {
		return nil, err
	}
	d := sl.NewDict(len(keys))
	if !b.sortKeys {
		for i, k := range keys {
			d.SetKey(sl.String(k), vals[i])
		}
		return d, nil
	}
	b.order = b.order[:0]
	for i := range keys {
		b.order = append(b.order, i)
	}
	// Stable, so that of repeated keys the last one still wins.
	slices.SortStableFunc(b.order, func(i, j int) int { return strings.Compare(keys[i], keys[j]) })
	for _, i := range b.order {
		d.SetKey(sl.String(keys[i]), vals[i])
	}
	return d, nil
}
