package cache

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/internal/starlark"
	"github.com/plexushq/plexus/internal/starlark/memlimit"
	"github.com/plexushq/plexus/sdk/service"
)

// selfCache is self.cache of a Starlark service: default, the default
// cache, and get_cache("builtin", name).
func selfCache(c *service.Context) (sl.Value, error) {
	var def sl.Value
	getDefault := func() (sl.Value, error) {
		if def == nil {
			res, err := c.Platform().Resource(c, Kind, "")
			if err != nil {
				return nil, err
			}
			def = &starCache{c: res.(*Cache)}
		}
		return def, nil
	}
	return &starSelf{get: getDefault, c: c}, nil
}

// starSelf is self.cache.
type starSelf struct {
	get func() (sl.Value, error)
	c   *service.Context
}

func (s *starSelf) String() string        { return "<cache>" }
func (s *starSelf) Type() string          { return "cache" }
func (s *starSelf) Freeze()               {}
func (s *starSelf) Truth() sl.Bool        { return sl.True }
func (s *starSelf) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: cache") }
func (s *starSelf) AttrNames() []string   { return []string{"default", "get_cache"} }

func (s *starSelf) Attr(name string) (sl.Value, error) {
	switch name {
	case "default":
		return s.get()
	case "get_cache":
		return sl.NewBuiltin(name, func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
			var typ, cname string
			if err := sl.UnpackArgs(b.Name(), args, kw, "cache_type", &typ, "name", &cname); err != nil {
				return nil, err
			}
			if typ != "builtin" {
				return nil, fmt.Errorf("get_cache: cache type %q is not supported: Plexus has builtin caches", typ)
			}
			res, err := s.c.Platform().Resource(s.c, Kind, cname)
			if err != nil {
				return nil, err
			}
			return &starCache{c: res.(*Cache)}, nil
		}), nil
	}
	return nil, nil
}

// starCache is one cache in Starlark, with Zato's methods.
type starCache struct{ c *Cache }

func (s *starCache) String() string        { return fmt.Sprintf("<cache %q>", s.c.name) }
func (s *starCache) Type() string          { return "cache" }
func (s *starCache) Freeze()               {}
func (s *starCache) Truth() sl.Bool        { return sl.True }
func (s *starCache) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: cache") }

// cacheMethod is one method of a cache.
type cacheMethod func(th *sl.Thread, c *Cache, name string, args sl.Tuple, kw []sl.Tuple) (sl.Value, error)

var cacheMethods = map[string]cacheMethod{
	"get":           mGet,
	"set":           mSet,
	"set_if_absent": mSetIfAbsent,
	"delete":        mDelete,
	"expire":        mExpire,
	"has_key":       mHasKey,
	"keys": func(th *sl.Thread, c *Cache, n string, a sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
		return listOf(th, c, n, a, kw, false)
	},
	"values": func(th *sl.Thread, c *Cache, n string, a sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
		return listOf(th, c, n, a, kw, true)
	},
	"items": mItems,
	"clear": mClear,
}

func init() {
	for suffix, m := range map[string]func(string) (Matcher, error){
		"_by_prefix":    func(s string) (Matcher, error) { return Prefix(s), nil },
		"_by_suffix":    func(s string) (Matcher, error) { return Suffix(s), nil },
		"_by_regex":     Regex,
		"_contains":     func(s string) (Matcher, error) { return Contains(s), nil },
		"_not_contains": func(s string) (Matcher, error) { f := Contains(s); return func(k string) bool { return !f(k) }, nil },
	} {
		cacheMethods["get"+suffix] = matching(m, getMatching)
		cacheMethods["set"+suffix] = matching(m, setMatching)
		cacheMethods["delete"+suffix] = matching(m, deleteMatching)
		if suffix == "_by_prefix" {
			cacheMethods["delete"+suffix] = deleteByPrefix
		}
		cacheMethods["expire"+suffix] = matching(m, expireMatching)
	}
}

func (s *starCache) AttrNames() []string {
	names := []string{"name"}
	for n := range cacheMethods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (s *starCache) Attr(name string) (sl.Value, error) {
	if name == "name" {
		return sl.String(s.c.name), nil
	}
	m, ok := cacheMethods[name]
	if !ok {
		return nil, nil
	}
	return sl.NewBuiltin(name, func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
		return m(th, s.c, name, args, kw)
	}), nil
}

