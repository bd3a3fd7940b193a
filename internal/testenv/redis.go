package testenv

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// Redis returns the URL of the Redis server PLEXUS_TEST_REDIS names and
// the fields of an outgoing_redis connection to it (host, port, db).
func Redis(t testing.TB) (*url.URL, map[string]any) {
	t.Helper()
	u, err := url.Parse(Value(t, "PLEXUS_TEST_REDIS", "a Redis URL such as redis://127.0.0.1:6379/0"))
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = 6379
	}
	db, _ := strconv.Atoi(strings.Trim(u.Path, "/"))
	return u, map[string]any{"host": u.Hostname(), "port": port, "db": db}
}
