package amqp_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/testenv"
)

// privateBroker is a RabbitMQ node of a test's own, on free ports with
// its data in a temporary directory, which the test stops and starts
// again: the machine's shared broker is never restarted.
type privateBroker struct {
	t          testing.TB
	dir, node  string
	port, dist string
	cmd        *exec.Cmd
}

// newPrivateRabbit starts a private RabbitMQ node and connects to it. It
// needs PLEXUS_TEST_AMQP (the tests talk to RabbitMQ) and rabbitmq-server
// installed, and skips the test otherwise.
func newPrivateRabbit(t testing.TB) (*rabbit, *privateBroker) {
	t.Helper()
	testenv.Value(t, "PLEXUS_TEST_AMQP", "an AMQP URL such as amqp://guest:guest@127.0.0.1:5672/")
	if _, err := os.Stat("/usr/lib/rabbitmq/bin/rabbitmq-server"); err != nil {
		t.Skip("rabbitmq-server is not installed: this test restarts a broker of its own")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "enabled_plugins"), []byte("[].\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &privateBroker{t: t, dir: dir, node: fmt.Sprintf("plexus-test-%d-%d@localhost", os.Getpid(), time.Now().UnixNano()%1e6),
		port: port(testenv.FreeAddr(t)), dist: port(testenv.FreeAddr(t))}
	b.start()
	t.Cleanup(b.stop)
	r := &rabbit{t: t, url: "amqp://guest:guest@127.0.0.1:" + b.port + "/", id: fmt.Sprint(time.Now().UnixNano())}
	r.connect()
	t.Cleanup(func() { r.conn.Close() })
	return r, b
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// start starts the node and waits until it accepts connections.
func (b *privateBroker) start() {
	b.t.Helper()
	cmd := exec.Command("/usr/lib/rabbitmq/bin/rabbitmq-server")
	cmd.Dir = b.dir
	cmd.Env = append(os.Environ(), "HOME="+b.dir, "RABBITMQ_NODENAME="+b.node, "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+b.port, "RABBITMQ_DIST_PORT="+b.dist, "RABBITMQ_MNESIA_BASE="+filepath.Join(b.dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(b.dir, "log"), "RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(b.dir, "enabled_plugins"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(b.dir, "rabbitmq"), "RABBITMQ_ADVANCED_CONFIG_FILE="+filepath.Join(b.dir, "advanced.config"))
	out := &testenv.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("starting rabbitmq-server: %v", err)
	}
	b.cmd = cmd
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		// The port opens a moment before the broker takes logins.
		if strings.Contains(out.String(), "Starting broker... completed") {
			return
		}
	}
	b.stop()
	b.t.Fatalf("the private RabbitMQ did not start:\n%s", out)
}

// stop stops the node (SIGTERM to its process group, as an operator's
// stop does) and waits for it to exit.
func (b *privateBroker) stop() {
	if b.cmd == nil {
		return
	}
	syscall.Kill(-b.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	b.cmd = nil
}
