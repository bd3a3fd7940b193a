package cli

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/testenv"
)

type run struct {
	stdout, stderr *testenv.Buffer
	code           chan int
	cancel         context.CancelFunc
	api, admin     string
}

// startCLI runs a serving command in-process until the test stops it.
func startCLI(t *testing.T, env map[string]string, args ...string) *run {
	t.Helper()
	r := &run{stdout: &testenv.Buffer{}, stderr: &testenv.Buffer{}, code: make(chan int, 1)}
	ready := make(chan struct{})
	app := &App{Stdout: r.stdout, Stderr: r.stderr, Getenv: func(k string) string { return env[k] },
		Ready: func(api, admin string) { r.api, r.admin = api, admin; close(ready) }}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.code <- app.Main(ctx, args) }()
	select {
	case <-ready:
	case code := <-r.code:
		t.Fatalf("%v exited with %d: %s", args, code, r.stderr)
	case <-time.After(10 * time.Second):
		t.Fatalf("%v did not start: %s", args, r.stderr)
	}
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *run) stop(t *testing.T) {
	r.cancel()
	select {
	case code := <-r.code:
		if code != 0 {
			t.Errorf("exit code %d: %s", code, r.stderr)
		}
		r.code <- code
	case <-time.After(10 * time.Second):
		t.Error("server did not stop")
	}
}

func runCLI(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb testenv.Buffer
	app := &App{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	code = app.Main(context.Background(), args)
	return out.String(), errb.String(), code
}

var curlLine = regexp.MustCompile(`curl ([^ ]+/api/log-input-data) -d '([^']+)'`)

func TestQuickstart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "env")
	r := startCLI(t, nil, "quickstart", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	out := r.stdout.String()
	pw := regexp.MustCompile(`password ([A-Za-z0-9_-]{16}) `).FindStringSubmatch(out)
	if pw == nil {
		t.Fatalf("no password in banner:\n%s", out)
	}
	m := curlLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no curl line in banner:\n%s", out)
	}
	// The banner's curl line works and logs what the seed shows.
	resp, err := http.Post("http://"+m[1], "application/x-www-form-urlencoded", strings.NewReader(m[2]))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("curl line: %v %v", resp, err)
	}
	waitFor(t, r.stderr, "uid:123; username:my.user")
	// The admin curl line's credentials work.
	req, _ := http.NewRequest("GET", "http://"+r.admin+"/admin/api/v1/services", nil)
	req.SetBasicAuth("admin", pw[1])
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("admin login: %v %v", resp, err)
	}
	// invoke finds the running server from the environment directory.
	stdout, stderr, code := runCLI(t, nil, "invoke", "plexus.helpers.echo", dir, "--payload", `{"a":1}`)
	if code != 0 || strings.TrimSpace(stdout) != `{"a":1}` {
		t.Fatalf("invoke: %d %q %q", code, stdout, stderr)
	}
	_, stderr, code = runCLI(t, nil, "invoke", "demo.multi-verb", dir, "--verb", "DELETE")
	if code != 1 || !strings.Contains(stderr, "405") {
		t.Errorf("invoke with a refused verb: %d %q", code, stderr)
	}
	_, stderr, code = runCLI(t, nil, "invoke", "plexus.ping", dir, "--payload", "{nope")
	if code != 1 || !strings.Contains(stderr, "not valid JSON") || !strings.Contains(stderr, "--help") {
		t.Errorf("invoke with a bad payload: %d %q", code, stderr)
	}
	r.stop(t)

	// Running quickstart again starts the same environment, without a new
	// password.
	r2 := startCLI(t, nil, "quickstart", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	if strings.Contains(r2.stdout.String(), pw[1]) || !strings.Contains(r2.stdout.String(), "set earlier") {
		t.Errorf("second quickstart banner:\n%s", r2.stdout)
	}
	resp, err = http.Get("http://" + r2.api + "/api/multi-verb")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after restart: %v %v", resp, err)
	}
}

