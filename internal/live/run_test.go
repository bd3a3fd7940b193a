package live_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/metrics"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/secret"
	"github.com/plexushq/plexus/internal/store"
)

// journal records what the running forms of the lifecycle test kinds do,
// in order, and lets a test wait for an event.
type journal struct {
	mu     sync.Mutex
	events []string
	signal chan struct{}
}

var runLog = &journal{signal: make(chan struct{}, 1000)}

func (j *journal) add(format string, args ...any) {
	j.mu.Lock()
	j.events = append(j.events, fmt.Sprintf(format, args...))
	j.mu.Unlock()
	j.signal <- struct{}{}
}

func (j *journal) reset() {
	j.mu.Lock()
	j.events = nil
	j.mu.Unlock()
	for len(j.signal) > 0 {
		<-j.signal
	}
}

// wait waits until the journal holds an event, and returns the events.
func (j *journal) wait(t *testing.T, event string) []string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		j.mu.Lock()
		events := append([]string(nil), j.events...)
		j.mu.Unlock()
		for _, e := range events {
			if e == event {
				return events
			}
		}
		select {
		case <-j.signal:
		case <-timeout:
			t.Fatalf("no %q in %v", event, events)
		}
	}
}

func (j *journal) index(event string) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, e := range j.events {
		if e == event {
			return i
		}
	}
	return -1
}

// conn is a test kind whose running form runs in the background.
type conn struct {
	Name string `json:"name" doc:"Name of the connection."`
	// Version tells running forms of the same object apart.
	Version int `json:"version" doc:"Version of the connection."`
	// Fail makes Run fail this many times before it connects.
	Fail int `json:"fail" doc:"Failures before connecting."`
	// Label is changed in place, without a new running form.
	Label string `json:"label" doc:"A label changed in place."`
}

func (c *conn) Validate() []error { return nil }

type connRun struct {
	id    string
	fails int
	label string
	took  string
}

func (r *connRun) Run(ctx context.Context, st *registry.Status) error {
	if r.fails > 0 {
		r.fails--
		runLog.add("%s failed", r.id)
		return errors.New("connection refused")
	}
	st.Running()
	runLog.add("%s running", r.id)
	<-ctx.Done()
	runLog.add("%s stopped", r.id)
	return nil
}

func (r *connRun) Close() error { runLog.add("%s closed", r.id); return nil }

func (r *connRun) TakeOver(old any) { r.took = old.(*connRun).id }

func registerConnKind(id string, swap registry.SwapPolicy) {
	registry.Register(registry.Kind{
		ID: id, Title: "Test connection " + id, Summary: "A kind for the runtime's lifecycle tests.", Order: 1,
		New:      func() registry.Object { return &conn{} },
		Examples: []string{`{"name": "a"}`},
		Swap:     swap,
		Provision: func(env *registry.Env, obj registry.Object) (any, error) {
			c := obj.(*conn)
			return &connRun{id: fmt.Sprintf("%s/%s/v%d", id, c.Name, c.Version), fails: c.Fail, label: c.Label}, nil
		},
		Update: func(env *registry.Env, running any, old, obj registry.Object) func() {
			o, n := *old.(*conn), *obj.(*conn)
			if o.Label == n.Label {
				return nil
			}
			o.Label = n.Label
			if o != n {
				return nil // more than the label changed
			}
			return func() { running.(*connRun).label = n.Label; runLog.add("%s label %s", running.(*connRun).id, n.Label) }
		},
	})
}

func init() {
	registerConnKind("test_overlap", registry.Overlap)
	registerConnKind("test_exclusive", registry.StopThenStart)
	registerConnKind("test_handover", registry.Handover)
}

func newRunRuntime(t *testing.T) (*live.Runtime, *metrics.Metrics) {
	t.Helper()
	runLog.reset()
	st, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	box, _ := secret.New(bytes.Repeat([]byte{7}, 32))
	m := metrics.New()
	rt, err := live.New(live.Options{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Settings: config.Default(), Secrets: box, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rt.Close(context.Background())
		st.Close()
	})
	return rt, m
}

func putConn(kind string, c *conn) live.Changeset {
	return live.Changeset{Source: "test", Objects: []live.Change{{Kind: kind, Name: c.Name, Object: c}}}
}

func apply(t *testing.T, rt *live.Runtime, cs live.Changeset) {
	t.Helper()
	if _, err := rt.Apply(context.Background(), cs); err != nil {
		t.Fatal(err)
	}
}