// expiry reads an expiry in seconds: None is the cache's default, 0
// never expires.
func expiry(name string, v sl.Value) (time.Duration, error) {
	if v == nil || v == sl.None {
		return Default, nil
	}
	f, ok := sl.AsFloat(v)
	if !ok || math.IsNaN(f) || f < 0 || f > 100*365*24*3600 {
		return 0, fmt.Errorf("%s: expiry is a number of seconds, not %s", name, v.String())
	}
	return time.Duration(f * float64(time.Second)), nil
}

func key(name string, v sl.Value) (string, error) {
	s, ok := sl.AsString(v)
	if !ok {
		return "", fmt.Errorf("%s: a key is a str, not %s", name, v.Type())
	}
	return s, nil
}

func toGo(th *sl.Thread, v sl.Value) (any, error) { return starlark.FromStarlark(memlimit.Of(th), v) }

func toStar(th *sl.Thread, v any) (sl.Value, error) { return starlark.ToStarlark(memlimit.Of(th), v) }

func details(th *sl.Thread, e Entry) (sl.Value, error) {
	v, err := toStar(th, e.Value)
	if err != nil {
		return nil, err
	}
	at := func(t time.Time) sl.Value {
		if t.IsZero() {
			return sl.None
		}
		return sl.Float(float64(t.UnixNano()) / 1e9)
	}
	return starlarkstruct.FromStringDict(sl.String("cache_entry"), sl.StringDict{
		"key": sl.String(e.Key), "value": v, "expiry": sl.Float(e.Expiry.Seconds()), "expires_at": at(e.Expires),
		"created": at(e.Created), "last_read": at(e.LastRead), "hits": sl.MakeInt64(e.Hits),
	}), nil
}

func mGet(th *sl.Thread, c *Cache, name string, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	var k sl.Value
	var def sl.Value = sl.None
	var det bool
	if err := sl.UnpackArgs(name, args, kw, "key", &k, "default?", &def, "details?", &det); err != nil {
		return nil, err
	}
	ks, err := key(name, k)
	if err != nil {
		return nil, err
	}
	e, ok := c.Details(ks)
	if !ok {
		return def, nil
	}
	if det {
		return details(th, e)
	}
	return toStar(th, e.Value)
}

func setArgs(th *sl.Thread, name string, args sl.Tuple, kw []sl.Tuple) (string, any, time.Duration, error) {
	var k, v sl.Value
	var exp sl.Value = sl.None
	var det bool
	if err := sl.UnpackArgs(name, args, kw, "key", &k, "value", &v, "expiry?", &exp, "details?", &det); err != nil {
		return "", nil, 0, err
	}
	ks, err := key(name, k)
	if err != nil {
		return "", nil, 0, err
	}
	d, err := expiry(name, exp)
	if err != nil {
		return "", nil, 0, err
	}
	gv, err := toGo(th, v)
	return ks, gv, d, err
}

func mSet(th *sl.Thread, c *Cache, name string, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	k, v, d, err := setArgs(th, name, args, kw)
	if err != nil {
		return nil, err
	}
	if err := c.Set(k, v, d); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return sl.None, nil
}

