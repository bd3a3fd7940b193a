package live

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plexushq/plexus/internal/registry"
)

// Back-off between the calls of a Runner's Run that return an error.
const (
	minRunBackoff = time.Second
	maxRunBackoff = 30 * time.Second
)

// runner supervises the Run of the running forms of a runtime: it starts
// them when their state is published, restarts them after errors and
// stops them when their object is replaced, deleted or the server stops.
//
// When the server stops, the objects services reach by name (kinds with
// Out resolvers: outgoing connections) stop last, once every other Run
// has returned, so a channel letting its messages in flight finish can
// still send through them.
type runner struct {
	log      func(msg string, args ...any)
	base     context.Context
	stop     context.CancelFunc
	lateBase context.Context
	stopLate context.CancelFunc

	mu   sync.Mutex
	runs map[any]*run // by running form
	wg   sync.WaitGroup
}

// run is the supervised Run of one running form.
type run struct {
	cancel context.CancelFunc
	done   chan struct{}
	late   bool // stopped after the others when the server stops
}

func newRunner(log func(msg string, args ...any)) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	late, stopLate := context.WithCancel(context.Background())
	return &runner{log: log, base: ctx, stop: cancel, lateBase: late, stopLate: stopLate, runs: map[any]*run{}}
}

// start runs r's Run in the background, after the Run of the running form
// it replaces has returned when after is not nil.
func (rn *runner) start(kind, name string, form any, st *registry.Status, after <-chan struct{}) {
	r, ok := form.(registry.Runner)
	if !ok {
		return
	}
	k, _ := registry.Lookup(kind)
	base := rn.base
	if k.Out != nil {
		base = rn.lateBase
	}
	ctx, cancel := context.WithCancel(base)
	x := &run{cancel: cancel, done: make(chan struct{}), late: k.Out != nil}
	rn.mu.Lock()
	rn.runs[form] = x
	rn.mu.Unlock()
	rn.wg.Add(1)
	go func() {
		defer rn.wg.Done()
		defer close(x.done)
		if after != nil {
			select {
			case <-after:
			case <-ctx.Done():
				st.Stopped()
				return
			}
		}
		rn.supervise(ctx, kind, name, r, st)
	}()
}

// supervise calls Run until ctx ends or Run returns nil.
func (rn *runner) supervise(ctx context.Context, kind, name string, r registry.Runner, st *registry.Status) {
	backoff := minRunBackoff
	for {
		st.Connecting()
		began := time.Now()
		err := runSafely(ctx, r, st)
		if ctx.Err() != nil || err == nil {
			st.Stopped()
			return
		}
		st.Degraded(err)
		if time.Since(began) > maxRunBackoff {
			backoff = minRunBackoff
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			st.Stopped()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, maxRunBackoff)
	}
}

// runSafely calls Run, turning a panic into an error so that one faulty
// running form cannot stop the server.
func runSafely(ctx context.Context, r registry.Runner, st *registry.Status) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = errors.New("the running object failed unexpectedly; see the log")
		}
	}()
	return r.Run(ctx, st)
}

// retire stops the Run of a running form, if it has one, and calls done
// once it has returned (at once when it has none). It returns the channel
// closed when the Run has returned, or nil.
func (rn *runner) retire(form any, done func()) <-chan struct{} {
	rn.mu.Lock()
	x, ok := rn.runs[form]
	delete(rn.runs, form)
	rn.mu.Unlock()
	if !ok {
		done()
		return nil
	}
	x.cancel()
	rn.wg.Add(1)
	go func() {
		defer rn.wg.Done()
		<-x.done
		done()
	}()
	return x.done
}

// close stops every Run and waits for them until ctx ends: first those
// of objects services do not reach by name, then the rest.
func (rn *runner) close(ctx context.Context) error {
	rn.stop()
	rn.mu.Lock()
	var early []chan struct{}
	for _, x := range rn.runs {
		if !x.late {
			early = append(early, x.done)
		}
	}
	rn.mu.Unlock()
	for _, done := range early {
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
	rn.stopLate()
	finished := make(chan struct{})
	go func() {
		rn.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		return errors.New("some running objects did not stop in time")
	}
}

// Status returns the status of an object whose running form runs in the
// background.
func (s *State) Status(kind, name string) (registry.StatusInfo, bool) {
	e, ok := s.objects[kind][name]
	if !ok || e.status == nil {
		return registry.StatusInfo{}, false
	}
	return e.status.Info(), true
}

// ObjectStatus is the status of one object, as a list of statuses holds
// it.
type ObjectStatus struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	registry.StatusInfo
}

// Statuses returns the status of every object whose running form runs in
// the background, sorted by kind and name.
func (s *State) Statuses() []ObjectStatus {
	var out []ObjectStatus
	for kind, objs := range s.objects {
		for name, e := range objs {
			if e.status != nil {
				out = append(out, ObjectStatus{Kind: kind, Name: name, StatusInfo: e.status.Info()})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// upCollector exports plexus_object_up from the current state at each
// scrape, so the series of removed objects disappear with them.
type upCollector struct {
	rt   *Runtime
	desc *prometheus.Desc
}

func newUpCollector(rt *Runtime) *upCollector {
	return &upCollector{rt: rt, desc: prometheus.NewDesc("plexus_object_up",
		"1 while an object that runs in the background (a connection, a consumer) is running, 0 while it is connecting, degraded or stopped.",
		[]string{"kind", "name"}, nil)}
}

func (c *upCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *upCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.rt.State().Statuses() {
		up := 0.0
		if s.State == registry.StateRunning {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, up, s.Kind, s.Name)
	}
}
