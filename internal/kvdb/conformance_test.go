package kvdb_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/kvdb"
	"github.com/plexushq/plexus/internal/redis"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/store"
	"github.com/plexushq/plexus/internal/testenv"
)

// embedded returns an embedded store in a new SQLite database.
func embedded(t testing.TB) *kvdb.Embedded {
	t.Helper()
	st, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return kvdb.NewEmbedded(st)
}

// embeddedPostgres returns an embedded store in a new schema of
// PLEXUS_TEST_POSTGRES, or skips.
func embeddedPostgres(t testing.TB) *kvdb.Embedded {
	t.Helper()
	st, err := store.Open(context.Background(), testenv.Postgres(t), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return kvdb.NewEmbedded(st)
}

// realRedis returns an outgoing Redis connection, as the kind provisions
// it, to PLEXUS_TEST_REDIS, or skips the test.
func realRedis(t testing.TB) kvdb.Conn {
	t.Helper()
	u, err := url.Parse(testenv.Value(t, "PLEXUS_TEST_REDIS", "a Redis URL such as redis://127.0.0.1:6379/0"))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := registry.Lookup(redis.Kind)
	obj := k.New().(*redis.Outgoing)
	obj.Name, obj.Host = "test", u.Hostname()
	if p := u.Port(); p != "" {
		obj.Port, _ = strconv.Atoi(p)
	}
	obj.DB, _ = strconv.Atoi(strings.Trim(u.Path, "/"))
	running, err := k.Provision(&registry.Env{}, obj)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { running.(io.Closer).Close() })
	return running.(kvdb.Conn)
}

// prefix returns a key prefix of the test's own.
func prefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "pt:" + hex.EncodeToString(b[:]) + ":"
}

// hostile are values that must come back as they went in.
var hostile = []string{
	"", "'", `"`, "'; DROP TABLE kvdb; --", "a\x00b", "\x00", "\xff\xfe invalid utf-8", "ünïcødé ✓",
	"line\nbreak\r\n", "%s %d {}", strings.Repeat("x", 1<<20), "-1", "1e400", "nan",
}