func mSetIfAbsent(th *sl.Thread, c *Cache, name string, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	k, v, d, err := setArgs(th, name, args, kw)
	if err != nil {
		return nil, err
	}
	ok, err := c.SetIfAbsent(k, v, d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return sl.Bool(ok), nil
}

func oneKey(name string, args sl.Tuple, kw []sl.Tuple) (string, error) {
	var k sl.Value
	if err := sl.UnpackArgs(name, args, kw, "key", &k); err != nil {
		return "", err
	}
	return key(name, k)
}

func mDelete(_ *sl.Thread, c *Cache, name string, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	k, err := oneKey(name, args, kw)
	if err != nil {
		return nil, err
	}
	return sl.Bool(c.Delete(k)), nil
}

func mHasKey(_ *sl.Thread, c *Cache, name string, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	k, err := oneKey(name, args, kw)
	if err != nil {
		return nil, err
	}
	return sl.Bool(c.Has(k)), nil
}

func mExpire(_ *sl.Thread, c *Cache, name string, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	var k, exp sl.Value
	if err := sl.UnpackArgs(name, args, kw, "key", &k, "expiry", &exp); err != nil {
		return nil, err
	}
	ks, err := key(name, k)
	if err != nil {
		return nil, err
	}
	d, err := expiry(name, exp)
	if err != nil || d == Default {
		return nil, fmt.Errorf("%s: expiry is a number of seconds", name)
	}
	return sl.Bool(c.Expire(ks, d)), nil
}

func listOf(th *sl.Thread, c *Cache, name string, args sl.Tuple, kw []sl.Tuple, values bool) (sl.Value, error) {
	if err := sl.UnpackArgs(name, args, kw); err != nil {
		return nil, err
	}
	var out []sl.Value
	for _, e := range c.Items(nil) {
		if !values {
			out = append(out, sl.String(e.Key))
			continue
		}
		v, err := toStar(th, e.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return sl.NewList(out), nil
}

func itemsDict(th *sl.Thread, entries []Entry) (sl.Value, error) {
	d := sl.NewDict(len(entries))
	for _, e := range entries {
		v, err := toStar(th, e.Value)
		if err != nil {
			return nil, err
		}
		d.SetKey(sl.String(e.Key), v)
	}
	return d, nil
}

func mItems(th *sl.Thread, c *Cache, name string, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	if err := sl.UnpackArgs(name, args, kw); err != nil {
		return nil, err
	}
	return itemsDict(th, c.Items(nil))
}

func mClear(_ *sl.Thread, c *Cache, name string, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	if err := sl.UnpackArgs(name, args, kw); err != nil {
		return nil, err
	}
	c.Clear()
	return sl.None, nil
}

// matching makes a by-prefix (suffix, regex, contains) method: its first
// argument selects the keys, and op does the rest.
func matching(mk func(string) (Matcher, error), op func(th *sl.Thread, c *Cache, name string, m Matcher, rest sl.Tuple, kw []sl.Tuple) (sl.Value, error)) cacheMethod {
	return func(th *sl.Thread, c *Cache, name string, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
		if len(args) == 0 {
			return nil, fmt.Errorf("%s: missing the %s to match", name, name[strings.LastIndex(name, "_")+1:])
		}
		s, ok := sl.AsString(args[0])
		if !ok {
			return nil, fmt.Errorf("%s: the %s is a str, not %s", name, name[strings.LastIndex(name, "_")+1:], args[0].Type())
		}
		m, err := mk(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return op(th, c, name, m, args[1:], kw)
	}
}

func getMatching(th *sl.Thread, c *Cache, name string, m Matcher, rest sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	if err := sl.UnpackArgs(name, rest, kw); err != nil {
		return nil, err
	}
	return itemsDict(th, c.Items(m))
}

func setMatching(th *sl.Thread, c *Cache, name string, m Matcher, rest sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	var v sl.Value
	var exp sl.Value = sl.None
	if err := sl.UnpackArgs(name, rest, kw, "value", &v, "expiry?", &exp); err != nil {
		return nil, err
	}
	d, err := expiry(name, exp)
	if err != nil {
		return nil, err
	}
	gv, err := toGo(th, v)
	if err != nil {
		return nil, err
	}
	n, err := c.SetMatching(m, gv, d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return sl.MakeInt(n), nil
}

func deleteMatching(_ *sl.Thread, c *Cache, name string, m Matcher, rest sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	if err := sl.UnpackArgs(name, rest, kw); err != nil {
		return nil, err
	}
	return sl.MakeInt(c.DeleteMatching(m)), nil
}

func deleteByPrefix(_ *sl.Thread, c *Cache, name string, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	var prefix string
	if err := sl.UnpackArgs(name, args, kw, "prefix", &prefix); err != nil {
		return nil, err
	}
	return sl.MakeInt(c.DeletePrefix(prefix)), nil
}

func expireMatching(_ *sl.Thread, c *Cache, name string, m Matcher, rest sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	var exp sl.Value
	if err := sl.UnpackArgs(name, rest, kw, "expiry", &exp); err != nil {
		return nil, err
	}
	d, err := expiry(name, exp)
	if err != nil || d == Default {
		return nil, fmt.Errorf("%s: expiry is a number of seconds", name)
	}
	return sl.MakeInt(c.ExpireMatching(m, d)), nil
}
