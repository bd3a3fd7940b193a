package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/plexushq/plexus/internal/redis"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// The declaration has everything the admin API, forms and docs need.
func TestDeclaration(t *testing.T) {
	k, ok := registry.Lookup(redis.Kind)
	if !ok {
		t.Fatal("outgoing_redis is not registered")
	}
	for _, err := range k.Lint() {
		t.Error(err)
	}
}

// server is the test's Redis: its address as an object's fields, a
// client of the test's own and a key prefix of its own, whose keys are
// deleted when the test ends.
type server struct {
	fields map[string]any
	client *goredis.Client
	prefix string
}

func newServer(t testing.TB) *server {
	t.Helper()
	u, fields := testenv.Redis(t)
	opts, err := goredis.ParseURL(u.String())
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	s := &server{fields: fields,
		client: goredis.NewClient(opts), prefix: "pt:" + hex.EncodeToString(b[:]) + ":"}
	t.Cleanup(func() {
		ctx := context.Background()
		for it := s.client.Scan(ctx, 0, s.prefix+"*", 1000).Iterator(); it.Next(ctx); {
			s.client.Del(ctx, it.Val())
		}
		s.client.Close()
	})
	return s
}

func (s *server) object(more map[string]any) map[string]any {
	obj := map[string]any{}
	for k, v := range s.fields {
		obj[k] = v
	}
	for k, v := range more {
		obj[k] = v
	}
	return obj
}

// kill closes the server's connections of an outgoing connection, found
// by the client name it sets, and returns how many it closed.
func (s *server) kill(t testing.TB, name string) int {
	t.Helper()
	ctx := context.Background()
	list, err := s.client.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " name=plexus:"+name+" ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if id, ok := strings.CutPrefix(f, "id="); ok {
				if err := s.client.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err == nil {
					n++
				}
			}
		}
	}
	return n
}

// commands uses every family of commands through self.out.redis from
// Starlark and answers what it read.
const commands = `
def handle(self):
    p = self.request.payload["prefix"]
    c = self.out.redis["r"].conn
    out = {}
    out["set"] = c.set(p + "s", "value")
    out["nx"] = c.set(p + "s", "other", nx=True)
    out["get"] = c.get(p + "s")
    out["missing"] = c.get(p + "missing")
    out["incr"] = [c.incr(p + "n"), c.incr(p + "n", 41), c.decr(p + "n")]
    c.set(p + "t", "v", ex=100)
    out["ttl"] = c.ttl(p + "t")
    out["expire"] = c.expire(p + "s", 50)
    c.hset(p + "h", mapping={"a": 1, "b": "two"})
    c.hset(p + "h", "c", 3.5)
    out["hash"] = c.hgetall(p + "h")
    out["hget"] = c.hget(p + "h", "b")
    c.rpush(p + "l", "x", "y")
    c.lpush(p + "l", "w")
    out["list"] = c.lrange(p + "l", 0, -1)
    out["lpop"] = c.lpop(p + "l")
    c.sadd(p + "set", "m1", "m2", "m1")
    out["set_members"] = sorted(c.smembers(p + "set"))
    out["sismember"] = c.sismember(p + "set", "m2")
    c.zadd(p + "z", {"a": 1, "b": 2.5, "c": 2})
    out["zrange"] = c.zrange(p + "z", 0, -1, withscores=True)
    out["zscore"] = c.zscore(p + "z", "b")
    out["zrangebyscore"] = c.zrangebyscore(p + "z", 2, "+inf")
    out["scan"] = c.scan_iter(match=p + "*")
    pipe = c.pipeline()
    pipe.set(p + "p1", "1").incr(p + "p1").get(p + "p1")
    out["pipeline"] = pipe.execute()
    out["published"] = c.publish(p + "chan", "hello")
    out["deleted"] = c.delete(p + "p1", p + "missing")
    out["backend"] = c.backend
    self.response.payload = out
`

