package kvdb

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/starlark/memlimit"
)

// shape turns a command's reply into the Starlark value a method returns,
// as redis-py returns it (with decode_responses: strings, not bytes).
type shape int

const (
	asIs     shape = iota // None, str, int or a list of these
	asBool                // 1/0 or OK/None: True/False, None for a refused SET
	asFloat               // a number as a string: float or None
	asDict                // field, value, …: a dict
	asScored              // member, score, …: a list of (member, score)
	asScan                // cursor, keys: a tuple (int, list)
	asOK                  // OK: True
)

// method builds the command of one Starlark method call and says how its
// reply is shaped.
type method func(args sl.Tuple, kw []sl.Tuple) (cmd []string, sh shape, err error)

// StarlarkMethods are the methods of self.kvdb.conn and of
// self.out.redis["Name"].conn, named and called as in redis-py.
var starlarkMethods = map[string]method{
	"get":           fixed("GET", asIs, "name"),
	"set":           mSet,
	"setex":         fixed("SETEX", asOK, "name", "time", "value"),
	"setnx":         fixed("SETNX", asBool, "name", "value"),
	"mget":          mMGet,
	"mset":          mMSet,
	"delete":        variadic("DEL", asIs, 0),
	"exists":        variadic("EXISTS", asIs, 0),
	"type":          fixed("TYPE", asIs, "name"),
	"incr":          optAmount("INCRBY"),
	"incrby":        optAmount("INCRBY"),
	"decr":          optAmount("DECRBY"),
	"decrby":        optAmount("DECRBY"),
	"incrbyfloat":   optAmountFloat,
	"expire":        fixed("EXPIRE", asBool, "name", "time"),
	"pexpire":       fixed("PEXPIRE", asBool, "name", "time"),
	"ttl":           fixed("TTL", asIs, "name"),
	"pttl":          fixed("PTTL", asIs, "name"),
	"persist":       fixed("PERSIST", asBool, "name"),
	"hset":          mHSet,
	"hget":          fixed("HGET", asIs, "name", "key"),
	"hmget":         mHMGet,
	"hgetall":       fixed("HGETALL", asDict, "name"),
	"hdel":          variadic("HDEL", asIs, 1),
	"hexists":       fixed("HEXISTS", asBool, "name", "key"),
	"hkeys":         fixed("HKEYS", asIs, "name"),
	"hvals":         fixed("HVALS", asIs, "name"),
	"hlen":          fixed("HLEN", asIs, "name"),
	"hincrby":       mHIncrBy,
	"lpush":         variadic("LPUSH", asIs, 1),
	"rpush":         variadic("RPUSH", asIs, 1),
	"lpop":          fixed("LPOP", asIs, "name"),
	"rpop":          fixed("RPOP", asIs, "name"),
	"lrange":        fixed("LRANGE", asIs, "name", "start", "end"),
	"llen":          fixed("LLEN", asIs, "name"),
	"ltrim":         fixed("LTRIM", asOK, "name", "start", "end"),
	"lindex":        fixed("LINDEX", asIs, "name", "index"),
	"sadd":          variadic("SADD", asIs, 1),
	"srem":          variadic("SREM", asIs, 1),
	"smembers":      fixed("SMEMBERS", asIs, "name"),
	"sismember":     fixed("SISMEMBER", asBool, "name", "value"),
	"scard":         fixed("SCARD", asIs, "name"),
	"zadd":          mZAdd,
	"zincrby":       mZIncrBy,
	"zscore":        fixed("ZSCORE", asFloat, "name", "value"),
	"zrem":          variadic("ZREM", asIs, 1),
	"zcard":         fixed("ZCARD", asIs, "name"),
	"zrange":        zrangeMethod("ZRANGE", "start", "end"),
	"zrevrange":     zrangeMethod("ZREVRANGE", "start", "end"),
	"zrangebyscore": zrangeMethod("ZRANGEBYSCORE", "min", "max"),
	"scan":          mScan,
	"publish":       fixed("PUBLISH", asIs, "channel", "message"),
	"ping":          func(args sl.Tuple, kw []sl.Tuple) ([]string, shape, error) { return []string{"PING"}, asIs, nil },
}

