package sqlconn_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/plexushq/plexus/internal/sqlconn"
	"github.com/plexushq/plexus/plexustest"
	"os"
)

// database is a test's own view of one real database: the fields of an
// outgoing_sql object that reaches it, a direct connection, and a table
// name of the test's own, dropped when the test ends.
type database struct {
	engine string
	fields map[string]any
	db     *sql.DB
	table  string
}

// databases returns the databases the machine offers: SQLite always,
// PostgreSQL and MySQL/MariaDB when PLEXUS_TEST_POSTGRES and
// PLEXUS_TEST_MYSQL name them.
func databases(t *testing.T, dir string) []*database {
	t.Helper()
	var out []*database
	if u := os.Getenv("PLEXUS_TEST_POSTGRES"); u != "" {
		out = append(out, postgres(t, u))
	}
	if dsn := os.Getenv("PLEXUS_TEST_MYSQL"); dsn != "" {
		out = append(out, mariadb(t, dsn))
	}
	file := filepath.Join(dir, "test.db")
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	out = append(out, &database{engine: sqlconn.EngineSQLite, fields: map[string]any{"engine": "sqlite", "db_name": file}, db: db, table: tableName()})
	return out
}

// one returns the database of an engine, skipping the test when the
// machine has none.
func one(t *testing.T, engine string) *database {
	t.Helper()
	for _, d := range databases(t, t.TempDir()) {
		if d.engine == engine {
			return d
		}
	}
	t.Skipf("no %s database: set PLEXUS_TEST_POSTGRES or PLEXUS_TEST_MYSQL", engine)
	return nil
}

func tableName() string {
	var b [4]byte
	rand.Read(b[:])
	return "plexus_test_" + hex.EncodeToString(b[:])
}

func postgres(t *testing.T, raw string) *database {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("PLEXUS_TEST_POSTGRES: %v", err)
	}
	pw, _ := u.User.Password()
	port, _ := strconv.Atoi(u.Port())
	db, err := sql.Open("pgx", raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fields := map[string]any{"engine": "postgresql", "host": u.Hostname(), "port": port, "db_name": strings.TrimPrefix(u.Path, "/"),
		"username": u.User.Username(), "password": pw}
	return &database{engine: sqlconn.EnginePostgreSQL, fields: fields, db: db, table: tableName()}
}

func mariadb(t *testing.T, dsn string) *database {
	c, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("PLEXUS_TEST_MYSQL: %v", err)
	}
	host, port, _ := net.SplitHostPort(c.Addr)
	p, _ := strconv.Atoi(port)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fields := map[string]any{"engine": "mysql", "host": host, "port": p, "db_name": c.DBName, "username": c.User, "password": c.Passwd}
	return &database{engine: sqlconn.EngineMySQL, fields: fields, db: db, table: tableName()}
}

// object returns the object's fields with more.
func (d *database) object(more map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range d.fields {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// exec runs DDL or DML directly, failing the test on error.
func (d *database) exec(t testing.TB, query string) {
	t.Helper()
	if _, err := d.db.Exec(query); err != nil {
		t.Fatalf("%s: %s: %v", d.engine, query, err)
	}
}

// create creates the test's table with columns given per engine, dropped
// when the test ends.
func (d *database) create(t testing.TB, columns map[string]string) {
	t.Helper()
	d.exec(t, "CREATE TABLE "+d.table+" ("+columns[d.engine]+")")
	t.Cleanup(func() { d.db.Exec("DROP TABLE IF EXISTS " + d.table) })
}

// count returns the rows of the test's table.
func (d *database) count(t testing.TB) int {
	t.Helper()
	var n int
	if err := d.db.QueryRow("SELECT count(*) FROM " + d.table).Scan(&n); err != nil {
		t.Fatalf("%s: counting: %v", d.engine, err)
	}
	return n
}

// call posts a JSON body to a channel and decodes the answer.
func call(t testing.TB, s *plexustest.Server, path string, body any) (int, any) {
	t.Helper()
	data, _ := json.Marshal(body)
	r := s.Call("POST", path, string(data), nil)
	var out any
	if len(r.Body) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(r.Body)))
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, r.Body)
		}
	}
	return r.StatusCode, out
}
