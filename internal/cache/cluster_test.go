package cache_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/cache"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/plexustest"
)

// kv sets, deletes or reads a key of a cache, as the request says.
const kv = `
def handle(self):
    p = self.request.payload
    c = self.cache.get_cache("builtin", p["cache"]) if p.get("cache") else self.cache.default
    if p["op"] == "set":
        c.set(p["key"], p["value"])
    elif p["op"] == "delete":
        c.delete(p["key"])
    self.response.payload = {"value": c.get(p["key"])}
`

// Two servers sharing a PostgreSQL store: what one sets or deletes in a
// cache drops the other's copy of the key, for a configured cache and for
// the default one.
func TestClusterInvalidation(t *testing.T) {
	dsn := testenv.Postgres(t)
	a := plexustest.Start(t, plexustest.Options{DB: dsn})
	a.Deploy("kv.star", kv)
	a.Channel("kv", "kv", "POST", "/kv", nil)
	a.Put(cache.Kind, "prices", map[string]any{})

	// The second node: the same environment (its server key) and store.
	dir := filepath.Join(t.TempDir(), "env")
	if err := os.CopyFS(dir, os.DirFS(a.Dir)); err != nil {
		t.Fatal(err)
	}
	b := plexustest.Start(t, plexustest.Options{Dir: dir, DB: a.DB()})
	for _, s := range []*plexustest.Server{a, b} {
		s.Log.WaitFor(t, "cluster bus: listening")
	}
	call := func(s *plexustest.Server, body string) string {
		t.Helper()
		r := s.Call("POST", "/kv", body, nil)
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d %s", body, r.StatusCode, r.Body)
		}
		return string(r.Body)
	}
	waitFor := func(s *plexustest.Server, body, want string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			got := call(s, body)
			if strings.Contains(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s, want %s", body, got, want)
			}
		}
	}
	for _, name := range []string{"prices", ""} {
		key := `"cache": "` + name + `", "key": "k"`
		call(a, `{"op": "set", "value": "first", `+key+`}`)
		if got := call(b, `{"op": "set", "value": "old", `+key+`}`); !strings.Contains(got, `"value":"old"`) {
			t.Fatalf("%s on b: %s", name, got)
		}
		waitFor(a, `{"op": "get", `+key+`}`, `"value":null`) // a's copy is dropped
		call(a, `{"op": "set", "value": "new", `+key+`}`)
		waitFor(b, `{"op": "get", `+key+`}`, `"value":null`) // b's copy is dropped
		if got := call(a, `{"op": "get", `+key+`}`); !strings.Contains(got, `"value":"new"`) {
			t.Errorf("%s: a's own value went too: %s", name, got)
		}
		call(b, `{"op": "set", "value": "again", `+key+`}`)
		call(a, `{"op": "delete", `+key+`}`)
		waitFor(b, `{"op": "get", `+key+`}`, `"value":null`)
	}
}
