package cli

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/sdk/service"
)

// TestPubSubCommands runs every plexus pubsub command as docs/cli.md
// shows it, against a server with a topic, a pull subscription with
// explicit acknowledgement and a push subscription whose service fails
// until told otherwise.
func TestPubSubCommands(t *testing.T) {
	var failing atomic.Bool
	var delivered atomic.Int64
	failing.Store(true)
	s := servertest.Start(t, servertest.Options{Services: []any{
		service.Func("t.orders", "", func(c *service.Context) error {
			if failing.Load() {
				return service.ServiceUnavailable("billing is down")
			}
			delivered.Add(1)
			return nil
		}),
	}})
	s.Put("security", "billing", map[string]any{"type": "basic_auth", "username": "billing", "password": "billing-pass-1"})
	s.Put("pubsub_topic", "orders.new", map[string]any{"is_active": true, "max_depth": 500})
	s.Put("pubsub_subscription", "billing.orders", map[string]any{"security": "billing", "topics": []string{"orders.new"},
		"delivery_type": "pull", "ack": "explicit", "is_delivery_active": true, "is_pub_active": true})
	s.Put("pubsub_subscription", "crm.orders", map[string]any{"topics": []string{"orders.new"}, "delivery_type": "push",
		"push_type": "service", "push_service": "t.orders", "is_delivery_active": true, "is_pub_active": true,
		"max_retry_time": "200ms", "retry_initial": "20ms", "retry_max": "50ms"})
	run := func(want int, args ...string) (string, string) {
		t.Helper()
		stdout, stderr, code := runCLI(t, nil, append(args, s.Dir)...)
		if code != want {
			t.Fatalf("plexus %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, want, stdout, stderr)
		}
		return stdout, stderr
	}

	out, _ := run(0, "pubsub", "topics")
	if !regexp.MustCompile(`(?m)^NAME\s+ACTIVE\s+DEPTH\s+MAX DEPTH\norders\.new\s+yes\s+0\s+500\n$`).MatchString(out) {
		t.Fatalf("topics:\n%s", out)
	}
	out, _ = run(0, "pubsub", "publish", "orders.new", "--data", `{"order_id": 1}`)
	id := strings.TrimSpace(out)
	if !strings.HasPrefix(id, "zpsm") {
		t.Fatalf("publish printed %q", out)
	}
	// From standard input, with a priority: delivered first.
	var stdout, stderr testenv.Buffer
	app := &App{Stdout: &stdout, Stderr: &stderr, Stdin: strings.NewReader(`"urgent"` + "\n"), Getenv: func(string) string { return "" }}
	if code := app.Main(context.Background(), []string{"pubsub", "publish", "orders.new", "--data", "-", "--priority", "9", "--expiration", "1h", s.Dir}); code != 0 {
		t.Fatalf("publish --data -: %d %s", code, stderr.String())
	}
	urgent := strings.TrimSpace(stdout.String())

	out, _ = run(0, "pubsub", "browse", "billing.orders")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "MSG ID") || !strings.HasPrefix(lines[1], urgent+" ") ||
		!regexp.MustCompile(`^`+id+`\s+5\s+queued\s+0\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+orders\.new\s+-$`).MatchString(lines[2]) ||
		lines[3] != "1-2 of 2 messages in the queue" {
		t.Fatalf("browse:\n%s", out)
	}
	out, _ = run(0, "pubsub", "browse", "billing.orders", "--offset", "1", "--limit", "1", "--json")
	var page struct {
		Messages []struct {
			ID string `json:"msg_id"`
		}
		Total int
	}
	if json.Unmarshal([]byte(out), &page) != nil || page.Total != 2 || len(page.Messages) != 1 || page.Messages[0].ID != id {
		t.Fatalf("browse --offset 1 --limit 1 --json:\n%s", out)
	}
	out, _ = run(0, "pubsub", "message", urgent)
	if !strings.Contains(out, `"data": "urgent"`) || !strings.Contains(out, `"priority": 9`) || !strings.Contains(out, `"billing.orders"`) {
		t.Fatalf("message:\n%s", out)
	}

	// Pull, then acknowledge.
	out, _ = run(0, "pubsub", "get", "billing.orders", "--max-messages", "1")
	if !strings.Contains(out, `"message_count": 1`) || !strings.Contains(out, urgent) {
		t.Fatalf("get:\n%s", out)
	}
	out, _ = run(0, "pubsub", "ack", "billing.orders", "--id", urgent+",zpsmnosuchmessage")
	if out != "Acknowledged 1 of 2\n" {
		t.Fatalf("ack: %q", out)
	}

	// The push subscription's failing service makes dead letters.
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ = run(0, "pubsub", "subscriptions")
		if regexp.MustCompile(`(?m)^crm\.orders\s+push\s+orders\.new\s+0\s+0\s+-\s+2\s+no$`).MatchString(out) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the push subscription's messages never became dead letters:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !regexp.MustCompile(`(?m)^billing\.orders\s+pull\s+orders\.new\s+1\s+0\s+\d+s\s+0\s+no$`).MatchString(out) {
		t.Fatalf("subscriptions:\n%s", out)
	}
	out, _ = run(0, "pubsub", "browse", "crm.orders", "--dead")
	if !strings.Contains(out, "dead") || !strings.Contains(out, "billing is down") || !strings.HasSuffix(out, "1-2 of 2 dead letters\n") {
		t.Fatalf("browse --dead:\n%s", out)
	}
	out, _ = run(0, "pubsub", "pause", "crm.orders")
	if out != "Paused crm.orders; backlog 0\n" {
		t.Fatalf("pause: %q", out)
	}
	out, _ = run(0, "pubsub", "resume", "crm.orders")
	if out != "Resumed crm.orders; backlog 0\n" {
		t.Fatalf("resume: %q", out)
	}
	failing.Store(false)
	out, _ = run(0, "pubsub", "redeliver", "crm.orders", "--id", urgent)
	if out != "Redelivering 1 message of crm.orders\n" {
		t.Fatalf("redeliver --id: %q", out)
	}
	out, _ = run(0, "pubsub", "redeliver", "crm.orders")
	if out != "Redelivering 1 message of crm.orders\n" {
		t.Fatalf("redeliver: %q", out)
	}
	for deadline := time.Now().Add(60 * time.Second); delivered.Load() < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 redelivered messages delivered", delivered.Load())
		}
	}

	_, errOut := run(1, "pubsub", "clear", "billing.orders")
	if !strings.Contains(errOut, "add --yes") {
		t.Fatalf("clear without --yes: %q", errOut)
	}
	out, _ = run(0, "pubsub", "clear", "billing.orders", "--yes")
	if out != "Cleared 1 message from billing.orders\n" {
		t.Fatalf("clear: %q", out)
	}

	// Mistakes say what to do.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"pubsub", "publish", "orders.new"}, "--data is required"},
		{[]string{"pubsub", "publish", "orders.new", "--data", "hello"}, `a text message is quoted, such as --data '"hello"'`},
		{[]string{"pubsub", "publish", "orders.new", "--data", "1", "--priority", "10"}, "--priority must be from 0 to 9"},
		{[]string{"pubsub", "publish", "orders.new", "--data", "1", "--expiration", "10ms"}, "--expiration must be at least 1s"},
		{[]string{"pubsub", "publish", "no.such.topic", "--data", "1"}, `named "no.such.topic"`},
		{[]string{"pubsub", "browse", "billing.orders", "--limit", "0"}, "--limit must be from 1 to 1000"},
		{[]string{"pubsub", "browse", "nope"}, `No pub/sub subscription named "nope"`},
		{[]string{"pubsub", "get", "billing.orders", "--max-messages", "5000"}, "--max-messages must be from 1 to 1000"},
		{[]string{"pubsub", "ack", "billing.orders"}, "--id is required"},
		{[]string{"pubsub", "frobnicate"}, `unknown command "frobnicate"`},
	} {
		_, errOut := run(1, c.args...)
		if !strings.Contains(errOut, c.want) {
			t.Errorf("plexus %s: stderr %q, want %q", strings.Join(c.args, " "), errOut, c.want)
		}
	}
	// Through --server with the admin password, as from another machine.
	env := map[string]string{PasswordEnv: servertest.Password}
	out, errOut, code := runCLI(t, env, "pubsub", "topics", "--json", "--server", s.Admin)
	if code != 0 || !strings.Contains(out, `"name": "orders.new"`) {
		t.Fatalf("topics --json --server: %d %q %q", code, out, errOut)
	}
}
