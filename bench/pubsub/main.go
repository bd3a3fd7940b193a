// Command pubsub is the publish/subscribe benchmark of Plexus. Run it from
// the repository root:
//
//	go run ./bench/pubsub [flags]
//
// It measures, in one run and with the same 1 KB JSON message, durable
// publishing with push delivery to a subscriber that acknowledges each
// message:
//
//   - Plexus on its embedded SQLite store: publishes over REST
//     (POST /pubsub/topic/{topic}), a push subscription delivering to a Go
//     service (bench/pubsub/server);
//   - Plexus on PostgreSQL (PLEXUS_TEST_POSTGRES), the same;
//   - RabbitMQ (PLEXUS_TEST_AMQP) driven by a bare amqp091-go program: a
//     durable queue, persistent messages, publisher confirms, manual acks;
//   - NATS JetStream (PLEXUS_TEST_NATS) driven by nats.go: a stream with
//     file storage, acknowledged publishes, explicit acks.
//
// For each it finds the maximum rate (-publishers publishing at once, each
// waiting for its confirmation, for -duration; the rate counts messages
// published and delivered), the end-to-end p99 latency at that rate, then
// the p50 and p99 with messages published at half of it. A system whose
// variable is not set is skipped. docs/benchmarks.md explains the results.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/plexushq/plexus/bench/internal/benchutil"
	"github.com/plexushq/plexus/bench/pubsub/sink"
)

type options struct {
	publishers int
	duration   time.Duration
	systems    string
}

func main() {
	var o options
	flag.IntVar(&o.publishers, "publishers", 32, "publishers at once, each waiting for its confirmation, in the maximum-rate phase")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long each phase publishes on each system")
	flag.StringVar(&o.systems, "systems", "plexus-sqlite,plexus-postgres,rabbitmq,nats", "systems measured, comma-separated")
	flag.Parse()
	if _, err := run(context.Background(), o, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "pubsub: %v\n", err)
		os.Exit(1)
	}
}

