package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Plexus is the plexus binary running as a process of its own, as
// plexus start runs it: for tests that kill it.
type Plexus struct {
	cmd *exec.Cmd
	// Log is what the process wrote to stdout and stderr.
	Log *Buffer
	// Admin is the host:port of its admin API.
	Admin string
}

// plexusPassword is the admin password of the processes tests start.
const plexusPassword = "process-test-password"

var build struct {
	once sync.Once
	bin  string
	err  error
}

// StartPlexus builds cmd/plexus (once per test binary), runs plexus
// start on the environment directory dir with free ports and waits until
// it has started. The test ends it.
func StartPlexus(t testing.TB, dir string) *Plexus {
	t.Helper()
	build.once.Do(func() {
		d, err := os.MkdirTemp("", "plexus-process-test")
		if err != nil {
			build.err = err
			return
		}
		build.bin = filepath.Join(d, "plexus")
		if out, err := exec.Command("go", "build", "-o", build.bin, "github.com/plexushq/plexus/cmd/plexus").CombinedOutput(); err != nil {
			build.err = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatalf("building plexus: %v", build.err)
	}
	p := &Plexus{cmd: exec.Command(build.bin, "start", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"), Log: &Buffer{}}
	p.cmd.Env = append(os.Environ(), "PLEXUS_ADMIN_PASSWORD="+plexusPassword)
	p.cmd.Stdout, p.cmd.Stderr = p.Log, p.Log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	for deadline := time.Now().Add(90 * time.Second); p.Admin == ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("plexus did not start:\n%s", p.Log)
		}
		for line := range strings.SplitSeq(p.Log.String(), "\n") {
			if _, admin, ok := StartedAddrs(line); ok {
				p.Admin = admin
			}
		}
	}
	return p
}

// Kill kills the process with SIGKILL and waits for it to end.
func (p *Plexus) Kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

// Signal sends sig to the process.
func (p *Plexus) Signal(sig os.Signal) { p.cmd.Process.Signal(sig) }

// Wait waits for the process to end, all its output in Log, and returns
// how it ended.
func (p *Plexus) Wait() error { return p.cmd.Wait() }

// WaitLog waits until a line of the log holds every one of parts.
func (p *Plexus) WaitLog(t testing.TB, parts ...string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for line := range strings.SplitSeq(p.Log.String(), "\n") {
			if containsAll(line, parts) {
				return
			}
		}
	}
	t.Fatalf("plexus never logged %q:\n%s", parts, p.Log)
}

func containsAll(s string, parts []string) bool {
	for _, part := range parts {
		if !strings.Contains(s, part) {
			return false
		}
	}
	return true
}

// Call makes an admin API call with body as JSON and returns the status
// and the response body.
func (p *Plexus) Call(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, "http://"+p.Admin+"/admin/api/v1"+path, bytes.NewReader(data))
	req.SetBasicAuth("admin", plexusPassword)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// WaitRunning waits until an object of the process reports running.
func (p *Plexus) WaitRunning(t testing.TB, kind, name string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		req, _ := http.NewRequest("GET", "http://"+p.Admin+"/admin/api/v1/objects/"+kind+"/"+name, nil)
		req.SetBasicAuth("admin", plexusPassword)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var obj struct {
			Status struct{ State string } `json:"status"`
		}
		json.Unmarshal(b, &obj)
		if obj.Status.State == "running" {
			return
		}
	}
	t.Fatalf("%s %s never ran:\n%s", kind, name, p.Log)
}

// Sink is an HTTP backend that records the bodies of the calls it
// answers, the side effect a service has. It answers a number of calls,
// then holds the rest until released; a held call whose caller went away
// (killed) is not recorded.
type Sink struct {
	mu     sync.Mutex
	budget int // calls still answered at once; -1: all
	open   chan struct{}
	held   map[string]int // bodies of the calls held now
	seen   map[string]int
}

// NewSink returns a sink that answers every call.
func NewSink() *Sink {
	return &Sink{budget: -1, open: make(chan struct{}), held: map[string]int{}, seen: map[string]int{}}
}

func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body strings.Builder
	io.Copy(&body, r.Body)
	s.mu.Lock()
	if s.budget == 0 {
		open := s.open
		s.held[body.String()]++
		s.mu.Unlock()
		select {
		case <-open:
		case <-r.Context().Done():
		}
		s.mu.Lock()
		if s.held[body.String()]--; s.held[body.String()] == 0 {
			delete(s.held, body.String())
		}
		if r.Context().Err() != nil {
			s.mu.Unlock()
			return
		}
	} else if s.budget > 0 {
		s.budget--
	}
	s.seen[body.String()]++
	s.mu.Unlock()
	w.Write([]byte("{}"))
}

// Hold answers n more calls, then holds the rest.
func (s *Sink) Hold(n int) {
	s.mu.Lock()
	s.budget, s.open = n, make(chan struct{})
	s.mu.Unlock()
}

// Release answers every call, the held ones too.
func (s *Sink) Release() {
	s.mu.Lock()
	s.budget = -1
	close(s.open)
	s.mu.Unlock()
}

// WaitHeld waits until at least n calls are held and returns how many
// are.
func (s *Sink) WaitHeld(t testing.TB, n int) int {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if held := len(s.HeldBodies()); held >= n {
			return held
		}
	}
	t.Fatalf("%d calls never held at once", n)
	return 0
}

// WaitDropped waits until no call is held: each one's caller went away
// (killed), so the call is not recorded.
func (s *Sink) WaitDropped(t testing.TB) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if len(s.HeldBodies()) == 0 {
			return
		}
	}
	t.Fatal("held calls still held after their caller was killed")
}

// HeldBodies returns the bodies of the calls held now, one for each
// call.
func (s *Sink) HeldBodies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var bodies []string
	for b, n := range s.held {
		for range n {
			bodies = append(bodies, b)
		}
	}
	return bodies
}

// Seen returns how many times each body was recorded.
func (s *Sink) Seen() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.seen))
	for k, v := range s.seen {
		out[k] = v
	}
	return out
}
