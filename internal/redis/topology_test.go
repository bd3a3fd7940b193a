package redis_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/plexushq/plexus/internal/redis"
	"github.com/plexushq/plexus/plexustest"
)

// redisServerBin returns the path of redis-server, which the tests of
// restarts, Sentinel and Cluster start privately. They are skipped
// without it, unless PLEXUS_TEST_REDIS says a Redis is expected.
func redisServerBin(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err == nil {
		return bin
	}
	if os.Getenv("PLEXUS_TEST_REDIS") != "" {
		t.Fatal("PLEXUS_TEST_REDIS is set but redis-server is not on PATH: install Redis's server (it provides redis-server --sentinel too)")
	}
	t.Skip("redis-server is not on PATH: install it to run this test")
	return ""
}

// redisProc is a redis-server of the test's own, stopped when the test
// ends.
type redisProc struct {
	port int
	dir  string
	stop func()
}

func (p *redisProc) addr() string { return fmt.Sprintf("127.0.0.1:%d", p.port) }

// startRedis starts redis-server on port in dir with more arguments (a
// configuration file first, if any) and waits until it answers PING.
func startRedis(t testing.TB, port int, dir string, args ...string) *redisProc {
	t.Helper()
	bin := redisServerBin(t)
	all := append(args, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	cmd := exec.Command(bin, all...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	p := &redisProc{port: port, dir: dir}
	p.stop = func() {
		cmd.Process.Kill()
		<-done
	}
	t.Cleanup(p.stop)
	c := goredis.NewClient(&goredis.Options{Addr: p.addr(), MaxRetries: -1})
	defer c.Close()
	waitFor(t, 20*time.Second, "redis-server on "+p.addr()+" to answer", func() bool {
		return c.Ping(context.Background()).Err() == nil
	})
	return p
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clusterPort returns a free port whose cluster bus port (10000 more) is
// free too.
func clusterPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		p := freePort(t)
		if p+10000 > 65535 {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+10000))
		if err != nil {
			continue
		}
		l.Close()
		return p
	}
	t.Fatal("no free pair of ports for a cluster node")
	return 0
}

// counter increments a key through self.kvdb.conn and answers its value.
const counter = `
def handle(self):
    self.response.payload = {"n": self.kvdb.conn.incr(self.request.payload["key"])}
`