// A Starlark service uses every family of commands through an outgoing
// connection, against the real server.
func TestStarlarkCommands(t *testing.T) {
	r := newServer(t)
	s := plexustest.Start(t, plexustest.Options{})
	s.Put(redis.Kind, "r", r.object(nil))
	s.Deploy("commands.star", commands)
	s.Channel("commands", "commands", "POST", "/commands", nil)
	s.WaitState(redis.Kind, "r", "running")

	sub := r.client.Subscribe(context.Background(), r.prefix+"chan")
	defer sub.Close()
	if _, err := sub.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	expect(t, s.Call("POST", "/commands", fmt.Sprintf(`{"prefix": %q}`, r.prefix), nil), 200, plexustest.JSON(fmt.Sprintf(`{
		"set": true, "nx": null, "get": "value", "missing": null, "incr": [1, 42, 41], "ttl": 100, "expire": true,
		"hash": {"a": "1", "b": "two", "c": "3.5"}, "hget": "two", "list": ["w", "x", "y"], "lpop": "w",
		"set_members": ["m1", "m2"], "sismember": true, "zrange": [["a", 1.0], ["c", 2.0], ["b", 2.5]], "zscore": 2.5,
		"zrangebyscore": ["c", "b"],
		"scan": [%q, %q, %q, %q, %q, %q, %q],
		"pipeline": [true, 2, "2"], "published": 1, "deleted": 1, "backend": "redis"}`,
		r.prefix+"h", r.prefix+"l", r.prefix+"n", r.prefix+"s", r.prefix+"set", r.prefix+"t", r.prefix+"z")))
	msg, err := sub.ReceiveMessage(context.Background())
	if err != nil || msg.Payload != "hello" {
		t.Errorf("published message: %v %v", msg, err)
	}
	if got := r.client.TTL(context.Background(), r.prefix+"s").Val(); got <= 0 || got > 50*time.Second {
		t.Errorf("TTL set by expire: %v", got)
	}
}

// goKV is a Go service using the same commands through s.Out().Redis and
// s.KVDB().
type goKV struct{}

func (goKV) Name() string { return "t.go-kv" }

func (goKV) Handle(c *service.Context) error {
	p := c.Request.Payload.(map[string]any)["prefix"].(string)
	r := c.Out().Redis("r")
	if err := r.Set(p+"go", "from go", time.Minute); err != nil {
		return err
	}
	n, err := c.KVDB().Incr(p+"kv", 5)
	if err != nil {
		return err
	}
	v, _, err := r.Get(p + "go")
	if err != nil {
		return err
	}
	if _, err := r.HSet(p+"gh", map[string]string{"f": "v"}); err != nil {
		return err
	}
	h, err := r.HGetAll(p + "gh")
	c.Response.Payload = map[string]any{"get": v, "incr": n, "hash": h}
	return err
}

// seed is Zato's self.kvdb.conn example (seed 002), as a Starlark
// service, with the key of the test's own.
const seed = `
def handle(self):
    key = self.request.payload["prefix"] + "key"
    # Set a key ..
    self.kvdb.conn.set(key, 'value')
    # .. read it back ..
    result = self.kvdb.conn.get(key)
    # .. and log what we received.
    self.logger.info('Result %s', result)
    self.response.payload = {"result": result, "backend": self.kvdb.conn.backend}
`

