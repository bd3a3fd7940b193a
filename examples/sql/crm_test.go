// Package crm_test runs the CRM example on SQLite, and on PostgreSQL
// when PLEXUS_TEST_POSTGRES names one: a customer is created with its
// first note in one transaction, read back by id, and a failed note
// rolls its customer back.
package crm_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/plexushq/plexus/plexustest"
)

func TestCRM(t *testing.T) {
	schema, err := os.ReadFile("schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("sqlite", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "crm.db")
		db, err := sql.Open("sqlite", file)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ddl := strings.NewReplacer("serial PRIMARY KEY", "integer PRIMARY KEY", "timestamptz NOT NULL DEFAULT now()", "timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP").Replace(string(schema))
		if _, err := db.Exec(ddl); err != nil {
			t.Fatal(err)
		}
		run(t, db, map[string]string{"CRM_DB_ENGINE": "sqlite", "CRM_DB_NAME": file, "CRM_DB_PORT": "0"})
	})
	t.Run("postgresql", func(t *testing.T) {
		raw := os.Getenv("PLEXUS_TEST_POSTGRES")
		if raw == "" {
			t.Skip("PLEXUS_TEST_POSTGRES is not set")
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("pgx", raw)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var b [4]byte
		rand.Read(b[:])
		ns := "plexus_example_" + hex.EncodeToString(b[:])
		if _, err := db.Exec("CREATE SCHEMA " + ns + "; SET search_path = " + ns + "; " + string(schema)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Exec("DROP SCHEMA " + ns + " CASCADE") })
		pw, _ := u.User.Password()
		if _, err := db.Exec("SET search_path = " + ns); err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1) // keeps the search_path
		run(t, db, map[string]string{"CRM_DB_ENGINE": "postgresql", "CRM_DB_HOST": u.Hostname(), "CRM_DB_PORT": u.Port(),
			"CRM_DB_NAME": strings.TrimPrefix(u.Path, "/"), "CRM_DB_USERNAME": u.User.Username(), "CRM_DB_PASSWORD": pw,
			"CRM_DB_EXTRA": "search_path=" + ns})
	})
}

func run(t *testing.T, db *sql.DB, vars map[string]string) {
	s := plexustest.Start(t, plexustest.Options{})
	s.DeployFiles("get_customer.star", "create_customer.star")
	yaml, err := os.ReadFile("enmasse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Set here as plexus enmasse import takes them from the environment.
	s.Import(os.Expand(string(yaml), func(k string) string { return vars[k] }))

	r := s.Call("POST", "/crm/customers", `{"name": "Jane O'Brien", "balance": "1234.50", "note": "met at the fair"}`, nil)
	if r.StatusCode != 200 || string(r.Body) != `{"id":1}` {
		t.Fatalf("create: %d %s\n%s", r.StatusCode, r.Body, s.Log)
	}
	r = s.Call("GET", "/crm/customers/1", "", nil)
	got := r.JSON(t)
	balance := `"balance":1234.50` // exact, as the database keeps it
	if vars["CRM_DB_ENGINE"] == "sqlite" {
		balance = `"balance":1234.5` // SQLite keeps decimals as floats
	}
	if r.StatusCode != 200 || got["name"] != "Jane O'Brien" || !strings.Contains(string(r.Body), balance) || got["created"] == "" {
		t.Errorf("get: %d %s", r.StatusCode, r.Body)
	}
	// The note breaks its CHECK: the customer is rolled back with it.
	if r := s.Call("POST", "/crm/customers", `{"name": "John", "balance": "1", "note": ""}`, nil); r.StatusCode != 500 {
		t.Errorf("a failed note: %d %s", r.StatusCode, r.Body)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM customer").Scan(&n); err != nil || n != 1 {
		t.Errorf("customers: %d %v", n, err)
	}
	if r := s.Call("GET", "/crm/customers/2", "", nil); r.StatusCode != 404 || !strings.Contains(string(r.Body), "No customer 2") {
		t.Errorf("a missing customer: %d %s", r.StatusCode, r.Body)
	}
}
