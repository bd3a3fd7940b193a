package cache

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Kind is the id of built-in caches.
const Kind = service.KindCache

// DefaultName is the name of the cache self.cache.default is, unless a
// cache is marked is_default.
const DefaultName = "default"

// Config is the configuration of a built-in cache (Zato's field names
// where Zato has them).
type Config struct {
	Name              string          `json:"name" label:"Name" group:"Cache" placeholder:"customers" doc:"Unique name of the cache; services use it: self.cache.get_cache(\"builtin\", \"customers\")."`
	IsActive          bool            `json:"is_active" label:"Active" group:"Cache" doc:"Whether the cache is used; services using an inactive one get 503."`
	IsDefault         bool            `json:"is_default" label:"Default cache" group:"Cache" doc:"Whether the cache is self.cache.default; without one, the cache named default is, or the server's own (10,000 entries, 64 MiB)."`
	MaxEntries        int64           `json:"max_entries" label:"Most entries" group:"Limits" min:"0" max:"100000000" doc:"Most entries the cache holds; past it the least recently used are dropped. 0: no limit but max_bytes."`
	MaxBytes          int64           `json:"max_bytes" label:"Most bytes" group:"Limits" min:"0" unit:"bytes" doc:"Most memory the entries take together, keys included, as estimated from their contents; past it the least recently used are dropped. 0: no limit but max_entries."`
	MaxItemSize       int64           `json:"max_item_size" label:"Largest entry" group:"Limits" min:"0" unit:"bytes" doc:"Largest entry the cache takes; storing a larger one fails. 0: no limit but max_bytes."`
	DefaultExpiry     config.Duration `json:"default_expiry" label:"Default expiry" group:"Expiry" min:"0s" placeholder:"10m" doc:"How long an entry stored without an expiry lives; 0: until it is deleted or dropped."`
	ExtendExpiryOnGet bool            `json:"extend_expiry_on_get" label:"Extend on read" group:"Expiry" doc:"Whether reading an entry starts its expiry anew, so entries in use stay."`
}

// Validate checks that the cache is bounded.
func (c *Config) Validate() []error {
	if c.MaxEntries == 0 && c.MaxBytes == 0 {
		return []error{registry.FieldProblem("max_entries", "a cache needs max_entries or max_bytes, or both: memory is bounded")}
	}
	return nil
}

func (c *Config) limits() limits {
	return limits{maxEntries: c.MaxEntries, maxBytes: c.MaxBytes, maxItem: c.MaxItemSize, expiry: c.DefaultExpiry.D(), extendOnGet: c.ExtendExpiryOnGet}
}

// Defaults.
const (
	defaultMaxEntries = 10000
	defaultMaxBytes   = 64 << 20
)

func newConfig() *Config {
	return &Config{IsActive: true, MaxEntries: defaultMaxEntries, MaxBytes: defaultMaxBytes}
}

func init() {
	registry.Register(registry.Kind{
		ID:      Kind,
		Title:   "Built-in cache",
		Aliases: []string{"zato_cache_builtin"},
		Summary: "A named in-memory cache, bounded by entries and bytes with least-recently-used eviction and a default expiry, for services (self.cache) and REST channels' responses.",
		ZatoFields: map[string]string{
			"max_size": "max_entries", "extend_expiry_on_set": registry.ZatoUnsupported,
			"sync_method": registry.ZatoUnsupported, "persistent_storage": registry.ZatoUnsupported, "cache_type": registry.ZatoUnsupported,
			"cache_id": registry.ZatoUnsupported, "id": registry.ZatoUnsupported, "current_size": registry.ZatoUnsupported, "opaque": registry.ZatoUnsupported,
		},
		Order: 20,
		New:   func() registry.Object { return newConfig() },
		Examples: []string{
			`{"name": "customers", "max_entries": 50000, "default_expiry": "10m"}`,
			`{"name": "tokens", "is_default": true, "max_bytes": 16777216, "max_item_size": 65536, "default_expiry": "1h", "extend_expiry_on_get": true}`,
		},
		Check:      check,
		Provision:  provision,
		Update:     update,
		Out:        &registry.Out{Resolve: resolve},
		Self:       map[string]registry.SelfFunc{"cache": selfCache},
		Collectors: collectors,
	})
}

// check refuses two default caches.
func check(objs []registry.Object) []error {
	var defaults []string
	for _, o := range objs {
		if c := o.(*Config); c.IsDefault {
			defaults = append(defaults, c.Name)
		}
	}
	if len(defaults) > 1 {
		return []error{registry.FieldProblem("is_default", "only one cache can be the default; %q are", defaults)}
	}
	return nil
}

