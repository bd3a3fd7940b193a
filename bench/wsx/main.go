// Command wsx is the WebSocket benchmark of Plexus. Run it from the
// repository root:
//
//	go run ./bench/wsx [flags]
//
// It builds plexus and a bare coder/websocket echo server (bench/wsx/echo),
// starts both as processes of their own, and measures, in one run:
//
//   - the RSS of the plexus process per connected client, idle, with
//     -clients clients connected to a channel;
//   - broadcasts of a 200-byte message to all of them: the time from the
//     service call to the last client's receipt, p50 and p99 over
//     -broadcasts broadcasts;
//   - invoke round trips per second: -conns clients each sending a message
//     and waiting for the reply of the channel's service, against the same
//     load on the bare echo server, and the ratio.
//
// docs/benchmarks.md explains the results.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

type options struct {
	clients, broadcasts, conns int
	duration                   time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.clients, "clients", 10000, "clients connected to the channel for the RSS and broadcast measurements")
	flag.IntVar(&o.broadcasts, "broadcasts", 100, "broadcasts timed")
	flag.IntVar(&o.conns, "conns", 64, "clients invoking at once in the round-trip measurement")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "how long round trips are measured on each target")
	flag.Parse()
	if err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "wsx: %v\n", err)
		os.Exit(1)
	}
}

// Result is what a run measured.
type Result struct {
	Clients          int     `json:"clients"`
	IdleRSSMB        float64 `json:"idle_rss_mb"`
	ConnectedRSSMB   float64 `json:"connected_rss_mb"`
	RSSPerClientKB   float64 `json:"rss_per_client_kb"`
	BroadcastP50MS   float64 `json:"broadcast_p50_ms"`
	BroadcastP99MS   float64 `json:"broadcast_p99_ms"`
	PlexusRoundTrips float64 `json:"plexus_round_trips_per_s"`
	BareRoundTrips   float64 `json:"bare_round_trips_per_s"`
	Ratio            float64 `json:"ratio"`
}

const broadcastSvc = `name = "bench.broadcast"

def handle(self):
    self.wsx.channel["bench"].broadcast(self.request.payload)
`

