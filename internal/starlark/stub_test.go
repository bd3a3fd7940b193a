package starlark_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The stub holds every attribute of self, each documented, and every
// predeclared name, and the user guide names each attribute of self.
func TestStubCoversEverything(t *testing.T) {
	comp := compiler()
	stub := comp.Stub()
	guide, err := os.ReadFile("../../docs/starlark.md")
	if err != nil {
		t.Fatal(err)
	}
	// What kinds add to self (self.out.amqp, self.wsx.channel, …) is
	// documented with the kind, on any page of the guide.
	pages, _ := filepath.Glob("../../docs/*.md")
	var all []byte
	for _, p := range pages {
		data, _ := os.ReadFile(p)
		all = append(all, data...)
	}
	paths := comp.SelfPaths()
	if len(paths) < 40 {
		t.Fatalf("only %d attributes of self: %v", len(paths), paths)
	}
	for _, p := range paths {
		if !strings.Contains(stub, strings.TrimPrefix(p[strings.LastIndex(p, ".")+1:], "self")) {
			t.Errorf("the stub lacks %s", p)
		}
		doc := comp.SelfDoc(p)
		if doc == "" {
			t.Errorf("%s has no documentation in the stub: add it to selfDocs", p)
		} else if !strings.Contains(stub, `"""`+doc) {
			t.Errorf("the stub lacks the documentation of %s", p)
		}
		last := p[strings.LastIndex(p, ".")+1:]
		if strings.Contains(string(all), p+"[") || strings.Contains(string(all), "`"+p) { // documented with its kind
			continue
		}
		if p != "self" && !strings.Contains(string(guide), "`"+p) && !strings.Contains(string(guide), "`."+last) && !strings.Contains(string(guide), ", ."+last) {
			t.Errorf("docs/starlark.md does not name %s", p)
		}
	}
	for _, name := range []string{"time", "re", "hashlib", "catch", "service", "SCHEDULER", "not_found", "Int", "model", "HTTPStatus", "uuid", "decimal", "xml"} {
		if !regexp.MustCompile(`(?m)^(def |class _)?` + name + `\b`).MatchString(stub) {
			t.Errorf("the stub lacks %s", name)
		}
	}
	for _, member := range []string{"def fs_safe_now", "def findall", "def sha256", "def uuid7", "ONE_TIME: str", "NOT_FOUND: int"} {
		if !strings.Contains(stub, member) {
			t.Errorf("the stub lacks %s", member)
		}
	}
	// Python reads it, when there is one.
	py, err := exec.LookPath("python3")
	if err != nil {
		return
	}
	f := filepath.Join(t.TempDir(), "stub.py")
	os.WriteFile(f, []byte(stub), 0o644)
	if out, err := exec.Command(py, "-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())", f).CombinedOutput(); err != nil {
		t.Errorf("the stub is not Python: %v\n%s", err, out)
	}
}