// A running form's Run starts once its change is committed, never on a dry
// run, and its status shows in the state and the metrics.
func TestRunStartsAfterCommit(t *testing.T) {
	rt, m := newRunRuntime(t)
	dry := putConn("test_overlap", &conn{Name: "a"})
	dry.DryRun = true
	apply(t, rt, dry)
	apply(t, rt, putConn("test_overlap", &conn{Name: "b"}))
	runLog.wait(t, "test_overlap/b/v0 running")
	if i := runLog.index("test_overlap/a/v0 running"); i >= 0 {
		t.Fatal("a dry run started a running form")
	}
	s, ok := rt.State().Status("test_overlap", "b")
	if !ok || s.State != registry.StateRunning || s.Since.IsZero() {
		t.Fatalf("status: %+v %v", s, ok)
	}
	want := `
# HELP plexus_object_up 1 while an object that runs in the background (a connection, a consumer) is running, 0 while it is connecting, degraded or stopped.
# TYPE plexus_object_up gauge
plexus_object_up{kind="test_overlap",name="b"} 1
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "plexus_object_up"); err != nil {
		t.Fatal(err)
	}
	// Deleting the object stops its Run, closes it after, and removes its
	// series.
	apply(t, rt, live.Changeset{Objects: []live.Change{{Kind: "test_overlap", Name: "b"}}})
	events := runLog.wait(t, "test_overlap/b/v0 closed")
	if runLog.index("test_overlap/b/v0 stopped") > runLog.index("test_overlap/b/v0 closed") {
		t.Fatalf("closed before its Run returned: %v", events)
	}
	if n, _ := testutil.GatherAndCount(m.Registry, "plexus_object_up"); n != 0 {
		t.Fatalf("%d plexus_object_up series left after the delete", n)
	}
}

// A Run that fails makes its object degraded with the error, and is
// retried until it connects.
func TestRunDegradedThenRetried(t *testing.T) {
	rt, _ := newRunRuntime(t)
	apply(t, rt, putConn("test_overlap", &conn{Name: "a", Fail: 1}))
	runLog.wait(t, "test_overlap/a/v0 failed")
	var s registry.StatusInfo
	for range 100 {
		if s, _ = rt.State().Status("test_overlap", "a"); s.State == registry.StateDegraded {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s.State != registry.StateDegraded || s.Error != "connection refused" {
		t.Fatalf("after a failure: %+v", s)
	}
	runLog.wait(t, "test_overlap/a/v0 running")
	if s, _ := rt.State().Status("test_overlap", "a"); s.State != registry.StateRunning || s.Error != "" {
		t.Fatalf("after the retry: %+v", s)
	}
}

// Each swap policy orders the old form's stop and the new form's start as
// documented.
func TestSwapPolicies(t *testing.T) {
	for _, tc := range []struct {
		kind string
		// check gets the positions of the events of one swap.
		check func(oldStopped, newRunning int) bool
		want  string
	}{
		{"test_overlap", func(oldStopped, newRunning int) bool { return true }, "both run for a moment"},
		{"test_exclusive", func(oldStopped, newRunning int) bool { return oldStopped < newRunning }, "the old one stops first"},
		{"test_handover", func(oldStopped, newRunning int) bool { return true }, "the new one takes the old one over"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			rt, _ := newRunRuntime(t)
			apply(t, rt, putConn(tc.kind, &conn{Name: "a"}))
			runLog.wait(t, tc.kind+"/a/v0 running")
			apply(t, rt, putConn(tc.kind, &conn{Name: "a", Version: 1}))
			runLog.wait(t, tc.kind+"/a/v1 running")
			events := runLog.wait(t, tc.kind+"/a/v0 closed")
			stopped, running := runLog.index(tc.kind+"/a/v0 stopped"), runLog.index(tc.kind+"/a/v1 running")
			if stopped < 0 || !tc.check(stopped, running) {
				t.Fatalf("%s: %v", tc.want, events)
			}
			r, _ := rt.State().Running(tc.kind, "a")
			if took := r.(*connRun).took; (tc.kind == "test_handover") != (took == tc.kind+"/a/v0") {
				t.Fatalf("took over %q", took)
			}
		})
	}
}

// A change Update takes in place keeps the running form and its Run, and
// is applied only when committed.
func TestUpdateInPlace(t *testing.T) {
	rt, _ := newRunRuntime(t)
	apply(t, rt, putConn("test_overlap", &conn{Name: "a"}))
	runLog.wait(t, "test_overlap/a/v0 running")
	before, _ := rt.State().Running("test_overlap", "a")

	dry := putConn("test_overlap", &conn{Name: "a", Label: "dry"})
	dry.DryRun = true
	apply(t, rt, dry)
	apply(t, rt, putConn("test_overlap", &conn{Name: "a", Label: "blue"}))
	runLog.wait(t, "test_overlap/a/v0 label blue")
	after, _ := rt.State().Running("test_overlap", "a")
	if after != before || after.(*connRun).label != "blue" {
		t.Fatalf("updated in place: same form %v, label %q", after == before, after.(*connRun).label)
	}
	if runLog.index("test_overlap/a/v0 label dry") >= 0 || runLog.index("test_overlap/a/v0 stopped") >= 0 {
		t.Fatalf("a dry run updated the form, or the update restarted it: %v", runLog.events)
	}
	if obj, _ := rt.State().Object("test_overlap", "a"); obj.(*conn).Label != "blue" {
		t.Fatal("the state does not hold the updated object")
	}
}

// Close stops every Run, then closes the running forms.
func TestCloseStopsRuns(t *testing.T) {
	rt, _ := newRunRuntime(t)
	apply(t, rt, putConn("test_overlap", &conn{Name: "a"}))
	runLog.wait(t, "test_overlap/a/v0 running")
	if err := rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if runLog.index("test_overlap/a/v0 stopped") < 0 || runLog.index("test_overlap/a/v0 closed") < runLog.index("test_overlap/a/v0 stopped") {
		t.Fatalf("events: %v", runLog.events)
	}
}
