package kvdb

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// entry is a key's value and its expiry, Unix milliseconds (0: none).
type entry struct {
	v   *value
	exp int64
}

// keyspace is what the embedded store's commands read and write: the
// keys of one transaction. load returns nil for a missing or expired key;
// save with a nil entry deletes the key.
type keyspace interface {
	load(key string) (*entry, error)
	save(key string, e *entry) error
	// scan returns up to count live keys, in key order, from the offset
	// cursor, and the next cursor (0 when the scan is complete).
	scan(cursor, count int) (keys []string, next int, err error)
	// now is the time commands run at, Unix milliseconds.
	now() int64
}

// command describes one command of the embedded store.
type command struct {
	// min is the least number of arguments after the name; max the most
	// (-1: any).
	min, max int
	// write says the command changes keys.
	write bool
	run   func(ks keyspace, args []string) (any, error)
}

// commands are those the embedded store runs: the ones integration work
// uses. The table's names are upper case.
var commands map[string]command

func init() {
	commands = map[string]command{
		"PING":   {0, 1, false, func(_ keyspace, a []string) (any, error) { return pong(a), nil }},
		"GET":    {1, 1, false, cmdGet},
		"SET":    {2, -1, true, cmdSet},
		"SETEX":  {3, 3, true, cmdSetEx},
		"SETNX":  {2, 2, true, cmdSetNX},
		"MGET":   {1, -1, false, cmdMGet},
		"MSET":   {2, -1, true, cmdMSet},
		"DEL":    {1, -1, true, cmdDel},
		"EXISTS": {1, -1, false, cmdExists},
		"TYPE":   {1, 1, false, cmdType},
		"INCR":   {1, 1, true, func(ks keyspace, a []string) (any, error) { return incrBy(ks, a[0], 1) }},
		"DECR":   {1, 1, true, func(ks keyspace, a []string) (any, error) { return incrBy(ks, a[0], -1) }},
		"INCRBY": {2, 2, true, func(ks keyspace, a []string) (any, error) {
			n, err := parseInt(a[1])
			if err != nil {
				return nil, err
			}
			return incrBy(ks, a[0], n)
		}},
		"DECRBY": {2, 2, true, func(ks keyspace, a []string) (any, error) {
			n, err := parseInt(a[1])
			if err != nil || n == math.MinInt64 {
				return nil, errNotInteger
			}
			return incrBy(ks, a[0], -n)
		}},
		"INCRBYFLOAT":   {2, 2, true, cmdIncrByFloat},
		"EXPIRE":        {2, 2, true, func(ks keyspace, a []string) (any, error) { return expire(ks, a, 1000) }},
		"PEXPIRE":       {2, 2, true, func(ks keyspace, a []string) (any, error) { return expire(ks, a, 1) }},
		"TTL":           {1, 1, false, func(ks keyspace, a []string) (any, error) { return ttl(ks, a[0], 1000) }},
		"PTTL":          {1, 1, false, func(ks keyspace, a []string) (any, error) { return ttl(ks, a[0], 1) }},
		"PERSIST":       {1, 1, true, cmdPersist},
		"HSET":          {3, -1, true, cmdHSet},
		"HGET":          {2, 2, false, cmdHGet},
		"HMGET":         {2, -1, false, cmdHMGet},
		"HGETALL":       {1, 1, false, cmdHGetAll},
		"HDEL":          {2, -1, true, cmdHDel},
		"HEXISTS":       {2, 2, false, cmdHExists},
		"HKEYS":         {1, 1, false, func(ks keyspace, a []string) (any, error) { return hashList(ks, a[0], true) }},
		"HVALS":         {1, 1, false, func(ks keyspace, a []string) (any, error) { return hashList(ks, a[0], false) }},
		"HLEN":          {1, 1, false, cmdLen(typeHash)},
		"HINCRBY":       {3, 3, true, cmdHIncrBy},
		"LPUSH":         {2, -1, true, func(ks keyspace, a []string) (any, error) { return push(ks, a, true) }},
		"RPUSH":         {2, -1, true, func(ks keyspace, a []string) (any, error) { return push(ks, a, false) }},
		"LPOP":          {1, 1, true, func(ks keyspace, a []string) (any, error) { return pop(ks, a[0], true) }},
		"RPOP":          {1, 1, true, func(ks keyspace, a []string) (any, error) { return pop(ks, a[0], false) }},
		"LRANGE":        {3, 3, false, cmdLRange},
		"LLEN":          {1, 1, false, cmdLen(typeList)},
		"LTRIM":         {3, 3, true, cmdLTrim},
		"LINDEX":        {2, 2, false, cmdLIndex},
		"SADD":          {2, -1, true, cmdSAdd},
		"SREM":          {2, -1, true, cmdSRem},
		"SMEMBERS":      {1, 1, false, cmdSMembers},
		"SISMEMBER":     {2, 2, false, cmdSIsMember},
		"SCARD":         {1, 1, false, cmdLen(typeSet)},
		"ZADD":          {3, -1, true, cmdZAdd},
		"ZINCRBY":       {3, 3, true, cmdZIncrBy},
		"ZSCORE":        {2, 2, false, cmdZScore},
		"ZREM":          {2, -1, true, cmdZRem},
		"ZCARD":         {1, 1, false, cmdLen(typeZSet)},
		"ZRANGE":        {3, 4, false, func(ks keyspace, a []string) (any, error) { return zrange(ks, a, false) }},
		"ZREVRANGE":     {3, 4, false, func(ks keyspace, a []string) (any, error) { return zrange(ks, a, true) }},
		"ZRANGEBYSCORE": {3, 4, false, cmdZRangeByScore},
		"SCAN":          {1, 5, false, cmdScan},
		// Nothing subscribes to the embedded store: a message reaches no
		// one, as Redis answers when a channel has no subscribers.
		"PUBLISH": {2, 2, false, func(keyspace, []string) (any, error) { return int64(0), nil }},
	}
}

