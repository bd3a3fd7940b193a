package rest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/servertest"
)

// load calls /proxy/{id} from workers goroutines until stop is closed and
// returns the number of calls and the failures (anything but a 200 with
// the backend's answer).
func load(t *testing.T, s *servertest.Server, workers int, stop <-chan struct{}) func() (int64, []string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 30 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	var calls atomic.Int64
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("%d-%d", w, i)
				resp, err := client.Get(s.API + "/proxy/" + id)
				calls.Add(1)
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(body), `"uri":"/items/`+id+`"`) {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%d %s", resp.StatusCode, body))
					mu.Unlock()
				}
			}
		}()
	}
	return func() (int64, []string) {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return calls.Load(), failures
	}
}

// Editing a connection under load swaps it atomically: no call fails, and
// the old pool's connections are closed once its calls are done.
func TestHotSwapUnderLoad(t *testing.T) {
	s := start(t)
	a, b := newBackend(t), newBackend(t)
	putConn(t, s, "Backend", map[string]any{"host": a.URL, "url_path": "/items/{id}", "pool_size": 4})
	stop := make(chan struct{})
	wait := load(t, s, 16, stop)
	for i := range 12 {
		time.Sleep(40 * time.Millisecond)
		host := a.URL
		if i%2 == 1 {
			host = b.URL
		}
		putConn(t, s, "Backend", map[string]any{"host": host, "url_path": "/items/{id}", "pool_size": 4 + i%3, "timeout": fmt.Sprintf("%ds", 10+i)})
	}
	time.Sleep(40 * time.Millisecond)
	close(stop)
	calls, failures := wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d calls failed during the swaps, e.g. %s", len(failures), calls, failures[0])
	}
	if a.count() == 0 || b.count() == 0 || calls < 24 {
		t.Fatalf("the load did not reach both backends: %d calls, %d on A, %d on B", calls, a.count(), b.count())
	}
	// The last version points at B: A's connections all close, B keeps a
	// pool.
	deadline := time.Now().Add(5 * time.Second)
	for a.open.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := a.open.Load(); n != 0 {
		t.Errorf("%d connections to the replaced backend are still open", n)
	}
	if b.open.Load() == 0 {
		t.Errorf("the current pool keeps no connection to B")
	}
	t.Logf("%d calls, 12 swaps, no failure; A accepted %d connections, B %d", calls, a.accepted.Load(), b.accepted.Load())
}

// Concurrent calls reuse the pool: the backend never has more than
// pool_size connections open at once however many calls there are, and
// the calls do not open new ones (a connection the machine's load makes
// time out may be replaced, which is not churn).
func TestNoConnectionChurn(t *testing.T) {
	s := start(t)
	b := newBackend(t)
	const pool = 8
	putConn(t, s, "Backend", map[string]any{"host": b.URL, "url_path": "/items/{id}", "pool_size": pool})
	stop := make(chan struct{})
	wait := load(t, s, 32, stop)
	for b.count() < 2000 {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	calls, failures := wait()
	if len(failures) > 0 {
		t.Fatalf("%d calls failed, e.g. %s", len(failures), failures[0])
	}
	if n := b.peak.Load(); n > pool || n == 0 {
		t.Errorf("%d calls had %d connections to the backend open at once, want at most %d", calls, n, pool)
	}
	if n := b.accepted.Load(); n > 2*pool {
		t.Errorf("%d calls opened %d connections to the backend: the pool of %d is not reused", calls, n, pool)
	}
	t.Logf("%d calls from 32 workers over %d backend connections, at most %d at once", calls, b.accepted.Load(), b.peak.Load())
}