func run(ctx context.Context, o options, out io.Writer) error {
	tmp, err := os.MkdirTemp("", "plexus-wsx-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	plexusBin, echoBin := filepath.Join(tmp, "plexus"), filepath.Join(tmp, "echo")
	for bin, pkg := range map[string]string{plexusBin: "./cmd/plexus", echoBin: "./bench/wsx/echo"} {
		if b, err := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %w\n%s", pkg, err, b)
		}
	}
	apiAddr, adminAddr, echoAddr := freeAddr(), freeAddr(), freeAddr()
	envDir := filepath.Join(tmp, "env")
	os.MkdirAll(envDir, 0o755)
	os.WriteFile(filepath.Join(envDir, "plexus.yaml"), []byte("log:\n  access: false\n  level: warn\n"), 0o644)
	password := randomHex()
	plexus, err := start(filepath.Join(tmp, "plexus.log"), []string{"PLEXUS_ADMIN_PASSWORD=" + password},
		plexusBin, "quickstart", envDir, "--listen", apiAddr, "--admin-listen", adminAddr)
	if err != nil {
		return err
	}
	defer stop(plexus)
	echo, err := start(filepath.Join(tmp, "echo.log"), nil, echoBin, "-listen", echoAddr)
	if err != nil {
		return err
	}
	defer stop(echo)
	for _, u := range []string{"http://" + adminAddr + "/health", "http://" + echoAddr + "/health"} {
		if err := waitReady(u); err != nil {
			return err
		}
	}
	admin := func(method, path string, body any) error {
		return call(method, "http://"+adminAddr+path, password, body)
	}
	steps := []error{
		admin("POST", "/admin/api/v1/deploy", map[string]any{"file": "broadcast.star", "source": broadcastSvc}),
		admin("PUT", "/admin/api/v1/objects/channel_websocket/bench", map[string]any{"url_path": "/ws/bench",
			"service": "plexus.helpers.echo", "protocol": "json", "max_clients": o.clients + 1000}),
		admin("PUT", "/admin/api/v1/objects/channel_rest/bench.broadcast", map[string]any{"url_path": "/bench/broadcast",
			"service": "bench.broadcast", "method": "POST"}),
	}
	if err := errors.Join(steps...); err != nil {
		return err
	}
	res := Result{Clients: o.clients}
	time.Sleep(time.Second) // let the server settle after start-up
	res.IdleRSSMB = rssMB(plexus.Process.Pid)

	fmt.Fprintf(out, "Connecting %d clients... ", o.clients)
	var received atomic.Int64
	arrived := make(chan struct{}, 1)
	var target atomic.Int64
	clients, err := connect(ctx, "ws://"+apiAddr+"/ws/bench", o.clients, func() {
		if received.Add(1) == target.Load() {
			arrived <- struct{}{}
		}
	})
	if err != nil {
		return err
	}
	defer func() {
		for _, c := range clients {
			c.CloseNow()
		}
	}()
	fmt.Fprintln(out, "done")
	time.Sleep(2 * time.Second)
	res.ConnectedRSSMB = rssMB(plexus.Process.Pid)
	res.RSSPerClientKB = (res.ConnectedRSSMB - res.IdleRSSMB) * 1024 / float64(o.clients)

	msg := map[string]string{"d": strings.Repeat("b", 192)} // {"d":"…"}: 200 bytes
	var times []time.Duration
	for i := 0; i < o.broadcasts; i++ {
		target.Store(int64(o.clients) * int64(i+1))
		t0 := time.Now()
		if err := call("POST", "http://"+apiAddr+"/bench/broadcast", "", msg); err != nil {
			return err
		}
		select {
		case <-arrived:
		case <-time.After(30 * time.Second):
			return fmt.Errorf("broadcast %d: %d of %d clients received it in 30s", i, received.Load()-int64(o.clients)*int64(i), o.clients)
		}
		times = append(times, time.Since(t0))
	}
	slices.Sort(times)
	res.BroadcastP50MS, res.BroadcastP99MS = msOf(times[len(times)/2]), msOf(times[len(times)*99/100])
	for _, c := range clients {
		c.Close(websocket.StatusNormalClosure, "")
	}
	clients = nil

	fmt.Fprintln(out, "Measuring round trips...")
	if res.PlexusRoundTrips, err = roundTrips(ctx, "ws://"+apiAddr+"/ws/bench", o.conns, o.duration); err != nil {
		return err
	}
	if res.BareRoundTrips, err = roundTrips(ctx, "ws://"+echoAddr+"/ws", o.conns, o.duration); err != nil {
		return err
	}
	res.Ratio = res.PlexusRoundTrips / res.BareRoundTrips

	fmt.Fprintf(out, "\nclients connected            %d\n", res.Clients)
	fmt.Fprintf(out, "plexus RSS idle / connected  %.1f MB / %.1f MB: %.1f KB per client\n", res.IdleRSSMB, res.ConnectedRSSMB, res.RSSPerClientKB)
	fmt.Fprintf(out, "broadcast of 200 bytes to all, time to the last client: p50 %.1f ms, p99 %.1f ms (%d broadcasts)\n",
		res.BroadcastP50MS, res.BroadcastP99MS, o.broadcasts)
	fmt.Fprintf(out, "invoke round trips/s (%d clients)  plexus %.0f  bare echo %.0f  ratio %.2fx\n",
		o.conns, res.PlexusRoundTrips, res.BareRoundTrips, res.Ratio)
	j, _ := json.Marshal(res)
	fmt.Fprintf(out, "%s\n", j)
	return nil
}

// connect opens n clients, 100 at a time; each calls got for every
// message it receives.
func connect(ctx context.Context, url string, n int, got func()) ([]*websocket.Conn, error) {
	conns := make([]*websocket.Conn, n)
	sem := make(chan struct{}, 100)
	var wg sync.WaitGroup
	var first error
	var mu sync.Mutex
	for i := range conns {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(dctx, url, nil)
			if err != nil {
				mu.Lock()
				first = errors.Join(first, err)
				mu.Unlock()
				return
			}
			conns[i] = c
			go func() {
				for {
					if _, _, err := c.Read(context.Background()); err != nil {
						return
					}
					got()
				}
			}()
		}(i)
		mu.Lock()
		err := first
		mu.Unlock()
		if err != nil {
			break
		}
	}
	wg.Wait()
	if first != nil {
		return nil, fmt.Errorf("connecting: %w", first)
	}
	return conns, nil
}

// roundTrips measures messages answered per second: conns clients, each
// sending a small JSON object and waiting for the reply, for d.
func roundTrips(ctx context.Context, url string, conns int, d time.Duration) (float64, error) {
	var n atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	deadline := time.Now().Add(d)
	msg := []byte(`{"cust_id": 123, "name": "Ann"}`)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := websocket.Dial(ctx, url, nil)
			if err != nil {
				errs <- err
				return
			}
			defer c.CloseNow()
			for time.Now().Before(deadline) {
				if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
					errs <- err
					return
				}
				if _, _, err := c.Read(ctx); err != nil {
					errs <- err
					return
				}
				n.Add(1)
			}
		}()
	}
	start := time.Now()
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, fmt.Errorf("round trips to %s: %w", url, err)
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func start(logPath string, env []string, bin string, args ...string) (*exec.Cmd, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	return cmd, nil
}

func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func waitReady(url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get(url); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer within 60s", url)
}

func call(method, url, password string, body any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if password != "" {
		req.SetBasicAuth("admin", password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, answer)
	}
	return nil
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func randomHex() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// rssMB reads VmRSS of a process from /proc (Linux).
func rssMB(pid int) float64 {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
