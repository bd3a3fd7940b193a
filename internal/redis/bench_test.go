package redis_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/plexushq/plexus/internal/redis"
	"github.com/plexushq/plexus/plexustest"
)

// kvService sets a key and reads it back through self.kvdb.conn.
const kvService = `
def handle(self):
    inp = self.request.input
    self.kvdb.conn.set(inp.key, inp.value)
    self.response.payload = {"value": self.kvdb.conn.get(inp.key)}
`

// BenchmarkKVDB measures, against the same Redis in the same run, a REST
// channel whose Starlark service sets a key and reads it back through
// self.kvdb.conn on Redis, against a bare net/http handler doing SET and
// GET with go-redis, with the same pool size. Both are called over HTTP
// from as many goroutines; compare their req/s.
func BenchmarkKVDB(b *testing.B) {
	r := newServer(b)
	body := []byte(fmt.Sprintf(`{"key": %q, "value": "a value of 32 bytes, more or less"}`, r.prefix+"bench"))
	run := func(b *testing.B, url string) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bytes.Contains(data, []byte("32 bytes")) {
					b.Errorf("%d %s", resp.StatusCode, data)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	}
	b.Run("plexus", func(b *testing.B) {
		s := plexustest.Start(b, plexustest.Options{Settings: "log:\n  access: false\nkvdb:\n  redis: r\n"})
		s.Put(redis.Kind, "r", r.object(map[string]any{"pool_size": 20}))
		s.Deploy("kv.star", kvService)
		s.Channel("kv", "kv", "POST", "/kv", nil)
		run(b, s.URL+"/kv")
	})
	b.Run("bare", func(b *testing.B) {
		rdb := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("%s:%d", r.fields["host"], r.fields["port"]), DB: r.fields["db"].(int), PoolSize: 20, Protocol: 2})
		defer rdb.Close()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			var in struct{ Key, Value string }
			if err := json.NewDecoder(req.Body).Decode(&in); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			if err := rdb.Set(req.Context(), in.Key, in.Value, 0).Err(); err != nil {
				http.Error(w, err.Error(), 502)
				return
			}
			v, err := rdb.Get(req.Context(), in.Key).Result()
			if err != nil {
				http.Error(w, err.Error(), 502)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"value": v})
		}))
		defer srv.Close()
		run(b, srv.URL)
	})
}
