package store

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/pressly/goose/v3"
)

// Migrations are the versioned SQL migrations of the tables one package
// keeps in the store: goose files under Dir/sqlite and Dir/postgres of
// FS. Each owner has its own versions, kept in a table of its own
// (goose_<owner>_version; the store's own are in goose_db_version), so
// packages number their migrations independently.
type Migrations struct {
	// Owner names the package, such as scheduler; it must be a lowercase
	// SQL identifier.
	Owner string
	FS    fs.FS
	// Dir is the directory of FS holding sqlite/ and postgres/.
	Dir string
}

// table returns the name of the table of the owner's applied versions.
func (m Migrations) table() string {
	if m.Owner == "store" {
		return "goose_db_version" // the name the store always had
	}
	return "goose_" + m.Owner + "_version"
}

var (
	ownersMu sync.Mutex
	owners   []Migrations
)

// RegisterMigrations adds the migrations of a package that keeps tables
// in the store; call it from the package's init. Open runs the store's
// own migrations first, then the others by owner name. It panics on an
// owner registered twice or a malformed name, so mistakes show at
// start-up.
func RegisterMigrations(m Migrations) {
	ownersMu.Lock()
	defer ownersMu.Unlock()
	if m.Owner == "" || strings.Trim(m.Owner, "abcdefghijklmnopqrstuvwxyz_") != "" {
		panic(fmt.Sprintf("store: migrations owner %q must be a lowercase SQL identifier", m.Owner))
	}
	if slices.ContainsFunc(owners, func(o Migrations) bool { return o.Owner == m.Owner }) {
		panic(fmt.Sprintf("store: migrations of %q registered twice", m.Owner))
	}
	owners = append(owners, m)
}

// migrate applies every registered owner's migrations: the store's first.
func (s *Store) migrate(ctx context.Context) error {
	ownersMu.Lock()
	list := slices.Clone(owners)
	ownersMu.Unlock()
	slices.SortFunc(list, func(a, b Migrations) int {
		switch {
		case a.Owner == "store":
			return -1
		case b.Owner == "store":
			return 1
		}
		return strings.Compare(a.Owner, b.Owner)
	})
	for _, m := range list {
		if err := s.Migrate(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// Migrate applies one owner's migrations that the store has not applied
// yet.
func (s *Store) Migrate(ctx context.Context, m Migrations) error {
	sub, err := fs.Sub(m.FS, m.Dir+"/"+s.dialect)
	if err != nil {
		return fmt.Errorf("migrating the tables of %s: %w", m.Owner, err)
	}
	dialect := goose.DialectSQLite3
	if s.dialect == "postgres" {
		dialect = goose.DialectPostgres
	}
	// Branches add migrations in parallel (numbers are reserved per
	// feature), so a database may have applied a later number before an
	// earlier one arrives: apply it then rather than refusing to start.
	p, err := goose.NewProvider(dialect, s.db, sub, goose.WithAllowOutofOrder(true), goose.WithTableName(m.table()))
	if err != nil {
		return fmt.Errorf("migrating the tables of %s: %w", m.Owner, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrating the tables of %s: %w", m.Owner, err)
	}
	return nil
}
