// Package store keeps the configuration: objects by kind and name, deployed
// service code and server settings, each change in one transaction with a
// revision number. It runs on the embedded SQLite database or on
// PostgreSQL, with the same tables and versioned migrations for both.
// Packages that keep tables of their own in the store (the scheduler's run
// state, JWT sessions) own their migrations and register them.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/plexushq/plexus/internal/redact"
)

//go:embed migrations
var migrations embed.FS

func init() {
	RegisterMigrations(Migrations{Owner: "store", FS: migrations, Dir: "migrations"})
}

// Record is one stored configuration object: its JSON body under a kind and
// name.
type Record struct {
	Kind string
	Name string
	Body []byte
	// Rev is the revision that last wrote the object (set by Load and
	// Changes; Commit ignores it).
	Rev int64
}

// Key names a stored object.
type Key struct {
	Kind string
	Name string
}

// Code is one deployed source file.
type Code struct {
	File   string
	Source []byte
	// Origin says where the file was deployed from (see live.CodeChange).
	Origin string
}

// Snapshot is the whole stored configuration at one revision.
type Snapshot struct {
	Rev     int64
	Objects []Record // sorted by kind, then name
	Code    []Code   // sorted by file
}

// Change is one atomic change to the configuration.
type Change struct {
	// Source says where the change came from: admin, enmasse, pickup, …
	Source string
	// Summary is a human description for the revision history.
	Summary    string
	Put        []Record
	Delete     []Key
	PutCode    []Code
	DeleteCode []string
}

// Store is the configuration store. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect string // "sqlite" or "postgres"
	dsn     string // PostgreSQL only, for the change feed's connection
	channel string // PostgreSQL only: the NOTIFY channel of this store's commits
	lockKey int64  // PostgreSQL only: the advisory lock of changes (LockChanges)
}

// Open opens the store and migrates it: its own tables, then those of
// every package that registered migrations (see RegisterMigrations). It
// opens the SQLite database in dataDir when dsn is empty, else the
// PostgreSQL database dsn names.
func Open(ctx context.Context, dsn, dataDir string) (*Store, error) {
	s, err := open(ctx, dsn, dataDir, false)
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// ErrNoStore is returned by OpenReadOnly when the embedded database does
// not exist yet: the server of the environment has never started.
var ErrNoStore = errors.New("the store does not exist yet")

// OpenReadOnly opens the store for reading only, as commands that read a
// stopped server's configuration do (offline enmasse export): it creates
// nothing, runs no migration and cannot write. It is safe while a server
// uses the same store.
func OpenReadOnly(ctx context.Context, dsn, dataDir string) (*Store, error) {
	return open(ctx, dsn, dataDir, true)
}

func open(ctx context.Context, dsn, dataDir string, readOnly bool) (*Store, error) {
	s := &Store{}
	var err error
	switch {
	case dsn == "":
		s.dialect = "sqlite"
		file := filepath.Join(dataDir, "plexus.db")
		q := url.Values{}
		if readOnly {
			if _, err := os.Stat(file); err != nil {
				return nil, fmt.Errorf("opening store %s: %w", file, ErrNoStore)
			}
			q.Set("mode", "ro")
			q.Add("_pragma", "busy_timeout(10000)")
		} else {
			if err := ownerOnly(dataDir); err != nil {
				return nil, fmt.Errorf("opening store: %w", err)
			}
			for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)", "foreign_keys(1)"} {
				q.Add("_pragma", p)
			}
			q.Set("_txlock", "immediate")
		}
		s.db, err = sql.Open("sqlite", "file:"+file+"?"+q.Encode())
	case strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://"):
		s.dialect = "postgres"
		if readOnly {
			u, perr := url.Parse(dsn)
			if perr != nil {
				return nil, fmt.Errorf("opening store: %w", perr)
			}
			q := u.Query()
			q.Set("default_transaction_read_only", "on")
			u.RawQuery = q.Encode()
			dsn = u.String()
		}
		s.db, err = sql.Open("pgx", dsn)
		s.dsn = dsn
	default:
		return nil, fmt.Errorf("opening store: --db must be empty (embedded SQLite) or a postgres:// URL, got %s", redact.Quote(dsn))
	}
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("opening store %s: %w", s.describe(dsn, dataDir), err)
	}
	if s.dialect == "postgres" {
		if err := s.setChannel(ctx); err != nil {
			s.db.Close()
			return nil, err
		}
	}
	return s, nil
}

