package enmasse_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/enmasse"
	"github.com/plexushq/plexus/sdk/service"
)

// Zato's own enmasse files (testdata/zato, see its README) import as a Zato
// user would import them: with the services they name deployed and the
// variables they use set, each is accepted, with a warning for each thing
// Plexus has no equivalent of yet and a problem for nothing. The warnings
// are kept in testdata/zato/*.out (go test -run Zato -update rewrites
// them). What is imported exports, imports and exports again to the same
// bytes.
func TestZatoFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/zato/*.yaml")
	if len(files) < 27 {
		t.Fatalf("%d Zato files, want every one the README lists", len(files))
	}
	ctx := context.Background()
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			rt := newRuntime(t, deployedFor(t, data)...)
			lookup := fixtureEnv(data)
			rep, err := enmasse.Import(ctx, rt, enmasse.FileInput(file), enmasse.Options{Lookup: lookup})
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			var got strings.Builder
			got.WriteString(rep.Summary() + "\n")
			for _, w := range rep.Warnings {
				got.WriteString("warning: " + w.Error() + "\n")
				if strings.Contains(w.Message, "did you mean") {
					t.Errorf("a warning suggests another name: %s", w.Error())
				}
			}
			out := strings.TrimSuffix(file, ".yaml") + ".out"
			if *update {
				if err := os.WriteFile(out, []byte(got.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			} else if want, _ := os.ReadFile(out); got.String() != string(want) {
				t.Errorf("%s differs (go test ./internal/enmasse -run Zato -update rewrites it)\n--- got:\n%s--- want:\n%s", out, got.String(), want)
			}

			first, err := enmasse.Export(rt.State(), enmasse.ExportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			again := newRuntime(t, deployedFor(t, data)...)
			b := &enmasse.Bundle{Files: []enmasse.File{{Name: "export.yaml", Content: string(first)}}}
			if _, err := enmasse.Import(ctx, again, b.Input(), enmasse.Options{Lookup: fixtureEnv(first)}); err != nil {
				t.Fatalf("the export is refused: %v\n%s", err, first)
			}
			second, _ := enmasse.Export(again.State(), enmasse.ExportOptions{})
			if string(second) != string(first) {
				t.Errorf("export → import → export differs:\n%s", diff(string(first), string(second)))
			}
			// Importing the file again changes nothing.
			rep, err = enmasse.Import(ctx, rt, enmasse.FileInput(file), enmasse.Options{Lookup: lookup})
			if err != nil || rep.Created+rep.Updated != 0 || rep.Rev != 0 {
				t.Errorf("re-import: %v %s", err, rep.Summary())
			}
		})
	}
}

// deployedFor returns a service for every name a file's objects give as a
// service (service, service_name, push_service_name, …), as a Zato user
// has them deployed.
func deployedFor(t *testing.T, data []byte) []*catalog.Service {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var names []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i].Value, n.Content[i+1]
				if (strings.HasSuffix(k, "service") || strings.HasSuffix(k, "service_name")) && v.Kind == yaml.ScalarNode && v.Value != "" && !slices.Contains(names, v.Value) {
					names = append(names, v.Value)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	var out []*catalog.Service
	for _, name := range names {
		svc, err := catalog.New(name, "", catalog.Go, "zato_test", func(*service.Context) error { return nil }, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, svc)
	}
	return out
}