// run measures every system asked for and prints a table and the JSON
// results.
func run(ctx context.Context, o options, out io.Writer) ([]Measurement, error) {
	tmp, err := os.MkdirTemp("", "plexus-pubsub-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var results []Measurement
	var bin string
	for _, name := range strings.Split(o.systems, ",") {
		var s system
		switch name = strings.TrimSpace(name); name {
		case "plexus-sqlite", "plexus-postgres":
			db := ""
			if name == "plexus-postgres" {
				if db = os.Getenv("PLEXUS_TEST_POSTGRES"); db == "" {
					fmt.Fprintf(out, "%s: skipped, PLEXUS_TEST_POSTGRES is not set\n", name)
					continue
				}
			}
			if bin == "" {
				bin = filepath.Join(tmp, "plexus")
				if err := benchutil.Build(ctx, "", bin, "github.com/plexushq/plexus/bench/pubsub/server"); err != nil {
					return nil, err
				}
			}
			s, err = newPlexus(ctx, bin, filepath.Join(tmp, name), db, o.publishers)
		case "rabbitmq":
			u := os.Getenv("PLEXUS_TEST_AMQP")
			if u == "" {
				fmt.Fprintf(out, "%s: skipped, PLEXUS_TEST_AMQP is not set\n", name)
				continue
			}
			s, err = newRabbit(u, o.publishers)
		case "nats":
			u := os.Getenv("PLEXUS_TEST_NATS")
			if u == "" {
				fmt.Fprintf(out, "%s: skipped, PLEXUS_TEST_NATS is not set\n", name)
				continue
			}
			s, err = newJetStream(ctx, u)
		default:
			return nil, fmt.Errorf("unknown system %q: choose among plexus-sqlite, plexus-postgres, rabbitmq, nats", name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(out, "%s: measuring...\n", name)
		m, err := measure(ctx, name, s, o)
		s.close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		results = append(results, m)
	}
	fmt.Fprintf(out, "\ndurable publish + push delivery of a %d-byte message, %d publishers, %s per phase\n", sink.Size, o.publishers, o.duration)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "system\tmax msg/s\tp99 at max (ms)\thalf rate msg/s\tp50 at half (ms)\tp99 at half (ms)\terrors\t")
	for _, m := range results {
		fmt.Fprintf(w, "%s\t%.0f\t%.1f\t%.0f\t%.1f\t%.1f\t%d\t\n", m.System, m.MsgPerSec, m.P99MaxMS, m.HalfRate, m.P50HalfMS, m.P99HalfMS, m.Errors)
	}
	w.Flush()
	j, _ := json.Marshal(results)
	fmt.Fprintf(out, "%s\n", j)
	return results, nil
}

// plexus is a Plexus server (bench/pubsub/server) with a topic and a push
// subscription to the Go service that records latencies; it publishes
// over REST as a client with a publish permission.
type plexus struct {
	proc              *exec.Cmd
	api, admin        string
	password          string
	client            *http.Client
	schema, db        string
	user, secret, url string
}

const benchTopic = "bench.orders"

func newPlexus(ctx context.Context, bin, dir, db string, publishers int) (*plexus, error) {
	p := &plexus{password: benchutil.RandomHex(6), user: "bench.publisher", secret: benchutil.RandomHex(6),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: publishers * 8}, Timeout: time.Minute}}
	for _, addr := range []*string{&p.api, &p.admin} {
		var err error
		if *addr, err = benchutil.FreeAddr(); err != nil {
			return nil, err
		}
	}
	env := []string{"PLEXUS_ADMIN_PASSWORD=" + p.password}
	if db != "" {
		u, err := p.newSchema(ctx, db)
		if err != nil {
			return nil, err
		}
		env = append(env, "PLEXUS_DB="+u)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	os.WriteFile(filepath.Join(dir, "plexus.yaml"), []byte("log:\n  access: false\n  level: warn\n"), 0o644)
	log, err := os.Create(dir + ".log")
	if err != nil {
		return nil, err
	}
	p.proc = exec.Command(bin, "quickstart", dir, "--listen", p.api, "--admin-listen", p.admin)
	p.proc.Stdout, p.proc.Stderr = log, log
	p.proc.Env = append(os.Environ(), env...)
	if err := p.proc.Start(); err != nil {
		return nil, err
	}
	if err := benchutil.WaitOK("http://"+p.admin+"/health", 60*time.Second); err != nil {
		p.close()
		return nil, err
	}
	p.url = "http://" + p.api + "/pubsub/topic/" + benchTopic
	for _, o := range []struct {
		kind, name string
		obj        map[string]any
	}{
		{"security", p.user, map[string]any{"type": "basic_auth", "username": p.user, "password": p.secret}},
		{"pubsub_permission", p.user, map[string]any{"security": p.user, "pub": []string{"bench.**"}}},
		{"pubsub_topic", benchTopic, map[string]any{"is_active": true, "max_depth": 100_000_000}},
		{"pubsub_subscription", "bench.sink", map[string]any{"topics": []string{benchTopic}, "delivery_type": "push",
			"push_type": "service", "push_service": "bench.pubsub.sink", "is_delivery_active": true, "is_pub_active": true}},
	} {
		if _, err := p.call("PUT", "/admin/api/v1/objects/"+o.kind+"/"+o.name, o.obj); err != nil {
			p.close()
			return nil, err
		}
	}
	return p, nil
}

// newSchema makes a schema of its own in the PostgreSQL database and
// returns the URL that keeps the store in it.
func (p *plexus) newSchema(ctx context.Context, db string) (string, error) {
	conn, err := sql.Open("pgx", db)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	p.db, p.schema = db, "plexus_bench_pubsub_"+benchutil.RandomHex(6)
	if _, err := conn.ExecContext(ctx, "CREATE SCHEMA "+p.schema); err != nil {
		return "", fmt.Errorf("creating a schema: %w", err)
	}
	u, err := url.Parse(db)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", p.schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (p *plexus) publish(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, "POST", p.url, bytes.NewReader(append(append([]byte(`{"data":`), body...), '}')))
	if err != nil {
		return err
	}
	req.SetBasicAuth(p.user, p.secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("publish: %s: %s", resp.Status, answer)
	}
	return nil
}

func (p *plexus) stats(context.Context) (sink.Stats, error) { return p.sinkStats(false) }

func (p *plexus) reset(context.Context) error {
	_, err := p.sinkStats(true)
	return err
}

func (p *plexus) sinkStats(reset bool) (sink.Stats, error) {
	var s sink.Stats
	body, err := p.call("POST", "/admin/api/v1/services/bench.pubsub.stats/invoke", map[string]bool{"reset": reset})
	if err == nil {
		err = json.Unmarshal(body, &s)
	}
	return s, err
}

func (p *plexus) close() {
	if p.proc != nil && p.proc.Process != nil {
		p.proc.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.proc.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			p.proc.Process.Kill()
			<-done
		}
	}
	if p.schema != "" {
		if conn, err := sql.Open("pgx", p.db); err == nil {
			conn.Exec("DROP SCHEMA " + p.schema + " CASCADE")
			conn.Close()
		}
	}
}

// call makes an admin API call and returns the body of a success.
func (p *plexus) call(method, path string, body any) ([]byte, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, "http://"+p.admin+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("admin", p.password)
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, answer)
	}
	return answer, nil
}