// lookup returns the command with a name, whatever its case, and checks
// its arguments' number.
func lookup(args []string) (command, error) {
	if len(args) == 0 {
		return command{}, ReplyError("ERR empty command")
	}
	name := strings.ToUpper(args[0])
	c, ok := commands[name]
	if !ok {
		return command{}, ReplyError("ERR unknown command '" + truncate(args[0], 64) + "' in the embedded key-value store")
	}
	n := len(args) - 1
	if n < c.min || c.max >= 0 && n > c.max {
		return command{}, errArity(name)
	}
	return c, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func pong(a []string) any {
	if len(a) == 1 {
		return a[0]
	}
	return "PONG"
}

// typed loads a key and checks its type: nil when it is missing.
func typed(ks keyspace, key string, typ byte) (*entry, error) {
	e, err := ks.load(key)
	if err != nil || e == nil {
		return nil, err
	}
	if e.v.typ != typ {
		return nil, errWrongType
	}
	return e, nil
}

// saveOrDelete saves a collection, or deletes its key once it is empty.
func saveOrDelete(ks keyspace, key string, e *entry) error {
	if e.v.empty() {
		return ks.save(key, nil)
	}
	return ks.save(key, e)
}

func parseInt(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, errNotInteger
	}
	return n, nil
}

func parseFloat(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return 0, errNotFloat
	}
	return f, nil
}

func cmdGet(ks keyspace, a []string) (any, error) {
	e, err := typed(ks, a[0], typeString)
	if err != nil || e == nil {
		return nil, err
	}
	return e.v.str, nil
}