func TestPasswordFromEnvironment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "env")
	env := map[string]string{PasswordEnv: "from-the-environment"}
	r := startCLI(t, env, "quickstart", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	if strings.Contains(r.stdout.String(), "from-the-environment") {
		t.Errorf("banner prints the password from the environment")
	}
	req, _ := http.NewRequest("GET", "http://"+r.admin+"/admin/api/v1/kinds", nil)
	req.SetBasicAuth("admin", "from-the-environment")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("login with the environment's password: %v %v", resp, err)
	}
	// --server with the password also works.
	stdout, stderr, code := runCLI(t, env, "invoke", "plexus.ping", "--server", "http://"+r.admin)
	if code != 0 || !strings.Contains(stdout, `"is_ok":true`) {
		t.Fatalf("invoke --server: %d %s %s", code, stdout, stderr)
	}
	_, stderr, code = runCLI(t, nil, "invoke", "plexus.ping", "--server", "http://"+r.admin)
	if code != 1 || !strings.Contains(stderr, PasswordEnv) {
		t.Errorf("invoke --server without a password: %d %s", code, stderr)
	}
}

func TestPasswordReset(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "env")
	r := startCLI(t, nil, "quickstart", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	stdout, _, code := runCLI(t, nil, "admin", "password", "reset", dir)
	m := regexp.MustCompile(`New admin password: (\S+)`).FindStringSubmatch(stdout)
	if code != 0 || m == nil {
		t.Fatalf("reset: %d %q", code, stdout)
	}
	req, _ := http.NewRequest("GET", "http://"+r.admin+"/admin/api/v1/kinds", nil)
	req.SetBasicAuth("admin", m[1])
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("login with the reset password on the running server: %v %v", resp, err)
	}
	if _, stderr, code := runCLI(t, nil, "admin", "password", "reset", dir, "--password", "short"); code != 1 || !strings.Contains(stderr, "at least 8") {
		t.Errorf("short password: %d %s", code, stderr)
	}
}

func TestErrorsSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"start", dir}, "plexus quickstart " + dir},
		{[]string{"invoke", "plexus.ping", dir}, "plexus quickstart"},
		{[]string{"start", "a", "b"}, "--help"},
		{[]string{"start", "--nope"}, "--help"},
		{[]string{"frobnicate"}, "unknown command"},
	} {
		_, stderr, code := runCLI(t, nil, c.args...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: %d %q, want %q", c.args, code, stderr, c.want)
		}
	}
	// invoke against an environment whose server is not running.
	env := filepath.Join(t.TempDir(), "env")
	r := startCLI(t, nil, "quickstart", env, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	r.stop(t)
	_, stderr, code := runCLI(t, nil, "invoke", "plexus.ping", env)
	if code != 1 || !strings.Contains(stderr, "is it running?") {
		t.Errorf("invoke with the server stopped: %d %q", code, stderr)
	}
}

// Every command has --help with a description and, for commands that do
// something, examples.
func TestHelp(t *testing.T) {
	app := &App{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Short == "" {
			t.Errorf("%s has no short description", c.CommandPath())
		}
		if c.Runnable() && !c.HasSubCommands() && c.Example == "" && c.Name() != "help" && !strings.HasPrefix(c.CommandPath(), "plexus completion") {
			t.Errorf("%s has no examples", c.CommandPath())
		}
		stdout, _, code := runCLI(t, nil, append(strings.Fields(c.CommandPath())[1:], "--help")...)
		if code != 0 || !strings.Contains(stdout, "Usage:") {
			t.Errorf("%s --help: %d %q", c.CommandPath(), code, stdout)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(app.Root())
	stdout, _, _ := runCLI(t, nil, "version")
	if !strings.HasPrefix(stdout, "plexus ") {
		t.Errorf("version: %q", stdout)
	}
}

func waitFor(t *testing.T, b *testenv.Buffer, s string) {
	t.Helper()
	for range 500 {
		if strings.Contains(b.String(), s) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("output lacks %q:\n%s", s, b)
}

// The built binary stops gracefully on SIGTERM, and on SIGINT.
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "plexus")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/plexus").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		dir := filepath.Join(t.TempDir(), "env")
		cmd := exec.Command(bin, "quickstart", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
		var stderr testenv.Buffer
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go io.Copy(io.Discard, stdout)
		waitFor(t, &stderr, "server started")
		cmd.Process.Signal(sig)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%v: exit %v\n%s", sig, err, stderr.String())
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%v: did not stop", sig)
		}
		if !strings.Contains(stderr.String(), "server stopped") {
			t.Errorf("%v: no graceful stop:\n%s", sig, stderr.String())
		}
		if _, err := os.Stat(filepath.Join(dir, "data", "plexus.db")); err != nil {
			t.Errorf("store missing: %v", err)
		}
	}
}

