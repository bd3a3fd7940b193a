package cache

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// clocked returns a cache whose clock the test moves.
func clocked(cfg *Config) (*Cache, *time.Time) {
	c := New("t", cfg)
	now := time.Unix(1_000_000, 0)
	c.now = func() time.Time { return now }
	return c, &now
}

func TestLRUByEntries(t *testing.T) {
	c, _ := clocked(&Config{MaxEntries: 3})
	for i := range 3 {
		c.Set(fmt.Sprint(i), i, 0)
	}
	c.Get("0") // 0 is now the most recently used
	c.Set("3", 3, 0)
	if c.Has("1") || !c.Has("0") || !c.Has("2") || !c.Has("3") || c.Len() != 3 {
		t.Errorf("after evicting one: keys %v", c.Keys(nil))
	}
}

func TestLRUByBytes(t *testing.T) {
	c, _ := clocked(&Config{MaxBytes: 1000, MaxItemSize: 600})
	big := string(make([]byte, 400))
	c.Set("a", big, 0)
	c.Set("b", big, 0)
	if c.Has("a") == false || c.Bytes() > 1000 {
		t.Fatalf("two values: %d bytes", c.Bytes())
	}
	c.Set("c", big, 0)
	if c.Has("a") || !c.Has("b") || !c.Has("c") || c.Bytes() > 1000 {
		t.Errorf("after the third: %v, %d bytes", c.Keys(nil), c.Bytes())
	}
	var tl *TooLargeError
	if err := c.Set("d", string(make([]byte, 700)), 0); !errors.As(err, &tl) || c.Has("d") {
		t.Errorf("a value past max_item_size: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	c, now := clocked(&Config{MaxEntries: 10, DefaultExpiry: 60_000_000_000})
	c.Set("default", 1, Default)
	c.Set("never", 1, 0)
	c.Set("short", 1, 5*time.Second)
	*now = now.Add(10 * time.Second)
	if c.Has("short") || !c.Has("default") || !c.Has("never") {
		t.Errorf("after 10s: %v", c.Keys(nil))
	}
	if !c.Expire("never", time.Second) || c.Expire("missing", time.Second) {
		t.Error("expire")
	}
	*now = now.Add(61 * time.Second)
	if got := c.Keys(nil); len(got) != 0 {
		t.Errorf("after 71s: %v", got)
	}
	if c.Len() != 0 {
		t.Errorf("expired entries kept: %d", c.Len())
	}
}

func TestExtendOnGet(t *testing.T) {
	c, now := clocked(&Config{MaxEntries: 10, ExtendExpiryOnGet: true})
	c.Set("k", 1, 10*time.Second)
	for range 5 {
		*now = now.Add(6 * time.Second)
		if _, ok := c.Get("k"); !ok {
			t.Fatal("an entry read every 6s expired after 10s")
		}
	}
	*now = now.Add(11 * time.Second)
	if c.Has("k") {
		t.Error("an entry unread for 11s lives")
	}
}

func TestSetIfAbsentAndMatching(t *testing.T) {
	c, _ := clocked(&Config{MaxEntries: 100})
	if ok, _ := c.SetIfAbsent("user:1", "a", 0); !ok {
		t.Error("first set_if_absent")
	}
	if ok, _ := c.SetIfAbsent("user:1", "b", 0); ok {
		t.Error("second set_if_absent")
	}
	if v, _ := c.Get("user:1"); v != "a" {
		t.Errorf("value %v", v)
	}
	c.Set("user:2", "x", 0)
	c.Set("order:1", "y", 0)
	if n, _ := c.SetMatching(Prefix("user:"), "z", 0); n != 2 {
		t.Errorf("set_by_prefix: %d", n)
	}
	if n := c.ExpireMatching(Suffix(":1"), time.Hour); n != 2 {
		t.Errorf("expire_by_suffix: %d", n)
	}
	re, err := Regex(`^user:\d$`)
	if err != nil {
		t.Fatal(err)
	}
	if n := c.DeleteMatching(re); n != 2 || c.Len() != 1 {
		t.Errorf("delete_by_regex: %d, left %v", n, c.Keys(nil))
	}
	if _, err := Regex(string(make([]byte, MaxPattern+1))); err == nil {
		t.Error("a pattern past MaxPattern")
	}
}

func TestUpdateKeepsEntries(t *testing.T) {
	cfg := &Config{Name: "t", IsActive: true, MaxEntries: 10}
	r, _ := provision(nil, cfg)
	rn := r.(*running)
	for i := range 10 {
		rn.c.Set(fmt.Sprint(i), i, 0)
	}
	apply := update(nil, rn, cfg, &Config{Name: "t", IsActive: true, MaxEntries: 4})
	if apply == nil {
		t.Fatal("a change of limits needs a new cache")
	}
	apply()
	if rn.c.Len() != 4 || !rn.c.Has("9") {
		t.Errorf("after shrinking to 4: %v", rn.c.Keys(nil))
	}
}

// fanout delivers invalidations to other caches at once, as a cluster
// feed would.
type fanout struct {
	mu     sync.Mutex
	others []*Cache
}

func (f *fanout) Broadcast(inv Invalidation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.others {
		c.Apply(inv)
	}
}

// Changes on one server drop the other servers' copies through the
// Broadcaster.
func TestInvalidationHook(t *testing.T) {
	a, b := New("c", &Config{MaxEntries: 10}), New("c", &Config{MaxEntries: 10})
	a.peers = &fanout{others: []*Cache{b}}
	b.Set("k", "old", 0)
	b.Set("p:1", 1, 0)
	a.Set("k", "new", 0)
	if b.Has("k") {
		t.Error("a set on one server left the old copy on another")
	}
	b.Set("k", "new", 0)
	a.Delete("k")
	a.DeletePrefix("p:")
	b.Set("x", 1, 0)
	if b.Has("k") || b.Has("p:1") {
		t.Errorf("deletes did not reach the other server: %v", b.Keys(nil))
	}
	a.Clear()
	if b.Len() != 0 {
		t.Errorf("clear did not reach the other server: %v", b.Keys(nil))
	}
}

func TestConcurrent(t *testing.T) {
	c := New("t", &Config{MaxEntries: 50, MaxBytes: 10000})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := fmt.Sprint(g, ":", i%70)
				c.Set(k, map[string]any{"i": i}, time.Minute)
				c.Get(k)
				c.DeleteMatching(Prefix(fmt.Sprint(g, ":6")))
			}
		}()
	}
	wg.Wait()
	if c.Len() > 50 || c.Bytes() > 10000 {
		t.Errorf("limits exceeded: %d entries, %d bytes", c.Len(), c.Bytes())
	}
}

func FuzzMatchers(f *testing.F) {
	f.Add("user:", "user:1")
	f.Add(`^a(b|c)*$`, "abcbc")
	f.Add(`(`, "x")
	f.Fuzz(func(t *testing.T, pattern, key string) {
		c := New("f", &Config{MaxEntries: 10})
		c.Set(key, 1, 0)
		if re, err := Regex(pattern); err == nil {
			n := c.DeleteMatching(re)
			if n > 1 || n == 1 && c.Has(key) {
				t.Fatalf("delete_by_regex %q of %q: %d", pattern, key, n)
			}
		}
		c.Set(key, 1, 0)
		if got := c.DeleteMatching(Prefix(pattern)); (got == 1) != (len(key) >= len(pattern) && key[:len(pattern)] == pattern) {
			t.Fatalf("delete_by_prefix %q of %q: %d", pattern, key, got)
		}
	})
}
