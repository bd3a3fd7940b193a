// Package kvdb_test runs the leaderboard example on the embedded store
// and on Redis, unchanged.
package kvdb_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/plexustest"
)

func TestLeaderboard(t *testing.T) {
	backends := map[string]string{"embedded": ""}
	if os.Getenv("PLEXUS_TEST_REDIS") != "" {
		backends["redis"] = "kvdb:\n  redis: kv\n"
	}
	for backend, settings := range backends {
		t.Run(backend, func(t *testing.T) {
			host, port := "127.0.0.1", "6379"
			if backend == "redis" {
				u, _ := url.Parse(testenv.Value(t, "PLEXUS_TEST_REDIS", "a Redis URL"))
				host, port = u.Hostname(), u.Port()
			}
			var b [6]byte
			rand.Read(b[:])
			board := "t" + hex.EncodeToString(b[:])
			if backend == "redis" {
				t.Cleanup(func() { deleteBoard(t, board) })
			}

			s := plexustest.Start(t, plexustest.Options{Settings: settings})
			s.DeployFiles("leaderboard.star")
			yaml, err := os.ReadFile("enmasse.yaml")
			if err != nil {
				t.Fatal(err)
			}
			s.Import(os.Expand(string(yaml), func(k string) string { return map[string]string{"REDIS_HOST": host, "REDIS_PORT": port}[k] }))

			path := "/api/boards/" + board
			for _, game := range []struct {
				player string
				points int
			}{{"ann", 10}, {"bob", 7}, {"cid", 12}, {"ann", 5}, {"dee", 1}} {
				r := s.Call("POST", fmt.Sprintf("%s?player=%s&points=%d", path, game.player, game.points), "", nil)
				if r.StatusCode != 200 {
					t.Fatalf("POST: %d %s", r.StatusCode, r.Body)
				}
			}
			r := s.Call("GET", path, "", nil)
			want := fmt.Sprintf(`{"top": [{"player": "ann", "score": 15.0, "last_points": "5"}, {"player": "cid", "score": 12.0, "last_points": "12"},
				{"player": "bob", "score": 7.0, "last_points": "7"}], "games": 5, "players_today": 4, "backend": %q}`, backend)
			if err := plexustest.JSON(want)(r.Body); err != nil || r.StatusCode != 200 {
				t.Errorf("GET: %d %v\n%s", r.StatusCode, err, r.Body)
			}
		})
	}
}

func deleteBoard(t *testing.T, board string) {
	opts, err := goredis.ParseURL(os.Getenv("PLEXUS_TEST_REDIS"))
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	for it := c.Scan(ctx, 0, "board:"+board+":*", 1000).Iterator(); it.Next(ctx); {
		c.Del(ctx, it.Val())
	}
}
