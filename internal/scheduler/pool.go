package scheduler

import (
	"sync"
	"time"
)

// poolIdle is how long an idle worker waits for more work before it exits.
const poolIdle = 10 * time.Second

// pool runs functions on reused goroutines: a function goes to an idle
// worker if there is one, else to a new one, so there is no limit on runs
// going on at once, but a steady rate of runs reuses warm goroutines (with
// grown stacks) instead of making one per run. It is safe for concurrent
// use.
type pool struct {
	work chan func()
	once sync.Once
	quit chan struct{}
}

func newPool() *pool { return &pool{work: make(chan func()), quit: make(chan struct{})} }

// run runs fn on a worker.
func (p *pool) run(fn func()) {
	select {
	case p.work <- fn:
	default:
		go p.worker(fn)
	}
}

func (p *pool) worker(fn func()) {
	t := time.NewTimer(poolIdle)
	defer t.Stop()
	for {
		fn()
		t.Reset(poolIdle)
		select {
		case fn = <-p.work:
		case <-t.C:
			return
		case <-p.quit:
			return
		}
	}
}

// close makes idle workers exit; functions running finish.
func (p *pool) close() { p.once.Do(func() { close(p.quit) }) }
