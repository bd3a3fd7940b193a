// Package leader elects, among the servers sharing one store, the one that
// does a job only one of them may do: fire scheduler jobs, deliver pub/sub
// messages, run a cluster-wide sweep. On SQLite a server is alone and
// always leads; on PostgreSQL an advisory lock decides.
package leader

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Leader decides whether this node does the work of one election now.
// Every node follows the configuration, so a node that becomes leader can
// take the work over at once.
//
// SingleNode is the leader of a server alone; PostgresLeader holds a
// PostgreSQL advisory lock, so among the servers sharing one database
// exactly one leads each election.
type Leader interface {
	// Leading reports whether this node leads now. It is called often (for
	// every due scheduler run) and must be cheap.
	Leading() bool
	// Changes returns a channel that receives a value whenever Leading may
	// have changed, or nil if it never does.
	Changes() <-chan struct{}
	// Start begins taking part in the election; Close leaves it.
	Start(ctx context.Context) error
	Close() error
}

// SingleNode is the Leader of a server that is alone: it always leads.
type SingleNode struct{}

// Leading returns true.
func (SingleNode) Leading() bool { return true }

// Changes returns nil: leadership never changes.
func (SingleNode) Changes() <-chan struct{} { return nil }

// Start does nothing.
func (SingleNode) Start(context.Context) error { return nil }

// Close does nothing.
func (SingleNode) Close() error { return nil }

// attemptTimeout bounds one attempt to take or check the lock.
const attemptTimeout = 10 * time.Second

// For returns the leader of an election among the servers sharing a
// store: SingleNode on SQLite (dialect "sqlite"), a PostgresLeader of the
// election named name on PostgreSQL.
func For(dialect string, db *sql.DB, name string, log *slog.Logger) Leader {
	if dialect == "postgres" {
		return &PostgresLeader{DB: db, Name: name, Logger: log}
	}
	return SingleNode{}
}

// PostgresLeader leads while it holds a session-level PostgreSQL advisory
// lock on a dedicated connection. The lock's key is derived from the
// election's name, the database and the schema, so elections of different
// subsystems, and environments sharing a database server, do not compete.
// A node that does not lead retries every Retry; the leader checks its
// connection as often and steps down if it is lost (PostgreSQL then
// releases the lock for another node). A node that takes the lock over
// from another leads only one Retry later, once the node that lost it has
// checked its connection and stepped down: so two nodes never lead at
// once, and a leader's loss is taken over within 2 × Retry (plus the time
// PostgreSQL takes to notice the lost connection: at once for a process
// that died). A node that finds the lock free when it starts leads at
// once. It is safe for concurrent use.
type PostgresLeader struct {
	// DB is the store's database.
	DB *sql.DB
	// Name names the election, such as plexus.scheduler.
	Name string
	// Retry is how often the election is retried (default 3s).
	Retry time.Duration
	// Logger receives leadership changes.
	Logger *slog.Logger

	leading atomic.Bool
	changes chan struct{}
	key     int64

	mu   sync.Mutex
	conn *sql.Conn
	// leadAt is when a lock taken over from another node makes this one
	// lead.
	leadAt time.Time
	cancel context.CancelFunc
	done   chan struct{}
}

// Leading reports whether this node holds the lock.
func (l *PostgresLeader) Leading() bool { return l.leading.Load() }

// Changes returns the channel signalled when leadership is gained or lost.
func (l *PostgresLeader) Changes() <-chan struct{} { return l.changes }

// Start derives the lock key, makes one attempt to take the lock and
// keeps trying in the background.
func (l *PostgresLeader) Start(ctx context.Context) error {
	if l.Retry <= 0 {
		l.Retry = 3 * time.Second
	}
	if l.Logger == nil {
		l.Logger = slog.New(slog.DiscardHandler)
	}
	l.changes = make(chan struct{}, 1)
	var db, schema string
	if err := l.DB.QueryRowContext(ctx, "SELECT current_database(), current_schema()").Scan(&db, &schema); err != nil {
		return fmt.Errorf("electing the leader of %s: %w", l.Name, err)
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%s", l.Name, db, schema)
	l.key = int64(h.Sum64())
	l.attempt(ctx, true)
	bg, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan struct{})
	go l.run(bg)
	return nil
}

func (l *PostgresLeader) run(ctx context.Context) {
	defer close(l.done)
	for {
		wait := l.Retry
		l.mu.Lock()
		if l.conn != nil && !l.leading.Load() {
			wait = min(wait, max(time.Until(l.leadAt), 0))
		}
		l.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
			l.attempt(ctx, false)
		}
	}
}

// attempt takes the lock when not holding it, or checks the connection
// that holds it; first is the attempt of Start.
func (l *PostgresLeader) attempt(ctx context.Context, first bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	if l.conn != nil {
		err := l.conn.PingContext(ctx)
		if err == nil {
			if !l.leading.Load() && !time.Now().Before(l.leadAt) {
				l.set(true)
			}
			return
		}
		l.Logger.Warn("leader lost its database connection; stepping down", "election", l.Name, "error", err.Error())
		l.conn.Close()
		l.conn = nil
		l.set(false)
	}
	conn, err := l.DB.Conn(ctx)
	if err != nil {
		l.Logger.Warn("election: connecting", "election", l.Name, "error", err.Error())
		return
	}
	var got bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", l.key).Scan(&got); err != nil || !got {
		if err != nil {
			l.Logger.Warn("election: taking the lock", "election", l.Name, "error", err.Error())
		}
		conn.Close()
		return
	}
	l.conn = conn
	if first {
		l.set(true)
		return
	}
	// The node that held the lock may still think it leads until its
	// next check.
	l.leadAt = time.Now().Add(l.Retry)
	l.Logger.Info("this node took the leader lock; it leads once the previous leader has stepped down", "election", l.Name, "in", l.Retry.String())
}

func (l *PostgresLeader) set(leading bool) {
	if l.leading.Swap(leading) == leading {
		return
	}
	if leading {
		l.Logger.Info("this node now leads (it holds the leader lock)", "election", l.Name)
	}
	select {
	case l.changes <- struct{}{}:
	default:
	}
}

// Close stops the election and releases the lock.
func (l *PostgresLeader) Close() error {
	if l.cancel == nil {
		return nil
	}
	l.cancel()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := l.conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", l.key)
	if err != nil && l.conn.PingContext(ctx) != nil {
		err = nil // the connection is gone, and the lock with it
	}
	if cerr := l.conn.Close(); !errors.Is(cerr, sql.ErrConnDone) {
		err = errors.Join(err, cerr)
	}
	l.conn = nil
	l.leading.Store(false)
	if err != nil {
		return fmt.Errorf("releasing the leader lock of %s: %w", l.Name, err)
	}
	return nil
}