func cmdSet(ks keyspace, a []string) (any, error) {
	key, val := a[0], a[1]
	var exp int64
	var nx, xx, keep bool
	for i := 2; i < len(a); i++ {
		switch strings.ToUpper(a[i]) {
		case "NX":
			nx = true
		case "XX":
			xx = true
		case "KEEPTTL":
			keep = true
		case "EX", "PX":
			if i+1 == len(a) || exp != 0 {
				return nil, errSyntax
			}
			n, err := parseInt(a[i+1])
			if err != nil {
				return nil, err
			}
			if n <= 0 || n > math.MaxInt64/1000 {
				return nil, ReplyError("ERR invalid expire time in 'set' command")
			}
			if strings.ToUpper(a[i]) == "EX" {
				n *= 1000
			}
			exp = ks.now() + n
			i++
		default:
			return nil, errSyntax
		}
	}
	if nx && xx || keep && exp != 0 {
		return nil, errSyntax
	}
	old, err := ks.load(key)
	if err != nil {
		return nil, err
	}
	if nx && old != nil || xx && old == nil {
		return nil, nil
	}
	if keep && old != nil {
		exp = old.exp
	}
	if err := ks.save(key, &entry{v: &value{typ: typeString, str: val}, exp: exp}); err != nil {
		return nil, err
	}
	return "OK", nil
}

func cmdSetEx(ks keyspace, a []string) (any, error) {
	return cmdSet(ks, []string{a[0], a[2], "EX", a[1]})
}

func cmdSetNX(ks keyspace, a []string) (any, error) {
	r, err := cmdSet(ks, []string{a[0], a[1], "NX"})
	if err != nil {
		return nil, err
	}
	if r == nil {
		return int64(0), nil
	}
	return int64(1), nil
}

func cmdMGet(ks keyspace, a []string) (any, error) {
	out := make([]any, len(a))
	for i, k := range a {
		e, err := ks.load(k)
		if err != nil {
			return nil, err
		}
		if e != nil && e.v.typ == typeString {
			out[i] = e.v.str
		}
	}
	return out, nil
}

func cmdMSet(ks keyspace, a []string) (any, error) {
	if len(a)%2 != 0 {
		return nil, errArity("MSET")
	}
	for i := 0; i < len(a); i += 2 {
		if err := ks.save(a[i], &entry{v: &value{typ: typeString, str: a[i+1]}}); err != nil {
			return nil, err
		}
	}
	return "OK", nil
}

func cmdDel(ks keyspace, a []string) (any, error) {
	var n int64
	for _, k := range a {
		e, err := ks.load(k)
		if err != nil {
			return nil, err
		}
		if e != nil {
			if err := ks.save(k, nil); err != nil {
				return nil, err
			}
			n++
		}
	}
	return n, nil
}

func cmdExists(ks keyspace, a []string) (any, error) {
	var n int64
	for _, k := range a {
		e, err := ks.load(k)
		if err != nil {
			return nil, err
		}
		if e != nil {
			n++
		}
	}
	return n, nil
}

func cmdType(ks keyspace, a []string) (any, error) {
	e, err := ks.load(a[0])
	if err != nil {
		return nil, err
	}
	if e == nil {
		return "none", nil
	}
	return typeNames[e.v.typ], nil
}

func incrBy(ks keyspace, key string, by int64) (any, error) {
	e, err := typed(ks, key, typeString)
	if err != nil {
		return nil, err
	}
	var n int64
	if e == nil {
		e = &entry{v: &value{typ: typeString}}
	} else if n, err = parseInt(e.v.str); err != nil {
		return nil, err
	}
	if by > 0 && n > math.MaxInt64-by || by < 0 && n < math.MinInt64-by {
		return nil, ReplyError("ERR increment or decrement would overflow")
	}
	n += by
	e.v.str = strconv.FormatInt(n, 10)
	return n, ks.save(key, e)
}

func cmdIncrByFloat(ks keyspace, a []string) (any, error) {
	by, err := parseFloat(a[1])
	if err != nil {
		return nil, err
	}
	e, err := typed(ks, a[0], typeString)
	if err != nil {
		return nil, err
	}
	var f float64
	if e == nil {
		e = &entry{v: &value{typ: typeString}}
	} else if f, err = parseFloat(e.v.str); err != nil {
		return nil, err
	}
	f += by
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, ReplyError("ERR increment would produce NaN or Infinity")
	}
	e.v.str = formatFloat(f)
	return e.v.str, ks.save(a[0], e)
}

