package pubsub_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/testenv"
)

// crashTrials is how many trials of each kind TestKill9 runs on each
// store; PLEXUS_CRASH_TRIALS sets it.
func crashTrials(t *testing.T) int {
	if v := os.Getenv("PLEXUS_CRASH_TRIALS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("PLEXUS_CRASH_TRIALS=%q: want a number of trials", v)
		}
		return n
	}
	return 2
}

// TestKill9 kills the plexus process with SIGKILL at a random moment while
// clients publish over REST, and at a random moment while a push
// subscription delivers to a REST endpoint, restarts it, and checks that
// every publish answered 200 is delivered at least once. Duplicates (a
// message delivered before the kill whose delivery was not yet recorded
// as done) are counted and logged. It runs on SQLite, and on PostgreSQL
// when PLEXUS_TEST_POSTGRES is set.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plexus binary")
	}
	bin := filepath.Join(t.TempDir(), "plexus")
	if b, err := exec.Command("go", "build", "-o", bin, "../../cmd/plexus").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, b)
	}
	stores := []string{"sqlite"}
	if os.Getenv("PLEXUS_TEST_POSTGRES") != "" {
		stores = append(stores, "postgres")
	}
	trials := crashTrials(t)
	for _, store := range stores {
		for _, during := range []string{"publishing", "delivery"} {
			t.Run(store+"/"+during, func(t *testing.T) {
				var total crashTotals
				for i := range trials {
					db := ""
					if store == "postgres" {
						db = testenv.Postgres(t)
					}
					r := crashTrial(t, bin, db, during == "delivery")
					t.Logf("trial %d: %d publishes answered 200, killed after %d, %d delivered before the kill, %d distinct delivered in all, %d duplicates",
						i+1, r.acked, r.killedAfter, r.deliveredBeforeKill, r.distinct, r.duplicates)
					total.add(r)
				}
				t.Logf("%s, kill -9 during %s, %d trials: %d publishes answered 200, all delivered; %d duplicates (%.2f%%)",
					store, during, trials, total.acked, total.duplicates, 100*float64(total.duplicates)/float64(max(total.acked, 1)))
			})
		}
	}
}

// crashResult is what one trial saw.
type crashResult struct {
	acked, killedAfter, deliveredBeforeKill, distinct, duplicates int
}

type crashTotals struct{ acked, duplicates int }

func (c *crashTotals) add(r crashResult) { c.acked += r.acked; c.duplicates += r.duplicates }