// script is the commands both stores run; {k} is replaced by the test's
// key prefix. Replies of commands whose order Redis does not define are
// sorted before they are compared.
var script = [][]string{
	{"GET", "{k}missing"},
	{"SET", "{k}s", "value"}, {"GET", "{k}s"}, {"TYPE", "{k}s"},
	{"SET", "{k}s", "other", "NX"}, {"SET", "{k}s", "other", "XX"}, {"GET", "{k}s"},
	{"SET", "{k}new", "v", "XX"}, {"SET", "{k}s", "v", "NX", "XX"}, {"SET", "{k}s", "v", "EX", "0"}, {"SET", "{k}s", "v", "BOGUS"},
	{"SETNX", "{k}s", "x"}, {"SETNX", "{k}nx", "x"},
	{"MSET", "{k}m1", "1", "{k}m2", "2"}, {"MGET", "{k}m1", "{k}missing", "{k}m2"},
	{"INCR", "{k}n"}, {"INCRBY", "{k}n", "41"}, {"DECR", "{k}n"}, {"DECRBY", "{k}n", "10"}, {"INCR", "{k}s"},
	{"SET", "{k}big", "9223372036854775807"}, {"INCR", "{k}big"}, {"INCRBY", "{k}n", "x"},
	{"INCRBYFLOAT", "{k}f", "1.5"}, {"INCRBYFLOAT", "{k}f", "0.25"},
	{"EXISTS", "{k}s", "{k}missing", "{k}s"}, {"DEL", "{k}s", "{k}missing", "{k}m1"}, {"EXISTS", "{k}s"},
	{"SET", "{k}t", "v"}, {"TTL", "{k}t"}, {"EXPIRE", "{k}t", "1000"}, {"TTL", "{k}t"}, {"PERSIST", "{k}t"}, {"TTL", "{k}t"},
	{"PERSIST", "{k}t"}, {"TTL", "{k}missing"}, {"EXPIRE", "{k}missing", "10"}, {"SETEX", "{k}t2", "500", "v"}, {"TTL", "{k}t2"},
	{"SET", "{k}t3", "v", "PX", "5000000"}, {"PTTL", "{k}missing"}, {"EXPIRE", "{k}t3", "0"}, {"EXISTS", "{k}t3"},
	{"HSET", "{k}h", "a", "1", "b", "2"}, {"HSET", "{k}h", "a", "3"}, {"HGET", "{k}h", "a"}, {"HGET", "{k}h", "zz"},
	{"HMGET", "{k}h", "a", "zz", "b"}, {"HGETALL", "{k}h"}, {"HKEYS", "{k}h"}, {"HVALS", "{k}h"}, {"HLEN", "{k}h"},
	{"HEXISTS", "{k}h", "a"}, {"HINCRBY", "{k}h", "c", "5"}, {"HINCRBY", "{k}h", "c", "-7"}, {"HDEL", "{k}h", "a", "zz"},
	{"HGETALL", "{k}missing"}, {"GET", "{k}h"}, {"HGET", "{k}n", "a"}, {"HSET", "{k}h", "odd"},
	{"HDEL", "{k}h", "b", "c"}, {"EXISTS", "{k}h"},
	{"RPUSH", "{k}l", "a", "b", "c"}, {"LPUSH", "{k}l", "z", "y"}, {"LRANGE", "{k}l", "0", "-1"}, {"LRANGE", "{k}l", "-2", "100"},
	{"LRANGE", "{k}l", "3", "1"}, {"LLEN", "{k}l"}, {"LINDEX", "{k}l", "-1"}, {"LINDEX", "{k}l", "99"}, {"LPOP", "{k}l"},
	{"RPOP", "{k}l"}, {"LTRIM", "{k}l", "1", "-1"}, {"LRANGE", "{k}l", "0", "-1"}, {"LPOP", "{k}missing"}, {"LTRIM", "{k}l", "5", "9"},
	{"EXISTS", "{k}l"}, {"LPUSH", "{k}n", "x"},
	{"SADD", "{k}set", "a", "b", "a"}, {"SADD", "{k}set", "c"}, {"SISMEMBER", "{k}set", "a"}, {"SISMEMBER", "{k}set", "q"},
	{"SMEMBERS", "{k}set"}, {"SCARD", "{k}set"}, {"SREM", "{k}set", "a", "q"}, {"SMEMBERS", "{k}missing"},
	{"ZADD", "{k}z", "1", "a", "2", "b", "1.5", "c"}, {"ZADD", "{k}z", "NX", "9", "a", "3", "d"}, {"ZADD", "{k}z", "XX", "0.5", "a", "7", "e"},
	{"ZRANGE", "{k}z", "0", "-1"}, {"ZRANGE", "{k}z", "0", "1", "WITHSCORES"}, {"ZREVRANGE", "{k}z", "0", "1", "WITHSCORES"},
	{"ZRANGEBYSCORE", "{k}z", "1", "2"}, {"ZRANGEBYSCORE", "{k}z", "(1", "+inf", "WITHSCORES"}, {"ZRANGEBYSCORE", "{k}z", "-inf", "(1.5"},
	{"ZSCORE", "{k}z", "c"}, {"ZSCORE", "{k}z", "zz"}, {"ZINCRBY", "{k}z", "2.5", "a"}, {"ZCARD", "{k}z"}, {"ZREM", "{k}z", "a", "zz"},
	{"ZADD", "{k}z", "x", "a"}, {"ZRANGEBYSCORE", "{k}z", "x", "1"}, {"ZRANGE", "{k}z", "0", "-1", "BOGUS"},
	{"PUBLISH", "{k}channel", "hello"}, {"PING"}, {"GET"}, {"SET", "{k}only"},
}

// unordered are the commands whose replies are compared sorted.
var unordered = map[string]bool{"SMEMBERS": true, "HKEYS": true, "HVALS": true, "HGETALL": true}

