package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// codeKind is the kind under which the removals table records deployed
// files.
const codeKind = ""

// Delta is what changed in the store after one revision: the objects and
// files written since, with their current content, and those removed.
type Delta struct {
	// From is the revision the delta starts after; Rev the store's latest.
	From, Rev   int64
	Objects     []Record // sorted by kind, then name
	Removed     []Key
	Code        []Code // sorted by file
	RemovedCode []string
}

// Empty reports whether the delta changes nothing.
func (d *Delta) Empty() bool {
	return len(d.Objects) == 0 && len(d.Removed) == 0 && len(d.Code) == 0 && len(d.RemovedCode) == 0
}

// recordRemovals keeps, in the transaction of revision rev, what the
// change removes and forgets the removals of what it puts back.
func (s *Store) recordRemovals(ctx context.Context, tx *sql.Tx, rev int64, c Change) error {
	const upsert = "INSERT INTO removals (kind, name, rev) VALUES (?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET rev = excluded.rev"
	const forget = "DELETE FROM removals WHERE kind = ? AND name = ?"
	if err := s.exec(ctx, tx, upsert, len(c.Delete), func(i int) []any { return []any{c.Delete[i].Kind, c.Delete[i].Name, rev} }); err != nil {
		return err
	}
	if err := s.exec(ctx, tx, upsert, len(c.DeleteCode), func(i int) []any { return []any{codeKind, c.DeleteCode[i], rev} }); err != nil {
		return err
	}
	if err := s.exec(ctx, tx, forget, len(c.Put), func(i int) []any { return []any{c.Put[i].Kind, c.Put[i].Name} }); err != nil {
		return err
	}
	return s.exec(ctx, tx, forget, len(c.PutCode), func(i int) []any { return []any{codeKind, c.PutCode[i].File} })
}

// Rev returns the store's latest revision.
func (s *Store) Rev(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(rev), 0) FROM revisions").Scan(&rev); err != nil {
		return 0, fmt.Errorf("reading the revision: %w", err)
	}
	return rev, nil
}

// Changes returns what changed after revision since, read in one
// consistent snapshot of the store.
func (s *Store) Changes(ctx context.Context, since int64) (_ *Delta, err error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == "postgres" {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("reading changes: %w", err)
	}
	defer tx.Rollback()
	d := &Delta{From: since}
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(rev), 0) FROM revisions").Scan(&d.Rev); err != nil {
		return nil, fmt.Errorf("reading changes: %w", err)
	}
	if d.Rev <= since {
		return d, nil
	}
	scan := func(query string, row func(*sql.Rows) error) error {
		rows, err := tx.QueryContext(ctx, s.Rebind(query), since)
		if err != nil {
			return fmt.Errorf("reading changes: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := row(rows); err != nil {
				return fmt.Errorf("reading changes: %w", err)
			}
		}
		return rows.Err()
	}
	if err := scan("SELECT kind, name, body, rev FROM objects WHERE rev > ? ORDER BY kind, name", func(rows *sql.Rows) error {
		var r Record
		var body string
		err := rows.Scan(&r.Kind, &r.Name, &body, &r.Rev)
		r.Body = []byte(body)
		d.Objects = append(d.Objects, r)
		return err
	}); err != nil {
		return nil, err
	}
	if err := scan("SELECT file, source, origin FROM code WHERE rev > ? ORDER BY file", func(rows *sql.Rows) error {
		var c Code
		var src string
		err := rows.Scan(&c.File, &src, &c.Origin)
		c.Source = []byte(src)
		d.Code = append(d.Code, c)
		return err
	}); err != nil {
		return nil, err
	}
	if err := scan("SELECT kind, name FROM removals WHERE rev > ? ORDER BY kind, name", func(rows *sql.Rows) error {
		var k Key
		err := rows.Scan(&k.Kind, &k.Name)
		if k.Kind == codeKind {
			d.RemovedCode = append(d.RemovedCode, k.Name)
		} else {
			d.Removed = append(d.Removed, k)
		}
		return err
	}); err != nil {
		return nil, err
	}
	return d, nil
}

// setChannel names the NOTIFY channel of the store's schema, so that
// stores in different schemas of one database do not hear each other.
func (s *Store) setChannel(ctx context.Context) error {
	var db, schema string
	if err := s.db.QueryRowContext(ctx, "SELECT current_database(), COALESCE(current_schema(), '')").Scan(&db, &schema); err != nil {
		return fmt.Errorf("opening store: %w", err)
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s", db, schema)
	s.channel = "plexus_changes_" + strconv.FormatUint(h.Sum64(), 36)
	s.lockKey = int64(h.Sum64())
	return nil
}

// LockChanges makes the nodes sharing a PostgreSQL store change the
// configuration one at a time: it waits (until ctx ends) for the store's
// change lock and returns the function that releases it. Holding it, a
// node reads the latest revision, prepares its change against it and
// commits without another node committing in between. On SQLite, where a
// server is alone, it does nothing.
func (s *Store) LockChanges(ctx context.Context) (unlock func(), err error) {
	if s.dialect != "postgres" {
		return func() {}, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("taking the change lock: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", s.lockKey); err != nil {
		conn.Close()
		return nil, fmt.Errorf("taking the change lock: %w", err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", s.lockKey); err != nil {
			// Closing a connection that may still hold the lock: discard
			// it, so that PostgreSQL releases the lock with the session.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, nil
}

// Listen announces the commits of every node sharing a PostgreSQL store:
// it opens a connection of its own (named appName in pg_stat_activity),
// listens to the store's channel, calls ready once listening, then calls
// fn with the revision of each commit, from one goroutine, until ctx ends
// or the connection fails; it returns why. Commits made before ready is
// called are not announced: read them with Changes. On SQLite it returns
// an error at once.
func (s *Store) Listen(ctx context.Context, appName string, ready func(), fn func(rev int64)) error {
	if s.dialect != "postgres" {
		return fmt.Errorf("listening for changes: the %s store has no change notifications", s.dialect)
	}
	cfg, err := pgx.ParseConfig(s.dsn)
	if err != nil {
		return fmt.Errorf("listening for changes: %w", err)
	}
	cfg.RuntimeParams["application_name"] = appName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("listening for changes: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		return fmt.Errorf("listening for changes: %w", err)
	}
	ready()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("listening for changes: %w", err)
		}
		rev, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil {
			continue // not a revision: nothing Plexus sent
		}
		fn(rev)
	}
}