func TestDeploy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "env")
	r := startCLI(t, nil, "quickstart", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "billing"), 0o755)
	write := func(rel, body string) {
		os.WriteFile(filepath.Join(src, rel), []byte(body), 0o644)
	}
	write("billing/get_invoice.star", "def handle(self):\n    self.response.payload = 'invoice v1'\n")
	write("hello.star", "def handel(self): pass\ndef handle(self):\n    self.response.payload = 'hello'\n")

	stdout, stderr, code := runCLI(t, nil, "deploy", src, "--env", dir, "--check")
	if code != 0 || !strings.Contains(stdout, "ok billing/get_invoice.star → billing.get-invoice") || !strings.Contains(stderr, "did you mean handle?") {
		t.Fatalf("check: %d %q %q", code, stdout, stderr)
	}
	if _, stderr, code := runCLI(t, nil, "invoke", "billing.get-invoice", dir); code != 1 || !strings.Contains(stderr, "404") {
		t.Fatalf("--check deployed: %d %s", code, stderr)
	}
	stdout, stderr, code = runCLI(t, nil, "deploy", src, "--env", dir)
	if code != 0 || !strings.Contains(stdout, "deployed hello.star → hello") {
		t.Fatalf("deploy: %d %q %q", code, stdout, stderr)
	}
	if out, _, code := runCLI(t, nil, "invoke", "billing.get-invoice", dir); code != 0 || strings.TrimSpace(out) != "invoice v1" {
		t.Fatalf("invoke deployed service: %d %q", code, out)
	}

	// A broken file: every problem with file:line:column, non-zero exit.
	write("broken.star", "def handle(self)\n")
	_, stderr, code = runCLI(t, nil, "deploy", filepath.Join(src, "broken.star"), "--env", dir)
	if code != 1 || !strings.Contains(stderr, "broken.star:2:1: got newline, want ':'") {
		t.Fatalf("broken deploy: %d %q", code, stderr)
	}
	_, stderr, code = runCLI(t, nil, "deploy", filepath.Join(src, "broken.star"), "--env", t.TempDir(), "--check")
	if code != 1 || !strings.Contains(stderr, "broken.star:2:1") || !strings.Contains(stderr, "checked locally") {
		t.Fatalf("local check: %d %q", code, stderr)
	}
	os.Remove(filepath.Join(src, "broken.star"))

	// --watch redeploys on save.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out testenv.Buffer
	app := &App{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() { done <- app.Main(ctx, []string{"deploy", src, "--env", dir, "--watch"}) }()
	waitFor(t, &out, "watching")
	write("billing/get_invoice.star", "def handle(self):\n    self.response.payload = 'invoice v2'\n")
	for i := 0; strings.Count(out.String(), "deployed billing/get_invoice.star") < 2; i++ {
		if i > 500 {
			t.Fatalf("no redeploy:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if out, _, _ := runCLI(t, nil, "invoke", "billing.get-invoice", dir); strings.TrimSpace(out) != "invoice v2" {
		t.Errorf("after watch: %q", out)
	}
	cancel()
	<-done
	r.stop(t)
}
