package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/envdir"
)

// plexus init-vscode writes the stub and VS Code's settings, tasks and
// launch configuration; the tasks' problem matcher reads deploy's
// errors.
func TestInitVSCode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "services")
	stdout, stderr, code := runCLI(t, nil, "init-vscode", dir, "--server", "http://10.0.0.5:11224", "--debug", "127.0.0.1:4711")
	if code != 0 {
		t.Fatalf("%d %s %s", code, stdout, stderr)
	}
	stub, err := os.ReadFile(filepath.Join(dir, StubFile))
	if err != nil || !strings.Contains(string(stub), "class Self:") || !strings.Contains(string(stub), "def fs_safe_now") {
		t.Fatalf("stub: %v", err)
	}
	read := func(name string) map[string]any {
		t.Helper()
		var m map[string]any
		data, err := os.ReadFile(filepath.Join(dir, ".vscode", name))
		if err != nil || json.Unmarshal(data, &m) != nil {
			t.Fatalf("%s: %v %s", name, err, data)
		}
		return m
	}
	launch := read("launch.json")["configurations"].([]any)[0].(map[string]any)
	if launch["debugServer"] != 4711.0 || launch["request"] != "attach" || launch["password"] != "${env:PLEXUS_ADMIN_PASSWORD}" {
		t.Errorf("launch.json: %v", launch)
	}
	tasks := read("tasks.json")["tasks"].([]any)
	watch := tasks[0].(map[string]any)
	if got := strings.Join(toStrings(watch["args"]), " "); got != "deploy ${workspaceFolder} --server http://10.0.0.5:11224 --watch" {
		t.Errorf("deploy on save: %s", got)
	}
	if read("settings.json")["files.associations"].(map[string]any)["*.star"] != "python" {
		t.Errorf("settings.json")
	}
	re := regexp.MustCompile(watch["problemMatcher"].(map[string]any)["pattern"].(map[string]any)["regexp"].(string))
	for line, file := range map[string]string{
		"billing/get.star:2:1: got newline, want ':'":                   "billing/get.star",
		"warning: svc.star:3:16: self.kvdb does not exist in Plexus; …": "svc.star",
	} {
		if m := re.FindStringSubmatch(line); m == nil || m[1] != file {
			t.Errorf("the problem matcher reads %q as %v", line, m)
		}
	}
	// A second run keeps what the user may have changed, unless forced.
	os.WriteFile(filepath.Join(dir, ".vscode", "tasks.json"), []byte("{}"), 0o644)
	if stdout, _, _ := runCLI(t, nil, "init-vscode", dir); !strings.Contains(stdout, "kept") || len(read("tasks.json")) != 0 {
		t.Errorf("second run: %s", stdout)
	}
	if runCLI(t, nil, "init-vscode", dir, "--force"); len(read("tasks.json")) == 0 {
		t.Errorf("--force did not rewrite tasks.json")
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// plexus start --debug needs development mode.
func TestStartDebugNeedsDevelopment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "env")
	if _, err := envdir.Create(dir); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, map[string]string{PasswordEnv: "a-long-password"}, "start", dir, "--debug", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	if code != 1 || !strings.Contains(stderr, "the debugger runs in development mode only") {
		t.Errorf("%d %s", code, stderr)
	}
}
