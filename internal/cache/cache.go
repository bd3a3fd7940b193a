// Package cache holds named in-memory caches, kind cache_builtin: LRU
// caches bounded by entries and bytes, with a default expiry, that
// services use as self.cache.default and
// self.cache.get_cache("builtin", name) in Starlark and s.Cache(name) in
// Go, and that REST channels keep their responses in (fields cache and
// cache_expiry). Entries live in each server's memory; a change reaches
// the other servers of a cluster through a Broadcaster, when the server
// has one.
package cache

import (
	"container/list"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Cache is one in-memory cache: an LRU list bounded by entries and bytes.
// Values are Go values as JSON decodes them (or any value, with the size
// its owner gives). It is safe for concurrent use.
type Cache struct {
	name string

	mu      sync.Mutex
	limits  limits
	entries map[string]*list.Element
	lru     *list.List // front: most recently used
	bytes   int64
	now     func() time.Time
	// peers hears the changes other servers must apply; nil on its own.
	peers Broadcaster
	stats *stats
}

// limits are a cache's bounds and default expiry.
type limits struct {
	maxEntries, maxBytes, maxItem int64
	expiry                        time.Duration
	extendOnGet                   bool
}

// entry is one cached value.
type entry struct {
	key     string
	value   any
	size    int64
	expires time.Time // zero: never
	expiry  time.Duration
	created time.Time
	hits    int64
	read    time.Time
}

// Entry describes a cached value, for details=True.
type Entry struct {
	Key      string
	Value    any
	Expiry   time.Duration // 0: never expires
	Expires  time.Time     // zero: never
	Created  time.Time
	Hits     int64
	LastRead time.Time
}

// New returns an empty cache.
func New(name string, cfg *Config) *Cache {
	c := &Cache{name: name, entries: map[string]*list.Element{}, lru: list.New(), now: time.Now}
	c.limits = cfg.limits()
	return c
}

// CountReply counts a REST channel's lookup of its reply in the cache.
func (c *Cache) CountReply(channel string, hit bool) { c.stats.reply(c.name, channel, hit) }

// Name returns the cache's name.
func (c *Cache) Name() string { return c.name }

// live returns the entry of a key when it exists and has not expired,
// deleting it when it has. c.mu is held.
func (c *Cache) live(key string, now time.Time) *list.Element {
	el, ok := c.entries[key]
	if !ok {
		return nil
	}
	if e := el.Value.(*entry); !e.expires.IsZero() && !now.Before(e.expires) {
		c.remove(el)
		return nil
	}
	return el
}

func (c *Cache) remove(el *list.Element) {
	e := el.Value.(*entry)
	delete(c.entries, e.key)
	c.lru.Remove(el)
	c.bytes -= e.size
}

// Get returns a key's value and whether it is there.
func (c *Cache) Get(key string) (any, bool) {
	e, ok := c.get(key)
	if !ok {
		return nil, false
	}
	return e.Value, true
}

// Details returns a key's entry and whether it is there.
func (c *Cache) Details(key string) (Entry, bool) { return c.get(key) }

func (c *Cache) get(key string) (Entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	el := c.live(key, now)
	if el == nil {
		c.stats.miss(c.name)
		return Entry{}, false
	}
	c.stats.hit(c.name)
	e := el.Value.(*entry)
	e.hits++
	e.read = now
	if c.limits.extendOnGet && e.expiry > 0 {
		e.expires = now.Add(e.expiry)
	}
	c.lru.MoveToFront(el)
	return e.public(), true
}

func (e *entry) public() Entry {
	return Entry{Key: e.key, Value: e.value, Expiry: e.expiry, Expires: e.expires, Created: e.created, Hits: e.hits, LastRead: e.read}
}

// Default is the expiry that Set takes as "the cache's default".
const Default time.Duration = -1

// Set stores a value under a key; expiry 0 never expires, Default takes
// the cache's default_expiry. It returns ErrTooLarge for a value larger
// than max_item_size or max_bytes. Least recently used entries make room.
func (c *Cache) Set(key string, value any, expiry time.Duration) error {
	return c.SetSized(key, value, Size(value)+int64(len(key)), expiry)
}

// SetSized is Set with the value's size given, for values Size cannot
// measure (a channel's stored response).
func (c *Cache) SetSized(key string, value any, size int64, expiry time.Duration) error {
	_, err := c.set(key, value, size, expiry, false)
	if err == nil {
		c.broadcast(Invalidation{Cache: c.name, Keys: []string{key}})
	}
	return err
}

// SetIfAbsent stores a value only when the key is not there, and reports
// whether it did.
func (c *Cache) SetIfAbsent(key string, value any, expiry time.Duration) (bool, error) {
	ok, err := c.set(key, value, Size(value)+int64(len(key)), expiry, true)
	if ok {
		c.broadcast(Invalidation{Cache: c.name, Keys: []string{key}})
	}
	return ok, err
}

func (c *Cache) set(key string, value any, size int64, expiry time.Duration, ifAbsent bool) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.limits
	if l.maxItem > 0 && size > l.maxItem || l.maxBytes > 0 && size > l.maxBytes {
		return false, &TooLargeError{Cache: c.name, Size: size, Max: min(nonZero(l.maxItem), nonZero(l.maxBytes))}
	}
	now := c.now()
	if expiry == Default {
		expiry = l.expiry
	}
	if el := c.live(key, now); el != nil {
		if ifAbsent {
			return false, nil
		}
		c.remove(el)
	}
	e := &entry{key: key, value: value, size: size, expiry: expiry, created: now}
	if expiry > 0 {
		e.expires = now.Add(expiry)
	}
	c.entries[key] = c.lru.PushFront(e)
	c.bytes += size
	c.evict()
	return true, nil
}