// With plexus.yaml kvdb.redis naming a connection, self.kvdb.conn and a
// Go service's KVDB are that Redis server: what they write is there.
func TestKVDBOnRedis(t *testing.T) {
	r := newServer(t)
	s := plexustest.Start(t, plexustest.Options{Settings: "kvdb:\n  redis: r\n", Services: []any{goKV{}}})
	s.Put(redis.Kind, "r", r.object(nil))
	s.Deploy("seed.star", seed)
	s.Channel("seed", "seed", "POST", "/seed", nil)
	s.Channel("go", "t.go-kv", "POST", "/go", nil)
	body := fmt.Sprintf(`{"prefix": %q}`, r.prefix)
	res := expect(t, s.Call("POST", "/seed", body, nil), 200, plexustest.JSON(`{"result": "value", "backend": "redis"}`))
	s.Log.WaitFor(t, "cid="+res.CID(), "Result value")
	if v := r.client.Get(context.Background(), r.prefix+"key").Val(); v != "value" {
		t.Errorf("the key in Redis: %q", v)
	}
	expect(t, s.Call("POST", "/go", body, nil), 200, plexustest.JSON(`{"get": "from go", "incr": 5, "hash": {"f": "v"}}`))
	if v := r.client.Get(context.Background(), r.prefix+"kv").Val(); v != "5" {
		t.Errorf("the counter in Redis: %q", v)
	}
}

// By default self.kvdb.conn is the embedded store: no Redis needed.
func TestKVDBEmbedded(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{})
	s.Deploy("seed.star", seed)
	s.Channel("seed", "seed", "POST", "/seed", nil)
	expect(t, s.Call("POST", "/seed", `{"prefix": "p:"}`, nil), 200, plexustest.JSON(`{"result": "value", "backend": "embedded"}`))
}

