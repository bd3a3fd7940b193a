package pubsub

import (
	"context"
	"database/sql"
	"embed"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plexushq/plexus/internal/bus"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/store"
)

//go:embed migrations
var migrations embed.FS

func init() {
	store.RegisterMigrations(store.Migrations{Owner: "pubsub", FS: migrations, Dir: "migrations"})
}

// Timing of delivery.
const (
	// pollEvery is how often an idle worker looks for messages it was not
	// woken for (published on a server whose wake-up it missed) and a
	// server on standby checks whether it should take a subscription over.
	pollEvery = time.Second
	// leaseFor is how long a server holds a subscription's delivery
	// without renewing it: a server that dies mid-delivery leaves it to
	// another after this long.
	leaseFor = 30 * time.Second
	// sweepEvery is how often expired messages are removed.
	sweepEvery = time.Minute
	// busKind is the kind of the cluster bus's messages that wake the
	// workers of other servers.
	busKind = "pubsub"
)

// Options are what an Engine works with.
type Options struct {
	Store *store.Store
	// State returns the configuration current at the call.
	State func() registry.State
	// Pipeline runs the services push subscriptions invoke; set it with
	// Attach when it is made later.
	Pipeline *dispatch.Pipeline
	// Bus, with a PostgreSQL store, wakes the workers of the other
	// servers on a publish; nil with SQLite.
	Bus    *bus.Bus
	Logger *slog.Logger
	// Now returns the time; tests move it. Nil is time.Now.
	Now func() time.Time
}

// Engine keeps and delivers the messages of the server's topics. It is
// one of the server's subsystems (registry.Subsystem[*pubsub.Engine])
// and is safe for concurrent use.
type Engine struct {
	opts     Options
	db       *sql.DB
	rebind   func(string) string
	postgres bool
	log      *slog.Logger
	now      atomic.Pointer[func() time.Time]
	pipeline atomic.Pointer[dispatch.Pipeline]
	stats    atomic.Pointer[stats]
	poll     time.Duration

	commits committer
	stmts   sync.Map // statement text → *sql.Stmt, see stmt

	mu      sync.Mutex
	wake    map[string]map[chan struct{}]bool // per subscription, its workers' wake-ups
	depth   map[string]*depthEstimate
	hidden  map[string]bool // services whose hidden subscription has a worker
	ctx     context.Context
	cancel  context.CancelFunc
	workers sync.WaitGroup

	extMu     sync.Mutex
	ext       map[string]Backend // the backends topics use, by name
	extClosed bool               // closed: no backend opens any more
	pulled    inFlight           // messages pulled from backends, until acknowledged
}

// New returns an Engine; Start starts its delivery.
func New(opts Options) *Engine {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Engine{opts: opts, log: opts.Logger, poll: pollEvery, wake: map[string]map[chan struct{}]bool{},
		depth: map[string]*depthEstimate{}, hidden: map[string]bool{}}
	if opts.Store != nil {
		e.db, e.rebind, e.postgres = opts.Store.DB(), opts.Store.Rebind, opts.Store.Dialect() == "postgres"
	}
	e.SetNow(opts.Now)
	if opts.Pipeline != nil {
		e.pipeline.Store(opts.Pipeline)
	}
	return e
}

// SetNow replaces the engine's clock, for tests that move time.
func (e *Engine) SetNow(now func() time.Time) { e.now.Store(&now) }

func (e *Engine) clock() time.Time { return (*e.now.Load())() }

func (e *Engine) nowMS() int64 { return e.clock().UnixMilli() }

// Attach gives the engine the pipeline, made after it.
func (e *Engine) Attach(p *dispatch.Pipeline) { e.pipeline.Store(p) }

func (e *Engine) state() registry.State { return e.opts.State() }

// Start starts the sweep, the workers of the hidden subscriptions of
// services published to, and the bus's wake-ups; the push subscriptions'
// workers run as their objects' Run. They stop when ctx is done or at
// Close.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	e.ctx, e.cancel = context.WithCancel(ctx)
	e.mu.Unlock()
	if e.opts.Bus != nil {
		e.opts.Bus.Handle(busKind, func(data []byte, own bool) {
			if !own {
				e.wakeTopic(string(data))
			}
		})
	}
	rows, err := e.db.QueryContext(ctx, e.rebind("SELECT DISTINCT sub FROM pubsub_delivery WHERE sub LIKE ?"), serviceTopicPrefix+"%")
	if err != nil {
		return storeError(err)
	}
	var hidden []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return storeError(err)
		}
		hidden = append(hidden, s)
	}
	rows.Close()
	for _, s := range hidden {
		e.startHidden(s)
	}
	e.workers.Add(1)
	go e.sweepLoop(e.ctx)
	return nil
}

// Close stops delivery and waits for the workers to end; messages in
// flight return to their queues when their leases run out.
func (e *Engine) Close() error {
	e.mu.Lock()
	cancel := e.cancel
	e.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	e.workers.Wait()
	e.closeStmts()
	e.closeBackends()
	return nil
}

// running returns the engine's context, or nil before Start and after
// Close.
func (e *Engine) running() context.Context {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil || e.ctx.Err() != nil {
		return nil
	}
	return e.ctx
}

// listen registers a worker's wake-up for a subscription.
func (e *Engine) listen(sub string) (chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	e.mu.Lock()
	if e.wake[sub] == nil {
		e.wake[sub] = map[chan struct{}]bool{}
	}
	e.wake[sub][ch] = true
	e.mu.Unlock()
	return ch, func() {
		e.mu.Lock()
		delete(e.wake[sub], ch)
		if len(e.wake[sub]) == 0 {
			delete(e.wake, sub)
		}
		e.mu.Unlock()
	}
}

// wakeSub wakes the workers of a subscription on this server.
func (e *Engine) wakeSub(sub string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for ch := range e.wake[sub] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// wakeTopic wakes the workers of a topic's subscriptions on this server.
func (e *Engine) wakeTopic(topic string) {
	if len(topic) > len(serviceTopicPrefix) && topic[:len(serviceTopicPrefix)] == serviceTopicPrefix {
		e.startHidden(topic)
		e.wakeSub(topic)
		return
	}
	for _, c := range subsOfTopic(e.state(), topic) {
		e.wakeSub(c.Name)
	}
}

// token returns a new random token, such as a worker's lease holder id.
func token() string { return envdir.RandomToken(12) }
