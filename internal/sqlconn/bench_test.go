package sqlconn

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// benchTable creates a table of 1000 customers in PLEXUS_TEST_POSTGRES,
// dropped at the end, and an outgoing SQL connection's pool to it.
func benchTable(b *testing.B) (dsn, table string, d *Database) {
	dsn = os.Getenv("PLEXUS_TEST_POSTGRES")
	if dsn == "" {
		b.Skip("PLEXUS_TEST_POSTGRES is not set")
	}
	var r [4]byte
	rand.Read(r[:])
	table = "plexus_bench_" + hex.EncodeToString(r[:])
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Exec("DROP TABLE " + table); db.Close() })
	if _, err := db.Exec("CREATE TABLE " + table + " (id int PRIMARY KEY, name text NOT NULL, balance numeric(12,2) NOT NULL); " +
		"INSERT INTO " + table + " SELECT i, 'customer ' || i, i + 0.5 FROM generate_series(1, 1000) AS i"); err != nil {
		b.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	obj := &Config{Name: "bench", IsActive: true, Engine: EnginePostgreSQL, Host: cfg.Host, Port: int(cfg.Port), DBName: cfg.Database,
		Username: cfg.User, Password: cfg.Password, PoolSize: 16, ConnectTimeout: config.Duration(10 * time.Second),
		QueryTimeout: config.Duration(30 * time.Second), MaxRows: 10000}
	v, err := provision(&registry.Env{Collectors: func(string) []prometheus.Collector { return nil }}, obj)
	if err != nil {
		b.Fatal(err)
	}
	d = v.(*Database)
	b.Cleanup(func() { d.Close() })
	return dsn, table, d
}

// BenchmarkSelectByID selects one row by primary key: through the pool
// as a Go service does, as a Starlark service does (with the conversion
// of the row), and with pgxpool directly, the floor.
func BenchmarkSelectByID(b *testing.B) {
	dsn, table, d := benchTable(b)
	query := "SELECT id, name, balance FROM " + table + " WHERE id = :id"
	ctx := context.Background()
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, err := d.QuerySQL(ctx, &service.SQLQuery{Query: query, Params: map[string]any{"id": int64(42)}})
				if err != nil || len(r.Rows) != 1 {
					b.Fatal(r, err)
				}
			}
		})
	})
	b.Run("starlark", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			th := &sl.Thread{}
			for pb.Next() {
				r, err := d.exec(ctx, &service.SQLQuery{Query: query, Params: map[string]any{"id": int64(42)}})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := starlarkRow(th, r, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("pgxpool", func(b *testing.B) {
		cfg, _ := pgxpool.ParseConfig(dsn)
		cfg.MaxConns = 16
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		q := "SELECT id, name, balance FROM " + table + " WHERE id = $1"
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				var id int64
				var name string
				var balance pgtype.Numeric
				if err := pool.QueryRow(ctx, q, 42).Scan(&id, &name, &balance); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkParse translates the placeholders of a typical query.
func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse(EnginePostgreSQL, "SELECT id, name, balance FROM customer WHERE id = :id AND name <> 'x:y' -- :z"); err != nil {
			b.Fatal(err)
		}
	}
}
