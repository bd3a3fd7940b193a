package cache_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/cache"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

func TestDeclaration(t *testing.T) {
	k, ok := registry.Lookup(cache.Kind)
	if !ok {
		t.Fatal("cache_builtin is not registered")
	}
	for _, err := range k.Lint() {
		t.Error(err)
	}
}

func expect(t testing.TB, r *plexustest.Response, status int, m plexustest.Match) *plexustest.Response {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", r.StatusCode, status, r.Body)
	}
	if m != nil {
		if err := m(r.Body); err != nil {
			t.Fatalf("%v\n%s", err, r.Body)
		}
	}
	return r
}

// api uses Zato's cache API from Starlark.
const api = `
def handle(self):
    d = self.cache.default
    c = self.cache.get_cache("builtin", "customers")
    out = {}
    d.set("k", {"name": "Jane", "tags": ["a", "b"]})
    out["get"] = d.get("k")
    out["missing"] = d.get("nope", "fallback")
    out["has"] = [d.has_key("k"), d.has_key("nope")]
    out["absent"] = [c.set_if_absent("cust:1", 1), c.set_if_absent("cust:1", 2), c.get("cust:1")]
    c.set("cust:2", 2, expiry=3600)
    c.set("order:1", "x", 0)
    out["details"] = {"hits": c.get("cust:2", details=True).hits, "expiry": c.get("cust:2", details=True).expiry}
    out["by_prefix"] = c.get_by_prefix("cust:")
    out["set_by_prefix"] = c.set_by_prefix("cust:", "z")
    out["expire"] = [c.expire("order:1", 60), c.expire("nope", 60)]
    out["by_regex"] = sorted(c.get_by_regex("^(cust|order):1$").keys())
    out["delete_by_prefix"] = c.delete_by_prefix("cust:")
    out["delete"] = [c.delete("order:1"), c.delete("order:1")]
    out["keys"] = c.keys()
    out["name"] = c.name
    self.response.payload = out
`

// goCache uses the same caches from Go.
type goCache struct{}

func (goCache) Name() string { return "t.go-cache" }

func (goCache) Handle(c *service.Context) error {
	d, err := c.Cache("")
	if err != nil {
		return err
	}
	v, ok := d.Get("k") // set by the Starlark service
	cust, err := c.Cache("customers")
	if err != nil {
		return err
	}
	if err := cust.Set("go", "value", time.Minute); err != nil {
		return err
	}
	set, _ := cust.SetIfAbsent("go", "other", 0)
	c.Response.Payload = map[string]any{"from_starlark": v, "found": ok, "set_again": set, "has": cust.Has("go")}
	return nil
}

func TestServiceAPI(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{Services: []any{goCache{}}})
	s.Put(cache.Kind, "customers", map[string]any{"max_entries": 100})
	s.Deploy("api.star", api)
	s.Channel("api", "api", "POST", "/api", nil)
	s.Channel("go", "t.go-cache", "POST", "/go", nil)
	expect(t, s.Call("POST", "/api", "", nil), 200, plexustest.JSON(`{
		"get": {"name": "Jane", "tags": ["a", "b"]}, "missing": "fallback", "has": [true, false],
		"absent": [true, false, 1], "details": {"hits": 1, "expiry": 3600.0}, "by_prefix": {"cust:1": 1, "cust:2": 2},
		"set_by_prefix": 2, "expire": [true, false], "by_regex": ["cust:1", "order:1"], "delete_by_prefix": 2,
		"delete": [true, false], "keys": [], "name": "customers"}`))
	expect(t, s.Call("POST", "/go", "", nil), 200, plexustest.JSON(`{"from_starlark": {"name": "Jane", "tags": ["a", "b"]}, "found": true, "set_again": false, "has": true}`))
	s.Deploy("missing.star", "def handle(self):\n    self.cache.get_cache(\"builtin\", \"custmers\")\n")
	s.Channel("missing", "missing", "POST", "/missing", nil)
	res := expect(t, s.Call("POST", "/missing", "", nil), 500, nil)
	s.Log.WaitFor(t, "cid="+res.CID(), `did you mean \"customers\"`)
}

// counted answers how many times it ran, with what it was asked.
const counted = `
def handle(self):
    n = self.kvdb.conn.incr("runs:" + self.channel.name)
    self.response.headers["X-Runs"] = str(n)
    self.response.payload = {"runs": n, "q": self.request.input.get("q", ""), "lang": self.request.http.headers.get("Accept-Language", "")}
`

