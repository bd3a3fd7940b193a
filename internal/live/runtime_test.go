package live_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/secret"
	"github.com/plexushq/plexus/internal/store"
)

// thing is a test kind with a secret, a reference and a running form.
type thing struct {
	Name     string `json:"name" doc:"Name of the thing."`
	Password string `json:"password" secret:"true" doc:"A secret of the thing."`
	Peer     string `json:"peer" ref:"test_thing" doc:"Another thing this one needs."`
	FailOn   string `json:"fail_on" doc:"Makes Start fail, for tests."`
}

func (t *thing) Validate() []error {
	if strings.Contains(t.Name, " ") {
		return []error{registry.FieldProblem("name", "must not contain spaces")}
	}
	return nil
}

type running struct {
	name   string
	closed atomic.Bool
}

func (r *running) Close() error { r.closed.Store(true); return nil }

func init() {
	registry.Register(registry.Kind{
		ID: "test_thing", Title: "Test thing", Summary: "A kind for the runtime's tests.", Order: 1,
		New:      func() registry.Object { return &thing{} },
		Examples: []string{`{"name": "a"}`},
		Provision: func(env *registry.Env, obj registry.Object) (any, error) {
			t := obj.(*thing)
			if t.FailOn == "start" {
				return nil, errors.New("cannot start")
			}
			return &running{name: t.Name}, nil
		},
	})
}

func newRuntime(t *testing.T) (*live.Runtime, *store.Store, *secret.Box) {
	t.Helper()
	st, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, _ := secret.New(bytes.Repeat([]byte{7}, 32))
	rt, err := live.New(live.Options{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Settings: config.Default(), Secrets: box})
	if err != nil {
		t.Fatal(err)
	}
	return rt, st, box
}

func put(objs ...*thing) live.Changeset {
	cs := live.Changeset{Source: "test"}
	for _, o := range objs {
		cs.Objects = append(cs.Objects, live.Change{Kind: "test_thing", Name: o.Name, Object: o})
	}
	return cs
}

func TestApply(t *testing.T) {
	rt, st, _ := newRuntime(t)
	ctx := context.Background()
	var seen []int64
	rt.Watch(func(old, new *live.State) { seen = append(seen, new.Rev) })
	res, err := rt.Apply(ctx, put(&thing{Name: "a", Password: "hunter2"}, &thing{Name: "b", Peer: "a"}))
	if err != nil || res.Rev != 1 {
		t.Fatalf("apply: %v %v", res, err)
	}
	ra, _ := rt.State().Running("test_thing", "a")
	rb, _ := rt.State().Running("test_thing", "b")

	// Replacing b leaves a's running form alone and closes b's old one.
	if _, err := rt.Apply(ctx, put(&thing{Name: "b", Peer: "a", FailOn: "no"})); err != nil {
		t.Fatal(err)
	}
	ra2, _ := rt.State().Running("test_thing", "a")
	rb2, _ := rt.State().Running("test_thing", "b")
	if ra2 != ra || rb2 == rb || !rb.(*running).closed.Load() || ra.(*running).closed.Load() {
		t.Fatalf("reuse and close: a kept %v, b replaced %v, old b closed %v", ra2 == ra, rb2 != rb, rb.(*running).closed.Load())
	}
	// An identical object is no change at all.
	if _, err := rt.Apply(ctx, put(&thing{Name: "a", Password: "hunter2"})); err != nil {
		t.Fatal(err)
	}
	if ra3, _ := rt.State().Running("test_thing", "a"); ra3 != ra {
		t.Error("an unchanged object was restarted")
	}
	if len(seen) != 3 {
		t.Errorf("watchers saw revisions %v", seen)
	}
	snap, _ := st.Load(ctx)
	if snap.Rev != 3 || len(snap.Objects) != 2 {
		t.Fatalf("store: %+v", snap)
	}
}

