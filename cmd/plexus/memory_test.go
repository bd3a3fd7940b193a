package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/testenv"
)

// Limits the server runs under in TestHostileRequestsUnderMemoryCap: an
// address space of 4 GB (ulimit -v; Go reserves about 1.5 GB of it at
// start) and a soft heap limit. Four request bodies that cost 2 GB each
// to decode, as they once did, kill it.
const (
	addressSpaceKB = 4_000_000
	goMemLimit     = "1GiB"
	// peakRSS is the resident memory the server must stay under.
	peakRSS = 1536 << 20
)

const hostileServices = `
-- count.star --
def handle(self):
    self.response.payload = {"n": len(self.request.payload)}
-- repeat.star --
def handle(self):
    self.response.payload = "a" * 1000000000
-- rows.star --
def handle(self):
    rows = []
    for i in range(10000000):
        rows.append({"i": i})
`

const hostileChannels = `channel_rest:
  - name: ping
    service: plexus.ping
    url_path: /plexus/ping
  - name: count
    service: count
    url_path: /count
  - name: repeat
    service: repeat
    url_path: /repeat
  - name: rows
    service: rows
    url_path: /rows
  - name: go-echo
    service: plexus.helpers.echo
    url_path: /go-echo
`

// The server stays up, within its memory cap, and answers every hostile
// request with its documented envelope while many run at once: 10.5 MB
// bodies of empty objects to a Starlark service, bodies just under the
// value limit to Starlark and Go services, services that try to make
// gigabytes, and a file whose module-level value would take 900 MB.
func TestHostileRequestsUnderMemoryCap(t *testing.T) {
	if testing.Short() {
		t.Skip("builds plexus and runs it under a memory cap")
	}
	srv := startCapped(t)

	huge := "[" + strings.Repeat("{},", 3_495_000) + "{}]"     // 10.5 MB, just under limits.max_body_size: 3.5 million values
	underLimit := "[" + strings.Repeat("{},", 999_998) + "{}]" // 999,999 values
	type outcome struct{ status, body string }
	var mu sync.Mutex
	outcomes := map[string]map[string]int{}
	record := func(name string, r *http.Response, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		if outcomes[name] == nil {
			outcomes[name] = map[string]int{}
		}
		var env struct{ Result, Details string }
		json.Unmarshal(body, &env)
		key := strconv.Itoa(r.StatusCode)
		if env.Result == "Error" {
			key += " " + env.Details
			if r.StatusCode == 503 && r.Header.Get("Retry-After") != "1" {
				key += " without Retry-After"
			}
		}
		outcomes[name][key]++
	}
	var wg sync.WaitGroup
	hostile := func(name, method, path, body string, n int) {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, data, err := srv.call(method, path, body)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					return
				}
				record(name, r, data)
			}()
		}
	}
	hostile("10.5 MB of empty objects to Starlark", "POST", "/count", huge, 4)
	hostile("999,999 values to Starlark", "POST", "/count", underLimit, 4)
	hostile("999,999 values to Go", "POST", "/go-echo", underLimit, 4)
	hostile(`"a" * 1000000000`, "GET", "/repeat", "", 5)
	hostile("10 million appends", "GET", "/rows", "", 2)
	if err := os.WriteFile(filepath.Join(srv.dir, envdir.ServicesDir, "big.star"), []byte("X = \"a\" * 900000000\n\ndef handle(self):\n    pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	pings := 0
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-time.After(50 * time.Millisecond):
		}
		r, body, err := srv.call("GET", "/plexus/ping", "")
		if err != nil || r.StatusCode != 200 || !bytes.Contains(body, []byte(`"is_ok":true`)) {
			t.Fatalf("ping while hostile requests run: %v %v %s\n%s", err, r, body, srv.log())
		}
		pings++
	}

	want := map[string][]string{
		"10.5 MB of empty objects to Starlark": {"413 Request body has more than 1000000 JSON values"},
		"999,999 values to Starlark":           {"500 Internal server error"},
		"999,999 values to Go":                 {"200", "503 Server is busy decoding other requests; retry later"},
		`"a" * 1000000000`:                     {"500 Internal server error"},
		"10 million appends":                   {"500 Internal server error"},
	}
	for name, got := range outcomes {
		for key := range got {
			if !contains(want[name], key) {
				t.Errorf("%s: %v, want only %q", name, got, want[name])
			}
		}
	}
	srv.waitLog(t, "deploy refused", "big.star:1:9: starlark.max_memory (64MiB) exceeded")
	for _, line := range []string{"repeat", "rows", "count"} {
		srv.waitLog(t, "service failed", "service="+line, "starlark.max_memory (64MiB) exceeded")
	}
	if os.Getenv("PLEXUS_TEST_DUMP") != "" {
		t.Log(srv.log())
	}
	hwm := srv.peakRSS(t)
	t.Logf("%d pings answered; peak RSS %d MiB", pings, hwm>>20)
	if hwm > peakRSS {
		t.Errorf("peak RSS %d MiB, want under %d MiB", hwm>>20, peakRSS>>20)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// capped is a plexus server running as a process under a memory cap.
type capped struct {
	dir, api string
	cmd      *exec.Cmd
	out      testenv.Buffer
	client   *http.Client
}

// startCapped builds plexus, creates an environment with the hostile
// services and their channels, and starts it under the memory cap.
func startCapped(t *testing.T) *capped {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "plexus")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building plexus: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "env")
	if _, err := envdir.Create(dir); err != nil {
		t.Fatal(err)
	}
	for _, part := range strings.Split(hostileServices, "-- ")[1:] {
		name, src, _ := strings.Cut(part, " --\n")
		if err := os.WriteFile(filepath.Join(dir, envdir.ServicesDir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, envdir.EnmasseDir, "channels.yaml"), []byte(hostileChannels), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &capped{dir: dir, client: &http.Client{Timeout: 2 * time.Minute}}
	s.cmd = exec.Command("sh", "-c", `ulimit -v "$1" && exec "$2" start "$3" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0`,
		"sh", strconv.Itoa(addressSpaceKB), bin, dir)
	s.cmd.Env = append(os.Environ(), "GOMEMLIMIT="+goMemLimit)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		once := sync.Once{}
		for sc.Scan() {
			s.out.Write(append(sc.Bytes(), '\n'))
			if api, _, ok := testenv.StartedAddrs(sc.Text()); ok {
				once.Do(func() { s.api = api; close(started) })
			}
		}
	}()
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		s.cmd.Wait()
	})
	select {
	case <-started:
	case <-time.After(60 * time.Second):
		t.Fatalf("plexus did not start under the cap:\n%s", s.log())
	}
	return s
}

func (s *capped) call(method, path, body string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(context.Background(), method, "http://"+s.api+path, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	r, err := s.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (the server's log:\n%s)", err, s.tail())
	}
	defer r.Body.Close()
	data, err := io.ReadAll(r.Body)
	return r, data, err
}

func (s *capped) log() string { return s.out.String() }

func (s *capped) tail() string {
	l := s.log()
	return l[max(0, len(l)-4000):]
}

// waitLog waits for a line of the server's log holding every part.
func (s *capped) waitLog(t *testing.T, parts ...string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for line := range strings.SplitSeq(s.log(), "\n") {
			found := true
			for _, p := range parts {
				found = found && strings.Contains(line, p)
			}
			if found {
				return
			}
		}
	}
	t.Errorf("no log line holds %q:\n%s", parts, s.tail())
}

// peakRSS returns the server's peak resident memory (VmHWM).
func (s *capped) peakRSS(t *testing.T) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		t.Skipf("peak RSS is read from /proc: %v", err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")), 10, 64)
			return n << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
