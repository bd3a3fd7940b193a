// Package testenv gives tests the real services they need (PostgreSQL,
// Redis, …) from environment variables, and skips them with a clear
// message when a variable is unset. .ci/run sets every variable, so CI
// always runs these tests. It also holds the helpers tests share: test
// certificates and a Buffer safe for concurrent use.
package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/envdir"
)

// Value returns an environment variable or skips the test.
func Value(t testing.TB, name, what string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Skipf("%s is unset: set it to %s to run this test (.ci/run does)", name, what)
	}
	return v
}

// Postgres returns the URL of a new, empty schema in the database that
// PLEXUS_TEST_POSTGRES names; the schema is dropped when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	return Schema(t, Value(t, "PLEXUS_TEST_POSTGRES", "a PostgreSQL URL such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable"))
}

// Schema creates a new, empty schema in the PostgreSQL database base
// names and returns base with search_path set to it; the schema is
// dropped when the test ends.
func Schema(t testing.TB, base string) string {
	t.Helper()
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	schema := "plexus_test_" + envdir.RandomToken(6)
	schema = sanitize(schema)
	if _, err := db.ExecContext(context.Background(), fmt.Sprintf("CREATE SCHEMA %s", schema)); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec(fmt.Sprintf("DROP SCHEMA %s CASCADE", schema))
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func sanitize(s string) string {
	out := []rune{}
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' {
			out = append(out, c)
		} else if c >= 'A' && c <= 'Z' {
			out = append(out, c+32)
		} else {
			out = append(out, '_')
		}
	}
	return string(out)
}

// FreeAddr returns a loopback address nothing listens on at the time of
// the call, for a server a test starts with a fixed address.
//
// A port found free may be taken by another process before the server
// binds it: where the test does not need to know the port in advance,
// listen on 127.0.0.1:0 and read the addresses with StartedAddrs.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// StartedAddrs reads the API and admin addresses from a server's "server
// started" log line (text format), for servers started on port 0.
func StartedAddrs(line string) (api, admin string, ok bool) {
	if !strings.Contains(line, `msg="server started"`) {
		return "", "", false
	}
	for _, f := range strings.Fields(line) {
		if v, found := strings.CutPrefix(f, "api="); found {
			api = v
		} else if v, found := strings.CutPrefix(f, "admin="); found {
			admin = v
		}
	}
	return api, admin, api != "" && admin != ""
}
