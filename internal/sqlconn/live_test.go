package sqlconn_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/sqlconn"
)

// A backend PostgreSQL terminates in the middle of a statement fails
// that call with the database's reason; the calls after it succeed on new
// connections.
func TestTerminatedBackend(t *testing.T) {
	d := one(t, sqlconn.EnginePostgreSQL)
	s := start(t, nil, nil)
	name := "pg-" + d.table
	s.Put(sqlconn.Kind, name, d.object(map[string]any{"pool_size": 3}))
	s.WaitState(sqlconn.Kind, name, "running")
	app := "plexus outgoing_sql " + name

	for i := range 3 {
		code, _ := call(t, s, "/sql", map[string]any{"conn": name, "query": "SELECT :i + 0 AS i", "params": map[string]any{"i": i}})
		if code != 200 {
			t.Fatalf("warming up: %d", code)
		}
	}
	done := make(chan int)
	go func() {
		code, _ := call(t, s, "/sql", map[string]any{"conn": name, "query": "SELECT pg_sleep(30)"})
		done <- code
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		d.db.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query LIKE 'SELECT pg_sleep%'", app).Scan(&n)
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			rows, _ := d.db.Query("SELECT application_name, state, query FROM pg_stat_activity WHERE application_name LIKE 'plexus%'")
			var seen []string
			for rows != nil && rows.Next() {
				var a, st, q string
				rows.Scan(&a, &st, &q)
				seen = append(seen, a+"|"+st+"|"+q)
			}
			t.Fatalf("the statement never started: %q", seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Every connection of the pool goes: the busy one and the idle ones.
	d.exec(t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '"+app+"'")
	if code := <-done; code != 500 {
		t.Errorf("the terminated call: %d", code)
	}
	s.Log.WaitFor(t, "terminating connection due to administrator command")
	for i := range 5 {
		code, out := call(t, s, "/sql", map[string]any{"conn": name, "op": "scalar", "query": "SELECT :i + 0 AS i", "params": map[string]any{"i": i}})
		if code != 200 || fmt.Sprint(out) != fmt.Sprintf("map[result:[int %d]]", i) {
			t.Errorf("call %d after the termination: %d %v", i, code, out)
		}
	}
}

// Editing a connection while services use it fails no request: changes
// of the pool's size and timeouts apply in place, others swap the pool,
// and a statement in progress finishes on the old one. The metrics show
// the pool.
func TestLiveEdit(t *testing.T) {
	dbs := databases(t, t.TempDir())
	s := start(t, nil, nil)
	for _, d := range dbs {
		t.Run(d.engine, func(t *testing.T) {
			name := "live-" + d.engine
			s.Put(sqlconn.Kind, name, d.object(map[string]any{"pool_size": 4}))
			s.WaitState(sqlconn.Kind, name, "running")

			var ok, failed atomic.Int64
			var firstErr atomic.Value
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						code, out := call(t, s, "/sql", map[string]any{"conn": name, "op": "scalar", "query": "SELECT :n + 0 AS n", "params": map[string]any{"n": w*1000000 + i}})
						if code == 200 && fmt.Sprint(out) == fmt.Sprintf("map[result:[int %d]]", w*1000000+i) {
							ok.Add(1)
						} else {
							failed.Add(1)
							if m, _ := out.(map[string]any); m != nil {
								firstErr.CompareAndSwap(nil, fmt.Sprint(m["cid"]))
							}
						}
					}
				}()
			}
			// Waits until the load has made progress.
			progress := func() {
				t.Helper()
				want := ok.Load() + 30
				deadline := time.Now().Add(20 * time.Second)
				for ok.Load() < want && failed.Load() == 0 {
					if time.Now().After(deadline) {
						t.Fatalf("no progress: %d ok", ok.Load())
					}
					time.Sleep(time.Millisecond)
				}
			}
			sleep := map[string]string{sqlconn.EnginePostgreSQL: "SELECT pg_sleep(0.5) IS NULL AS slept", sqlconn.EngineMySQL: "SELECT SLEEP(0.5) AS slept"}[d.engine]
			for i, change := range []map[string]any{
				{"pool_size": 8},                           // in place
				{"pool_size": 8, "query_timeout": "20s"},   // in place
				{"pool_size": 2, "connect_timeout": "11s"}, // a new pool
				{"pool_size": 4, "connect_timeout": "12s", "max_rows": 100},
				{"pool_size": 8},
			} {
				progress()
				slow := make(chan int, 1)
				if sleep != "" {
					go func() {
						code, _ := call(t, s, "/sql", map[string]any{"conn": name, "query": sleep})
						slow <- code
					}()
					time.Sleep(100 * time.Millisecond) // let it start; a statement still waiting would run on the new pool, as well
				}
				s.Put(sqlconn.Kind, name, d.object(change))
				if sleep != "" {
					if code := <-slow; code != 200 {
						t.Errorf("change %d: the statement in progress: %d", i, code)
					}
				}
			}
			progress()
			close(stop)
			wg.Wait()
			if failed.Load() != 0 {
				cid, _ := firstErr.Load().(string)
				t.Errorf("%d of %d requests failed; the first: %s", failed.Load(), ok.Load()+failed.Load(), strings.Join(s.Log.Lines(cid), "\n"))
			}
			metrics := string(s.AdminCall("GET", "/metrics", "").Body)
			for _, want := range []string{
				`plexus_sql_pool_max_connections{name="` + name + `"} 8`,
				`plexus_sql_statements_total{name="` + name + `",outcome="ok"}`,
				`plexus_sql_pool_open_connections{name="` + name + `"}`,
				`plexus_object_up{kind="outgoing_sql",name="` + name + `"} 1`,
			} {
				if !strings.Contains(metrics, want) {
					t.Errorf("no %s in /metrics", want)
				}
			}
		})
	}
}