func expire(ks keyspace, a []string, unit int64) (any, error) {
	n, err := parseInt(a[1])
	if err != nil {
		return nil, err
	}
	if n > math.MaxInt64/1000 || n < math.MinInt64/1000 {
		return nil, ReplyError("ERR invalid expire time in 'expire' command")
	}
	e, err := ks.load(a[0])
	if err != nil || e == nil {
		return int64(0), err
	}
	if n <= 0 {
		return int64(1), ks.save(a[0], nil)
	}
	e.exp = ks.now() + n*unit
	return int64(1), ks.save(a[0], e)
}

func ttl(ks keyspace, key string, unit int64) (any, error) {
	e, err := ks.load(key)
	switch {
	case err != nil:
		return nil, err
	case e == nil:
		return int64(-2), nil
	case e.exp == 0:
		return int64(-1), nil
	}
	return (e.exp - ks.now() + unit/2) / unit, nil // rounded, as Redis does
}

func cmdPersist(ks keyspace, a []string) (any, error) {
	e, err := ks.load(a[0])
	if err != nil || e == nil || e.exp == 0 {
		return int64(0), err
	}
	e.exp = 0
	return int64(1), ks.save(a[0], e)
}

// collection loads a key of a collection type, or makes an empty one.
func collection(ks keyspace, key string, typ byte) (*entry, error) {
	e, err := typed(ks, key, typ)
	if err != nil || e != nil {
		return e, err
	}
	v := &value{typ: typ}
	switch typ {
	case typeHash:
		v.hash = map[string]string{}
	case typeSet:
		v.set = map[string]struct{}{}
	case typeZSet:
		v.zset = map[string]float64{}
	}
	return &entry{v: v}, nil
}

func cmdHSet(ks keyspace, a []string) (any, error) {
	if len(a)%2 != 1 {
		return nil, errArity("HSET")
	}
	e, err := collection(ks, a[0], typeHash)
	if err != nil {
		return nil, err
	}
	var n int64
	for i := 1; i < len(a); i += 2 {
		if _, ok := e.v.hash[a[i]]; !ok {
			n++
		}
		e.v.hash[a[i]] = a[i+1]
	}
	return n, ks.save(a[0], e)
}

func cmdHGet(ks keyspace, a []string) (any, error) {
	e, err := typed(ks, a[0], typeHash)
	if err != nil || e == nil {
		return nil, err
	}
	if v, ok := e.v.hash[a[1]]; ok {
		return v, nil
	}
	return nil, nil
}

func cmdHMGet(ks keyspace, a []string) (any, error) {
	e, err := typed(ks, a[0], typeHash)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(a)-1)
	for i, f := range a[1:] {
		if e != nil {
			if v, ok := e.v.hash[f]; ok {
				out[i] = v
			}
		}
	}
	return out, nil
}

func cmdHGetAll(ks keyspace, a []string) (any, error) {
	e, err := typed(ks, a[0], typeHash)
	if err != nil {
		return nil, err
	}
	out := []any{}
	if e != nil {
		for _, k := range sortedKeys(e.v.hash) {
			out = append(out, k, e.v.hash[k])
		}
	}
	return out, nil
}

func cmdHDel(ks keyspace, a []string) (any, error) {
	e, err := typed(ks, a[0], typeHash)
	if err != nil || e == nil {
		return int64(0), err
	}
	var n int64
	for _, f := range a[1:] {
		if _, ok := e.v.hash[f]; ok {
			delete(e.v.hash, f)
			n++
		}
	}
	return n, saveOrDelete(ks, a[0], e)
}

