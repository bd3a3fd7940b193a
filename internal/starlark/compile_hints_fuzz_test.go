package starlark

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/registry"
)

// FuzzDiagnostics checks that the diagnostics of any source — problems
// with their hints, documentation and self warnings — never panic and
// always point into the file.
func FuzzDiagnostics(f *testing.F) {
	for _, seed := range []string{
		"from zato.server.service import Service\nclass A(Service):\n    pass\n",
		"namespace = 'x'\n\"\"\"Doc.\"\"\"\ndef handle(self):\n    self.outgoing.plain_http['a'].conn\n",
		"def handle(self):\n    x = f'{self.cid}'\n",
		"def handle(self):\n    self.request.http.headers.get('x').y.z\n    self.out.rest['x'].conn.get(self.cid)\n",
		"def handle(self):\n    \"\"\"doc\"\"\"\n    assert self.cid is None\n",
		"@x\n",
	} {
		f.Add(seed)
	}
	comp := New(config.Starlark{MaxSteps: 1000, MaxMemory: 1 << 20}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.Fuzz(func(t *testing.T, src string) {
		_, _, err := sl.SourceProgramOptions(fileOptions, "f.star", src, predeclared.Has)
		if err != nil {
			var p *registry.Problem
			if !errors.As(positioned("f.star", []byte(src), err), &p) || !strings.HasPrefix(p.Pos, "f.star:") {
				t.Fatalf("problem %v", p)
			}
			return
		}
		file, err := fileOptions.Parse("f.star", src, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, ws := docstring(file)
		for _, w := range append(ws, comp.selfWarnings(file)...) {
			if !strings.HasPrefix(w, "f.star:") {
				t.Fatalf("warning %q", w)
			}
		}
	})
}