// A Sentinel-watched master and its replica: the connection finds the
// master through the sentinel, follows a failover the sentinel is asked
// for and one caused by the master dying, and loses no acknowledged
// write to either.
func TestSentinel(t *testing.T) {
	primary := startRedis(t, freePort(t), t.TempDir())
	replica := startRedis(t, freePort(t), t.TempDir(), "--replicaof", "127.0.0.1", strconv.Itoa(primary.port))
	sdir := t.TempDir()
	conf := filepath.Join(sdir, "sentinel.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("sentinel monitor m 127.0.0.1 %d 1\nsentinel down-after-milliseconds m 1000\nsentinel failover-timeout m 3000\n", primary.port)), 0o600); err != nil {
		t.Fatal(err)
	}
	sentinel := startRedis(t, freePort(t), sdir, conf, "--sentinel")
	sc := goredis.NewSentinelClient(&goredis.Options{Addr: sentinel.addr()})
	defer sc.Close()
	ctx := context.Background()
	masterPort := func() int {
		a, err := sc.GetMasterAddrByName(ctx, "m").Result()
		if err != nil || len(a) != 2 {
			return 0
		}
		p, _ := strconv.Atoi(a[1])
		return p
	}
	// inSync waits until a replica is linked to its master and holds the
	// counter's value there.
	inSync := func(master, replica *redisProc, key string) {
		t.Helper()
		m := goredis.NewClient(&goredis.Options{Addr: master.addr()})
		r := goredis.NewClient(&goredis.Options{Addr: replica.addr()})
		defer m.Close()
		defer r.Close()
		waitFor(t, 30*time.Second, "the replica on "+replica.addr()+" to catch up", func() bool {
			info := r.Info(ctx, "replication").Val()
			return strings.Contains(info, "master_link_status:up") && r.Get(ctx, key).Val() == m.Get(ctx, key).Val()
		})
		waitFor(t, 30*time.Second, "the sentinel to know the replica", func() bool {
			rs, _ := sc.Replicas(ctx, "m").Result()
			for _, r := range rs {
				if r["port"] == strconv.Itoa(replica.port) && !strings.Contains(r["flags"], "down") && !strings.Contains(r["flags"], "disconnected") {
					return true
				}
			}
			return false
		})
	}

	s := plexustest.Start(t, plexustest.Options{Settings: "kvdb:\n  redis: r\n"})
	s.Put(redis.Kind, "r", map[string]any{"mode": "sentinel", "host": "127.0.0.1", "port": sentinel.port,
		"sentinel_master": "m", "timeout": "2s", "health_interval": "1s"})
	s.Deploy("counter.star", counter)
	s.Channel("counter", "counter", "POST", "/counter", nil)
	s.WaitState(redis.Kind, "r", "running")
	key := "sentinel-counter"
	want := 0
	call := func() {
		t.Helper()
		want++
		expect(t, s.Call("POST", "/counter", `{"key": "`+key+`"}`, nil), 200, plexustest.JSON(fmt.Sprintf(`{"n": %d}`, want)))
	}
	// recover calls until one succeeds: those that fail while the
	// sentinel fails over fail with a 502 naming the connection, and
	// write nothing.
	recover := func(master *redisProc) {
		t.Helper()
		failed := 0
		waitFor(t, 60*time.Second, "a call to succeed after the failover", func() bool {
			res := s.Call("POST", "/counter", `{"key": "`+key+`"}`, nil)
			if res.StatusCode == 200 {
				want++
				if err := plexustest.JSON(fmt.Sprintf(`{"n": %d}`, want))(res.Body); err != nil {
					t.Fatalf("after the failover: %v", err)
				}
				return true
			}
			failed++
			if res.StatusCode != 502 || !strings.Contains(string(res.Body), `Redis connection \"r\"`) {
				t.Fatalf("during the failover: %d %s", res.StatusCode, res.Body)
			}
			return false
		})
		t.Logf("%d calls failed with 502 during the failover", failed)
		if p := masterPort(); p != master.port {
			t.Fatalf("the sentinel's master is on port %d, want %d", p, master.port)
		}
		c := goredis.NewClient(&goredis.Options{Addr: master.addr()})
		defer c.Close()
		if v := c.Get(ctx, key).Val(); v != strconv.Itoa(want) {
			t.Fatalf("the new master holds %q, want %d", v, want)
		}
		s.WaitState(redis.Kind, "r", "running")
	}

	for range 3 {
		call()
	}
	inSync(primary, replica, key)
	if err := sc.Failover(ctx, "m").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the sentinel to promote the replica", func() bool { return masterPort() == replica.port })
	// Until the sentinel turns the old master into a replica, it takes
	// writes that the new master never sees (Redis replicates
	// asynchronously): the calls wait for that.
	old := goredis.NewClient(&goredis.Options{Addr: primary.addr()})
	defer old.Close()
	waitFor(t, 60*time.Second, "the sentinel to demote the old master", func() bool {
		return strings.Contains(old.Info(ctx, "replication").Val(), "role:slave")
	})
	recover(replica)
	call()

	// The new master dies: the sentinel promotes the old one back.
	inSync(replica, primary, key)
	replica.stop()
	recover(primary)
	call()
}