// ownerOnly keeps the embedded database to the user running the server:
// it makes the data directory 0700 and the database file and its -wal and
// -shm companions 0600, creating the directory and an empty database file
// when missing (SQLite gives its companions the database file's mode). It
// also narrows the modes of environments made with wider ones.
func ownerOnly(dataDir string) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dataDir, 0o700); err != nil {
		return err
	}
	file := filepath.Join(dataDir, "plexus.db")
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{file, file + "-wal", file + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func (s *Store) describe(dsn, dataDir string) string {
	if s.dialect == "sqlite" {
		return filepath.Join(dataDir, "plexus.db")
	}
	return redact.Secrets(dsn)
}

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// DB returns the database, for subsystems that keep their own tables.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Rebind turns ? placeholders into the dialect's.
func (s *Store) Rebind(q string) string {
	if s.dialect != "postgres" {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// Load reads the whole configuration.
func (s *Store) Load(ctx context.Context) (*Snapshot, error) {
	snap := &Snapshot{}
	if err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(rev), 0) FROM revisions").Scan(&snap.Rev); err != nil {
		return nil, fmt.Errorf("loading revision: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT kind, name, body, rev FROM objects ORDER BY kind, name")
	if err != nil {
		return nil, fmt.Errorf("loading objects: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Record
		var body string
		if err := rows.Scan(&r.Kind, &r.Name, &body, &r.Rev); err != nil {
			return nil, fmt.Errorf("loading objects: %w", err)
		}
		r.Body = []byte(body)
		snap.Objects = append(snap.Objects, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loading objects: %w", err)
	}
	crow, err := s.db.QueryContext(ctx, "SELECT file, source, origin FROM code ORDER BY file")
	if err != nil {
		return nil, fmt.Errorf("loading code: %w", err)
	}
	defer crow.Close()
	for crow.Next() {
		var c Code
		var src string
		if err := crow.Scan(&c.File, &src, &c.Origin); err != nil {
			return nil, fmt.Errorf("loading code: %w", err)
		}
		c.Source = []byte(src)
		snap.Code = append(snap.Code, c)
	}
	return snap, crow.Err()
}

// Commit writes a change in one transaction and returns its revision.
// On PostgreSQL the commit is announced to the nodes sharing the store
// (see Listen).
func (s *Store) Commit(ctx context.Context, c Change) (rev int64, err error) {
	return s.commit(ctx, -1, c)
}

// CommitAt writes a change made against revision base: it fails with a
// *StaleError, writing nothing, when the store has moved past base (a
// change committed meanwhile, by this node or another).
func (s *Store) CommitAt(ctx context.Context, base int64, c Change) (rev int64, err error) {
	return s.commit(ctx, base, c)
}

// StaleError is the error of a change made against a revision that is no
// longer the store's latest.
type StaleError struct {
	Base, Current int64
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("the change was made against revision %d, but the store is at revision %d", e.Base, e.Current)
}

// commit writes a change; base < 0 skips the base revision check.
func (s *Store) commit(ctx context.Context, base int64, c Change) (rev int64, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("committing change: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if s.dialect == "postgres" {
		// Serialise revision numbers across nodes sharing the database.
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7101)"); err != nil {
			return 0, fmt.Errorf("committing change: %w", err)
		}
	}
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(rev), 0) + 1 FROM revisions").Scan(&rev); err != nil {
		return 0, fmt.Errorf("committing change: %w", err)
	}
	if base >= 0 && rev-1 != base {
		return 0, &StaleError{Base: base, Current: rev - 1}
	}
	if _, err := tx.ExecContext(ctx, s.Rebind("INSERT INTO revisions (rev, created_at, source, summary) VALUES (?, ?, ?, ?)"),
		rev, time.Now().UTC().Format(time.RFC3339Nano), c.Source, c.Summary); err != nil {
		return 0, fmt.Errorf("committing change: %w", err)
	}
	if err := s.exec(ctx, tx, "DELETE FROM objects WHERE kind = ? AND name = ?", len(c.Delete), func(i int) []any {
		return []any{c.Delete[i].Kind, c.Delete[i].Name}
	}); err != nil {
		return 0, err
	}
	if err := s.exec(ctx, tx, "INSERT INTO objects (kind, name, body, rev) VALUES (?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET body = excluded.body, rev = excluded.rev", len(c.Put), func(i int) []any {
		return []any{c.Put[i].Kind, c.Put[i].Name, string(c.Put[i].Body), rev}
	}); err != nil {
		return 0, err
	}
	if err := s.exec(ctx, tx, "DELETE FROM code WHERE file = ?", len(c.DeleteCode), func(i int) []any {
		return []any{c.DeleteCode[i]}
	}); err != nil {
		return 0, err
	}
	if err := s.exec(ctx, tx, "INSERT INTO code (file, source, origin, rev) VALUES (?, ?, ?, ?) ON CONFLICT (file) DO UPDATE SET source = excluded.source, origin = excluded.origin, rev = excluded.rev", len(c.PutCode), func(i int) []any {
		return []any{c.PutCode[i].File, string(c.PutCode[i].Source), c.PutCode[i].Origin, rev}
	}); err != nil {
		return 0, err
	}
	if err := s.recordRemovals(ctx, tx, rev, c); err != nil {
		return 0, err
	}
	if s.dialect == "postgres" {
		// Delivered to the listeners when the transaction commits.
		if _, err := tx.ExecContext(ctx, "SELECT pg_notify($1, $2)", s.channel, strconv.FormatInt(rev, 10)); err != nil {
			return 0, fmt.Errorf("committing change: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("committing change: %w", err)
	}
	return rev, nil
}

// exec runs one prepared statement n times in a transaction.
func (s *Store) exec(ctx context.Context, tx *sql.Tx, query string, n int, args func(int) []any) error {
	if n == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, s.Rebind(query))
	if err != nil {
		return fmt.Errorf("committing change: %w", err)
	}
	defer stmt.Close()
	for i := range n {
		if _, err := stmt.ExecContext(ctx, args(i)...); err != nil {
			return fmt.Errorf("committing change: %w", err)
		}
	}
	return nil
}

// Stored says whether the store holds an object of a kind by name.
func (s *Store) Stored(ctx context.Context, kind, name string) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, s.Rebind("SELECT COUNT(*) FROM objects WHERE kind = ? AND name = ?"), kind, name).Scan(&n); err != nil {
		return false, fmt.Errorf("looking up %s %q: %w", kind, name, err)
	}
	return n > 0, nil
}

// Setting returns a server setting kept in the store, such as the admin
// password hash. ok is false when it is not set.
func (s *Store) Setting(ctx context.Context, key string) (value string, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, s.Rebind("SELECT value FROM settings WHERE key = ?"), key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading setting %s: %w", key, err)
	}
	return value, true, nil
}

// SetSetting stores a server setting.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, s.Rebind("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"), key, value)
	if err != nil {
		return fmt.Errorf("writing setting %s: %w", key, err)
	}
	return nil
}

// DeleteSetting removes a server setting; removing one that is not set
// does nothing.
func (s *Store) DeleteSetting(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, s.Rebind("DELETE FROM settings WHERE key = ?"), key); err != nil {
		return fmt.Errorf("deleting setting %s: %w", key, err)
	}
	return nil
}

// InitSetting stores a server setting unless it is set, and returns the
// value the store holds: value, or the one set before (by another node
// sharing the store, perhaps at the same moment).
func (s *Store) InitSetting(ctx context.Context, key, value string) (string, error) {
	if _, err := s.db.ExecContext(ctx, s.Rebind("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"), key, value); err != nil {
		return "", fmt.Errorf("writing setting %s: %w", key, err)
	}
	v, _, err := s.Setting(ctx, key)
	return v, err
}