// running is a cache's running form: the cache and its configuration,
// which update replaces while requests read it.
type running struct {
	config atomic.Pointer[Config]
	c      *Cache
}

func (r *running) cfg() *Config { return r.config.Load() }

func provision(env *registry.Env, obj registry.Object) (any, error) {
	cfg := obj.(*Config)
	c := New(cfg.Name, cfg)
	wire(env, c)
	rn := &running{c: c}
	rn.config.Store(cfg)
	return rn, nil
}

// wire gives a cache the server's metrics and cluster feed.
func wire(env *registry.Env, c *Cache) {
	if env == nil {
		return
	}
	if env.Collectors != nil {
		if cs := env.Collectors(Kind); len(cs) == 4 {
			c.stats = &stats{cs[0].(*prometheus.CounterVec), cs[1].(*prometheus.CounterVec), cs[2].(*prometheus.CounterVec), cs[3].(*prometheus.CounterVec)}
		}
	}
	if b, ok := registry.Subsystem[Broadcaster](env); ok {
		c.peers = b
	}
}

// update keeps a cache's entries through a change of its limits: only
// what no longer fits is dropped.
func update(_ *registry.Env, r any, _, obj registry.Object) func() {
	rn, cfg := r.(*running), obj.(*Config)
	if rn.c.name != cfg.Name {
		return nil
	}
	return func() {
		rn.config.Store(cfg)
		rn.c.setLimits(cfg.limits())
	}
}

// Builtin is the server's own default cache, used as self.cache.default
// while no cache_builtin is the default. Add it to the server's
// subsystems.
type Builtin struct {
	*Cache
	once sync.Once
}

// NewBuiltin returns the server's own default cache: 10,000 entries,
// 64 MiB, no expiry.
func NewBuiltin() *Builtin { return &Builtin{Cache: New(DefaultName, newConfig())} }

// resolve returns a cache by name; "" is the default cache.
func resolve(st registry.State, name string) (any, error) {
	if name == "" {
		return defaultCache(st)
	}
	v, ok := st.Running(Kind, name)
	if !ok {
		if name == DefaultName {
			return defaultCache(st)
		}
		msg := fmt.Sprintf("no cache named %q", name)
		if s := registry.Suggest(name, st.Names(Kind)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, errors.New(msg)
	}
	rn := v.(*running)
	if !rn.cfg().IsActive {
		return nil, service.ServiceUnavailable("cache %q is inactive", name)
	}
	return rn.c, nil
}

// defaultCache returns the cache marked is_default, the one named
// default, or the server's own.
func defaultCache(st registry.State) (*Cache, error) {
	var named *running
	for _, n := range st.Names(Kind) {
		v, _ := st.Running(Kind, n)
		rn := v.(*running)
		if rn.cfg().IsDefault {
			named = rn
			break
		}
		if n == DefaultName {
			named = rn
		}
	}
	if named != nil {
		if !named.cfg().IsActive {
			return nil, service.ServiceUnavailable("cache %q is inactive", named.cfg().Name)
		}
		return named.c, nil
	}
	b, ok := registry.Subsystem[*Builtin](st.Env())
	if !ok {
		return nil, service.ServiceUnavailable("this server has no default cache")
	}
	b.once.Do(func() { wire(st.Env(), b.Cache) })
	return b.Cache, nil
}

// stats counts hits, misses and evictions of every cache, and the
// lookups of REST channels' replies.
type stats struct {
	hits, misses, evictions, replies *prometheus.CounterVec
}

func collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plexus_cache_hits_total", Help: "Reads of a cache that found the key, REST channels' responses included."}, []string{"name"}),
		prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plexus_cache_misses_total", Help: "Reads of a cache that did not find the key."}, []string{"name"}),
		prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plexus_cache_evictions_total", Help: "Entries dropped to keep a cache within max_entries and max_bytes."}, []string{"name"}),
		prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plexus_cache_responses_total", Help: "Requests of a REST channel with a response cache, by outcome: hit (answered from the cache) or miss."}, []string{"name", "channel", "outcome"}),
	}
}

func (s *stats) hit(name string) {
	if s != nil {
		s.hits.WithLabelValues(name).Inc()
	}
}

func (s *stats) miss(name string) {
	if s != nil {
		s.misses.WithLabelValues(name).Inc()
	}
}

func (s *stats) reply(name, channel string, hit bool) {
	if s != nil {
		outcome := "miss"
		if hit {
			outcome = "hit"
		}
		s.replies.WithLabelValues(name, channel, outcome).Inc()
	}
}

func (s *stats) evicted(name string) {
	if s != nil {
		s.evictions.WithLabelValues(name).Inc()
	}
}
