// Package deploy_test checks what deploy/Dockerfile builds, without a
// container engine: its build steps are run as written, and the binary
// and environment they make are started as the image's command starts
// them, as the image's non-root user when the test can switch to it.
package deploy_test

import (
	"bufio"
	"context"
	"debug/elf"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/testenv"
)

// runSteps returns the Dockerfile's RUN steps of its build stage, each
// with its continuation lines joined.
func runSteps(t *testing.T) []string {
	f, err := os.Open("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []string
	var cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur != "" {
			cur += " " + strings.TrimSuffix(line, "\\")
			if !strings.HasSuffix(line, "\\") {
				steps, cur = append(steps, cur), ""
			}
			continue
		}
		if strings.HasPrefix(line, "FROM ") && len(steps) > 0 {
			break // the runtime stage
		}
		if step, ok := strings.CutPrefix(line, "RUN "); ok && step != "go mod download" {
			if strings.HasSuffix(step, "\\") {
				cur = strings.TrimSuffix(step, "\\")
			} else {
				steps = append(steps, step)
			}
		}
	}
	return steps
}

func TestImage(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("builds the binary as the image does; run without -short and -race")
	}
	out := t.TempDir()
	repo, _ := filepath.Abs("..")
	steps := runSteps(t)
	if len(steps) != 2 {
		t.Fatalf("the build stage's steps changed: %q", steps)
	}
	for _, step := range steps {
		cmd := exec.Command("sh", "-c", strings.ReplaceAll(step, "/out/", out+"/"))
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "VERSION=test-image")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", step, err, b)
		}
	}
	bin := filepath.Join(out, "plexus")
	// Static: no interpreter, so it runs on distroless/static.
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary needs a dynamic loader: the image has none")
		}
	}
	ef.Close()
	if b, err := exec.Command(bin, "version").CombinedOutput(); err != nil || !strings.Contains(string(b), "test-image") {
		t.Fatalf("version: %v %s", err, b)
	}

	// The image's command: start /plexus, as user 65532 where the test
	// may switch users, with the image's environment directory.
	env := filepath.Join(out, "env")
	cmd := exec.Command(bin, "start", env, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "PLEXUS_ADMIN_PASSWORD=image-test-password")
	if os.Geteuid() == 0 {
		for _, d := range []string{filepath.Dir(out), out} {
			os.Chmod(d, 0o755)
		}
		filepath.Walk(out, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, 65532, 65532) })
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
	}
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var api string
	deadline := time.After(30 * time.Second)
	for api == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the server stopped before it started")
			}
			api, _, _ = testenv.StartedAddrs(l)
		case <-deadline:
			t.Fatal("the server did not start within 30s")
		}
	}
	go func() {
		for range lines {
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+api+"/health", nil)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("/health: %d", r.StatusCode)
	}
}

// raceEnabled skips the image's build under the race detector, which the
// same test covers without it.
var raceEnabled bool
