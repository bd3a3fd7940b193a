package sqlconn_test

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/sqlconn"
	"github.com/plexushq/plexus/plexustest"
)

// BenchmarkStarlarkSelect is the sql-select scenario of bench/ in one
// process: a REST channel, a Starlark service selecting one row by
// primary key through an outgoing SQL connection to PLEXUS_TEST_POSTGRES,
// and the row as the JSON response; for profiling the whole path.
func BenchmarkStarlarkSelect(b *testing.B) {
	raw := os.Getenv("PLEXUS_TEST_POSTGRES")
	if raw == "" {
		b.Skip("PLEXUS_TEST_POSTGRES is not set")
	}
	u, err := url.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("pgx", raw)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	table := tableName()
	if _, err := db.Exec("CREATE TABLE " + table + " (id int PRIMARY KEY, name text NOT NULL, balance numeric(12,2) NOT NULL); " +
		"INSERT INTO " + table + " SELECT i, 'customer ' || i, i + 0.5 FROM generate_series(1, 1000) AS i"); err != nil {
		b.Fatal(err)
	}
	defer db.Exec("DROP TABLE " + table)
	s := plexustest.Start(b, plexustest.Options{})
	s.Deploy("benchselect.star", fmt.Sprintf(`def handle(self):
    self.response.payload = self.out.sql["bench"].conn.one(
        "SELECT id, name, balance FROM %s WHERE id = :id", {"id": int(self.request.input.id)})
`, table))
	s.Channel("sql", "benchselect", "GET", "/sql/{id}", nil)
	pw, _ := u.User.Password()
	port, _ := strconv.Atoi(u.Port())
	s.Put(sqlconn.Kind, "bench", map[string]any{"engine": "postgresql", "host": u.Hostname(), "port": port,
		"db_name": strings.TrimPrefix(u.Path, "/"), "username": u.User.Username(), "password": pw, "pool_size": 16})
	s.WaitState(sqlconn.Kind, "bench", "running")
	b.ReportAllocs()
	for b.Loop() {
		if r := s.Call("GET", "/sql/42", "", nil); r.StatusCode != 200 || !strings.Contains(string(r.Body), `"customer 42"`) {
			b.Fatalf("%d %s", r.StatusCode, r.Body)
		}
	}
}