// arg turns a Starlark value into a command argument as redis-py
// encodes it: str and bytes as they are, int and float as decimal text.
// None and bool are refused, as redis-py refuses them.
func arg(name string, v sl.Value) (string, error) {
	switch x := v.(type) {
	case sl.String:
		return string(x), nil
	case sl.Bytes:
		return string(x), nil
	case sl.Int:
		return x.String(), nil
	case sl.Float:
		return formatFloat(float64(x)), nil
	}
	return "", fmt.Errorf("%s: a key or value is a str, bytes, int or float, not %s", name, v.Type())
}

func argList(name string, vs []sl.Value) ([]string, error) {
	out := make([]string, len(vs))
	for i, v := range vs {
		s, err := arg(name, v)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// fixed is a method with a fixed list of arguments, each given by
// position or by name.
func fixed(cmd string, sh shape, params ...string) method {
	return func(args sl.Tuple, kw []sl.Tuple) ([]string, shape, error) {
		vals := make([]sl.Value, len(params))
		pairs := make([]any, 0, 2*len(params))
		for i, p := range params {
			pairs = append(pairs, p, &vals[i])
		}
		if err := sl.UnpackArgs(strings.ToLower(cmd), args, kw, pairs...); err != nil {
			return nil, 0, err
		}
		out, err := argList(strings.ToLower(cmd), vals)
		return append([]string{cmd}, out...), sh, err
	}
}

// variadic is a method taking fixed leading arguments then any number of
// values, such as delete(*names) or sadd(name, *values); a list or tuple
// as the only value is spread.
func variadic(cmd string, sh shape, fixedN int) method {
	return func(args sl.Tuple, kw []sl.Tuple) ([]string, shape, error) {
		name := strings.ToLower(cmd)
		if len(kw) > 0 {
			return nil, 0, fmt.Errorf("%s: unexpected keyword argument %s", name, kw[0][0])
		}
		if len(args) <= fixedN {
			return nil, 0, fmt.Errorf("%s: needs at least %d arguments", name, fixedN+1)
		}
		vals := []sl.Value(args)
		if len(vals) == fixedN+1 {
			if seq, ok := vals[fixedN].(sl.Indexable); ok && vals[fixedN].Type() != "string" && vals[fixedN].Type() != "bytes" {
				vals = append(vals[:fixedN:fixedN], items(seq)...)
			}
		}
		out, err := argList(name, vals)
		return append([]string{cmd}, out...), sh, err
	}
}

func items(seq sl.Indexable) []sl.Value {
	out := make([]sl.Value, seq.Len())
	for i := range out {
		out[i] = seq.Index(i)
	}
	return out
}

func mSet(args sl.Tuple, kw []sl.Tuple) ([]string, shape, error) {
	var name, val sl.Value
	var ex, px sl.Value = sl.None, sl.None
	var nx, xx, keep bool
	if err := sl.UnpackArgs("set", args, kw, "name", &name, "value", &val, "ex?", &ex, "px?", &px, "nx?", &nx, "xx?", &xx, "keepttl?", &keep); err != nil {
		return nil, 0, err
	}
	cmd, err := argList("set", []sl.Value{name, val})
	if err != nil {
		return nil, 0, err
	}
	cmd = append([]string{"SET"}, cmd...)
	for _, o := range []struct {
		opt string
		v   sl.Value
	}{{"EX", ex}, {"PX", px}} {
		if o.v != sl.None {
			s, err := arg("set", o.v)
			if err != nil {
				return nil, 0, err
			}
			cmd = append(cmd, o.opt, s)
		}
	}
	for _, o := range []struct {
		opt string
		on  bool
	}{{"NX", nx}, {"XX", xx}, {"KEEPTTL", keep}} {
		if o.on {
			cmd = append(cmd, o.opt)
		}
	}
	return cmd, asBool, nil
}

func mMGet(args sl.Tuple, kw []sl.Tuple) ([]string, shape, error) {
	return variadic("MGET", asIs, 0)(args, kw)
}

// pairsOf returns a dict's keys and values, in the dict's order.
func pairsOf(name string, d *sl.Dict, valueFirst bool) ([]string, error) {
	var out []string
	for _, kv := range d.Items() {
		k, err := arg(name, kv[0])
		if err != nil {
			return nil, err
		}
		v, err := arg(name, kv[1])
		if err != nil {
			return nil, err
		}
		if valueFirst {
			out = append(out, v, k)
		} else {
			out = append(out, k, v)
		}
	}
	return out, nil
}

func mMSet(args sl.Tuple, kw []sl.Tuple) ([]string, shape, error) {
	var m *sl.Dict
	if err := sl.UnpackArgs("mset", args, kw, "mapping", &m); err != nil {
		return nil, 0, err
	}
	if m.Len() == 0 {
		return nil, 0, fmt.Errorf("mset: mapping is empty")
	}
	p, err := pairsOf("mset", m, false)
	return append([]string{"MSET"}, p...), asOK, err
}

func mHSet(args sl.Tuple, kw []sl.Tuple) ([]string, shape, error) {
	var name sl.Value
	var key, val sl.Value = sl.None, sl.None
	var m *sl.Dict
	if err := sl.UnpackArgs("hset", args, kw, "name", &name, "key?", &key, "value?", &val, "mapping?", &m); err != nil {
		return nil, 0, err
	}
	n, err := arg("hset", name)
	if err != nil {
		return nil, 0, err
	}
	cmd := []string{"HSET", n}
	if key != sl.None {
		p, err := argList("hset", []sl.Value{key, val})
		if err != nil {
			return nil, 0, err
		}
		cmd = append(cmd, p...)
	}
	if m != nil {
		p, err := pairsOf("hset", m, false)
		if err != nil {
			return nil, 0, err
		}
		cmd = append(cmd, p...)
	}
	if len(cmd) == 2 {
		return nil, 0, fmt.Errorf("hset: give key and value, or mapping")
	}
	return cmd, asIs, nil
}

func mHMGet(args sl.Tuple, kw []sl.Tuple) ([]string, shape, error) {
	return variadic("HMGET", asIs, 1)(args, kw)
}

func mHIncrBy(args sl.Tuple, kw []sl.Tuple) ([]string, shape, error) {
	var name, key sl.Value
	var amount sl.Value = sl.MakeInt(1)
	if err := sl.UnpackArgs("hincrby", args, kw, "name", &name, "key", &key, "amount?", &amount); err != nil {
		return nil, 0, err
	}
	p, err := argList("hincrby", []sl.Value{name, key, amount})
	return append([]string{"HINCRBY"}, p...), asIs, err
}

func optAmount(cmd string) method {
	return func(args sl.Tuple, kw []sl.Tuple) ([]string, shape, error) {
		var name sl.Value
		var amount sl.Value = sl.MakeInt(1)
		if err := sl.UnpackArgs(strings.ToLower(cmd), args, kw, "name", &name, "amount?", &amount); err != nil {
			return nil, 0, err
		}
		p, err := argList(strings.ToLower(cmd), []sl.Value{name, amount})
		return append([]string{cmd}, p...), asIs, err
	}
}

func optAmountFloat(args sl.Tuple, kw []sl.Tuple) ([]string, shape, error) {
	var name sl.Value
	var amount sl.Value = sl.Float(1)
	if err := sl.UnpackArgs("incrbyfloat", args, kw, "name", &name, "amount?", &amount); err != nil {
		return nil, 0, err
	}
	p, err := argList("incrbyfloat", []sl.Value{name, amount})
	return append([]string{"INCRBYFLOAT"}, p...), asFloat, err
}

func mZAdd(args sl.Tuple, kw []sl.Tuple) ([]string, shape, error) {
	var name sl.Value
	var m *sl.Dict
	var nx, xx bool
	if err := sl.UnpackArgs("zadd", args, kw, "name", &name, "mapping", &m, "nx?", &nx, "xx?", &xx); err != nil {
		return nil, 0, err
	}
	n, err := arg("zadd", name)
	if err != nil {
		return nil, 0, err
	}
	cmd := []string{"ZADD", n}
	if nx {
		cmd = append(cmd, "NX")
	}
	if xx {
		cmd = append(cmd, "XX")
	}
	if m.Len() == 0 {
		return nil, 0, fmt.Errorf("zadd: mapping is empty")
	}
	p, err := pairsOf("zadd", m, true)
	return append(cmd, p...), asIs, err
}

func mZIncrBy(args sl.Tuple, kw []sl.Tuple) ([]string, shape, error) {
	var name, amount, val sl.Value
	if err := sl.UnpackArgs("zincrby", args, kw, "name", &name, "amount", &amount, "value", &val); err != nil {
		return nil, 0, err
	}
	p, err := argList("zincrby", []sl.Value{name, amount, val})
	return append([]string{"ZINCRBY"}, p...), asFloat, err
}

func zrangeMethod(cmd, lo, hi string) method {
	return func(args sl.Tuple, kw []sl.Tuple) ([]string, shape, error) {
		var name, a, b sl.Value
		var scores bool
		if err := sl.UnpackArgs(strings.ToLower(cmd), args, kw, "name", &name, lo, &a, hi, &b, "withscores?", &scores); err != nil {
			return nil, 0, err
		}
		p, err := argList(strings.ToLower(cmd), []sl.Value{name, a, b})
		if err != nil {
			return nil, 0, err
		}
		c := append([]string{cmd}, p...)
		if scores {
			return append(c, "WITHSCORES"), asScored, nil
		}
		return c, asIs, nil
	}
}

func mScan(args sl.Tuple, kw []sl.Tuple) ([]string, shape, error) {
	cursor := 0
	var match sl.Value = sl.None
	count := 0
	if err := sl.UnpackArgs("scan", args, kw, "cursor?", &cursor, "match?", &match, "count?", &count); err != nil {
		return nil, 0, err
	}
	if cursor < 0 {
		return nil, 0, fmt.Errorf("scan: cursor %d is negative", cursor)
	}
	cmd := []string{"SCAN", strconv.Itoa(cursor)}
	if match != sl.None {
		m, err := arg("scan", match)
		if err != nil {
			return nil, 0, err
		}
		cmd = append(cmd, "MATCH", m)
	}
	if count > 0 {
		cmd = append(cmd, "COUNT", strconv.Itoa(count))
	}
	return cmd, asScan, nil
}

// toValue shapes a reply into a Starlark value, charging what it makes
// to the invocation's allowance.
func toValue(a *memlimit.Allowance, v any, sh shape) (sl.Value, error) {
	if err := a.Charge(replySize(v), "a key-value reply"); err != nil {
		return nil, err
	}
	switch sh {
	case asBool:
		switch x := v.(type) {
		case nil:
			return sl.None, nil
		case int64:
			return sl.Bool(x != 0), nil
		}
		return sl.True, nil
	case asOK:
		return sl.True, nil
	case asFloat:
		s, ok := v.(string)
		if !ok {
			return sl.None, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("the server answered %q, not a number", truncate(s, 64))
		}
		return sl.Float(f), nil
	case asDict:
		list, _ := v.([]any)
		d := sl.NewDict(len(list) / 2)
		for i := 0; i+1 < len(list); i += 2 {
			if err := d.SetKey(plain(list[i]), plain(list[i+1])); err != nil {
				return nil, err
			}
		}
		return d, nil
	case asScored:
		list, _ := v.([]any)
		out := make([]sl.Value, 0, len(list)/2)
		for i := 0; i+1 < len(list); i += 2 {
			s, _ := list[i+1].(string)
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("the server answered %q, not a score", truncate(s, 64))
			}
			out = append(out, sl.Tuple{plain(list[i]), sl.Float(f)})
		}
		return sl.NewList(out), nil
	case asScan:
		list, _ := v.([]any)
		if len(list) != 2 {
			return nil, fmt.Errorf("the server answered a malformed SCAN reply")
		}
		s, _ := list[0].(string)
		cursor, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("the server answered cursor %q", truncate(s, 64))
		}
		return sl.Tuple{sl.MakeUint64(cursor), plain(list[1])}, nil
	}
	return plain(v), nil
}

