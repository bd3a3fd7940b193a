package nats_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/plexushq/plexus/internal/testenv"
)

// server is a test's own view of a NATS server: a connection, and
// subjects and a stream of the test's own, deleted when the test ends.
type server struct {
	t   testing.TB
	url string
	nc  *natsio.Conn
	js  jetstream.JetStream
	id  string
}

// newServer connects to PLEXUS_TEST_NATS or skips the test.
func newServer(t testing.TB) *server {
	t.Helper()
	return connect(t, testenv.Value(t, "PLEXUS_TEST_NATS", "a NATS URL such as nats://127.0.0.1:4222, with JetStream"))
}

// connect connects to a NATS server; the connection reconnects forever.
func connect(t testing.TB, url string) *server {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	s := &server{t: t, url: url, id: hex.EncodeToString(b[:])}
	var err error
	if s.nc, err = natsio.Connect(url, natsio.MaxReconnects(-1), natsio.ReconnectWait(50*time.Millisecond)); err != nil {
		t.Fatalf("connecting to NATS: %v", err)
	}
	t.Cleanup(s.nc.Close)
	if s.js, err = jetstream.New(s.nc); err != nil {
		t.Fatal(err)
	}
	return s
}

// subject returns a subject of the test's own.
func (s *server) subject(what string) string { return "plexus-test." + s.id + "." + what }

// coreSubject returns a subject of the test's own that no stream takes.
func (s *server) coreSubject(what string) string { return "plexus-test-core." + s.id + "." + what }

// stream creates a stream of the test's own holding every subject of the
// test, deleted at the end, and returns its name.
func (s *server) stream() string {
	s.t.Helper()
	name := "PLEXUS_TEST_" + s.id
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{s.subject(">")}, Storage: jetstream.FileStorage}); err != nil {
		s.t.Fatalf("creating stream %s: %v", name, err)
	}
	s.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.js.DeleteStream(ctx, name)
	})
	return name
}

// object returns an object's fields with the server's address.
func (s *server) object(fields map[string]any) map[string]any {
	obj := map[string]any{"address": s.url}
	for k, v := range fields {
		obj[k] = v
	}
	return obj
}

// publish publishes a message to JetStream and waits for its
// acknowledgement, trying again while the server is away.
func (s *server) publish(subject string, data []byte, h natsio.Header) {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := s.js.PublishMsg(ctx, &natsio.Msg{Subject: subject, Data: data, Header: h})
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Errorf("publishing to %s: %v", subject, err)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// collector gathers the messages published on a subject.
type collector struct {
	sub  *natsio.Subscription
	msgs chan *natsio.Msg
}

// collect subscribes to a subject on core NATS.
func (s *server) collect(subject string) *collector {
	s.t.Helper()
	c := &collector{msgs: make(chan *natsio.Msg, 100000)}
	var err error
	if c.sub, err = s.nc.ChanSubscribe(subject, c.msgs); err != nil {
		s.t.Fatal(err)
	}
	s.nc.Flush()
	return c
}

// must waits for a message, failing the test without one.
func (c *collector) must(t testing.TB) *natsio.Msg {
	t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(20 * time.Second):
		t.Fatalf("no message arrived on %s", c.sub.Subject)
	}
	return nil
}

// storedBodies reads every message a stream holds on a subject.
func (s *server) storedBodies(stream, subject string) []string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cons, err := s.js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		s.t.Fatal(err)
	}
	info, err := s.js.Stream(ctx, stream)
	if err != nil {
		s.t.Fatal(err)
	}
	si, _ := info.Info(ctx, jetstream.WithSubjectFilter(subject))
	want := si.State.Subjects[subject]
	var out []string
	for uint64(len(out)) < want {
		b, err := cons.Fetch(int(want)-len(out), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			s.t.Fatal(err)
		}
		for m := range b.Messages() {
			out = append(out, string(m.Data()))
		}
		if b.Error() != nil {
			s.t.Fatal(b.Error())
		}
	}
	return out
}

// private is a nats-server of a test's own, with JetStream, which the
// test may stop and start again on the same port and store.
type private struct {
	t    testing.TB
	bin  string
	port int
	http int // the monitoring port
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
}

// startPrivate starts a private nats-server, or skips the test when there
// is no nats-server binary (PLEXUS_TEST_NATS_SERVER, else on PATH or
// /usr/sbin).
func startPrivate(t testing.TB) *private {
	t.Helper()
	testenv.Value(t, "PLEXUS_TEST_NATS", "a NATS URL; the test also starts a nats-server of its own")
	bin := os.Getenv("PLEXUS_TEST_NATS_SERVER")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("nats-server"); err != nil {
			bin = "/usr/sbin/nats-server"
		}
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no nats-server binary (%s): this test restarts a server of its own", bin)
	}
	addr := testenv.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	p := &private{t: t, bin: bin, dir: t.TempDir()}
	fmt.Sscan(port, &p.port)
	_, port, _ = net.SplitHostPort(testenv.FreeAddr(t))
	fmt.Sscan(port, &p.http)
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *private) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", p.port) }

func (p *private) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(p.bin, "-a", "127.0.0.1", "-p", fmt.Sprint(p.port), "-m", fmt.Sprint(p.http), "-js", "-sd", filepath.Join(p.dir, "store"))
	var out testenv.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("starting nats-server: %v", err)
	}
	p.cmd = cmd
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p.port)); err == nil {
			c.Close()
			if strings.Contains(out.String(), "Server is ready") {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("nats-server did not start:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// connections returns the names of the clients connected to the server
// whose names start with prefix, as its monitoring endpoint lists them.
func (p *private) connections(prefix string) []string {
	p.t.Helper()
	res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/connz?limit=1000", p.http))
	if err != nil {
		p.t.Fatalf("listing connections: %v", err)
	}
	defer res.Body.Close()
	var connz struct {
		Connections []struct {
			Name string `json:"name"`
		} `json:"connections"`
	}
	if err := json.NewDecoder(res.Body).Decode(&connz); err != nil {
		p.t.Fatalf("listing connections: %v", err)
	}
	var names []string
	for _, c := range connz.Connections {
		if strings.HasPrefix(c.Name, prefix) {
			names = append(names, c.Name)
		}
	}
	slices.Sort(names)
	return names
}

// stop stops the server, as a shutdown of its host would (SIGTERM), and
// waits for it to exit.
func (p *private) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	p.cmd = nil
}
