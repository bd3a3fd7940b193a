package starlark

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/config"
)

type nopDebugger struct{ lines int }

func (d *nopDebugger) Line(*sl.Thread) { d.lines++ }
func (d *nopDebugger) Done(*sl.Thread) {}

// FuzzInstrument checks that compiling for the debugger never changes
// whether a file loads, nor what its services are.
func FuzzInstrument(f *testing.F) {
	for _, seed := range []string{
		"def handle(self):\n    if self.cid:\n        x = 1\n    elif 2:\n        pass\n    else:\n        for i in []:\n            continue\n    while False:\n        break\n",
		"def f(x):\n    return [y for y in x if y]\nA = service(handle = lambda self: f([1]))\ndef handle(self):\n    def g():\n        return 1\n    g()\n",
		"x = 1\nif x:\n    y = 2\ndef handle(self): pass\n",
	} {
		f.Add(seed)
	}
	limits := config.Starlark{MaxSteps: 10000, MaxMemory: 1 << 20}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	plain := New(limits, log)
	debugged := New(limits, log)
	debugged.Debug(&nopDebugger{})
	f.Fuzz(func(t *testing.T, src string) {
		want, _, werr := plain.Compile("f.star", []byte(src))
		got, _, gerr := debugged.Compile("f.star", []byte(src))
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("plain: %v, instrumented: %v", werr, gerr)
		}
		if werr != nil {
			if strings.Contains(werr.Error(), "exceeded") {
				return // the limits count the instrumented calls too
			}
			if werr.Error() != gerr.Error() {
				t.Fatalf("plain: %v, instrumented: %v", werr, gerr)
			}
			return
		}
		if len(want) != len(got) {
			t.Fatalf("%d services, instrumented %d", len(want), len(got))
		}
		for i := range want {
			if want[i].Name != got[i].Name || want[i].Doc != got[i].Doc {
				t.Fatalf("service %d: %s, instrumented %s", i, want[i].Name, got[i].Name)
			}
		}
	})
}
