package amqp_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rabbitmq/amqp091-go"

	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/testenv"
)

const relayService = `
def handle(self):
    self.out.rest["gate"].conn.post(self.cid, self.request.payload)
    self.out.amqp["out"].send(self.request.payload, routing_key=self.channel.message.headers["x-out"])
`

// Plexus killed with SIGKILL while consuming loses nothing: the messages
// it had not acknowledged (its services' calls held in flight) are
// delivered again to the restarted server. SIGTERM then stops consuming,
// lets the messages in flight finish, acknowledges them and exits: none
// of them is delivered again. Counted: every message published reaches
// the far queue, duplicates only those the kill cut off.
func TestKilledAndStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs plexus")
	}
	r := newRabbit(t)
	in, out := r.queue("in", nil), r.queue("out", nil)
	g := testenv.NewSink()
	backend := httptest.NewServer(g)
	t.Cleanup(backend.Close)

	dir := filepath.Join(t.TempDir(), "env")
	if _, err := envdir.Create(dir); err != nil {
		t.Fatal(err)
	}
	u, _ := amqp091.ParseURI(r.url)
	address := fmt.Sprintf("amqp://%s:%d/", u.Host, u.Port)
	const pool = 4
	enmasse := fmt.Sprintf(`outgoing_rest:
  - name: gate
    host: %s
    url_path: /gate
    data_format: raw
    timeout: 120
outgoing_amqp:
  - name: out
    address: %s
    username: %s
    password: %s
channel_amqp:
  - name: in
    address: %s
    username: %s
    password: %s
    queue: %s
    service: relay
    data_format: text
    pool_size: %d
    prefetch_count: %d
`, backend.URL, address, u.Username, u.Password, address, u.Username, u.Password, in, pool, pool)
	for path, body := range map[string]string{
		filepath.Join(dir, envdir.EnmasseDir, "brokers.yaml"): enmasse,
		filepath.Join(dir, envdir.ServicesDir, "relay.star"):  relayService,
	} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const total = 60
	for i := range total {
		r.publish(in, amqp091.Publishing{Body: []byte(fmt.Sprint("m-", i)), Headers: amqp091.Table{"x-out": out}})
	}
	seen := map[string]int{}
	// SIGKILL with pool_size services held mid-call.
	g.Hold(total / 4)
	p := testenv.StartPlexus(t, dir)
	g.WaitHeld(t, pool)
	killed := g.HeldBodies()
	p.Kill()
	g.WaitDropped(t)
	g.Release()

	// Restarted, it gets them again; SIGTERM while pool_size are held.
	g.Hold(total / 4)
	p = testenv.StartPlexus(t, dir)
	g.WaitHeld(t, pool)
	stopped := g.HeldBodies()
	p.Signal(syscall.SIGTERM)
	p.WaitLog(t, "shutting down")
	time.Sleep(200 * time.Millisecond) // what arrives meanwhile must be held too, not taken
	g.Release()
	if err := p.Wait(); err != nil {
		t.Fatalf("plexus exited with %v:\n%s", err, p.Log)
	}
	p.WaitLog(t, "server stopped")
	for _, b := range stopped {
		for seen[b] == 0 {
			d, ok := r.get(out, 10*time.Second)
			if !ok {
				t.Fatalf("%s, in flight at SIGTERM, was not sent on:\n%s", b, p.Log)
			}
			seen[string(d.Body)]++
		}
	}

	// What is left: on the queue, unacknowledged by no one, none of it
	// what SIGTERM let finish.
	r.connect()
	left := map[string]bool{}
	for {
		d, ok, err := r.ch.Get(in, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		left[string(d.Body)] = true
	}
	for _, b := range stopped {
		if left[b] {
			t.Errorf("%s finished at SIGTERM but was not acknowledged", b)
		}
	}
	for { // late duplicates
		d, ok := r.get(out, 300*time.Millisecond)
		if !ok {
			break
		}
		seen[string(d.Body)]++
	}
	dups := 0
	for i := range total {
		b := fmt.Sprint("m-", i)
		switch {
		case seen[b] == 0 && !left[b]:
			t.Errorf("%s was lost", b)
		case seen[b] > 0 && left[b]:
			t.Errorf("%s was sent on and is still on the queue", b)
		}
		dups += max(0, seen[b]-1)
	}
	t.Logf("%d messages in; %d sent on, %d duplicates, %d left on the queue; killed with %v in flight, stopped with %v",
		total, len(seen), dups, len(left), killed, stopped)
	if dups > pool {
		t.Errorf("%d duplicates: more than the %d messages in flight at SIGKILL", dups, pool)
	}
}
