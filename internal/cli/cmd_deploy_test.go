package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Two files of one base name from different directories are different
// sources: the second is refused, naming both services and both files,
// unless forced.
func TestDeployIdentity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "env")
	startCLI(t, nil, "quickstart", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	src := t.TempDir()
	for _, f := range []struct{ rel, name string }{{"one/orders.star", "crm.orders"}, {"two/orders.star", "billing.orders"}} {
		os.MkdirAll(filepath.Join(src, filepath.Dir(f.rel)), 0o755)
		os.WriteFile(filepath.Join(src, f.rel), []byte("name = '"+f.name+"'\ndef handle(self):\n    self.response.payload = '"+f.name+"'\n"), 0o644)
	}
	one, two := filepath.Join(src, "one", "orders.star"), filepath.Join(src, "two", "orders.star")
	if stdout, stderr, code := runCLI(t, nil, "deploy", one, "--env", dir); code != 0 || !strings.Contains(stdout, "deployed orders.star → crm.orders") {
		t.Fatalf("first deploy: %d %q %q", code, stdout, stderr)
	}
	_, stderr, code := runCLI(t, nil, "deploy", two, "--env", dir)
	want := `orders.star: is deployed from ` + one + ` (service "crm.orders"); deploying it from ` + two + ` (service "billing.orders") would undeploy service "crm.orders"`
	if code != 1 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "--force") {
		t.Fatalf("second deploy: %d %q, want %q", code, stderr, want)
	}
	if out, _, code := runCLI(t, nil, "invoke", "crm.orders", dir); code != 0 || strings.TrimSpace(out) != "crm.orders" {
		t.Fatalf("the refused deploy changed crm.orders: %d %q", code, out)
	}
	stdout, stderr, code := runCLI(t, nil, "deploy", two, "--env", dir, "--force")
	if code != 0 || !strings.Contains(stdout, "deployed orders.star → billing.orders") || !strings.Contains(stderr, "warning: orders.star: replaces the file deployed from "+one) {
		t.Fatalf("forced deploy: %d %q %q", code, stdout, stderr)
	}
}

// With the environment's server down, --check checks locally.
func TestDeployCheckServerDown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "env")
	r := startCLI(t, nil, "quickstart", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	r.stop(t)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "orders.star"), []byte("name = 'crm.orders'\ndef handle(self): pass\n"), 0o644)
	stdout, stderr, code := runCLI(t, nil, "deploy", src, "--env", dir, "--check")
	if code != 0 || !strings.Contains(stdout, "ok orders.star → crm.orders") || !strings.Contains(stderr, "checked locally") {
		t.Fatalf("check with the server down: %d %q %q", code, stdout, stderr)
	}
	// The same checks as the server's: a broken file, and two files
	// defining one service.
	os.WriteFile(filepath.Join(src, "broken.star"), []byte("def handle(self)\n"), 0o644)
	os.WriteFile(filepath.Join(src, "orders2.star"), []byte("name = 'crm.orders'\ndef handle(self): pass\n"), 0o644)
	_, stderr, code = runCLI(t, nil, "deploy", src, "--env", dir, "--check")
	if code != 1 || !strings.Contains(stderr, "broken.star:2:1: got newline, want ':'") || !strings.Contains(stderr, `orders2.star: service "crm.orders" is also defined in orders.star`) {
		t.Fatalf("local check of broken files: %d %q", code, stderr)
	}
}