// plain converts a RESP2 reply as it is.
func plain(v any) sl.Value {
	switch x := v.(type) {
	case string:
		return sl.String(x)
	case int64:
		return sl.MakeInt64(x)
	case []any:
		out := make([]sl.Value, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return sl.NewList(out)
	}
	return sl.None
}

// replySize estimates the memory a reply's Starlark value takes.
func replySize(v any) int64 {
	switch x := v.(type) {
	case string:
		return int64(len(x)) + 16
	case []any:
		n := int64(32 + 16*len(x))
		for _, e := range x {
			n += replySize(e)
		}
		return n
	}
	return 16
}

// NewStarlarkConn returns the Starlark value of a connection: the methods
// of redis-py's client (get, set, incr, hset, zadd, scan, publish, …),
// scan_iter, and pipeline() whose execute() runs the queued commands in
// one round trip and returns their results as a list. ctx bounds every
// command; what is the connection's name in errors.
func NewStarlarkConn(ctx context.Context, conn Conn, what string) sl.Value {
	return newStarlarkConn(ctx, conn, what)
}

func newStarlarkConn(ctx context.Context, conn Conn, what string) *starConn {
	return &starConn{ctx: ctx, conn: conn, what: what}
}

// starConn is a connection in Starlark; its methods are made when a
// service first reads them.
type starConn struct {
	ctx  context.Context
	conn Conn
	what string
}

var _ sl.HasAttrs = (*starConn)(nil)

func (c *starConn) String() string        { return "<" + c.what + ">" }
func (c *starConn) Type() string          { return "kvdb.conn" }
func (c *starConn) Freeze()               {}
func (c *starConn) Truth() sl.Bool        { return sl.True }
func (c *starConn) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: kvdb.conn") }

func (c *starConn) AttrNames() []string {
	names := []string{"backend", "pipeline", "scan_iter"}
	for n := range starlarkMethods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (c *starConn) Attr(name string) (sl.Value, error) {
	switch name {
	case "backend":
		return sl.String(c.conn.Backend()), nil
	case "pipeline":
		return sl.NewBuiltin(name, func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(b.Name(), args, kw, "transaction?", new(bool)); err != nil {
				return nil, err
			}
			return &pipeline{ctx: c.ctx, conn: c.conn, what: c.what}, nil
		}), nil
	case "scan_iter":
		return sl.NewBuiltin(name, c.scanIter), nil
	}
	m, ok := starlarkMethods[name]
	if !ok {
		return nil, nil
	}
	return sl.NewBuiltin(name, func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
		cmd, sh, err := m(args, kw)
		if err != nil {
			return nil, err
		}
		res, err := c.conn.Do(c.ctx, cmd)
		if err != nil {
			return nil, err
		}
		if res[0].Err != nil {
			return nil, fmt.Errorf("%s: %s: %w", c.what, name, res[0].Err)
		}
		return toValue(memlimit.Of(th), res[0].Val, sh)
	}), nil
}

