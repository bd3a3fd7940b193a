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
//     -broadcasts broadcasts, and the plexus process's CPU time per
//     broadcast; the clients are lean (see receivers);
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
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
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

	"github.com/plexushq/plexus/bench/internal/benchutil"
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
	BroadcastCPUMS   float64 `json:"broadcast_cpu_ms"`
	BroadcastSysMS   float64 `json:"broadcast_system_cpu_ms"`
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
		if err := benchutil.Build(ctx, "", bin, pkg); err != nil {
			return err
		}
	}
	var apiAddr, adminAddr, echoAddr string
	for _, addr := range []*string{&apiAddr, &adminAddr, &echoAddr} {
		if *addr, err = benchutil.FreeAddr(); err != nil {
			return err
		}
	}
	envDir := filepath.Join(tmp, "env")
	os.MkdirAll(envDir, 0o755)
	os.WriteFile(filepath.Join(envDir, "plexus.yaml"), []byte("log:\n  access: false\n  level: warn\n"), 0o644)
	password := benchutil.RandomHex(12)
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
		if err := benchutil.WaitOK(u, 60*time.Second); err != nil {
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
	clients, err := dialReceivers(ctx, apiAddr, "/ws/bench", o.clients)
	if err != nil {
		return err
	}
	defer clients.close()
	fmt.Fprintln(out, "done")
	time.Sleep(2 * time.Second)
	res.ConnectedRSSMB = rssMB(plexus.Process.Pid)
	res.RSSPerClientKB = (res.ConnectedRSSMB - res.IdleRSSMB) * 1024 / float64(o.clients)

	msg := map[string]string{"d": strings.Repeat("b", 192)} // {"d":"…"}: 200 bytes
	var times []time.Duration
	cpu0, sys0 := cpuMS(plexus.Process.Pid)
	for i := 0; i < o.broadcasts; i++ {
		clients.expect(int64(o.clients) * int64(i+1))
		t0 := time.Now()
		if err := call("POST", "http://"+apiAddr+"/bench/broadcast", "", msg); err != nil {
			return err
		}
		select {
		case t := <-clients.arrived:
			times = append(times, t.Sub(t0))
		case <-time.After(30 * time.Second):
			return fmt.Errorf("broadcast %d: %d of %d clients received it in 30s", i, clients.frames.Load()-int64(o.clients)*int64(i), o.clients)
		}
	}
	cpu1, sys1 := cpuMS(plexus.Process.Pid)
	res.BroadcastCPUMS, res.BroadcastSysMS = (cpu1-cpu0)/float64(o.broadcasts), (sys1-sys0)/float64(o.broadcasts)
	slices.Sort(times)
	res.BroadcastP50MS, res.BroadcastP99MS = msOf(times[len(times)/2]), msOf(times[len(times)*99/100])
	clients.close()

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
	fmt.Fprintf(out, "plexus CPU time per broadcast  %.1f ms, of which system %.1f ms\n", res.BroadcastCPUMS, res.BroadcastSysMS)
	fmt.Fprintf(out, "invoke round trips/s (%d clients)  plexus %.0f  bare echo %.0f  ratio %.2fx\n",
		o.conns, res.PlexusRoundTrips, res.BareRoundTrips, res.Ratio)
	j, _ := json.Marshal(res)
	fmt.Fprintf(out, "%s\n", j)
	return nil
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

// cpuMS reads the CPU time a process used, user and system, and of it
// the system's, from /proc (Linux): on a shared machine it varies less
// than the time elapsed.
func cpuMS(pid int) (total, system float64) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0
	}
	// the fields after the command's name, which is in parentheses
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) * 10, stime * 10 // clock ticks of 10 ms
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
