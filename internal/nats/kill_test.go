package nats_test

import (
	"bufio"
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

	"github.com/plexushq/plexus/internal/testenv"
)

// process is a plexus process a test started, with its admin address.
type process struct {
	cmd   *exec.Cmd
	admin string
	log   *testenv.Buffer
}

// startPlexus runs the plexus binary with args and waits for it to say
// where it listens.
func startPlexus(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), log: &testenv.Buffer{}}
	p.cmd.Env = append(os.Environ(), "PLEXUS_ADMIN_PASSWORD="+killPassword)
	stderr, _ := p.cmd.StderrPipe()
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	started := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(p.log, line)
			if _, admin, ok := testenv.StartedAddrs(line); ok {
				started <- admin
			}
		}
	}()
	select {
	case p.admin = <-started:
	case <-time.After(60 * time.Second):
		t.Fatalf("plexus did not start:\n%s", p.log)
	}
	return p
}

const killPassword = "kill-test-password"

// call makes an admin API call and returns the status and body.
func (p *process) call(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, "http://"+p.admin+"/admin/api/v1"+path, strings.NewReader(string(data)))
	req.SetBasicAuth("admin", killPassword)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// waitRunning waits until an object of the process is running.
func (p *process) waitRunning(t *testing.T, kind, name string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, b := p.call(t, "GET", "/objects/"+kind+"/"+name, nil)
		var obj struct {
			Status struct{ State string } `json:"status"`
		}
		json.Unmarshal(b, &obj)
		if obj.Status.State == "running" {
			return
		}
	}
	t.Fatalf("%s %s never ran:\n%s", kind, name, p.log)
}

// Plexus killed with SIGKILL while it relays messages from a JetStream
// channel loses none: what it had not acknowledged is delivered again
// once it is started again (after ack_wait), so every message the test
// published is relayed, duplicates only for the messages in flight at
// the kill, counted.
func TestKilledWhileConsuming(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plexus binary")
	}
	n := newServer(t)
	stream := n.stream()
	in, out := n.subject("in"), n.subject("out")
	bin := filepath.Join(t.TempDir(), "plexus")
	if b, err := exec.Command("go", "build", "-o", bin, "../../cmd/plexus").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, b)
	}
	dir := filepath.Join(t.TempDir(), "env")
	p := startPlexus(t, bin, "quickstart", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	relay := fmt.Sprintf("def handle(self):\n    self.out.nats[\"out\"].send(self.request.raw_request, subject=%q)\n", out)
	if code, b := p.call(t, "POST", "/deploy", map[string]any{"files": []map[string]string{{"file": "relay.star", "source": relay}}}); code != 200 {
		t.Fatalf("deploy: %d %s", code, b)
	}
	for _, o := range []struct {
		kind, name string
		obj        map[string]any
	}{
		{"outgoing_nats", "out", n.object(map[string]any{"jetstream": true})},
		{"channel_nats", "in", n.object(map[string]any{"subject": in, "stream": stream, "service": "relay", "data_format": "bytes",
			"pool_size": 4, "ack_wait": "1s"})},
	} {
		if code, b := p.call(t, "PUT", "/objects/"+o.kind+"/"+o.name, o.obj); code != 200 && code != 201 {
			t.Fatalf("PUT %s: %d %s", o.kind, code, b)
		}
	}
	p.waitRunning(t, "channel_nats", "in")

	const total = 300
	sent := make(chan int, total)
	var wg sync.WaitGroup
	steady(n, in, total, sent, &wg)
	for len(sent) < total/3 {
		time.Sleep(10 * time.Millisecond)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	relayedBefore := len(n.storedBodies(stream, out))
	p = startPlexus(t, bin, "start", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	p.waitRunning(t, "channel_nats", "in")
	wg.Wait()

	deadline := time.Now().Add(90 * time.Second)
	for {
		seen := map[string]int{}
		bodies := n.storedBodies(stream, out)
		for _, b := range bodies {
			seen[b]++
		}
		if len(seen) == total {
			dups := len(bodies) - total
			t.Logf("%d messages in, %d relayed before the kill, %d distinct out, %d duplicates", total, relayedBefore, len(seen), dups)
			if relayedBefore == 0 || relayedBefore >= total {
				t.Errorf("the kill came before consuming started or after it ended: %d relayed before it", relayedBefore)
			}
			if dups > 2*4 { // the messages in flight (max_ack_pending) at the kill
				t.Errorf("%d duplicates: more than the messages in flight at the kill", dups)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages relayed\n%s", len(seen), total, p.log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