// spread writes keys that fall on every node of a cluster, through
// self.out.redis and self.kvdb.conn, and reads them back in pipelines
// and scans.
const spread = `
def handle(self):
    p = self.request.payload["prefix"]
    c = self.out.redis["r"].conn
    for i in range(30):
        c.set(p + str(i), str(i))
    pipe = c.pipeline()
    for i in range(30):
        pipe.incr(p + str(i))
    same = [p + "{tag}a", p + "{tag}b"]
    c.mset({same[0]: "x", same[1]: "y"})
    self.response.payload = {
        "pipeline": pipe.execute(),
        "kvdb": [self.kvdb.conn.get(p + str(i)) for i in range(30)],
        "scan": len(c.scan_iter(match=p + "*")),
        "same_slot": c.mget(same[0], same[1]),
        "deleted": c.delete(same[0], same[1]),
        "published": c.publish(p + "chan", "hi"),
    }
`

// A three-node Redis Cluster: commands reach the node of each key's
// slot, pipelines span nodes, scan_iter sees every node's keys, and a
// command whose keys are in different slots fails with an error that
// says so and what to do.
func TestCluster(t *testing.T) {
	var nodes []*redisProc
	var addrs []string
	for range 3 {
		n := startRedis(t, clusterPort(t), t.TempDir(), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")
		nodes = append(nodes, n)
		addrs = append(addrs, n.addr())
	}
	out, err := exec.Command("redis-cli", append([]string{"--cluster", "create"}, append(addrs, "--cluster-replicas", "0", "--cluster-yes")...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	ctx := context.Background()
	for _, n := range nodes {
		c := goredis.NewClient(&goredis.Options{Addr: n.addr()})
		defer c.Close()
		waitFor(t, 60*time.Second, "the cluster to be ready on "+n.addr(), func() bool {
			info := c.ClusterInfo(ctx).Val()
			return strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:3")
		})
	}

	s := plexustest.Start(t, plexustest.Options{Settings: "kvdb:\n  redis: r\n"})
	s.Put(redis.Kind, "r", map[string]any{"mode": "cluster", "host": "127.0.0.1", "port": nodes[0].port,
		"nodes": addrs[1:], "timeout": "2s"})
	s.Deploy("spread.star", spread)
	s.Channel("spread", "spread", "POST", "/spread", nil)
	s.Deploy("cross.star", `
def handle(self):
    p = self.request.payload["prefix"]
    c = self.out.redis["r"].conn
    if self.request.payload["what"] == "mget":
        c.mget(p + "a", p + "b")
    else:
        c.scan(7)
`)
	s.Channel("cross", "cross", "POST", "/cross", nil)
	s.WaitState(redis.Kind, "r", "running")

	var pipeline, kvdb []string
	for i := range 30 {
		pipeline = append(pipeline, strconv.Itoa(i+1))
		kvdb = append(kvdb, fmt.Sprintf("%q", strconv.Itoa(i+1)))
	}
	expect(t, s.Call("POST", "/spread", `{"prefix": "k:"}`, nil), 200, plexustest.JSON(fmt.Sprintf(
		`{"pipeline": [%s], "kvdb": [%s], "scan": 32, "same_slot": ["x", "y"], "deleted": 2, "published": 0}`,
		strings.Join(pipeline, ", "), strings.Join(kvdb, ", "))))
	for _, n := range nodes {
		c := goredis.NewClient(&goredis.Options{Addr: n.addr()})
		defer c.Close()
		if k := c.DBSize(ctx).Val(); k == 0 {
			t.Errorf("node %s holds no key: the keys did not spread", n.addr())
		}
	}

	res := expect(t, s.Call("POST", "/cross", `{"prefix": "k:", "what": "mget"}`, nil), 500, nil)
	s.Log.WaitFor(t, "cid="+res.CID(), "CROSSSLOT")
	s.Log.WaitFor(t, "cid="+res.CID(), "{braces}")
	res = expect(t, s.Call("POST", "/cross", `{"prefix": "k:", "what": "scan"}`, nil), 500, nil)
	s.Log.WaitFor(t, "cid="+res.CID(), "call it with cursor 0, or call scan_iter")
}