func cmdHExists(ks keyspace, a []string) (any, error) {
	e, err := typed(ks, a[0], typeHash)
	if err != nil || e == nil {
		return int64(0), err
	}
	if _, ok := e.v.hash[a[1]]; ok {
		return int64(1), nil
	}
	return int64(0), nil
}

func hashList(ks keyspace, key string, keys bool) (any, error) {
	e, err := typed(ks, key, typeHash)
	if err != nil {
		return nil, err
	}
	out := []any{}
	if e != nil {
		for _, k := range sortedKeys(e.v.hash) {
			if keys {
				out = append(out, k)
			} else {
				out = append(out, e.v.hash[k])
			}
		}
	}
	return out, nil
}

func cmdLen(typ byte) func(keyspace, []string) (any, error) {
	return func(ks keyspace, a []string) (any, error) {
		e, err := typed(ks, a[0], typ)
		if err != nil || e == nil {
			return int64(0), err
		}
		switch typ {
		case typeHash:
			return int64(len(e.v.hash)), nil
		case typeList:
			return int64(len(e.v.list)), nil
		case typeSet:
			return int64(len(e.v.set)), nil
		}
		return int64(len(e.v.zset)), nil
	}
}

func cmdHIncrBy(ks keyspace, a []string) (any, error) {
	by, err := parseInt(a[2])
	if err != nil {
		return nil, err
	}
	e, err := collection(ks, a[0], typeHash)
	if err != nil {
		return nil, err
	}
	var n int64
	if s, ok := e.v.hash[a[1]]; ok {
		if n, err = strconv.ParseInt(s, 10, 64); err != nil {
			return nil, ReplyError("ERR hash value is not an integer")
		}
	}
	if by > 0 && n > math.MaxInt64-by || by < 0 && n < math.MinInt64-by {
		return nil, ReplyError("ERR increment or decrement would overflow")
	}
	n += by
	e.v.hash[a[1]] = strconv.FormatInt(n, 10)
	return n, ks.save(a[0], e)
}

func push(ks keyspace, a []string, left bool) (any, error) {
	e, err := collection(ks, a[0], typeList)
	if err != nil {
		return nil, err
	}
	for _, v := range a[1:] {
		if left {
			e.v.list = append([]string{v}, e.v.list...)
		} else {
			e.v.list = append(e.v.list, v)
		}
	}
	return int64(len(e.v.list)), ks.save(a[0], e)
}

func pop(ks keyspace, key string, left bool) (any, error) {
	e, err := typed(ks, key, typeList)
	if err != nil || e == nil {
		return nil, err
	}
	var v string
	if left {
		v, e.v.list = e.v.list[0], e.v.list[1:]
	} else {
		v, e.v.list = e.v.list[len(e.v.list)-1], e.v.list[:len(e.v.list)-1]
	}
	return v, saveOrDelete(ks, key, e)
}

// span turns Redis's inclusive start and stop indexes, negative ones
// counting from the end, into a slice's bounds for n items.
func span(start, stop string, n int) (int, int, error) {
	s, err := parseInt(start)
	if err != nil {
		return 0, 0, err
	}
	t, err := parseInt(stop)
	if err != nil {
		return 0, 0, err
	}
	l := int64(n)
	if s < 0 {
		s = max(l+s, 0)
	}
	if t < 0 {
		t = l + t
	}
	t = min(t, l-1)
	if s > t || s >= l {
		return 0, 0, nil
	}
	return int(s), int(t) + 1, nil
}

func cmdLRange(ks keyspace, a []string) (any, error) {
	e, err := typed(ks, a[0], typeList)
	if err != nil {
		return nil, err
	}
	var list []string
	if e != nil {
		list = e.v.list
	}
	i, j, err := span(a[1], a[2], len(list))
	if err != nil {
		return nil, err
	}
	return strs(list[i:j]), nil
}