func nonZero(n int64) int64 {
	if n <= 0 {
		return 1<<63 - 1
	}
	return n
}

// evict drops least recently used entries past the limits. c.mu is held.
func (c *Cache) evict() {
	for c.lru.Len() > 0 && (c.limits.maxEntries > 0 && int64(c.lru.Len()) > c.limits.maxEntries ||
		c.limits.maxBytes > 0 && c.bytes > c.limits.maxBytes) {
		c.remove(c.lru.Back())
		c.stats.evicted(c.name)
	}
}

// Delete deletes a key and reports whether it was there.
func (c *Cache) Delete(key string) bool {
	c.mu.Lock()
	el := c.live(key, c.now())
	if el != nil {
		c.remove(el)
	}
	c.mu.Unlock()
	c.broadcast(Invalidation{Cache: c.name, Keys: []string{key}})
	return el != nil
}

// Expire makes a key expire after d (0 or less: now) and reports
// whether it was there.
func (c *Cache) Expire(key string, d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	el := c.live(key, now)
	if el == nil {
		return false
	}
	if d <= 0 {
		c.remove(el)
		return true
	}
	e := el.Value.(*entry)
	e.expiry, e.expires = d, now.Add(d)
	return true
}

// Has reports whether a key is there.
func (c *Cache) Has(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live(key, c.now()) != nil
}

// Len returns the number of entries, expired ones not yet dropped
// included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Bytes returns the entries' total size.
func (c *Cache) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// Clear deletes every entry.
func (c *Cache) Clear() {
	c.mu.Lock()
	c.entries, c.bytes = map[string]*list.Element{}, 0
	c.lru.Init()
	c.mu.Unlock()
	c.broadcast(Invalidation{Cache: c.name, All: true})
}

// Matcher selects keys: by prefix, suffix, regular expression or
// substring.
type Matcher func(key string) bool

// Prefix, Suffix and Contains match keys that start with, end with or
// hold s.
func Prefix(s string) Matcher   { return func(k string) bool { return strings.HasPrefix(k, s) } }
func Suffix(s string) Matcher   { return func(k string) bool { return strings.HasSuffix(k, s) } }
func Contains(s string) Matcher { return func(k string) bool { return strings.Contains(k, s) } }

// MaxPattern is the longest regular expression Regex takes.
const MaxPattern = 1024

// Regex matches keys a regular expression (RE2 syntax, linear time)
// finds a match in.
func Regex(pattern string) (Matcher, error) {
	if len(pattern) > MaxPattern {
		return nil, &PatternError{Len: len(pattern)}
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	return re.MatchString, nil
}

// Keys returns the live keys m selects (nil: all), most recently used
// first.
func (c *Cache) Keys(m Matcher) []string {
	var keys []string
	c.each(m, func(e *entry) { keys = append(keys, e.key) })
	return keys
}

// Items returns the live entries m selects (nil: all), most recently used
// first.
func (c *Cache) Items(m Matcher) []Entry {
	var out []Entry
	c.each(m, func(e *entry) { out = append(out, e.public()) })
	return out
}

func (c *Cache) each(m Matcher, fn func(*entry)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for el := c.lru.Front(); el != nil; {
		next := el.Next()
		e := el.Value.(*entry)
		switch {
		case !e.expires.IsZero() && !now.Before(e.expires):
			c.remove(el)
		case m == nil || m(e.key):
			fn(e)
		}
		el = next
	}
}

// DeleteMatching deletes the keys m selects and returns how many.
func (c *Cache) DeleteMatching(m Matcher) int {
	keys := c.Keys(m)
	c.mu.Lock()
	for _, k := range keys {
		if el, ok := c.entries[k]; ok {
			c.remove(el)
		}
	}
	c.mu.Unlock()
	if len(keys) > 0 {
		c.broadcast(Invalidation{Cache: c.name, Keys: keys})
	}
	return len(keys)
}

// DeletePrefix deletes the keys starting with prefix, here and on the
// other servers, and returns how many were here.
func (c *Cache) DeletePrefix(prefix string) int {
	keys := c.Keys(Prefix(prefix))
	c.mu.Lock()
	for _, k := range keys {
		if el, ok := c.entries[k]; ok {
			c.remove(el)
		}
	}
	c.mu.Unlock()
	c.broadcast(Invalidation{Cache: c.name, Prefix: prefix})
	return len(keys)
}

// ExpireMatching makes the keys m selects expire after d and returns how
// many.
func (c *Cache) ExpireMatching(m Matcher, d time.Duration) int {
	n := 0
	for _, k := range c.Keys(m) {
		if c.Expire(k, d) {
			n++
		}
	}
	return n
}

// SetMatching sets the value of the keys m selects and returns how many.
func (c *Cache) SetMatching(m Matcher, value any, expiry time.Duration) (int, error) {
	n := 0
	for _, k := range c.Keys(m) {
		if err := c.Set(k, value, expiry); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// setLimits applies new limits, evicting what no longer fits.
func (c *Cache) setLimits(l limits) {
	c.mu.Lock()
	c.limits = l
	c.evict()
	c.mu.Unlock()
}
