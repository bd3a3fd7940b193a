package kvdb

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"sync/atomic"
	"time"

	"github.com/plexushq/plexus/internal/store"
)

//go:embed migrations
var migrations embed.FS

func init() {
	store.RegisterMigrations(store.Migrations{Owner: "kvdb", FS: migrations, Dir: "migrations"})
}

// sweepEvery is how often, at most, a write deletes the expired keys of
// the embedded store; reads never see them in between.
const sweepEvery = time.Minute

// Embedded is the key-value store kept in the environment's configuration
// database, in table kvdb: what self.kvdb.conn uses unless kvdb.redis
// names a Redis connection. Commands of one Do run in one transaction; on
// PostgreSQL, writers of a key wait for each other, so counters are exact
// across servers sharing the database. It is safe for concurrent use.
type Embedded struct {
	db        *sql.DB
	rebind    func(string) string
	postgres  bool
	lastSweep atomic.Int64
	// now returns the time, Unix milliseconds; tests move it.
	now func() int64
}

// NewEmbedded returns the embedded store in st's database, whose
// migrations made table kvdb.
func NewEmbedded(st *store.Store) *Embedded {
	e := &Embedded{db: st.DB(), rebind: st.Rebind, postgres: st.Dialect() == "postgres",
		now: func() int64 { return time.Now().UnixMilli() }}
	e.lastSweep.Store(e.now())
	return e
}

// Backend returns "embedded".
func (*Embedded) Backend() string { return "embedded" }

// Do runs commands in one transaction (none when all of them only read).
// A command's own error (wrong type, wrong arguments) is its Result's Err
// and does not undo the others, as in a Redis MULTI.
func (e *Embedded) Do(ctx context.Context, cmds ...[]string) ([]Result, error) {
	if len(cmds) > MaxPipeline {
		return nil, fmt.Errorf("a pipeline runs at most %d commands, not %d", MaxPipeline, len(cmds))
	}
	out := make([]Result, len(cmds))
	run := make([]command, len(cmds))
	write := false
	for i, args := range cmds {
		c, err := lookup(args)
		if err != nil {
			out[i].Err = err
			continue
		}
		run[i] = c
		write = write || c.write
	}
	ks := &sqlKeyspace{e: e, ctx: ctx, at: e.now(), q: e.db, seen: map[string]*entry{}}
	if write {
		tx, err := e.db.BeginTx(ctx, nil)
		if err != nil {
			return nil, unreachable("embedded key-value store", err)
		}
		defer tx.Rollback()
		ks.q, ks.tx = tx, true
		if e.postgres {
			// Like Redis's default (appendfsync everysec), a write is
			// acknowledged before it is flushed to disk: a crash of the
			// database loses at most its last fraction of a second, and
			// never corrupts it.
			if _, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit TO OFF"); err != nil {
				return nil, unreachable("embedded key-value store", err)
			}
		}
	}
	for i, c := range run {
		if c.run == nil {
			continue
		}
		v, err := c.run(ks, cmds[i][1:])
		if ks.failed != nil {
			return nil, unreachable("embedded key-value store", ks.failed)
		}
		out[i] = Result{Val: v, Err: err}
	}
	if write {
		if ks.at-e.lastSweep.Load() >= sweepEvery.Milliseconds() {
			e.lastSweep.Store(ks.at)
			if _, err := ks.q.ExecContext(ctx, e.rebind("DELETE FROM kvdb WHERE expires_at > 0 AND expires_at <= ?"), ks.at); err != nil {
				return nil, unreachable("embedded key-value store", err)
			}
		}
		if err := ks.q.(*sql.Tx).Commit(); err != nil {
			return nil, unreachable("embedded key-value store", err)
		}
	}
	return out, nil
}

// querier is a *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// sqlKeyspace is the keys one Do reads and writes. A database error stops
// the commands: it is kept in failed and returned by Do.
type sqlKeyspace struct {
	e      *Embedded
	ctx    context.Context
	at     int64
	q      querier
	tx     bool
	seen   map[string]*entry
	failed error
}

func (k *sqlKeyspace) now() int64 { return k.at }

func (k *sqlKeyspace) fail(err error) error {
	if k.failed == nil {
		k.failed = err
	}
	return err
}

// lock makes the writers of a key on PostgreSQL wait for each other until
// their transactions end (SQLite's write transactions already do).
func (k *sqlKeyspace) lock(key string) error {
	if !k.tx || !k.e.postgres {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte("kvdb:"))
	h.Write([]byte(key))
	_, err := k.q.ExecContext(k.ctx, "SELECT pg_advisory_xact_lock($1)", int64(h.Sum64()))
	return err
}

func (k *sqlKeyspace) load(key string) (*entry, error) {
	if len(key) > MaxKeySize {
		return nil, errKeyTooLong
	}
	if e, ok := k.seen[key]; ok {
		return e, nil
	}
	if err := k.lock(key); err != nil {
		return nil, k.fail(err)
	}
	var typ int
	var raw []byte
	var exp int64
	err := k.q.QueryRowContext(k.ctx, k.e.rebind("SELECT type, value, expires_at FROM kvdb WHERE key = ?"), []byte(key)).Scan(&typ, &raw, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		k.seen[key] = nil
		return nil, nil
	}
	if err != nil {
		return nil, k.fail(err)
	}
	if exp != 0 && exp <= k.at {
		k.seen[key] = nil
		return nil, nil
	}
	v, err := decode(byte(typ), raw)
	if err != nil {
		return nil, k.fail(fmt.Errorf("key %q: %w", truncate(key, 64), err))
	}
	e := &entry{v: v, exp: exp}
	k.seen[key] = e
	return e, nil
}

func (k *sqlKeyspace) save(key string, e *entry) error {
	if len(key) > MaxKeySize {
		return errKeyTooLong
	}
	if e == nil {
		if _, err := k.q.ExecContext(k.ctx, k.e.rebind("DELETE FROM kvdb WHERE key = ?"), []byte(key)); err != nil {
			return k.fail(err)
		}
		k.seen[key] = nil
		return nil
	}
	raw := e.v.encode()
	if len(raw)+len(key) > MaxValueSize {
		// The command fails alone; what it changed in memory is dropped.
		delete(k.seen, key)
		return errTooLarge
	}
	_, err := k.q.ExecContext(k.ctx, k.e.rebind(`INSERT INTO kvdb (key, type, value, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET type = excluded.type, value = excluded.value, expires_at = excluded.expires_at`),
		[]byte(key), int(e.v.typ), raw, e.exp)
	if err != nil {
		return k.fail(err)
	}
	k.seen[key] = e
	return nil
}

func (k *sqlKeyspace) scan(cursor, count int) ([]string, int, error) {
	rows, err := k.q.QueryContext(k.ctx, k.e.rebind("SELECT key FROM kvdb WHERE expires_at = 0 OR expires_at > ? ORDER BY key LIMIT ? OFFSET ?"),
		k.at, count, cursor)
	if err != nil {
		return nil, 0, k.fail(err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, 0, k.fail(err)
		}
		keys = append(keys, string(b))
	}
	if err := rows.Err(); err != nil {
		return nil, 0, k.fail(err)
	}
	next := cursor + len(keys)
	if len(keys) < count {
		next = 0
	}
	return keys, next, nil
}
