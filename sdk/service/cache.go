package service

import (
	"fmt"
	"time"
)

// CacheDefaultExpiry, given as an expiry, takes the cache's
// default_expiry.
const CacheDefaultExpiry time.Duration = -1

// Cache is a built-in cache as a Go service uses it (Zato's self.cache):
// values are Go values as JSON decodes them. It is safe for concurrent
// use; an expiry of 0 never expires.
type Cache interface {
	Get(key string) (any, bool)
	Set(key string, value any, expiry time.Duration) error
	SetIfAbsent(key string, value any, expiry time.Duration) (bool, error)
	Delete(key string) bool
	Expire(key string, d time.Duration) bool
	Has(key string) bool
}

// Cache returns the built-in cache with a name; "" is the default cache
// (self.cache.default).
func (c *Context) Cache(name string) (Cache, error) {
	v, err := c.Out().Kind(KindCache, name)
	if err != nil {
		return nil, err
	}
	cache, ok := v.(Cache)
	if !ok {
		return nil, fmt.Errorf("cache %q: the platform returned a %T", name, v)
	}
	return cache, nil
}