// A REST channel with a cache answers a repeated GET from it, keyed on
// the path, the query string (in any order) and the chosen headers,
// after the security checks; other verbs and failures are not cached;
// delete_by_prefix drops the channel's replies; /metrics counts hits.
func TestResponseCaching(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{})
	s.Put(cache.Kind, "replies", map[string]any{"max_entries": 100})
	s.Put("security", "basic", map[string]any{"type": "basic_auth", "username": "u", "password": "secret-password-1"})
	s.Deploy("counted.star", counted)
	s.Deploy("drop.star", "def handle(self):\n    self.response.payload = {\"dropped\": self.cache.get_cache(\"builtin\", \"replies\").delete_by_prefix(\"channel:cached:\")}\n")
	s.Channel("cached", "counted", "", "/cached/{id}", map[string]any{"cache": "replies", "cache_expiry": "1h", "cache_headers": []string{"Accept-Language"}, "security": "basic"})
	s.Channel("drop", "drop", "POST", "/drop", nil)
	auth := http.Header{"Authorization": {"Basic dTpzZWNyZXQtcGFzc3dvcmQtMQ=="}}
	get := func(path string, h http.Header) (int, string, string) {
		t.Helper()
		hdr := http.Header{}
		for k, v := range auth {
			hdr[k] = v
		}
		for k, v := range h {
			hdr[k] = v
		}
		r := s.Call("GET", path, "", hdr)
		if r.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, r.StatusCode, r.Body)
		}
		return r.StatusCode, r.Header.Get("X-Runs"), r.Header.Get("X-Plexus-Cache")
	}
	for _, c := range []struct {
		path      string
		lang      string
		runs, hit string
	}{
		{"/cached/1?a=1&b=2", "", "1", "miss"},
		{"/cached/1?a=1&b=2", "", "1", "hit"},
		{"/cached/1?b=2&a=1", "", "1", "hit"},
		{"/cached/1?a=1&b=3", "", "2", "miss"},
		{"/cached/2?a=1&b=2", "", "3", "miss"},
		{"/cached/1?a=1&b=2", "pl", "4", "miss"},
		{"/cached/1?a=1&b=2", "pl", "4", "hit"},
	} {
		var h http.Header
		if c.lang != "" {
			h = http.Header{"Accept-Language": {c.lang}}
		}
		if _, runs, hit := get(c.path, h); runs != c.runs || hit != c.hit {
			t.Errorf("GET %s (%s): run %s, %s; want %s, %s", c.path, c.lang, runs, hit, c.runs, c.hit)
		}
	}
	if r := s.Call("GET", "/cached/1?a=1&b=2", "", nil); r.StatusCode != 401 {
		t.Errorf("a cached reply without credentials: %d %s", r.StatusCode, r.Body)
	}
	post := s.Call("POST", "/cached/1?a=1&b=2", "", auth)
	if post.StatusCode != 200 || post.Header.Get("X-Plexus-Cache") != "" || post.Header.Get("X-Runs") != "5" {
		t.Errorf("POST: %d %v %s", post.StatusCode, post.Header, post.Body)
	}
	expect(t, s.Call("POST", "/drop", "", nil), 200, plexustest.JSON(`{"dropped": 4}`))
	if _, runs, hit := get("/cached/1?a=1&b=2", nil); runs != "6" || hit != "miss" {
		t.Errorf("after delete_by_prefix: run %s, %s", runs, hit)
	}
	metrics := string(s.AdminCall("GET", "/metrics", "").Body)
	for _, want := range []string{`plexus_cache_responses_total{channel="cached",name="replies",outcome="hit"} 3`,
		`plexus_cache_responses_total{channel="cached",name="replies",outcome="miss"} 5`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}

// The limits of a cache change live: entries that fit stay, and requests
// served while it changes all succeed.
func TestLiveEdit(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{})
	s.Put(cache.Kind, "c", map[string]any{"max_entries": 100})
	s.Deploy("fill.star", "def handle(self):\n    c = self.cache.get_cache(\"builtin\", \"c\")\n    c.set(self.request.input.k, 1)\n    self.response.payload = {\"n\": len(c.keys())}\n")
	s.Channel("fill", "fill", "POST", "/fill", nil)
	var failures atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 300 {
			if r := s.Call("POST", fmt.Sprintf("/fill?k=%d", i), "", nil); r.StatusCode != 200 {
				failures.Add(1)
			}
		}
	}()
	for i := range 5 {
		s.Put(cache.Kind, "c", map[string]any{"max_entries": 100 + i, "default_expiry": "1h"})
	}
	<-done
	if failures.Load() != 0 {
		t.Errorf("%d requests failed during edits", failures.Load())
	}
	expect(t, s.Call("POST", "/fill?k=last", "", nil), 200, plexustest.JSON(`{"n": 104}`))
	s.Put(cache.Kind, "c", map[string]any{"max_entries": 10})
	expect(t, s.Call("POST", "/fill?k=again", "", nil), 200, plexustest.JSON(`{"n": 10}`))
}