func strs(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func cmdLTrim(ks keyspace, a []string) (any, error) {
	e, err := typed(ks, a[0], typeList)
	if err != nil || e == nil {
		if err == nil {
			_, _, err = span(a[1], a[2], 0)
		}
		if err != nil {
			return nil, err
		}
		return "OK", nil
	}
	i, j, err := span(a[1], a[2], len(e.v.list))
	if err != nil {
		return nil, err
	}
	e.v.list = slices.Clone(e.v.list[i:j])
	return "OK", saveOrDelete(ks, a[0], e)
}

func cmdLIndex(ks keyspace, a []string) (any, error) {
	i, err := parseInt(a[1])
	if err != nil {
		return nil, err
	}
	e, err := typed(ks, a[0], typeList)
	if err != nil || e == nil {
		return nil, err
	}
	n := int64(len(e.v.list))
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		return nil, nil
	}
	return e.v.list[i], nil
}

func cmdSAdd(ks keyspace, a []string) (any, error) {
	e, err := collection(ks, a[0], typeSet)
	if err != nil {
		return nil, err
	}
	var n int64
	for _, m := range a[1:] {
		if _, ok := e.v.set[m]; !ok {
			e.v.set[m] = struct{}{}
			n++
		}
	}
	return n, ks.save(a[0], e)
}

func cmdSRem(ks keyspace, a []string) (any, error) {
	e, err := typed(ks, a[0], typeSet)
	if err != nil || e == nil {
		return int64(0), err
	}
	var n int64
	for _, m := range a[1:] {
		if _, ok := e.v.set[m]; ok {
			delete(e.v.set, m)
			n++
		}
	}
	return n, saveOrDelete(ks, a[0], e)
}

func cmdSMembers(ks keyspace, a []string) (any, error) {
	e, err := typed(ks, a[0], typeSet)
	if err != nil || e == nil {
		return []any{}, err
	}
	return strs(sortedKeys(e.v.set)), nil
}

func cmdSIsMember(ks keyspace, a []string) (any, error) {
	e, err := typed(ks, a[0], typeSet)
	if err != nil || e == nil {
		return int64(0), err
	}
	if _, ok := e.v.set[a[1]]; ok {
		return int64(1), nil
	}
	return int64(0), nil
}

func cmdZAdd(ks keyspace, a []string) (any, error) {
	var nx, xx bool
	i := 1
	for ; i < len(a); i++ {
		switch strings.ToUpper(a[i]) {
		case "NX":
			nx = true
			continue
		case "XX":
			xx = true
			continue
		}
		break
	}
	rest := a[i:]
	if nx && xx || len(rest) == 0 || len(rest)%2 != 0 {
		return nil, errSyntax
	}
	scores := make([]float64, len(rest)/2)
	for j := range scores {
		f, err := parseFloat(rest[2*j])
		if err != nil {
			return nil, err
		}
		scores[j] = f
	}
	e, err := collection(ks, a[0], typeZSet)
	if err != nil {
		return nil, err
	}
	var n int64
	for j, f := range scores {
		m := rest[2*j+1]
		_, ok := e.v.zset[m]
		if nx && ok || xx && !ok {
			continue
		}
		if !ok {
			n++
		}
		e.v.zset[m] = f
	}
	return n, saveOrDelete(ks, a[0], e)
}

func cmdZIncrBy(ks keyspace, a []string) (any, error) {
	by, err := parseFloat(a[1])
	if err != nil {
		return nil, err
	}
	e, err := collection(ks, a[0], typeZSet)
	if err != nil {
		return nil, err
	}
	f := e.v.zset[a[2]] + by
	if math.IsNaN(f) {
		return nil, ReplyError("ERR resulting score is not a number (NaN)")
	}
	e.v.zset[a[2]] = f
	return formatFloat(f), ks.save(a[0], e)
}

func cmdZScore(ks keyspace, a []string) (any, error) {
	e, err := typed(ks, a[0], typeZSet)
	if err != nil || e == nil {
		return nil, err
	}
	if f, ok := e.v.zset[a[1]]; ok {
		return formatFloat(f), nil
	}
	return nil, nil
}

