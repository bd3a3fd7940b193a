// Package feed keeps the nodes that share one PostgreSQL store in step:
// every commit is announced with LISTEN/NOTIFY carrying its revision
// (store.Store.Commit sends it), and each node applies the revisions it
// has not seen (live.Runtime.Sync), in order and incrementally. A node
// whose notification connection drops reconnects and catches up from the
// store by revision; a periodic check makes a lost notification cost at
// most one interval. On SQLite a server is alone and Start does nothing:
// changes apply in-process as they always did.
package feed

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/store"
)

// Defaults of Options.
const (
	// DefaultCheck is how often a node compares its revision with the
	// store's, in case a notification was lost.
	DefaultCheck = 5 * time.Second
	// maxRetry bounds the wait between attempts to reconnect the
	// notification connection.
	maxRetry = 5 * time.Second
	minRetry = 100 * time.Millisecond
)

// Options configure a Feed.
type Options struct {
	Store   *store.Store
	Runtime *live.Runtime
	Logger  *slog.Logger
	// Name names the notification connection in pg_stat_activity
	// (application_name), such as "plexus feed <node id>".
	Name string
	// Check is how often the store's revision is checked in case a
	// notification was lost; default DefaultCheck.
	Check time.Duration
	// Self describes this node in the cluster's list of nodes.
	Self Self
	// Heartbeat is how often the node writes its heartbeat; default
	// DefaultHeartbeat.
	Heartbeat time.Duration
}

// Feed applies the changes other nodes commit to the store. It is safe
// for concurrent use.
type Feed struct {
	opts      Options
	kick      chan struct{}
	beatNow   chan struct{}
	started   time.Time
	version   string
	connected atomic.Bool
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// Start registers the node in the store's list of nodes, heart-beats, and
// follows the store's changes in the background (on PostgreSQL only: on
// SQLite a server is alone).
func Start(opts Options) *Feed {
	if opts.Check <= 0 {
		opts.Check = DefaultCheck
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Name == "" {
		opts.Name = "plexus feed " + opts.Self.ID
	}
	f := &Feed{opts: opts, kick: make(chan struct{}, 1), beatNow: make(chan struct{}, 1), started: time.Now(), version: version()}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	opts.Runtime.Watch(func(_, _ *live.State) {
		select {
		case f.beatNow <- struct{}{}:
		default:
		}
	})
	// The first heartbeat is written before Start returns, so a server
	// that has started is in the list of nodes.
	f.beatOnce(ctx)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.heartbeat(ctx)
	}()
	if opts.Store.Dialect() != "postgres" {
		return f
	}
	f.wg.Add(2)
	go func() {
		defer f.wg.Done()
		f.listen(ctx)
	}()
	go func() {
		defer f.wg.Done()
		f.apply(ctx)
	}()
	return f
}

// Connected reports whether the notification connection is listening.
func (f *Feed) Connected() bool { return f.connected.Load() }

// Close stops following the store's changes and removes the node from
// the list of nodes.
func (f *Feed) Close() {
	f.cancel()
	f.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.leave(ctx); err != nil {
		f.opts.Logger.Warn("cannot remove this node from the list of nodes", "error", err.Error())
	}
}

// listen keeps a notification connection open, reconnecting with
// back-off; each (re)connection is followed by a catch-up from the store.
func (f *Feed) listen(ctx context.Context) {
	wait := minRetry
	for ctx.Err() == nil {
		err := f.opts.Store.Listen(ctx, f.opts.Name, func() {
			f.connected.Store(true)
			wait = minRetry
			f.signal() // catch up on what was committed while not listening
		}, func(rev int64) {
			if rev > f.opts.Runtime.State().Rev {
				f.signal()
			}
		})
		f.connected.Store(false)
		if ctx.Err() != nil {
			return
		}
		f.opts.Logger.Warn("the change feed lost its database connection; reconnecting", "error", err.Error(), "retry_in", wait.String())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(wait*2, maxRetry)
	}
}

// signal asks the applier to sync; signals coalesce.
func (f *Feed) signal() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// apply syncs the runtime with the store when signalled and every Check.
func (f *Feed) apply(ctx context.Context) {
	t := time.NewTicker(f.opts.Check)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.kick:
		case <-t.C:
		}
		if _, err := f.opts.Runtime.Sync(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				f.opts.Logger.Warn("cannot read the store's changes; serving the configuration in place", "error", err.Error())
			}
			failing = true
			continue
		}
		failing = false
	}
}
