package sqlconn

import (
	"context"
	"database/sql"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to compare with
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// pgDatabase returns a pool to PLEXUS_TEST_POSTGRES and a database/sql
// pool with pgx's driver to the same database.
func pgDatabase(t *testing.T) (*Database, *sql.DB) {
	dsn := os.Getenv("PLEXUS_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("PLEXUS_TEST_POSTGRES is not set")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	v, err := provision(&registry.Env{Collectors: func(string) []prometheus.Collector { return nil }},
		&Config{Name: "pg", IsActive: true, Engine: EnginePostgreSQL, Host: cfg.Host, Port: int(cfg.Port), DBName: cfg.Database,
			Username: cfg.User, Password: cfg.Password, PoolSize: 2, ConnectTimeout: config.Duration(10 * time.Second),
			QueryTimeout: config.Duration(30 * time.Second), MaxRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	d := v.(*Database)
	t.Cleanup(func() { d.Close() })
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return d, db
}

// PostgreSQL's values read through pgx's pool are those read through
// database/sql with pgx's driver, type for type: NULLs, the edges of
// integers, infinite times, NaN, arrays, JSON, bytes and types pgx does
// not name.
func TestPGValuesAsDatabaseSQL(t *testing.T) {
	d, db := pgDatabase(t)
	query := `SELECT NULL::int AS n, true AS b, 32767::int2 AS i2, (-32768)::int2 AS i2b, (-2147483648)::int4 AS i4, 9223372036854775807::int8 AS i8,
		1.5::float4 AS f4, 'NaN'::float8 AS f8, 12.50::numeric(10,2) AS dec, 'NaN'::numeric AS decnan, '{1.5,2}'::numeric[] AS decs,
		'x:y'::text AS t, 'ab '::char(3) AS c, 'v'::varchar AS v, '\x00ff'::bytea AS by, '{"a":[1,2.5,"x"]}'::jsonb AS jb, '[1]'::json AS j,
		'2024-03-31 01:30:00+02'::timestamptz AS ts, '2024-03-31 01:30:00'::timestamp AS tsn, '2024-02-29'::date AS dt,
		'infinity'::timestamptz AS tsinf, '-infinity'::date AS dtinf, '12:30'::time AS tm, '1 day 2 hours'::interval AS iv,
		'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, '{a,NULL}'::text[] AS arr, 'pg_class'::regclass::oid AS o,
		'10.0.0.1/8'::inet AS ip, '<a/>'::xml AS x, B'101' AS bits, 'ok'::name AS nm, :p::int8 AS p, :q::text AS q
		UNION ALL
		SELECT 1, false, -32768, -1, 2147483647, -9223372036854775807 - 1, -0.25, 1e300, -0.001, 0, '{}', '', '   ', '', '', 'null', '{}',
		'1970-01-01 00:00:00Z', '0001-01-01 00:00:00', '0001-01-01', '-infinity', 'infinity', '00:00', '0', '00000000-0000-0000-0000-000000000000',
		'{}', 0, '::1', '<b>x</b>', B'0', '', NULL, NULL`
	params := map[string]any{"p": int64(7), "q": "w"}
	got, err := d.exec(context.Background(), &service.SQLQuery{Query: query, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	st, err := parse(EnginePostgreSQL, query)
	if err != nil {
		t.Fatal(err)
	}
	args, err := st.args(params, goArg, 1)
	if err != nil {
		t.Fatal(err)
	}
	want, err := (&sqlRunner{q: db}).rows(context.Background(), "pg", st.text, args, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Columns, want.Columns) || !reflect.DeepEqual(got.classes, want.classes) {
		t.Errorf("columns:\n got %v %v\nwant %v %v", got.Columns, got.classes, want.Columns, want.classes)
	}
	if len(got.Rows) != 2 || len(want.Rows) != 2 {
		t.Fatalf("rows: got %d, want %d", len(got.Rows), len(want.Rows))
	}
	for i := range want.Rows {
		for _, col := range want.Columns {
			g, w := got.Rows[i][col], want.Rows[i][col]
			if !reflect.DeepEqual(g, w) && !(reflect.TypeOf(g) == reflect.TypeOf(w) && reflect.ValueOf(g).Kind() == reflect.Float64 && g != g && w != w) {
				t.Errorf("row %d, %s: got %#v, want %#v", i, col, g, w)
			}
		}
	}
}

// PostgreSQL's arrays read as their text, whatever their element type
// (pgx names an array type by its element's with a leading "_").
func TestPGArraysAsText(t *testing.T) {
	d, _ := pgDatabase(t)
	r, err := d.QuerySQL(context.Background(), &service.SQLQuery{Query: `SELECT '{1,2}'::int[] AS i, '{1.5,2}'::numeric[] AS n,
		'{t,f}'::bool[] AS b, '{0.5}'::float8[] AS f, '{"{\"a\":1}"}'::jsonb[] AS j, '{"\\x00ff"}'::bytea[] AS by`})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"i": "{1,2}", "n": "{1.5,2}", "b": "{t,f}", "f": "{0.5}", "j": `{"{\"a\": 1}"}`, "by": `{"\\x00ff"}`}
	if len(r.Rows) != 1 || !reflect.DeepEqual(r.Rows[0], want) {
		t.Fatalf("arrays: got %#v, want %#v", r.Rows, want)
	}
}

// A statement's errors, its count of rows affected and a transaction's
// commit and rollback go through pgx's pool as through database/sql.
func TestPGStatementsAndTransactions(t *testing.T) {
	d, db := pgDatabase(t)
	ctx := context.Background()
	table := "plexus_pg_" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "_")
	if _, err := db.Exec("CREATE TABLE " + table + " (id int PRIMARY KEY, s text)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec("DROP TABLE " + table) })
	r, err := d.QuerySQL(ctx, &service.SQLQuery{Query: "INSERT INTO " + table + " VALUES (1, 'a'), (2, 'b')"})
	if err != nil || r.RowsAffected != 2 || r.Columns != nil {
		t.Fatalf("insert: %+v %v", r, err)
	}
	if _, err := d.QuerySQL(ctx, &service.SQLQuery{Query: "INSERT INTO " + table + " VALUES (1, 'a')"}); err == nil ||
		!strings.Contains(err.Error(), `SQL connection "pg": ERROR: duplicate key`) {
		t.Errorf("duplicate key: %v", err)
	}
	r, err = d.QuerySQL(ctx, &service.SQLQuery{Query: "UPDATE " + table + " SET s = :s WHERE id > :id RETURNING id", Params: map[string]any{"s": "c", "id": 0}})
	if err != nil || len(r.Rows) != 2 {
		t.Fatalf("update returning: %+v %v", r, err)
	}

	for _, commit := range []bool{false, true} {
		tx, err := d.BeginSQL(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.QuerySQL(ctx, &service.SQLQuery{Query: "DELETE FROM " + table + " WHERE id = 1"}); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Errorf("a rollback after the end: %v", err)
		}
		var n int
		db.QueryRow("SELECT count(*) FROM " + table).Scan(&n)
		if want := map[bool]int{false: 2, true: 1}[commit]; n != want {
			t.Errorf("commit %v: %d rows, want %d", commit, n, want)
		}
	}

	// The end of its context rolls a transaction back and frees its
	// connection: the pool's two serve the statements after.
	for range 3 {
		tctx, cancel := context.WithCancel(ctx)
		tx, err := d.BeginSQL(tctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.QuerySQL(tctx, &service.SQLQuery{Query: "DELETE FROM " + table}); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := tx.Commit(); err == nil {
			t.Error("a transaction whose context ended committed")
		}
	}
	var n int
	db.QueryRow("SELECT count(*) FROM " + table).Scan(&n)
	if n != 1 {
		t.Errorf("%d rows after the cancelled transactions, want 1", n)
	}
	// The rollback runs once the context ended, as database/sql's does.
	deadline := time.Now().Add(5 * time.Second)
	for s := d.poolFigures(); s.MaxOpenConnections != 2 || s.InUse != 0; s = d.poolFigures() {
		if time.Now().After(deadline) {
			t.Fatalf("pool: %+v", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