// The embedded store answers every command as Redis does: the same
// script runs on both and the replies, and whether each was an error,
// are compared.
func TestConformsToRedis(t *testing.T) {
	r := realRedis(t)
	stores := map[string]kvdb.Conn{"sqlite": embedded(t)}
	if os.Getenv("PLEXUS_TEST_POSTGRES") != "" {
		stores["postgres"] = embeddedPostgres(t)
	}
	for name, conn := range stores {
		t.Run(name, func(t *testing.T) {
			k := prefix()
			t.Cleanup(func() { cleanup(r, k) })
			for _, cmd := range script {
				c := slices.Clone(cmd)
				for i := range c {
					c[i] = strings.ReplaceAll(c[i], "{k}", k)
				}
				want := do(t, r, c)
				got := do(t, conn, c)
				if unordered[c[0]] {
					want, got = sorted(want), sorted(got)
				}
				if want != got {
					t.Errorf("%q:\nredis:    %s\nembedded: %s", cmd, want, got)
				}
			}
		})
	}
}

// do runs one command and describes its reply: errors by their code.
func do(t testing.TB, conn kvdb.Conn, cmd []string) string {
	t.Helper()
	res, err := conn.Do(context.Background(), cmd)
	if err != nil {
		t.Fatalf("%q: %v", cmd, err)
	}
	if res[0].Err != nil {
		code, _, _ := strings.Cut(res[0].Err.Error(), " ")
		return "error " + code
	}
	return fmt.Sprintf("%#v", res[0].Val)
}

func sorted(s string) string {
	if !strings.HasPrefix(s, "[]interface {}{") {
		return s
	}
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(s, "[]interface {}{"), "}"), ", ")
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// cleanup deletes the keys of a prefix from Redis.
func cleanup(conn kvdb.Conn, prefix string) {
	ctx := context.Background()
	cursor := "0"
	for {
		res, err := conn.Do(ctx, []string{"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"})
		if err != nil || res[0].Err != nil {
			return
		}
		reply := res[0].Val.([]any)
		for _, k := range reply[1].([]any) {
			conn.Do(ctx, []string{"DEL", k.(string)})
		}
		if cursor = reply[0].(string); cursor == "0" {
			return
		}
	}
}

// Hostile values and keys come back byte for byte from both stores, and
// the embedded store's table is still there.
func TestHostileValues(t *testing.T) {
	stores := map[string]kvdb.Conn{"sqlite": embedded(t)}
	if os.Getenv("PLEXUS_TEST_REDIS") != "" {
		stores["redis"] = realRedis(t)
	}
	if os.Getenv("PLEXUS_TEST_POSTGRES") != "" {
		stores["postgres"] = embeddedPostgres(t)
	}
	for name, conn := range stores {
		t.Run(name, func(t *testing.T) {
			k := prefix()
			if name == "redis" {
				t.Cleanup(func() { cleanup(conn, k) })
			}
			ctx := context.Background()
			for i, v := range hostile {
				key := k + v
				if len(key) > kvdb.MaxKeySize {
					key = k + strconv.Itoa(i)
				}
				res, err := conn.Do(ctx, []string{"SET", key, v}, []string{"GET", key}, []string{"HSET", k + "h", v, v},
					[]string{"HGET", k + "h", v}, []string{"RPUSH", k + "l", v}, []string{"LINDEX", k + "l", "-1"})
				if err != nil {
					t.Fatalf("value %d: %v", i, err)
				}
				for j, want := range []int{1, 3, 5} {
					if res[want].Err != nil || res[want].Val != v {
						t.Errorf("value %d, read %d: got %.40q (%v), want %.40q", i, j, res[want].Val, res[want].Err, v)
					}
				}
			}
			res, err := conn.Do(ctx, []string{"LLEN", k + "l"})
			if err != nil || res[0].Val != int64(len(hostile)) {
				t.Errorf("LLEN after hostile values: %v %v", res, err)
			}
			if name != "redis" {
				long := k + strings.Repeat("k", kvdb.MaxKeySize)
				res, err := conn.Do(ctx, []string{"SET", long, "v"}, []string{"GET", long}, []string{"GET", k + "l"})
				if err != nil || res[0].Err == nil || res[1].Err == nil || !strings.Contains(res[0].Err.Error(), "longer than") {
					t.Errorf("a key past MaxKeySize: %v %v", res, err)
				}
				if res[2].Err == nil {
					t.Errorf("GET of a list answered %v", res[2].Val)
				}
			}
		})
	}
}
