package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The template quickstart writes documents every key and loads back to the
// defaults.
func TestTemplate(t *testing.T) {
	tpl := Template()
	for _, k := range Keys() {
		if k.Doc == "" {
			t.Errorf("%s has no doc", k.Path)
		}
		name := k.Path[strings.LastIndex(k.Path, ".")+1:]
		if !strings.Contains(tpl, name+":") {
			t.Errorf("template lacks %s", k.Path)
		}
	}
	path := filepath.Join(t.TempDir(), "plexus.yaml")
	os.WriteFile(path, []byte(tpl), 0o644)
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, Default()) {
		t.Errorf("template loads as\n%+v\nwant\n%+v", got, Default())
	}
}

func TestLoadErrors(t *testing.T) {
	for content, want := range map[string]string{
		"listn: x\n":                               "listn",
		"log:\n  format: xml\n":                    "log.format",
		"limits:\n  max_body_size: big\n":          "expected a size",
		"limits:\n  read_timeout: soon\n":          "expected a duration",
		"starlark:\n  max_steps: 0\n":              "max_steps",
		"starlark:\n  max_memory: 0\n":             "starlark.max_memory: must be positive",
		"starlark:\n  max_pattern_size: 0\n":       "starlark.max_pattern_size: must be positive",
		"limits:\n  json:\n    max_depth: 0\n":     "limits.json.max_depth",
		"limits:\n  json:\n    max_values: -1\n":   "limits.json.max_values",
		"limits:\n  json:\n    decode_budget: 0\n": "limits.json.decode_budget",
		"limits:\n  json:\n    max_dept: 5\n":      "max_dept",
	} {
		path := filepath.Join(t.TempDir(), "plexus.yaml")
		os.WriteFile(path, []byte(content), 0o644)
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", content, err, want)
		}
	}
}

func TestSizeAndDuration(t *testing.T) {
	for in, want := range map[string]Size{"10MiB": 10 << 20, "512KiB": 512 << 10, "1GB": 1e9, "100": 100, " 2 MiB ": 2 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
	if Size(10<<20).String() != "10MiB" || Size(1000).String() != "1000" {
		t.Errorf("Size.String: %s %s", Size(10<<20), Size(1000))
	}
	for in, want := range map[string]time.Duration{"30s": 30 * time.Second, "1.5": 1500 * time.Millisecond, "1m30s": 90 * time.Second} {
		if got, err := parseDuration(in); err != nil || got.D() != want {
			t.Errorf("parseDuration(%q) = %v, %v", in, got, err)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"10MiB", "1", "-1", "1e9", "KiB", "9999999999999999999GiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseSize(s); err == nil && v < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, v)
		}
	})
}

// A template for other values loads back to them and still says the
// defaults.
func TestTemplateFor(t *testing.T) {
	s := Default()
	s.Listen, s.AdminListen = "127.0.0.1:8080", "127.0.0.1:8081"
	tpl := TemplateFor(s)
	path := filepath.Join(t.TempDir(), "plexus.yaml")
	os.WriteFile(path, []byte(tpl), 0o644)
	got, err := Load(path)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("template loads as %+v, %v; want %+v", got, err, s)
	}
	if !strings.Contains(tpl, "# Default: :11223\nlisten: 127.0.0.1:8080\n") {
		t.Errorf("template:\n%s", tpl)
	}
}

// A plexus.yaml without keys, empty or all comments, gives the defaults.
func TestLoadEmpty(t *testing.T) {
	for _, content := range []string{"", "\n\n", "# listen: :8080\n  # admin_listen: x\n"} {
		path := filepath.Join(t.TempDir(), "plexus.yaml")
		os.WriteFile(path, []byte(content), 0o644)
		if got, err := Load(path); err != nil || !reflect.DeepEqual(got, Default()) {
			t.Errorf("%q: %+v, %v", content, got, err)
		}
	}
}
