package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/plexushq/plexus/internal/redis"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/plexustest"
)

// With rate_limiting.redis, two servers of a cluster count one usage: a
// channel's limit of 5 a minute admits 5 requests across both, not 5 on
// each.
func TestClusterRateLimit(t *testing.T) {
	r := newServer(t)
	var b [4]byte
	rand.Read(b[:])
	channel := "limited-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx := context.Background()
		for it := r.client.Scan(ctx, 0, "plexus:ratelimit:channel_rest/"+channel+":*", 100).Iterator(); it.Next(ctx); {
			r.client.Del(ctx, it.Val())
		}
	})
	a := plexustest.Start(t, plexustest.Options{DB: testenv.Postgres(t), Settings: "rate_limiting:\n  redis: limits\n"})
	a.Put(redis.Kind, "limits", r.object(nil))
	a.Channel(channel, "plexus.ping", "GET", "/limited", map[string]any{
		"rate_limiting": []map[string]any{{"cidr": []string{"0.0.0.0/0", "::/0"}, "limit": 5, "limit_unit": "minute"}}})
	a.WaitState(redis.Kind, "limits", "running")

	dir := filepath.Join(t.TempDir(), "env")
	if err := os.CopyFS(dir, os.DirFS(a.Dir)); err != nil {
		t.Fatal(err)
	}
	b2 := plexustest.Start(t, plexustest.Options{Dir: dir, DB: a.DB()})
	b2.WaitState(redis.Kind, "limits", "running")

	ok, limited := 0, 0
	for i := range 10 {
		s := a
		if i%2 == 1 {
			s = b2
		}
		switch c := s.Call("GET", "/limited", "", nil).StatusCode; c {
		case 200:
			ok++
		case 429:
			limited++
		default:
			t.Fatalf("request %d: %d", i, c)
		}
	}
	if ok != 5 || limited != 5 {
		t.Fatalf("%d admitted and %d refused across two servers, want 5 and 5", ok, limited)
	}
}
