package scheduler

import (
	"sync"
	"sync/atomic"
	"time"
)

// poolIdle is how long an idle worker waits for more work before it exits.
const poolIdle = 10 * time.Second

// pool runs tasks on reused goroutines, in the order they were submitted.
// Tasks wait in a queue; a worker that takes one first makes sure another
// worker is coming for the rest, then runs its task. So a task that blocks
// never holds up the others and there is no limit on tasks going on at
// once, yet a burst of short tasks is served by about as many goroutines
// as there are CPUs rather than by one runnable goroutine per task, which
// would leave whoever submits them queuing behind their tasks. It is safe
// for concurrent use.
type pool[T any] struct {
	do func(T)

	queued atomic.Int64 // len(queue) - head, readable without mu

	mu        sync.Mutex
	queue     []T
	head      int  // queue[head:] waits
	searching bool // a worker was woken or started and has not taken a task yet

	wake chan struct{} // hands a wake-up to an idle worker
	quit chan struct{}
	once sync.Once
}

func newPool[T any](do func(T)) *pool[T] {
	return &pool[T]{do: do, wake: make(chan struct{}), quit: make(chan struct{})}
}

// submit queues tasks.
func (p *pool[T]) submit(tasks ...T) {
	p.mu.Lock()
	p.queue = append(p.queue, tasks...)
	p.queued.Add(int64(len(tasks)))
	kick := p.needWorkerLocked()
	p.mu.Unlock()
	if kick {
		p.kick()
	}
}

// waiting reports whether tasks wait for a worker.
func (p *pool[T]) waiting() bool { return p.queued.Load() > 0 }

// needWorkerLocked reports whether a worker must be woken for the queue,
// and if so counts it as searching.
func (p *pool[T]) needWorkerLocked() bool {
	if p.head == len(p.queue) || p.searching {
		return false
	}
	p.searching = true
	return true
}

// kick wakes an idle worker or starts one.
func (p *pool[T]) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
		go p.worker()
	}
}

// take returns the next task; searching says the caller is the worker
// that was woken for the queue.
func (p *pool[T]) take(searching bool) (task T, ok bool) {
	p.mu.Lock()
	if searching {
		p.searching = false
	}
	if p.head < len(p.queue) {
		var zero T
		task, ok = p.queue[p.head], true
		p.queue[p.head] = zero
		p.head++
		p.queued.Add(-1)
		if p.head == len(p.queue) {
			p.queue, p.head = p.queue[:0], 0
		}
	}
	kick := p.needWorkerLocked()
	p.mu.Unlock()
	if kick {
		p.kick()
	}
	return task, ok
}

func (p *pool[T]) worker() {
	t := time.NewTimer(poolIdle)
	defer t.Stop()
	searching := true
	for {
		task, ok := p.take(searching)
		if ok {
			p.do(task)
			searching = false
			continue
		}
		t.Reset(poolIdle)
		select {
		case <-p.wake:
			searching = true
		case <-t.C:
			return
		case <-p.quit:
			return
		}
	}
}

// close makes idle workers exit; queued and running tasks still run.
func (p *pool[T]) close() { p.once.Do(func() { close(p.quit) }) }
