package live_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/store"
	"github.com/plexushq/plexus/sdk/service"
)

// names is a test language: a file holds the name of its one service, or
// "error" to fail to load.
type names struct{}

func (names) Compile(file string, src []byte) ([]*catalog.Service, []string, error) {
	name := strings.TrimSpace(string(src))
	if name == "error" {
		return nil, nil, &registry.Problem{File: file, Line: 1, Column: 1, Message: "does not load"}
	}
	svc, err := catalog.New(name, "", catalog.Starlark, file, func(*service.Context) error { return nil }, nil)
	return []*catalog.Service{svc}, nil, err
}

// codeRuntime returns a runtime of the test language, loaded from st (a
// new store when nil), and its store.
func codeRuntime(t *testing.T, st *store.Store) (*live.Runtime, *store.Store) {
	t.Helper()
	if st == nil {
		_, st, _ = newRuntime(t)
	}
	goSvc, _ := catalog.New("go.svc", "", catalog.Go, "main.Svc", func(*service.Context) error { return nil }, nil)
	rt, err := live.New(live.Options{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Settings: config.Default(),
		Builtins: []*catalog.Service{goSvc}, Compilers: map[string]live.Compiler{".n": names{}}})
	if err == nil {
		err = rt.Load(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
	return rt, st
}

// code makes a changeset from file, origin, content triples; a content of
// "-" removes the file.
func code(force bool, triples ...string) live.Changeset {
	cs := live.Changeset{Source: "test", Force: force}
	for i := 0; i < len(triples); i += 3 {
		cc := live.CodeChange{File: triples[i], Origin: triples[i+1]}
		if triples[i+2] != "-" {
			cc.Source = []byte(triples[i+2])
		}
		cs.Code = append(cs.Code, cc)
	}
	return cs
}

// provider returns the file each service comes from.
func providers(rt *live.Runtime) map[string]string {
	out := map[string]string{}
	set := rt.State().Services
	for _, n := range set.Names() {
		out[n] = set.Get(n).Source
	}
	return out
}

func mustApply(t *testing.T, rt *live.Runtime, cs live.Changeset) *live.Result {
	t.Helper()
	res, err := rt.Apply(context.Background(), cs)
	if err != nil {
		t.Fatalf("%+v: %v", cs.Code, err)
	}
	return res
}

// Files deployed together are checked together: trading names works and a
// clash names both files, whatever their order.
func TestCodeOrder(t *testing.T) {
	for _, order := range [][2]string{{"a.n", "b.n"}, {"b.n", "a.n"}} {
		t.Run(order[0]+" first", func(t *testing.T) {
			rt, _ := codeRuntime(t, nil)
			mustApply(t, rt, code(false, "a.n", "/src/a.n", "x", "b.n", "/src/b.n", "y"))
			content := map[string]string{"a.n": "y", "b.n": "x"}
			mustApply(t, rt, code(false, order[0], "/src/"+order[0], content[order[0]], order[1], "/src/"+order[1], content[order[1]]))
			if p := providers(rt); p["x"] != "b.n" || p["y"] != "a.n" {
				t.Fatalf("after trading names: %v", p)
			}
			// One file gives up a name that the other takes.
			content = map[string]string{"a.n": "x", "b.n": "w"}
			mustApply(t, rt, code(false, order[0], "/src/"+order[0], content[order[0]], order[1], "/src/"+order[1], content[order[1]]))
			if p := providers(rt); p["x"] != "a.n" || p["w"] != "b.n" || p["y"] != "" {
				t.Fatalf("after moving a name: %v", p)
			}
			_, err := rt.Apply(context.Background(), code(false, order[0], "/src/"+order[0], "z", order[1], "/src/"+order[1], "z"))
			r, ok := live.IsRefused(err)
			if !ok || len(r.Problems) != 2 {
				t.Fatalf("clash: %v", err)
			}
			msg := err.Error()
			for _, want := range []string{`a.n: service "z" is also defined in b.n`, `b.n: service "z" is also defined in a.n`} {
				if !strings.Contains(msg, want) {
					t.Errorf("clash lacks %q: %s", want, msg)
				}
			}
		})
	}
}

// A service is known by its name and a file by where it comes from: a
// deploy that would replace or undeploy another source's service is
// refused, naming both, unless forced.
func TestCodeIdentity(t *testing.T) {
	rt, st := codeRuntime(t, nil)
	ctx := context.Background()
	mustApply(t, rt, code(false, "orders.n", "/w/one/orders.n", "crm.orders"))
	before := rt.State()

	// Another file of the same name, from elsewhere, is refused.
	_, err := rt.Apply(ctx, code(false, "orders.n", "/w/two/orders.n", "billing.orders"))
	for _, want := range []string{`orders.n: is deployed from /w/one/orders.n (service "crm.orders")`, `deploying it from /w/two/orders.n (service "billing.orders") would undeploy service "crm.orders"`, "plexus deploy --force"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("refusal lacks %q: %v", want, err)
		}
	}
	// So is the same service from another origin: it would replace it.
	_, err = rt.Apply(ctx, code(false, "orders.n", live.OriginPickup, "crm.orders"))
	if err == nil || !strings.Contains(err.Error(), `deploying it from the pickup directory (service "crm.orders") would replace it`) {
		t.Errorf("same service, other origin: %v", err)
	}
	// And a removal from another origin.
	_, err = rt.Apply(ctx, code(false, "orders.n", live.OriginPickup, "-"))
	if err == nil || !strings.Contains(err.Error(), "not from the pickup directory; it stays deployed") {
		t.Errorf("removal from another origin: %v", err)
	}
	if rt.State() != before {
		t.Fatal("a refused deploy changed the state")
	}
	// The same source may rename its service.
	mustApply(t, rt, code(false, "orders.n", "/w/one/orders.n", "crm.orders2"))
	// Forced, the other file replaces it.
	mustApply(t, rt, code(true, "orders.n", "/w/two/orders.n", "billing.orders"))
	if p := providers(rt); p["billing.orders"] != "orders.n" || p["crm.orders2"] != "" || rt.State().Code()["orders.n"].Origin != "/w/two/orders.n" {
		t.Fatalf("forced: %v %+v", p, rt.State().Code()["orders.n"])
	}

	// A service provided by another file is not taken over...
	mustApply(t, rt, code(false, "c.n", "/w/c.n", "shared"))
	_, err = rt.Apply(ctx, code(false, "d.n", "/w/d.n", "shared"))
	if err == nil || !strings.Contains(err.Error(), `d.n: service "shared" is already deployed from c.n (/w/c.n)`) {
		t.Errorf("take-over: %v", err)
	}
	// ...unless forced: the file it came from is undeployed, in the store too.
	res := mustApply(t, rt, code(true, "d.n", "/w/d.n", "shared"))
	if svcs, ok := res.Services["c.n"]; !ok || svcs != nil || !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.HasPrefix(w, "c.n: undeployed") }) {
		t.Errorf("forced take-over result: %+v", res)
	}
	if _, ok := rt.State().Code()["c.n"]; ok || providers(rt)["shared"] != "d.n" {
		t.Errorf("c.n still deployed")
	}
	// A Go service's name is never taken.
	if _, err := rt.Apply(ctx, code(true, "e.n", "/w/e.n", "go.svc")); err == nil || !strings.Contains(err.Error(), `service name "go.svc" is already used by the Go service main.Svc`) {
		t.Errorf("Go service taken: %v", err)
	}

	// Origins survive a restart.
	rt2, _ := codeRuntime(t, st)
	if _, err := rt2.Apply(ctx, code(false, "orders.n", "/w/one/orders.n", "crm.orders")); err == nil || !strings.Contains(err.Error(), "is deployed from /w/two/orders.n") {
		t.Errorf("after a restart: %v", err)
	}
}

