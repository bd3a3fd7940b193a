package enmasse_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/plexushq/plexus/internal/enmasse"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/registry"
)

var update = flag.Bool("update", false, "rewrite the expected outputs of testdata/golden/*.txtar")

// Golden files (testdata/golden/*.txtar) hold an import's input and what
// it must give. Input sections:
//
//	store.yaml     imported first, to fill the store (optional)
//	*.yaml, *.yml  the files of the import; the first is the root
//	env            NAME=value lines, the variables that are set
//	options        words: dry-run, replace
//
// Output sections, rewritten by go test -update:
//
//	problems       every problem, as the CLI prints it
//	warnings       every warning
//	report         the summary line and the objects --replace deletes
//	objects.json   every object afterwards, by kind (when accepted)
//	export.yaml    the export afterwards (when accepted)
var outputs = []string{"problems", "warnings", "report", "objects.json", "export.yaml"}

func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/golden/*.txtar")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := runGolden(t, ar)
			if *update {
				var kept []txtar.File
				for _, f := range ar.Files {
					if !slices.Contains(outputs, f.Name) {
						kept = append(kept, f)
					}
				}
				for _, name := range outputs {
					if got[name] != "" {
						kept = append(kept, txtar.File{Name: name, Data: []byte(got[name])})
					}
				}
				ar.Files = kept
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := map[string]string{}
			for _, f := range ar.Files {
				want[f.Name] = string(f.Data)
			}
			for _, name := range outputs {
				if got[name] != want[name] {
					t.Errorf("%s differs (go test ./internal/enmasse -run Golden -update rewrites it)\n--- got:\n%s--- want:\n%s", name, got[name], want[name])
				}
			}
		})
	}
}

func runGolden(t *testing.T, ar *txtar.Archive) map[string]string {
	t.Helper()
	ctx := context.Background()
	rt := newRuntime(t)
	env := map[string]string{}
	var opts enmasse.Options
	b := &enmasse.Bundle{}
	for _, f := range ar.Files {
		switch {
		case f.Name == "env":
			for line := range strings.SplitSeq(strings.TrimSpace(string(f.Data)), "\n") {
				if k, v, ok := strings.Cut(line, "="); ok {
					env[k] = v
				}
			}
		case f.Name == "options":
			for _, w := range strings.Fields(string(f.Data)) {
				switch w {
				case "dry-run":
					opts.DryRun = true
				case "replace":
					opts.Replace = true
				default:
					t.Fatalf("unknown option %q", w)
				}
			}
		case f.Name == "store.yaml":
			sb := &enmasse.Bundle{Files: []enmasse.File{{Name: f.Name, Content: string(f.Data)}}}
			if _, err := enmasse.Import(ctx, rt, sb.Input(), enmasse.Options{}); err != nil {
				t.Fatalf("store.yaml: %v", err)
			}
		case strings.HasSuffix(f.Name, ".yaml") || strings.HasSuffix(f.Name, ".yml"):
			if f.Name != "export.yaml" {
				b.Files = append(b.Files, enmasse.File{Name: f.Name, Content: string(f.Data)})
			}
		}
	}
	opts.Lookup = func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	rep, err := enmasse.Import(ctx, rt, b.Input(), opts)
	if _, refused := err.(*enmasse.Refused); err != nil && !refused {
		t.Fatalf("import failed: %v", err)
	}
	out := map[string]string{}
	var problems, warnings strings.Builder
	for _, p := range rep.Problems {
		problems.WriteString(p.Error() + "\n")
	}
	if len(rep.MissingVariables) > 0 {
		problems.WriteString("variables not set: " + strings.Join(rep.MissingVariables, ", ") + "\n")
	}
	for _, w := range rep.Warnings {
		warnings.WriteString(w.Error() + "\n")
	}
	out["problems"], out["warnings"] = problems.String(), warnings.String()
	if rep.OK() {
		report := rep.Summary() + "\n"
		for _, d := range rep.Deleted {
			report += "deleted " + d.String() + "\n"
		}
		out["report"] = report
		out["objects.json"] = objectsJSON(t, rt.State())
		data, err := enmasse.Export(rt.State(), enmasse.ExportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out["export.yaml"] = string(data)
	}
	return out
}

// objectsJSON returns every object of a state, by kind, as indented JSON.
func objectsJSON(t *testing.T, st *live.State) string {
	t.Helper()
	all := map[string][]registry.Object{}
	for _, k := range registry.All() {
		if objs := st.Objects(k.ID); len(objs) > 0 {
			all[k.ID] = objs
		}
	}
	if len(all) == 0 {
		return ""
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(all); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