// scanIter returns every key matching, scanning with a cursor.
func (c *starConn) scanIter(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	var match sl.Value = sl.None
	count := 100
	if err := sl.UnpackArgs(b.Name(), args, kw, "match?", &match, "count?", &count); err != nil {
		return nil, err
	}
	var keys []sl.Value
	seen := map[string]bool{}
	cursor := 0
	for {
		cmd, _, err := mScan(sl.Tuple{sl.MakeInt(cursor), match, sl.MakeInt(count)}, nil)
		if err != nil {
			return nil, err
		}
		res, err := c.conn.Do(c.ctx, cmd)
		if err != nil {
			return nil, err
		}
		if res[0].Err != nil {
			return nil, fmt.Errorf("%s: scan_iter: %w", c.what, res[0].Err)
		}
		v, err := toValue(memlimit.Of(th), res[0].Val, asScan)
		if err != nil {
			return nil, err
		}
		t := v.(sl.Tuple)
		for _, k := range items(t[1].(*sl.List)) {
			if s := string(k.(sl.String)); !seen[s] {
				seen[s] = true
				keys = append(keys, k)
			}
		}
		if len(keys) > MaxScanIter {
			return nil, fmt.Errorf("%s: scan_iter: more than %d keys match; use scan with a cursor", c.what, MaxScanIter)
		}
		next, _ := sl.AsInt32(t[0])
		if next == 0 {
			break
		}
		cursor = next
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].(sl.String) < keys[j].(sl.String) })
	return sl.NewList(keys), nil
}