// A refused change names every problem and changes nothing.
func TestRefused(t *testing.T) {
	rt, st, _ := newRuntime(t)
	ctx := context.Background()
	rt.Apply(ctx, put(&thing{Name: "a"}))
	before := rt.State()
	_, err := rt.Apply(ctx, put(&thing{Name: "bad name", Peer: "nope"}, &thing{Name: "c", Peer: "missing"}))
	r, ok := live.IsRefused(err)
	if !ok || len(r.Problems) != 3 {
		t.Fatalf("refused: %v", err)
	}
	if rt.State() != before {
		t.Error("a refused change published a new state")
	}
	msg := err.Error()
	for _, want := range []string{`"bad name": name: must not contain spaces`, `"bad name": peer: no Test thing named "nope" exists`, `"c": peer: no Test thing named "missing" exists`} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal lacks %q: %s", want, msg)
		}
	}
	// Deleting what others refer to is refused on the deleted object, with
	// every object that uses it; deleting those along with it is not.
	rt.Apply(ctx, put(&thing{Name: "b", Peer: "a"}, &thing{Name: "c", Peer: "a"}))
	before = rt.State()
	del := func(names ...string) live.Changeset {
		var cs live.Changeset
		for _, n := range names {
			cs.Objects = append(cs.Objects, live.Change{Kind: "test_thing", Name: n})
		}
		return cs
	}
	_, err = rt.Apply(ctx, del("a"))
	if r, ok := live.IsRefused(err); !ok || len(r.Problems) != 1 ||
		r.Problems[0].Error() != `test_thing "a": still used by test_thing "b", test_thing "c"; change or delete those first` {
		t.Fatalf("delete of a referenced object: %v", err)
	}
	if _, err := rt.Apply(ctx, del("a", "b")); err == nil || !strings.HasSuffix(err.Error(), `test_thing "a": still used by test_thing "c"; change or delete those first`) {
		t.Fatalf("delete of a referenced object and one user: %v", err)
	}
	if _, err := rt.Apply(ctx, live.Changeset{DryRun: true, Objects: del("a", "b", "c").Objects}); err != nil {
		t.Fatalf("delete of an object with all its users: %v", err)
	}
	// A failure to start is refused, and what was started is closed.
	if _, err := rt.Apply(ctx, put(&thing{Name: "d"}, &thing{Name: "e", FailOn: "start"})); err == nil || !strings.Contains(err.Error(), "starting: cannot start") {
		t.Fatalf("start failure: %v", err)
	}
	if rt.State() != before {
		t.Error("a refused change published a new state")
	}
	snap, _ := st.Load(ctx)
	if snap.Rev != 2 {
		t.Errorf("a refused change reached the store: rev %d", snap.Rev)
	}
	if _, err := rt.Apply(ctx, live.Changeset{DryRun: true, Objects: []live.Change{{Kind: "test_thing", Name: "f", Object: &thing{Name: "f"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := rt.State().Object("test_thing", "f"); ok {
		t.Error("a dry run changed the state")
	}
}

// Secrets are sealed in the store, open in memory, and survive a masked
// round trip through the admin API's placeholder.
func TestSecrets(t *testing.T) {
	rt, st, box := newRuntime(t)
	ctx := context.Background()
	rt.Apply(ctx, put(&thing{Name: "a", Password: "hunter2"}))
	snap, _ := st.Load(ctx)
	body := string(snap.Objects[0].Body)
	if strings.Contains(body, "hunter2") || !strings.Contains(body, secret.Prefix) {
		t.Fatalf("stored body: %s", body)
	}
	// Writing back the placeholder keeps the secret.
	rt.Apply(ctx, put(&thing{Name: "a", Password: registry.SecretPlaceholder, Peer: "a"}))
	obj, _ := rt.State().Object("test_thing", "a")
	if obj.(*thing).Password != "hunter2" {
		t.Fatalf("placeholder replaced the secret: %q", obj.(*thing).Password)
	}
	// A new runtime on the same store opens the secret.
	rt2, _ := live.New(live.Options{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Settings: config.Default(), Secrets: box})
	if err := rt2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	obj, _ = rt2.State().Object("test_thing", "a")
	if obj.(*thing).Password != "hunter2" {
		t.Fatalf("loaded secret %q", obj.(*thing).Password)
	}
	// With another key, the object is left out with a warning, not loaded
	// with garbage.
	other, _ := secret.New(bytes.Repeat([]byte{9}, 32))
	var logs bytes.Buffer
	rt3, _ := live.New(live.Options{Store: st, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Settings: config.Default(), Secrets: other})
	rt3.Load(ctx)
	if _, ok := rt3.State().Object("test_thing", "a"); ok || !strings.Contains(logs.String(), "another server key") {
		t.Errorf("wrong key: loaded=%v log=%s", ok, logs.String())
	}
}

func TestCloseReleasesRunningForms(t *testing.T) {
	rt, _, _ := newRuntime(t)
	rt.Apply(context.Background(), put(&thing{Name: "a"}))
	r, _ := rt.State().Running("test_thing", "a")
	rt.Close(context.Background())
	if !r.(*running).closed.Load() {
		t.Fatal("Close left a running form open")
	}
}
