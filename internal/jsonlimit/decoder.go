package jsonlimit

import (
	"context"
	"math"
)

// Decoder decodes the JSON bodies of requests within Limits, reserving
// the memory of their values from Budget first. The zero value decodes
// within the default limits, without a budget. It is safe for concurrent
// use.
type Decoder struct {
	Limits Limits
	// Budget is shared by every request of the server; nil is unbounded.
	Budget *Budget
}

// Decode decodes a body into Go values (see Decode). release gives their
// memory back to the budget: call it once they are no longer used. Its
// errors are those of RequestError and Budget.Reserve.
func (d *Decoder) Decode(ctx context.Context, body []byte) (v any, release func(), err error) {
	cost, err := GoCost(body, d.Limits)
	if err != nil {
		return nil, nil, RequestError(err, d.Limits)
	}
	if release, err = d.Budget.Reserve(ctx, cost); err != nil {
		return nil, nil, err
	}
	if v, err = Decode(body, d.Limits); err != nil {
		release()
		return nil, nil, RequestError(err, d.Limits)
	}
	return v, release, nil
}

// Raw is a JSON document a Decoder has checked but not decoded, for a
// consumer that makes values of its own from JSON (a Starlark service) as
// far as it needs them.
type Raw string

// Raw checks a body within the limits and returns it undecoded, with its
// members when it is an object (each member's value a Raw). Only the
// copy of the body and the members are reserved from the budget: the
// consumer bounds what it makes from them.
func (d *Decoder) Raw(ctx context.Context, body []byte) (raw Raw, members map[string]any, release func(), err error) {
	c := &costBuilder{}
	p := parser[struct{}]{src: string(body), maxDepth: d.Limits.maxDepth(), maxValues: d.Limits.maxValues(), b: c, raw: true}
	if _, err := p.document(); err != nil {
		return "", nil, nil, RequestError(err, d.Limits)
	}
	cost := int64(len(body))
	isObject := false
	p.pos = 0
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '{' {
		isObject = true
		cost += MapCost(c.lastMembers) + int64(c.lastMembers)*boxSize
	}
	if release, err = d.Budget.Reserve(ctx, cost); err != nil {
		return "", nil, nil, err
	}
	if isObject {
		members = p.members(c.lastMembers)
	}
	return Raw(p.src), members, release, nil
}

// members reads the members of the checked object at p.pos.
func (p *parser[V]) members(n int) map[string]any {
	m := make(map[string]any, n)
	p.maxDepth, p.maxValues = math.MaxInt, math.MaxInt
	p.pos++
	for {
		p.skipSpace()
		if p.src[p.pos] == '}' {
			return m
		}
		p.raw = false
		k, _ := p.str()
		p.raw = true
		p.skipSpace()
		p.pos++ // ':'
		p.skipSpace()
		start := p.pos
		p.value()
		m[k] = Raw(p.src[start:p.pos])
		p.skipSpace()
		if p.src[p.pos] == ',' {
			p.pos++
		}
	}
}