// counter is the REST endpoint the push subscription delivers to: it
// counts each message (by the n its data carries) and answers 200.
type counter struct {
	mu   sync.Mutex
	seen map[int]int
	all  int
	// slow delays each delivery, so that a backlog builds for the kill.
	slow time.Duration
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m struct {
		Data struct {
			N *int `json:"n"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &m) != nil || m.Data.N == nil {
		http.Error(w, "not a test message: "+string(body), http.StatusBadRequest)
		return
	}
	time.Sleep(c.slow)
	c.mu.Lock()
	c.seen[*m.Data.N]++
	c.all++
	c.mu.Unlock()
}

func (c *counter) counts() (distinct, all int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen), c.all
}

func (c *counter) has(n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[n] > 0
}

// crashProcess is a plexus process a trial started.
type crashProcess struct {
	cmd        *exec.Cmd
	api, admin string
	log        *testenv.Buffer
}

const crashPassword = "crash-test-password"

func startCrashProcess(t *testing.T, bin, db string, args ...string) *crashProcess {
	t.Helper()
	p := &crashProcess{cmd: exec.Command(bin, append(args, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")...), log: &testenv.Buffer{}}
	p.cmd.Env = append(os.Environ(), "PLEXUS_ADMIN_PASSWORD="+crashPassword)
	if db != "" {
		p.cmd.Env = append(p.cmd.Env, "PLEXUS_DB="+db)
	}
	stderr, _ := p.cmd.StderrPipe()
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	started := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			fmt.Fprintln(p.log, sc.Text())
			if api, admin, ok := testenv.StartedAddrs(sc.Text()); ok {
				started <- [2]string{api, admin}
			}
		}
	}()
	select {
	case a := <-started:
		p.api, p.admin = a[0], a[1]
	case <-time.After(90 * time.Second):
		t.Fatalf("plexus did not start:\n%s", p.log)
	}
	return p
}

// put creates an object through the admin API.
func (p *crashProcess) put(t *testing.T, kind, name string, obj any) {
	t.Helper()
	data, _ := json.Marshal(obj)
	req, _ := http.NewRequest("PUT", "http://"+p.admin+"/admin/api/v1/objects/"+kind+"/"+name, strings.NewReader(string(data)))
	req.SetBasicAuth("admin", crashPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("PUT %s %s: %d %s", kind, name, resp.StatusCode, b)
	}
}

// publish publishes message n over REST and reports whether it was
// answered 200.
func (p *crashProcess) publish(client *http.Client, n int) bool {
	req, _ := http.NewRequest("POST", "http://"+p.api+"/pubsub/topic/crash.orders", strings.NewReader(fmt.Sprintf(`{"data": {"n": %d}}`, n)))
	req.SetBasicAuth("crash.pub", "crash-pub-pass-1")
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// crashTrial runs one trial on a fresh environment: with duringDelivery
// it publishes everything first and kills the process while the slow
// endpoint works through the backlog; otherwise it kills it while four
// clients publish.
func crashTrial(t *testing.T, bin, db string, duringDelivery bool) crashResult {
	t.Helper()
	c := &counter{seen: map[int]int{}}
	if duringDelivery {
		c.slow = 2 * time.Millisecond
	}
	endpoint := httptest.NewServer(c)
	defer endpoint.Close()
	dir := filepath.Join(t.TempDir(), "env")
	p := startCrashProcess(t, bin, db, "quickstart", dir)
	p.put(t, "security", "crash.pub", map[string]any{"type": "basic_auth", "username": "crash.pub", "password": "crash-pub-pass-1"})
	p.put(t, "pubsub_permission", "crash.pub", map[string]any{"security": "crash.pub", "pub": []string{"crash.*"}})
	p.put(t, "pubsub_topic", "crash.orders", map[string]any{"is_active": true, "max_depth": 1_000_000})
	p.put(t, "outgoing_rest", "crash.counter", map[string]any{"host": endpoint.URL, "url_path": "/deliver"})
	p.put(t, "pubsub_subscription", "crash.push", map[string]any{"topics": []string{"crash.orders"}, "delivery_type": "push",
		"push_type": "rest", "push_rest_endpoint": "crash.counter", "is_delivery_active": true, "is_pub_active": true,
		"retry_initial": "100ms", "retry_max": "500ms"})

	client := &http.Client{Timeout: 30 * time.Second}
	var acked sync.Map
	var nAcked atomic.Int64
	var next atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	publishers := func(p *crashProcess, until int64) {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					n := int(next.Add(1))
					if until > 0 && int64(n) > until {
						return
					}
					if p.publish(client, n) {
						acked.Store(n, true)
						nAcked.Add(1)
					}
				}
			}()
		}
	}

	var r crashResult
	if duringDelivery {
		const total = 600
		publishers(p, total)
		wg.Wait()
		if nAcked.Load() != total {
			t.Fatalf("%d of %d publishes answered 200 before any kill\n%s", nAcked.Load(), total, p.log)
		}
		// Kill once a random share of the backlog is delivered.
		killAt := 50 + rand.IntN(total/2)
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Millisecond) {
			if _, all := c.counts(); all >= killAt {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivery never reached %d messages\n%s", killAt, p.log)
			}
		}
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
		r.killedAfter = killAt
	} else {
		publishers(p, 0)
		killAt := 20 + rand.IntN(300)
		for deadline := time.Now().Add(60 * time.Second); nAcked.Load() < int64(killAt); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("publishing never reached %d messages\n%s", killAt, p.log)
			}
		}
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
		close(stop)
		wg.Wait()
		r.killedAfter = killAt
	}
	r.deliveredBeforeKill, _ = c.counts()
	r.acked = int(nAcked.Load())

	p = startCrashProcess(t, bin, db, "start", dir)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		missing := 0
		acked.Range(func(k, _ any) bool {
			if !c.has(k.(int)) {
				missing++
			}
			return true
		})
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d publishes answered 200 were never delivered after the restart\n%s", missing, r.acked, p.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.distinct, _ = c.counts()
	_, all := c.counts()
	r.duplicates = all - r.distinct
	if duringDelivery && r.deliveredBeforeKill >= r.acked {
		t.Errorf("the kill came after delivery ended: %d of %d delivered before it", r.deliveredBeforeKill, r.acked)
	}
	return r
}