func TestPartialChange(t *testing.T) {
	rt, _ := codeRuntime(t, nil)
	mustApply(t, rt, code(false, "a.n", "", "x"))
	// A broken file is left out with its problem; the valid ones deploy.
	res := mustApply(t, rt, live.Changeset{Partial: true, Code: code(false, "good.n", "", "good", "bad.n", "", "error").Code})
	if fmt.Sprint(res.Services) != "map[good.n:[good]]" || len(res.LeftOut) != 1 || res.LeftOut[0].Name != "bad.n" ||
		res.LeftOut[0].Problems[0].Error() != "bad.n:1:1: does not load" || len(res.LeftOut[0].Because) != 0 {
		t.Fatalf("partial: %+v %+v", res, res.LeftOut)
	}
	// A file that needs a left-out one is held back because of it: b.n
	// takes x, which a.n gives up in a version that does not load.
	res = mustApply(t, rt, live.Changeset{Partial: true, Code: code(false, "a.n", "", "error", "b.n", "", "x").Code})
	if len(res.Services) != 0 || len(res.LeftOut) != 2 || res.LeftOut[1].Name != "b.n" || fmt.Sprint(res.LeftOut[1].Because) != "[a.n]" ||
		!strings.Contains(res.LeftOut[1].Problems[0].Error(), `service "x" is already deployed from a.n`) {
		t.Fatalf("held back: %+v", res.LeftOut)
	}
	if res.Rev != rt.State().Rev {
		t.Errorf("a change that left out everything made revision %d", res.Rev)
	}
	// The same when a.n is left out for clashing with another file.
	_, err := rt.Apply(context.Background(), code(false, "a.n", "", "z", "c.n", "", "z", "b.n", "", "x"))
	if r, ok := live.IsRefused(err); !ok || len(r.Problems) != 2 {
		t.Errorf("a clash and a file waiting for it: %v", err)
	}
	res = mustApply(t, rt, live.Changeset{Partial: true, Code: code(false, "a.n", "", "z", "c.n", "", "z", "b.n", "", "x").Code})
	if len(res.LeftOut) != 3 || res.LeftOut[2].Name != "b.n" || fmt.Sprint(res.LeftOut[2].Because) != "[a.n]" {
		t.Fatalf("held back by a clash: %+v", res.LeftOut)
	}
	// Both deploy once a.n is fixed.
	mustApply(t, rt, live.Changeset{Partial: true, Code: code(false, "a.n", "", "y", "b.n", "", "x").Code})
	if p := providers(rt); p["x"] != "b.n" || p["y"] != "a.n" {
		t.Fatalf("after the fix: %v", p)
	}
}
