package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const zatoModule = `# -*- coding: utf-8 -*-

from sh import ssh
from zato.server.service import Service

class Greet(Service):
    """ Greets the caller.
    """
    name = 'demo.greet'

    class SimpleIO:
        input_required = 'user',

    def handle(self):
        self.response.payload = {'greeting': f'Hello, {self.request.input.user}!'}

class Uptime(Service):
    def handle(self):
        try:
            self.response.payload = ssh('localhost', 'uptime')
        except Exception as e:
            self.response.payload = {'error': str(e)}
`

// plexus port writes a file per service under the module's directory,
// lists what needs review with file:line, refuses to overwrite without
// --force, and what it writes deploys and runs.
func TestPortCommand(t *testing.T) {
	work := t.TempDir()
	src := filepath.Join(work, "greetings.py")
	os.WriteFile(src, []byte(zatoModule), 0o644)
	out := filepath.Join(work, "ported")
	stdout, stderr, code := runCLI(t, nil, "port", src, "--output", out)
	if code != 0 {
		t.Fatalf("port: %d %s %s", code, stdout, stderr)
	}
	for _, want := range []string{
		"wrote " + filepath.Join(out, "greetings", "greet.star") + " → demo.greet (class Greet)",
		"wrote " + filepath.Join(out, "greetings", "uptime.star") + " → greetings.uptime (class Uptime)",
		src + ":3: ssh (from sh.ssh): Plexus has no sh",
		"1 note to review (above), then deploy with: plexus deploy " + out,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %q in:\n%s", want, stdout)
		}
	}
	greet, err := os.ReadFile(filepath.Join(out, "greetings", "greet.star"))
	if err != nil || !strings.Contains(string(greet), `'Hello, {}!'.format(self.request.input.user)`) {
		t.Fatalf("greet.star: %v\n%s", err, greet)
	}

	// Existing files are kept unless --force.
	_, stderr, code = runCLI(t, nil, "port", src, "--output", out)
	if code != 1 || !strings.Contains(stderr, "exist and were left as they are") || !strings.Contains(stderr, "--force") {
		t.Fatalf("second port: %d %q", code, stderr)
	}
	stdout, _, code = runCLI(t, nil, "port", src, "--output", out, "--force", "--json")
	var reports []portReport
	if err := json.Unmarshal([]byte(stdout), &reports); code != 0 || err != nil || len(reports) != 1 || len(reports[0].Written) != 2 || reports[0].Notes[0].Line != 3 {
		t.Fatalf("--json: %d %v %s", code, err, stdout)
	}

	// The files deploy and run.
	dir := filepath.Join(t.TempDir(), "env")
	startCLI(t, nil, "quickstart", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	if stdout, stderr, code := runCLI(t, nil, "deploy", out, "--env", dir); code != 0 || !strings.Contains(stdout, "demo.greet") {
		t.Fatalf("deploy: %d %s %s", code, stdout, stderr)
	}
	if stdout, stderr, code := runCLI(t, nil, "invoke", "demo.greet", dir, "--payload", `{"user": "Jane"}`); code != 0 || !strings.Contains(stdout, "Hello, Jane!") {
		t.Fatalf("invoke demo.greet: %d %s %s", code, stdout, stderr)
	}
	if stdout, stderr, code := runCLI(t, nil, "invoke", "greetings.uptime", dir); code != 0 || !strings.Contains(stdout, "ssh (from sh.ssh) is not available in Plexus") {
		t.Fatalf("invoke greetings.uptime: %d %s %s", code, stdout, stderr)
	}

	// A file that is not Python 3 says where.
	bad := filepath.Join(work, "bad.py")
	os.WriteFile(bad, []byte("print 'hello'\n"), 0o644)
	if _, stderr, code := runCLI(t, nil, "port", bad, "--output", out); code != 1 || !strings.Contains(stderr, bad+":1:") {
		t.Fatalf("bad file: %d %q", code, stderr)
	}
	if _, stderr, code := runCLI(t, nil, "port"); code != 1 || !strings.Contains(stderr, "name the Python files to port") || !strings.Contains(stderr, "--help") {
		t.Fatalf("no files: %d %q", code, stderr)
	}
}

// plexus port --module writes a module's services into one Starlark
// module, which deploys with both services.
func TestPortModuleCommand(t *testing.T) {
	work := t.TempDir()
	src := filepath.Join(work, "greetings.py")
	os.WriteFile(src, []byte(zatoModule), 0o644)
	out := filepath.Join(work, "ported")
	stdout, stderr, code := runCLI(t, nil, "port", src, "--output", out, "--module")
	if code != 0 || !strings.Contains(stdout, "wrote "+filepath.Join(out, "greetings.star")+" → demo.greet, greetings.uptime") {
		t.Fatalf("port --module: %d %s %s", code, stdout, stderr)
	}
	dir := filepath.Join(t.TempDir(), "env")
	startCLI(t, nil, "quickstart", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	if stdout, stderr, code := runCLI(t, nil, "deploy", out, "--env", dir); code != 0 || !strings.Contains(stdout, "demo.greet, greetings.uptime") {
		t.Fatalf("deploy: %d %s %s", code, stdout, stderr)
	}
	if stdout, stderr, code := runCLI(t, nil, "invoke", "demo.greet", dir, "--payload", `{"user": "Jane"}`); code != 0 || !strings.Contains(stdout, "Hello, Jane!") {
		t.Fatalf("invoke demo.greet: %d %s %s", code, stdout, stderr)
	}
}
