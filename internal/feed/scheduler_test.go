package feed_test

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"sync/atomic"
	"testing"

	"github.com/plexushq/plexus/internal/scheduler"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/sdk/service"
)

// One node fires the jobs; when it dies another takes over, and no run is
// fired twice: every planned time appears once in the
// shared run history, which holds every call of the service.
func TestSchedulerLeaderTakeover(t *testing.T) {
	var calls atomic.Int64
	tick := service.Func("t.tick", "Counts its calls.", func(c *service.Context) error {
		calls.Add(1)
		return nil
	})
	db, n := cluster(t, 2, tick)
	n[0].Put("scheduler", "tick", map[string]any{"service": "t.tick", "job_type": "interval_based", "seconds": 1})
	eventually(t, "the job runs", func() bool { return calls.Load() >= 3 })
	var old, next *servertest.Server
	for i, s := range n {
		if s.Scheduler.Leading() {
			old, next = s, n[1-i]
		}
	}
	if old == nil || next.Scheduler.Leading() {
		t.Fatalf("leaders: %v %v", n[0].Scheduler.Leading(), n[1].Scheduler.Leading())
	}
	pg, err := sql.Open("pgx", db)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	ctx := context.Background()
	var dbName, schema string
	if err := pg.QueryRowContext(ctx, "SELECT current_database(), current_schema()").Scan(&dbName, &schema); err != nil {
		t.Fatal(err)
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%s", scheduler.LeaderElection, dbName, schema)
	var killed int
	if err := pg.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = $1`,
		int64(h.Sum64())).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminating the leader's connection: %d %v", killed, err)
	}
	// The lock went with the connection, as with a node that died; the
	// node itself stops too.
	old.Stop()
	eventually(t, "the other node leads", next.Scheduler.Leading)
	at := calls.Load()
	eventually(t, "the new leader fires the job", func() bool { return calls.Load() >= at+3 })
	next.Put("scheduler", "tick", map[string]any{"service": "t.tick", "job_type": "interval_based", "seconds": 1, "is_active": false})
	var runs, planned int64
	eventually(t, "every call is in the history", func() bool {
		pg.QueryRowContext(ctx, "SELECT count(*), count(DISTINCT planned_us) FROM scheduler_job_history WHERE job = 'tick' AND via = 'schedule'").Scan(&runs, &planned)
		return runs == calls.Load()
	})
	if runs != planned || runs >= scheduler.HistorySize {
		t.Fatalf("%d runs for %d planned times (history of %d)", runs, planned, scheduler.HistorySize)
	}
}
