package jsonlimit

import (
	"encoding/json"
	"math/bits"
	"unsafe"
)

// Decode parses one JSON document into the Go values encoding/json gives
// with UseNumber: map[string]any, []any, string, json.Number, bool, nil.
// It copies data once; the strings of the result share that copy.
func Decode(data []byte, lim Limits) (any, error) {
	return Parse(string(data), lim, &GoBuilder{})
}

// GoCost checks that data is one JSON document within the limits and
// returns about how many bytes of memory Decode's result would take,
// without making it.
func GoCost(data []byte, lim Limits) (int64, error) {
	c := &costBuilder{}
	p := parser[struct{}]{maxDepth: lim.maxDepth(), maxValues: lim.maxValues(), b: c, raw: true}
	if len(data) > 0 {
		p.src = unsafe.String(&data[0], len(data))
	}
	if _, err := p.document(); err != nil {
		return 0, err
	}
	// The parser's stacks double as they grow: the largest, and the one it
	// was copied from, are alive at once.
	scratch := 3 * slotSize * int64(p.peakElems+p.peakKeys)
	return c.total + int64(len(data)+p.copied) + scratch, nil
}

// Sizes of Go values, for estimates: an interface holding a string or a
// json.Number (its boxed header), a slice element, a map's header and one
// of its slots.
const (
	boxSize     = 16
	sliceHeader = 24
	slotSize    = 16
	mapHeader   = 48
	mapSlot     = 36
)

// MapCost is about how many bytes a map[string]any of n entries takes.
func MapCost(n int) int64 {
	if n == 0 {
		return mapHeader
	}
	slots := 8
	if n > 7 {
		slots = 1 << bits.Len(uint(n*8/7))
	}
	return mapHeader + int64(slots)*mapSlot
}

// SliceCost is about how many bytes a []any of n elements held in an
// interface takes.
func SliceCost(n int) int64 { return sliceHeader + int64(n)*slotSize }

// GoBuilder makes Go values. Its zero value is ready to use; Charge, when
// set, is told the bytes each value takes before it is made, and can stop
// the decoding with an error.
type GoBuilder struct {
	Charge func(bytes int64) error
}

func (b *GoBuilder) charge(n int64) error {
	if b.Charge == nil {
		return nil
	}
	return b.Charge(n)
}

func (b *GoBuilder) Null() (any, error)       { return nil, nil }
func (b *GoBuilder) Bool(v bool) (any, error) { return v, nil }

func (b *GoBuilder) Number(lit string) (any, error) {
	return json.Number(lit), b.charge(boxSize)
}

func (b *GoBuilder) String(s string) (any, error) {
	return s, b.charge(boxSize)
}

func (b *GoBuilder) Array(elems []any) (any, error) {
	if err := b.charge(SliceCost(len(elems))); err != nil {
		return nil, err
	}
	out := make([]any, len(elems))
	copy(out, elems)
	return out, nil
}

func (b *GoBuilder) Object(keys []string, vals []any) (any, error) {
	if err := b.charge(MapCost(len(keys))); err != nil {
		return nil, err
	}
	m := make(map[string]any, len(keys))
	for i, k := range keys {
		m[k] = vals[i]
	}
	return m, nil
}

// costBuilder adds up what GoBuilder would allocate (the parser counts
// the copies of escaped strings).
type costBuilder struct {
	total int64
	// lastMembers is the number of members of the last object read: the
	// document's own when it is an object.
	lastMembers int
}

func (c *costBuilder) Null() (struct{}, error)     { return struct{}{}, nil }
func (c *costBuilder) Bool(bool) (struct{}, error) { return struct{}{}, nil }

func (c *costBuilder) Number(string) (struct{}, error) {
	c.total += boxSize
	return struct{}{}, nil
}

func (c *costBuilder) String(string) (struct{}, error) {
	c.total += boxSize
	return struct{}{}, nil
}

func (c *costBuilder) Array(elems []struct{}) (struct{}, error) {
	c.total += SliceCost(len(elems))
	return struct{}{}, nil
}

func (c *costBuilder) Object(keys []string, _ []struct{}) (struct{}, error) {
	c.total += MapCost(len(keys))
	c.lastMembers = len(keys)
	return struct{}{}, nil
}
