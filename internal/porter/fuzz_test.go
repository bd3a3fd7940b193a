package porter

import (
	"os"
	"path/filepath"
	"testing"

	"go.starlark.net/syntax"
)

// FuzzPort ports any text: no panic, and every file written parses as
// Starlark (what the porter cannot convert still makes valid Starlark).
func FuzzPort(f *testing.F) {
	for _, dir := range []string{"testdata/seeds", "testdata/zato"} {
		paths, _ := filepath.Glob(filepath.Join(dir, "*.py"))
		for _, p := range paths {
			src, err := os.ReadFile(p)
			if err == nil {
				f.Add(string(src))
			}
		}
	}
	f.Add("class A(Service):\n    def handle(self):\n        try:\n            return f'{x!r:>{w}}'\n        except:\n            raise\n")
	f.Add("from zato.server.service import Service\nclass A(Service):\n    def handle(self):\n        for x in y:\n            try:\n                continue\n            finally:\n                break\n        else:\n            pass\n")
	f.Fuzz(func(t *testing.T, src string) {
		res, err := Port("fuzz.py", []byte(src))
		if err != nil {
			return
		}
		for _, file := range res.Files {
			opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
			if _, err := opts.Parse(file.Name, file.Source, 0); err != nil {
				t.Fatalf("the port of\n%s\ndoes not parse: %v\n%s", src, err, file.Source)
			}
		}
	})
}

// FuzzPortModule is FuzzPort writing modules of several services.
func FuzzPortModule(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*", "*.py"))
	for _, p := range paths {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(string(src))
		}
	}
	f.Add("class A(Service):\n    X = 1\n    def h(self): return self.X\n    def handle(self): pass\nclass B(Service):\n    X = 2\n    def h(self): return self.X\n    def handle_GET(self): self.h()\n")
	f.Fuzz(func(t *testing.T, src string) {
		res, err := PortWith("fuzz.py", []byte(src), Options{Module: true})
		if err != nil {
			return
		}
		for _, file := range res.Files {
			opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
			if _, err := opts.Parse(file.Name, file.Source, 0); err != nil {
				t.Fatalf("the port of\n%s\ndoes not parse: %v\n%s", src, err, file.Source)
			}
		}
	})
}
