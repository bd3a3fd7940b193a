package docgen

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/plexushq/plexus/internal/server" // registers every kind
)

var update = flag.Bool("update", false, "rewrite the reference pages")

// The committed reference pages match the declarations. Run
// go test ./internal/docgen -update after changing a kind or a setting.
func TestReferencePages(t *testing.T) {
	for file, content := range map[string]string{"kinds.md": Kinds(), "settings.md": Settings()} {
		path := filepath.Join("..", "..", "docs", "reference", file)
		if *update {
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Errorf("%s is out of date: run go test ./internal/docgen -update", path)
		}
	}
}
