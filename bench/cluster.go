package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/plexushq/plexus/bench/internal/benchutil"
	"github.com/plexushq/plexus/internal/envdir"
)

// clusterNode is one node of the cluster measurement: a plexus start
// process with its addresses and CLI token.
type clusterNode struct {
	proc       *process
	api, admin string
	token      string
	// start starts (or restarts) the node and waits until it answers.
	start func() error
}

// runCluster measures a cluster of three nodes on loopback sharing one
// PostgreSQL schema: how soon a change and a deploy made on one node
// answer on the two others, and how soon the scheduler runs again after
// kill -9 of its leader.
func runCluster(ctx context.Context, o options, stdout io.Writer) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "plexus-cluster-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "plexus")
	if err := benchutil.Build(ctx, root, bin, "./cmd/plexus"); err != nil {
		return err
	}
	db, err := sql.Open("pgx", o.cluster)
	if err != nil {
		return err
	}
	defer db.Close()
	schema := "plexus_bench_" + strings.ToLower(rand.Text()[:10])
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return fmt.Errorf("creating schema: %w", err)
	}
	defer db.Exec("DROP SCHEMA " + schema + " CASCADE")
	u, err := url.Parse(o.cluster)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	password := "bench-" + rand.Text()

	var nodes []*clusterNode
	defer func() {
		for _, n := range nodes {
			n.proc.stop()
		}
	}()
	var key []byte
	for i := range 3 {
		dir := filepath.Join(tmp, fmt.Sprintf("node%d", i))
		env, err := envdir.Create(dir)
		if err != nil {
			return err
		}
		if i == 0 {
			key, _ = os.ReadFile(env.Path(envdir.ServerKey))
		} else if err := os.WriteFile(env.Path(envdir.ServerKey), key, 0o600); err != nil {
			return err
		}
		n := &clusterNode{}
		if n.api, err = benchutil.FreeAddr(); err != nil {
			return err
		}
		if n.admin, err = benchutil.FreeAddr(); err != nil {
			return err
		}
		n.start = func() error {
			var err error
			n.proc, err = startProcess(fmt.Sprintf("node%d", i), filepath.Join(tmp, fmt.Sprintf("node%d-%d.log", i, time.Now().UnixNano())),
				[]string{"PLEXUS_DB=" + u.String(), "PLEXUS_ADMIN_PASSWORD=" + password},
				bin, "start", dir, "--listen", n.api, "--admin-listen", n.admin)
			if err != nil {
				return err
			}
			if err := waitReady(ctx, n.proc, "http://"+n.api+"/health", 30*time.Second); err != nil {
				return err
			}
			var cli envdir.CLI
			data, err := os.ReadFile(env.Path(envdir.CLIFile))
			if err != nil {
				return err
			}
			if err := json.Unmarshal(data, &cli); err != nil {
				return err
			}
			n.token = cli.Token
			return nil
		}
		if err := n.start(); err != nil {
			return err
		}
		nodes = append(nodes, n)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}}
	fmt.Fprintf(stdout, "Plexus cluster benchmark: 3 nodes on loopback, one PostgreSQL schema\n")

	// Change to visible: a channel put on one node answers on the two
	// others; the time runs from sending the PUT.
	var change, answered []time.Duration
	for i := range o.clusterChanges {
		at := nodes[i%3]
		path := fmt.Sprintf("/c%d", i)
		began := time.Now()
		if err := call(ctx, client, at, "PUT", "/admin/api/v1/objects/channel_rest/c"+fmt.Sprint(i),
			fmt.Sprintf(`{"service": "plexus.ping", "url_path": %q}`, path), 200, 201); err != nil {
			return err
		}
		answered = append(answered, time.Since(began))
		for j, other := range nodes {
			if j != i%3 {
				if err := waitBody(ctx, client, "http://"+other.api+path, ""); err != nil {
					return err
				}
			}
		}
		change = append(change, time.Since(began))
	}
	printPercentiles(stdout, "  of which the PUT's answer on the node changed", answered)
	printPercentiles(stdout, fmt.Sprintf("change to visible on the 2 other nodes (%d changes)", len(change)), change)

	// Deploy to visible: a new version of a service deployed on one node
	// answers on the two others.
	src := func(v int) string {
		return fmt.Sprintf("def handle(self):\n    self.response.payload = {\"version\": \"v%d\"}\n", v)
	}
	deploy := func(n *clusterNode, v int) error {
		body, _ := json.Marshal(map[string]any{"files": []map[string]string{{"file": "bench_greet.star", "source": src(v)}}})
		return call(ctx, client, n, "POST", "/admin/api/v1/deploy", string(body), 200)
	}
	if err := deploy(nodes[0], 0); err != nil {
		return err
	}
	if err := call(ctx, client, nodes[0], "PUT", "/admin/api/v1/objects/channel_rest/greet", `{"service": "bench-greet", "url_path": "/greet"}`, 200, 201); err != nil {
		return err
	}
	var deploys []time.Duration
	for v := 1; v <= o.clusterChanges/10; v++ {
		at := v % 3
		began := time.Now()
		if err := deploy(nodes[at], v); err != nil {
			return err
		}
		for j, other := range nodes {
			if j != at {
				if err := waitBody(ctx, client, "http://"+other.api+"/greet", fmt.Sprintf(`"v%d"`, v)); err != nil {
					return err
				}
			}
		}
		deploys = append(deploys, time.Since(began))
	}
	printPercentiles(stdout, fmt.Sprintf("deploy to visible on the 2 other nodes (%d deploys)", len(deploys)), deploys)

	// Rolling restart: clients spread requests over the nodes (on a
	// refused connection, a client tries the next node, as a load
	// balancer does) while each node in turn stops gracefully and starts
	// again.
	var sent, failed atomic.Int64
	stopLoad := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
			for k := c; ; k++ {
				select {
				case <-stopLoad:
					return
				default:
				}
				sent.Add(1)
				ok := false
				for try := range len(nodes) {
					status, _, err := get(ctx, lc, "http://"+nodes[(k+try)%len(nodes)].api+"/c0", "")
					if err == nil {
						ok = status == 200
						break
					}
				}
				if !ok {
					failed.Add(1)
				}
			}
		}()
	}
	restartBegan := time.Now()
	for _, n := range nodes {
		if err := n.proc.stop(); err != nil {
			return err
		}
		if err := n.start(); err != nil {
			return err
		}
	}
	close(stopLoad)
	wg.Wait()
	fmt.Fprintf(stdout, "rolling restart of the 3 nodes in %s under load: %d requests, %d failed\n",
		round(time.Since(restartBegan)), sent.Load(), failed.Load())

	// Leader takeover: a job runs every second; the leader is killed with
	// SIGKILL; the time runs to the start of the first run on another node.
	if err := call(ctx, client, nodes[0], "PUT", "/admin/api/v1/objects/scheduler/tick",
		`{"service": "plexus.ping", "job_type": "interval_based", "seconds": 1}`, 200, 201); err != nil {
		return err
	}
	var takeovers []time.Duration
	alive := slices.Clone(nodes)
	for range 2 {
		leader, err := findLeader(ctx, client, alive)
		if err != nil {
			return err
		}
		killed := time.Now()
		leader.proc.cmd.Process.Signal(syscall.SIGKILL)
		<-leader.proc.done
		alive = slices.DeleteFunc(alive, func(n *clusterNode) bool { return n == leader })
		ran, err := waitRunAfter(ctx, client, alive, killed)
		if err != nil {
			return err
		}
		takeovers = append(takeovers, ran.Sub(killed))
		fmt.Fprintf(stdout, "  scheduler run on another node %s after kill -9 of the leader\n", round(ran.Sub(killed)))
	}
	printPercentiles(stdout, "leader takeover after kill -9", takeovers)
	return nil
}

