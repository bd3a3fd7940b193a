package server_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/internal/testenv"
)

// legacyRows are what a store made before each package owned its
// migrations holds: configuration, code, settings, a scheduler job's run
// state and history, a JWT session.
var legacyRows = []string{
	`INSERT INTO revisions (rev, created_at, source, summary) VALUES (1, '2026-01-01T00:00:00Z', 'admin', 'legacy')`,
	`INSERT INTO objects (kind, name, body, rev) VALUES ('scheduler', 'nightly', '{"name":"nightly","is_active":true,"service":"plexus.ping","job_type":"interval_based","days":1}', 1)`,
	`INSERT INTO code (file, source, rev, origin) VALUES ('legacy.star', 'def handle(self):' || char(10) || '    self.response.payload = "legacy"', 1, 'pickup')`,
	`INSERT INTO settings (key, value) VALUES ('legacy.key', 'legacy value')`,
	`INSERT INTO scheduler_job_state (job, plan, run_count, last_run_us, last_outcome, last_cid, history_seq) VALUES ('nightly', 'p', 7, 1767225600000000, 'ok', 'c0ffee0000000000000000aa', 1)`,
	`INSERT INTO scheduler_job_history (job, slot, seq, cid, via, planned_us, started_us, duration_us, outcome, details) VALUES ('nightly', 0, 1, 'c0ffee0000000000000000aa', 'schedule', 1767225600000000, 1767225600000000, 1000, 'ok', '')`,
	`INSERT INTO jwt_sessions (id, definition, username, created_at, expires_at) VALUES ('abc', 'app', 'frontend', 1, 9999999999999)`,
	`INSERT INTO settings (key, value) VALUES ('sio.switches', '{"legacy":{"validate_schema":false,"detailed_errors":true}}')`,
}

// A store made by earlier versions, when the store ran every package's
// migrations as its own and kept the typed I/O switches in its settings,
// upgrades to per-package migrations and service_io objects without
// losing anything, on SQLite and on PostgreSQL; opening it again changes
// nothing.
func TestUpgradeLegacyStore(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			dir := t.TempDir() + "/env"
			if _, err := envdir.Create(dir); err != nil {
				t.Fatal(err)
			}
			var db *sql.DB
			var err error
			dsn := ""
			if dialect == "sqlite" {
				db, err = sql.Open("sqlite", filepath.Join(dir, envdir.DataDir, "plexus.db"))
			} else {
				dsn = testenv.Postgres(t)
				db, err = sql.Open("pgx", dsn)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			legacy(t, db, dialect)

			s := servertest.Start(t, servertest.Options{Dir: dir, DB: dsn})
			checkUpgraded(t, s, db)
			s = s.Restart()
			checkUpgraded(t, s, db)
		})
	}
}

// legacy makes the store as the earlier versions did: the four migrations
// they had, in one version table, then a row in every table.
func legacy(t *testing.T, db *sql.DB, dialect string) {
	t.Helper()
	gd := goose.DialectSQLite3
	if dialect == "postgres" {
		gd = goose.DialectPostgres
	}
	p, err := goose.NewProvider(gd, db, os.DirFS(filepath.Join("..", "store", "testdata", "legacy", dialect)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, q := range legacyRows {
		if dialect == "postgres" {
			q = strings.ReplaceAll(q, "char(10)", "chr(10)")
		}
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func checkUpgraded(t *testing.T, s *servertest.Server, db *sql.DB) {
	t.Helper()
	if r := s.AdminCall("GET", admin.Prefix+"/objects/scheduler/nightly", ""); r.StatusCode != 200 {
		t.Errorf("the job: %d %s", r.StatusCode, r.Body)
	}
	if r := s.AdminCall("POST", admin.Prefix+"/services/legacy/invoke", ""); string(r.Body) != "legacy" {
		t.Errorf("the deployed code: %d %s", r.StatusCode, r.Body)
	}
	// The typed I/O switches kept in the settings are configuration now.
	if r := s.AdminCall("GET", admin.Prefix+"/objects/service_io/legacy", ""); r.StatusCode != 200 ||
		r.JSON(t)["validate_schema"] != false || r.JSON(t)["detailed_errors"] != true {
		t.Errorf("the I/O switches: %d %s", r.StatusCode, r.Body)
	}
	if r := s.AdminCall("GET", admin.Prefix+"/services/legacy/io", ""); !strings.Contains(string(r.Body), `"validate_schema": false`) {
		t.Errorf("the I/O switches' view: %d %s", r.StatusCode, r.Body)
	}
	var legacySwitches int
	db.QueryRow("SELECT COUNT(*) FROM settings WHERE key = 'sio.switches'").Scan(&legacySwitches)
	if legacySwitches != 0 {
		t.Error("the I/O switches are still in the settings")
	}
	if r := s.AdminCall("GET", admin.Prefix+"/scheduler/jobs/nightly", ""); !strings.Contains(string(r.Body), "c0ffee0000000000000000aa") {
		t.Errorf("the job's history: %d %s", r.StatusCode, r.Body)
	}
	for table, want := range map[string]int{"scheduler_job_state": 1, "scheduler_job_history": 1, "jwt_sessions": 1, "settings": 1} {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM " + table + " WHERE " + map[string]string{
			"scheduler_job_state": "job = 'nightly'", "scheduler_job_history": "job = 'nightly'", "jwt_sessions": "id = 'abc'", "settings": "key = 'legacy.key'",
		}[table]).Scan(&n); err != nil || n != want {
			t.Errorf("%s: %d rows, %v", table, n, err)
		}
	}
	for table, want := range map[string]string{"goose_db_version": "0 1 2 3 4 14", "goose_scheduler_version": "0 1", "goose_jwt_sessions_version": "0 1"} {
		rows, err := db.Query("SELECT version_id FROM " + table + " ORDER BY version_id")
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		var got []string
		for rows.Next() {
			var v string
			rows.Scan(&v)
			got = append(got, v)
		}
		rows.Close()
		if strings.Join(got, " ") != want {
			t.Errorf("%s holds versions %v, want %s", table, got, want)
		}
	}
}