// freePort returns a TCP port nothing listens on.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// A server that is down at start leaves the connection degraded and the
// server up; calls fail with 502 naming the connection; ping says why;
// once the address is corrected the connection runs.
func TestDownAtStart(t *testing.T) {
	r := newServer(t)
	s := plexustest.Start(t, plexustest.Options{})
	s.Put(redis.Kind, "r", map[string]any{"host": "127.0.0.1", "port": freePort(t), "timeout": "500ms", "max_retries": 0})
	s.Deploy("seed_out.star", strings.ReplaceAll(seed, "self.kvdb.conn", `self.out.redis["r"].conn`))
	s.Channel("seed", "seed-out", "POST", "/seed", nil)
	st := s.WaitState(redis.Kind, "r", "degraded")
	if !strings.Contains(fmt.Sprint(st["error"]), "refused") {
		t.Errorf("the degraded status says %v", st["error"])
	}
	res := expect(t, s.Call("POST", "/seed", `{"prefix": "p:"}`, nil), 502, plexustest.Contains(`Redis connection \"r\"`))
	s.Log.WaitFor(t, "cid="+res.CID(), "refused")
	ping := s.AdminCall("POST", "/admin/api/v1/objects/"+redis.Kind+"/r/ping", "").JSON(t)
	if ping["ok"] != false || !strings.Contains(fmt.Sprint(ping["error"]), "refused") {
		t.Errorf("ping: %v", ping)
	}
	s.Put(redis.Kind, "r", r.object(nil))
	s.WaitState(redis.Kind, "r", "running")
	expect(t, s.Call("POST", "/seed", fmt.Sprintf(`{"prefix": %q}`, r.prefix), nil), 200, plexustest.JSON(`{"result": "value", "backend": "redis"}`))
	ping = s.AdminCall("POST", "/admin/api/v1/objects/"+redis.Kind+"/r/ping", "").JSON(t)
	if ping["ok"] != true {
		t.Errorf("ping: %v", ping)
	}
	metrics := string(s.AdminCall("GET", "/metrics", "").Body)
	for _, want := range []string{`plexus_redis_pool_connections{name="r"}`, `plexus_redis_pool_hits_total{name="r"}`, `plexus_redis_failures_total{name="r"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
}

// The server closing the connection's connections (CLIENT KILL) fails
// no call, with or without retries: the pool finds them closed and opens
// new ones.
func TestClientKill(t *testing.T) {
	r := newServer(t)
	s := plexustest.Start(t, plexustest.Options{})
	s.Put(redis.Kind, "once", r.object(map[string]any{"max_retries": 0, "pool_size": 2}))
	s.Put(redis.Kind, "retry", r.object(map[string]any{"pool_size": 2}))
	body := fmt.Sprintf(`{"prefix": %q}`, r.prefix)
	for _, name := range []string{"once", "retry"} {
		s.Deploy(name+".star", strings.ReplaceAll(seed, "self.kvdb.conn", `self.out.redis["`+name+`"].conn`))
		s.Channel(name, name, "POST", "/"+name, nil)
		s.WaitState(redis.Kind, name, "running")
		expect(t, s.Call("POST", "/"+name, body, nil), 200, nil)
	}
	for range 3 {
		for _, name := range []string{"once", "retry"} {
			if n := r.kill(t, name); n == 0 {
				t.Fatalf("%s: no connection to kill", name)
			}
			expect(t, s.Call("POST", "/"+name, body, nil), 200, plexustest.JSON(`{"result": "value", "backend": "redis"}`))
		}
	}
}

// privateRedis starts a Redis server of the test's own on a port, and
// returns a function that stops it; the test ends it.
func privateRedis(t testing.TB, port int) (stop func()) {
	t.Helper()
	return startRedis(t, port, t.TempDir()).stop
}

// A server that goes away fails calls with a clear 502 naming the
// connection and degrades its status; once it is back, calls succeed
// again and the connection runs, without an edit.
func TestServerRestart(t *testing.T) {
	port := freePort(t)
	stop := privateRedis(t, port)
	s := plexustest.Start(t, plexustest.Options{})
	s.Put(redis.Kind, "r", map[string]any{"host": "127.0.0.1", "port": port, "timeout": "1s", "health_interval": "1s"})
	s.Deploy("seed_out.star", strings.ReplaceAll(seed, "self.kvdb.conn", `self.out.redis["r"].conn`))
	s.Channel("seed", "seed-out", "POST", "/seed", nil)
	s.WaitState(redis.Kind, "r", "running")
	expect(t, s.Call("POST", "/seed", `{"prefix": "p:"}`, nil), 200, nil)
	stop()
	res := expect(t, s.Call("POST", "/seed", `{"prefix": "p:"}`, nil), 502, plexustest.Contains(`Redis connection \"r\" could not run the command`))
	s.Log.WaitFor(t, "cid="+res.CID(), "refused")
	s.WaitState(redis.Kind, "r", "degraded")
	privateRedis(t, port)
	expect(t, s.Call("POST", "/seed", `{"prefix": "p:"}`, nil), 200, plexustest.JSON(`{"result": "value", "backend": "redis"}`))
	s.WaitState(redis.Kind, "r", "running")
}

// Editing a connection while services use it fails no request: the ones
// in flight finish on the old pool.
func TestLiveEditUnderLoad(t *testing.T) {
	r := newServer(t)
	s := plexustest.Start(t, plexustest.Options{})
	s.Put(redis.Kind, "r", r.object(nil))
	s.Deploy("seed_out.star", strings.ReplaceAll(seed, "self.kvdb.conn", `self.out.redis["r"].conn`))
	s.Channel("seed", "seed-out", "POST", "/seed", nil)
	s.WaitState(redis.Kind, "r", "running")
	body := fmt.Sprintf(`{"prefix": %q}`, r.prefix)
	var stop atomic.Bool
	var calls, failures atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				res := s.Call("POST", "/seed", body, nil)
				calls.Add(1)
				if res.StatusCode != 200 {
					failures.Add(1)
					t.Errorf("during an edit: %d %s", res.StatusCode, res.Body)
				}
			}
		}()
	}
	for i := range 10 {
		s.Put(redis.Kind, "r", r.object(map[string]any{"pool_size": 5 + i}))
	}
	for calls.Load() < 200 {
		time.Sleep(10 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if failures.Load() != 0 {
		t.Errorf("%d of %d calls failed", failures.Load(), calls.Load())
	}
}

// expect checks a response's status and body, and returns it.
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
