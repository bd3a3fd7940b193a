// Package doctest runs the commands the documentation shows.
package doctest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// command is one shell command from a ```sh block, with the output a
// "# {...}" comment after it promises.
type command struct {
	file, line string
	want       string
}

// notRun are commands that start servers, build or run for minutes, which
// the test itself (quickstart) or CI (go test, go install, the benchmark)
// runs.
var notRun = []string{"go run ./cmd/plexus quickstart", "go test", "go install", "plexus quickstart", "plexus start", "go run ./bench"}

func commands(t *testing.T, files []string) []command {
	var out []command
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in := false
		var cur, heredoc string
		for line := range strings.SplitSeq(string(data), "\n") {
			if heredoc != "" {
				cur += line + "\n"
				if strings.TrimSpace(line) == heredoc {
					out = append(out, command{file: f, line: strings.TrimSpace(cur)})
					cur, heredoc = "", ""
				}
				continue
			}
			switch {
			case strings.HasPrefix(line, "```sh"):
				in = true
				continue
			case strings.HasPrefix(line, "```"):
				in = false
				continue
			}
			if !in {
				continue
			}
			trimmed := strings.TrimSpace(line)
			if strings.HasPrefix(trimmed, "# {") && len(out) > 0 {
				out[len(out)-1].want = strings.TrimPrefix(trimmed, "# ")
				continue
			}
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			if m := heredocStart.FindStringSubmatch(line); m != nil {
				cur, heredoc = line+"\n", m[1]
				continue
			}
			if s, ok := strings.CutSuffix(line, "\\"); ok {
				cur += s
				continue
			}
			cur += line
			cmd := strings.TrimSpace(cur)
			cur = ""
			skip := false
			for _, p := range notRun {
				if strings.HasPrefix(cmd, p) {
					skip = true
				}
			}
			if !skip {
				out = append(out, command{file: f, line: cmd})
			}
		}
	}
	return out
}

// heredocStart matches a line that opens a here-document: cat > f <<'EOF'.
var heredocStart = regexp.MustCompile(`<<-?'?"?([A-Za-z_]+)'?"?\s*$`)

func portFree(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// TestDocumentedCommands starts quickstart on the default ports, as a user
// would, and runs every command of the README and docs/ against it.
func TestDocumentedCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds plexus and uses the default ports")
	}
	if !portFree("127.0.0.1:11223") || !portFree("127.0.0.1:11224") {
		t.Fatal("ports 11223 and 11224 must be free: the documentation's commands use them")
	}
	root, _ := filepath.Abs("../..")
	bin := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(bin, "plexus"), filepath.Join(root, "cmd", "plexus")).CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	work := t.TempDir()
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "PLEXUS_ADMIN_PASSWORD=doc-test-password")
	srv := exec.Command(filepath.Join(bin, "plexus"), "quickstart")
	srv.Dir, srv.Env = work, env
	stderr, _ := srv.StderrPipe()
	srv.Stdout = io.Discard
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Signal(os.Interrupt); srv.Wait() }()
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "server started") {
				close(started)
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("quickstart did not start")
	}

	files := []string{filepath.Join(root, "README.md")}
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	files = append(files, docs...)
	cmds := commands(t, files)
	if len(cmds) < 10 {
		t.Fatalf("found only %d commands", len(cmds))
	}
	for _, c := range cmds {
		cmd := exec.Command("bash", "-c", c.line)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.Output()
		if err != nil {
			t.Errorf("%s: %s: %v\n%s", filepath.Base(c.file), c.line, err, out)
			continue
		}
		if c.want != "" && !sameJSON(t, string(out), c.want) {
			t.Errorf("%s: %s:\n got %s\nwant %s", filepath.Base(c.file), c.line, out, c.want)
		}
	}
	t.Logf("ran %d documented commands", len(cmds))
}

// sameJSON compares two JSON objects, ignoring their "cid", which differs
// on every request.
func sameJSON(t *testing.T, got, want string) bool {
	var g, w map[string]any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("documented output is not JSON: %s", want)
	}
	delete(g, "cid")
	delete(w, "cid")
	return reflect.DeepEqual(g, w) || fmt.Sprint(g) == fmt.Sprint(w)
}
