package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"os"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// redisClient connects to PLEXUS_TEST_REDIS or skips the test.
func redisClient(t *testing.T) goredis.UniversalClient {
	url := os.Getenv("PLEXUS_TEST_REDIS")
	if url == "" {
		t.Skip("PLEXUS_TEST_REDIS is not set: a Redis URL such as redis://127.0.0.1:6379/0")
	}
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func testID() string {
	var b [6]byte
	rand.Read(b[:])
	return "test-" + hex.EncodeToString(b[:])
}

// Two servers' limiters with the same rules count one usage in Redis:
// together they admit exactly the limit, and the bucket's burst.
func TestSharedExact(t *testing.T) {
	client := redisClient(t)
	sh := &Shared{Client: func() goredis.UniversalClient { return client }, OnError: func(err error) { t.Errorf("Redis: %v", err) }}
	addr := netip.MustParseAddr("10.0.0.1")
	for _, c := range []struct {
		name string
		rule Rule
		want int
	}{
		{"window", Rule{Limit: 5, LimitUnit: "minute"}, 5},
		{"bucket", Rule{Rate: 0.001, Burst: 4}, 4},
		{"both", Rule{Rate: 0.001, Burst: 7, Limit: 3, LimitUnit: "hour"}, 3},
	} {
		a, b := mustNew(t, c.rule), mustNew(t, c.rule)
		id := testID()
		t.Cleanup(func() { client.Del(context.Background(), "plexus:ratelimit:"+id+":0:k") })
		allowed := 0
		var last Decision
		for i := range 12 {
			l := a
			if i%2 == 1 {
				l = b
			}
			last = l.CheckShared(context.Background(), sh, id, "k", addr, time.Now())
			if last.Outcome == Allowed {
				allowed++
			}
		}
		if allowed != c.want {
			t.Errorf("%s: %d allowed across two limiters, want %d", c.name, allowed, c.want)
		}
		if last.Outcome != Limited || last.RetryAfter <= 0 || last.Remaining != 0 {
			t.Errorf("%s: the last check %+v, want Limited with a Retry-After", c.name, last)
		}
	}
}

// A check that cannot reach Redis is decided with the server's own usage,
// and the failure is reported.
func TestSharedFallback(t *testing.T) {
	client := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { client.Close() })
	failures := 0
	sh := &Shared{Client: func() goredis.UniversalClient { return client }, OnError: func(error) { failures++ }}
	l := mustNew(t, Rule{Limit: 2, LimitUnit: "minute"})
	addr := netip.MustParseAddr("10.0.0.1")
	allowed := 0
	for range 4 {
		if l.CheckShared(context.Background(), sh, testID(), "k", addr, time.Now()).Outcome == Allowed {
			allowed++
		}
	}
	if allowed != 2 || failures != 4 {
		t.Errorf("allowed %d (want 2, by the local usage), failures %d (want 4)", allowed, failures)
	}
	// Without a client (the connection is not configured yet), local too.
	none := &Shared{Client: func() goredis.UniversalClient { return nil }}
	if d := mustNew(t, Rule{Limit: 1, LimitUnit: "minute"}).CheckShared(context.Background(), none, "x", "k", addr, time.Now()); d.Outcome != Allowed {
		t.Errorf("%+v", d)
	}
}