func cmdZRem(ks keyspace, a []string) (any, error) {
	e, err := typed(ks, a[0], typeZSet)
	if err != nil || e == nil {
		return int64(0), err
	}
	var n int64
	for _, m := range a[1:] {
		if _, ok := e.v.zset[m]; ok {
			delete(e.v.zset, m)
			n++
		}
	}
	return n, saveOrDelete(ks, a[0], e)
}

type scored struct {
	member string
	score  float64
}

// ordered returns a sorted set's members by score, then member.
func ordered(e *entry) []scored {
	if e == nil {
		return nil
	}
	out := make([]scored, 0, len(e.v.zset))
	for m, f := range e.v.zset {
		out = append(out, scored{m, f})
	}
	slices.SortFunc(out, func(x, y scored) int {
		if x.score != y.score {
			if x.score < y.score {
				return -1
			}
			return 1
		}
		return strings.Compare(x.member, y.member)
	})
	return out
}

func withScores(items []scored, opt []string) (any, error) {
	scores := false
	if len(opt) == 1 {
		if !strings.EqualFold(opt[0], "WITHSCORES") {
			return nil, errSyntax
		}
		scores = true
	}
	out := make([]any, 0, len(items))
	for _, it := range items {
		out = append(out, it.member)
		if scores {
			out = append(out, formatFloat(it.score))
		}
	}
	return out, nil
}

func zrange(ks keyspace, a []string, rev bool) (any, error) {
	e, err := typed(ks, a[0], typeZSet)
	if err != nil {
		return nil, err
	}
	items := ordered(e)
	if rev {
		slices.Reverse(items)
	}
	i, j, err := span(a[1], a[2], len(items))
	if err != nil {
		return nil, err
	}
	return withScores(items[i:j], a[3:])
}

// bound parses a score bound of ZRANGEBYSCORE: a number, -inf or +inf,
// exclusive when it starts with (.
func bound(s string) (f float64, excl bool, err error) {
	if strings.HasPrefix(s, "(") {
		excl, s = true, s[1:]
	}
	switch strings.ToLower(s) {
	case "-inf":
		return math.Inf(-1), excl, nil
	case "+inf", "inf":
		return math.Inf(1), excl, nil
	}
	f, err = strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return 0, false, ReplyError("ERR min or max is not a float")
	}
	return f, excl, nil
}

func cmdZRangeByScore(ks keyspace, a []string) (any, error) {
	lo, loEx, err := bound(a[1])
	if err != nil {
		return nil, err
	}
	hi, hiEx, err := bound(a[2])
	if err != nil {
		return nil, err
	}
	e, err := typed(ks, a[0], typeZSet)
	if err != nil {
		return nil, err
	}
	var in []scored
	for _, it := range ordered(e) {
		if (it.score > lo || !loEx && it.score == lo) && (it.score < hi || !hiEx && it.score == hi) {
			in = append(in, it)
		}
	}
	return withScores(in, a[3:])
}

func cmdScan(ks keyspace, a []string) (any, error) {
	cursor, err := strconv.ParseUint(a[0], 10, 31)
	if err != nil {
		return nil, ReplyError("ERR invalid cursor")
	}
	match, count := "", 10
	for i := 1; i < len(a); i += 2 {
		if i+1 == len(a) {
			return nil, errSyntax
		}
		switch strings.ToUpper(a[i]) {
		case "MATCH":
			match = a[i+1]
		case "COUNT":
			n, err := parseInt(a[i+1])
			if err != nil {
				return nil, err
			}
			if n < 1 {
				return nil, errSyntax
			}
			count = int(min(n, MaxScanCount))
		default:
			return nil, errSyntax
		}
	}
	keys, next, err := ks.scan(int(cursor), count)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, k := range keys {
		if match == "" || Match(match, k) {
			out = append(out, k)
		}
	}
	return []any{strconv.Itoa(next), out}, nil
}
