package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoStore is returned by OpenReadOnly when the embedded database does
// not exist yet: the server of the environment has never started.
var ErrNoStore = errors.New("the store does not exist yet")

// OpenReadOnly opens the store for reading only, as commands that read a
// stopped server's configuration do (offline enmasse export): it creates
// nothing, runs no migration and cannot write. It is safe while a server
// uses the same store.
func OpenReadOnly(ctx context.Context, dsn, dataDir string) (*Store, error) {
	s := &Store{}
	var err error
	switch {
	case dsn == "":
		file := filepath.Join(dataDir, "plexus.db")
		if _, err := os.Stat(file); err != nil {
			return nil, fmt.Errorf("opening store %s: %w", file, ErrNoStore)
		}
		s.dialect = "sqlite"
		q := url.Values{}
		q.Set("mode", "ro")
		q.Add("_pragma", "busy_timeout(10000)")
		s.db, err = sql.Open("sqlite", "file:"+file+"?"+q.Encode())
	case strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://"):
		s.dialect = "postgres"
		u, perr := url.Parse(dsn)
		if perr != nil {
			return nil, fmt.Errorf("opening store: %w", perr)
		}
		q := u.Query()
		q.Set("default_transaction_read_only", "on")
		u.RawQuery = q.Encode()
		s.db, err = sql.Open("pgx", u.String())
	default:
		return nil, fmt.Errorf("opening store: --db must be empty (embedded SQLite) or a postgres:// URL, got %q", redact(dsn))
	}
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("opening store %s: %w", s.describe(dsn, dataDir), err)
	}
	return s, nil
}
