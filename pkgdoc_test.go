package plexus

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every package has a doc comment saying what is inside: "Package name …",
// or "Command name …" for a program.
func TestPackageDocs(t *testing.T) {
	filepath.WalkDir(".", func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules" {
			return filepath.SkipDir
		}
		entries, _ := os.ReadDir(dir)
		var files []string
		for _, e := range entries {
			if n := e.Name(); strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
				files = append(files, filepath.Join(dir, n))
			}
		}
		if len(files) == 0 {
			return nil
		}
		fset := token.NewFileSet()
		documented, name := false, ""
		for _, f := range files {
			af, err := parser.ParseFile(fset, f, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			name = af.Name.Name
			want := "Package " + name + " "
			if name == "main" {
				want = "Command "
			}
			if af.Doc != nil && strings.HasPrefix(af.Doc.Text(), want) {
				documented = true
			}
		}
		if !documented {
			t.Errorf("package %s (%s) has no doc comment", name, dir)
		}
		return nil
	})
}