// pipeline queues commands; execute runs them in one round trip and
// returns their results, failing on the first command the server
// refused.
type pipeline struct {
	ctx    context.Context
	conn   Conn
	what   string
	cmds   [][]string
	shapes []shape
}

var _ sl.HasAttrs = (*pipeline)(nil)

func (p *pipeline) String() string        { return fmt.Sprintf("<pipeline of %d commands>", len(p.cmds)) }
func (p *pipeline) Type() string          { return "pipeline" }
func (p *pipeline) Freeze()               {}
func (p *pipeline) Truth() sl.Bool        { return sl.True }
func (p *pipeline) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: pipeline") }

func (p *pipeline) AttrNames() []string {
	names := []string{"execute"}
	for n := range starlarkMethods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (p *pipeline) Attr(name string) (sl.Value, error) {
	if name == "execute" {
		return sl.NewBuiltin("execute", p.execute), nil
	}
	m, ok := starlarkMethods[name]
	if !ok {
		return nil, nil
	}
	return sl.NewBuiltin(name, func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
		cmd, sh, err := m(args, kw)
		if err != nil {
			return nil, err
		}
		if len(p.cmds) >= MaxPipeline {
			return nil, fmt.Errorf("%s: a pipeline holds at most %d commands", p.what, MaxPipeline)
		}
		if err := memlimit.Of(th).Charge(int64(64+len(strings.Join(cmd, " "))), "a pipeline's commands"); err != nil {
			return nil, err
		}
		p.cmds = append(p.cmds, cmd)
		p.shapes = append(p.shapes, sh)
		return p, nil
	}), nil
}

func (p *pipeline) execute(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	if err := sl.UnpackArgs(b.Name(), args, kw); err != nil {
		return nil, err
	}
	cmds, shapes := p.cmds, p.shapes
	p.cmds, p.shapes = nil, nil
	if len(cmds) == 0 {
		return sl.NewList(nil), nil
	}
	res, err := p.conn.Do(p.ctx, cmds...)
	if err != nil {
		return nil, err
	}
	out := make([]sl.Value, len(res))
	for i, r := range res {
		if r.Err != nil {
			return nil, fmt.Errorf("%s: pipeline command %d (%s): %w", p.what, i+1, strings.ToLower(cmds[i][0]), r.Err)
		}
		if out[i], err = toValue(memlimit.Of(th), r.Val, shapes[i]); err != nil {
			return nil, err
		}
	}
	return sl.NewList(out), nil
}
