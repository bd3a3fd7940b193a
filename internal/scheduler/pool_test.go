package scheduler

import (
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Tasks that block do not hold up the others: there is no limit on tasks
// going on at once.
func TestPoolBlockingTasks(t *testing.T) {
	release := make(chan struct{})
	var started sync.WaitGroup
	p := newPool(func(block bool) {
		started.Done()
		if block {
			<-release
		}
	})
	defer p.close()
	const n = 200
	started.Add(n)
	for range n {
		p.submit(true)
	}
	waitGroup(t, &started, "blocking tasks to start together")
	started.Add(1)
	p.submit(false)
	waitGroup(t, &started, "a task to start while the others block")
	close(release)
}

// A burst of short tasks is served by a few goroutines, not one per task,
// and every task runs.
func TestPoolBurst(t *testing.T) {
	const n = 2_000
	var ran atomic.Int64
	var peak atomic.Int64
	var done sync.WaitGroup
	before := goruntime.NumGoroutine()
	p := newPool(func(int) {
		for start := time.Now(); time.Since(start) < 50*time.Microsecond; {
		}
		if g := int64(goruntime.NumGoroutine()); g > peak.Load() {
			peak.Store(g) // racy maximum: good enough for a bound
		}
		ran.Add(1)
		done.Done()
	})
	defer p.close()
	done.Add(n)
	tasks := make([]int, n)
	for i := 0; i < n; i += submitEvery {
		p.submit(tasks[i:min(i+submitEvery, n)]...)
	}
	waitGroup(t, &done, "the burst")
	if ran.Load() != n {
		t.Fatalf("%d tasks ran, want %d", ran.Load(), n)
	}
	if extra := peak.Load() - int64(before); extra > n/4 {
		t.Errorf("%d goroutines more than before the burst of %d tasks; want a few", extra, n)
	}
	t.Logf("%d goroutines more at the peak", peak.Load()-int64(before))
	if p.waiting() {
		t.Error("tasks still wait after all ran")
	}
}

// Tasks queued when the pool closes still run.
func TestPoolClose(t *testing.T) {
	var done sync.WaitGroup
	p := newPool(func(int) { done.Done() })
	p.close()
	done.Add(3)
	p.submit(1, 2, 3)
	waitGroup(t, &done, "tasks submitted after close")
}

func waitGroup(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	ch := make(chan struct{})
	go func() {
		wg.Wait()
		close(ch)
	}()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