// call sends an admin API request with the node's CLI token and checks
// the status.
func call(ctx context.Context, client *http.Client, n *clusterNode, method, path, body string, want ...int) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+n.admin+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+n.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if !slices.Contains(want, resp.StatusCode) {
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, data)
	}
	return nil
}

// get reads an answer's status and body.
func get(ctx context.Context, client *http.Client, u, token string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// waitBody waits until u answers 200 with a body holding want.
func waitBody(ctx context.Context, client *http.Client, u, want string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body, err := get(ctx, client, u, "")
		if err == nil && status == 200 && bytes.Contains(body, []byte(want)) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer %q within 30 s: %d %s %v", u, want, status, body, err)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// findLeader waits until the cluster names a live scheduler leader among
// nodes.
func findLeader(ctx context.Context, client *http.Client, nodes []*clusterNode) (*clusterNode, error) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		_, body, err := get(ctx, client, "http://"+nodes[0].admin+"/admin/api/v1/cluster", nodes[0].token)
		var c struct {
			Leader string `json:"scheduler_leader"`
			Nodes  []struct {
				ID      string `json:"id"`
				Address string `json:"address"`
			} `json:"nodes"`
		}
		if err == nil && json.Unmarshal(body, &c) == nil {
			for _, cn := range c.Nodes {
				for _, n := range nodes {
					if cn.ID == c.Leader && cn.Address == n.api {
						return n, nil
					}
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, fmt.Errorf("no scheduler leader within 30 s")
}

// waitRunAfter waits until the job tick has a run that started after t,
// and returns when it started.
func waitRunAfter(ctx context.Context, client *http.Client, nodes []*clusterNode, t time.Time) (time.Time, error) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			_, body, err := get(ctx, client, "http://"+n.admin+"/admin/api/v1/scheduler/jobs/tick", n.token)
			var st struct {
				LastRun *time.Time `json:"last_run_utc"`
			}
			if err == nil && json.Unmarshal(body, &st) == nil && st.LastRun != nil && st.LastRun.After(t) {
				return *st.LastRun, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("the job did not run within 60 s of killing the leader")
}

// printPercentiles prints the p50, p99 and maximum of durations.
func printPercentiles(w io.Writer, what string, ds []time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	pct := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	fmt.Fprintf(w, "%-58s p50 %8s  p99 %8s  max %8s\n", what, roundMS(pct(0.50)), roundMS(pct(0.99)), roundMS(s[len(s)-1]))
}

func roundMS(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
