package mqtt_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/plexushq/plexus/internal/mqtt"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/plexustest"
)

// mosquitto is a Mosquitto broker of a test's own, on a free port, with
// persistence in a temporary directory: the test stops and starts it
// again, never the machine's shared broker.
type mosquitto struct {
	t    testing.TB
	conf string
	addr string
	cmd  *exec.Cmd
}

// newMosquitto starts a private Mosquitto. It needs PLEXUS_TEST_MQTT
// (the tests talk to Mosquitto) and mosquitto installed, and skips the
// test otherwise.
func newMosquitto(t testing.TB) *mosquitto {
	t.Helper()
	testenv.Value(t, "PLEXUS_TEST_MQTT", "an MQTT address such as tcp://127.0.0.1:1883")
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/mosquitto"); err != nil {
			t.Skip("mosquitto is not installed: this test restarts a broker of its own")
		}
		bin = "/usr/sbin/mosquitto"
	}
	dir := t.TempDir()
	addr := testenv.FreeAddr(t)
	host, port, _ := splitHostPort(addr)
	m := &mosquitto{t: t, conf: filepath.Join(dir, "mosquitto.conf"), addr: "tcp://" + addr}
	// user root: started as root, Mosquitto would otherwise become user
	// mosquitto, which cannot write its data in the test's directory.
	conf := fmt.Sprintf("listener %s %s\nallow_anonymous true\npersistence true\npersistence_location %s/\nautosave_interval 1\nmax_queued_messages 10000\nuser root\n",
		port, host, dir)
	if err := os.WriteFile(m.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	m.start(bin)
	t.Cleanup(m.stop)
	return m
}

func splitHostPort(addr string) (string, string, error) {
	u, err := url.Parse("tcp://" + addr)
	if err != nil {
		return "", "", err
	}
	return u.Hostname(), u.Port(), nil
}

func (m *mosquitto) start(bin string) {
	m.t.Helper()
	m.cmd = exec.Command(bin, "-c", m.conf)
	out := &testenv.Buffer{}
	m.cmd.Stdout, m.cmd.Stderr = out, out
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("starting mosquitto: %v", err)
	}
	u, _ := url.Parse(m.addr)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
			c.Close()
			return
		}
	}
	m.t.Fatalf("mosquitto did not start:\n%s", out)
}

// stop stops the broker with SIGTERM, which saves its persistent
// sessions and queued messages, and waits for it to exit.
func (m *mosquitto) stop() {
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	m.cmd.Wait()
	m.cmd = nil
}

// restart stops and starts the broker on the same port and data.
func (m *mosquitto) restart(between func()) {
	bin := m.cmd.Path
	m.stop()
	between()
	m.start(bin)
}

// steadyClient is a test's own MQTT client that reconnects to the broker
// by itself and keeps a persistent session: a publisher that sends each
// message until the broker acknowledged it, and a subscriber.
func steadyClient(t *testing.T, addr, id string, got chan<- *paho.Publish, filter string) *autopaho.ConnectionManager {
	t.Helper()
	u, _ := url.Parse(addr)
	u.Scheme = "mqtt"
	cfg := autopaho.ClientConfig{ServerUrls: []*url.URL{u}, KeepAlive: 5, SessionExpiryInterval: 3600,
		ConnectRetryDelay: 100 * time.Millisecond, ReconnectBackoff: func(int) time.Duration { return 100 * time.Millisecond },
		ClientConfig: paho.ClientConfig{ClientID: id}}
	if got != nil {
		cfg.OnConnectionUp = func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			go cm.Subscribe(context.Background(), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}})
		}
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			got <- pr.Packet
			return true, nil
		}}
	}
	cm, err := autopaho.NewConnection(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cm.AwaitConnection(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cm.Disconnect(context.Background()) })
	return cm
}

// A broker restarted mid-stream leaves the channel and the connection
// degraded; they reconnect and go on, and with QoS 1 and persistent
// sessions every message the test published reaches the far topic: none
// lost, duplicates only where at-least-once delivery allows them,
// counted. So with MQTT 5 and with 3.1.1.
func TestBrokerRestart(t *testing.T) {
	for _, version := range []string{mqtt.Version5, mqtt.Version311} {
		t.Run("MQTT "+version, func(t *testing.T) { brokerRestart(t, version) })
	}
}

func brokerRestart(t *testing.T, version string) {
	m := newMosquitto(t)
	id := fmt.Sprint(time.Now().UnixNano())
	in, out := "plexus-test/"+id+"/in", "plexus-test/"+id+"/out"
	got := make(chan *paho.Publish, 10000)
	steadyClient(t, m.addr, "plexus-test-sub-"+id, got, out)
	pub := steadyClient(t, m.addr, "plexus-test-pub-"+id, nil, "")

	s := plexustest.Start(t, plexustest.Options{Timeout: 60 * time.Second})
	s.Deploy("relay.star", "def handle(self):\n    self.out.mqtt[\"out\"].send(self.request.payload)\n")
	s.Put(mqtt.OutgoingKind, "out", map[string]any{"address": m.addr, "topic": out, "client_id": "plexus-test-out-" + id, "timeout": "30s",
		"protocol_version": version})
	s.Put(mqtt.ChannelKind, "in", map[string]any{"address": m.addr, "topic": in, "service": "relay", "data_format": "text",
		"client_id": "plexus-test-in-" + id, "clean_start": false, "pool_size": 4, "protocol_version": version})
	s.WaitState(mqtt.ChannelKind, "in", "running")
	s.WaitState(mqtt.OutgoingKind, "out", "running")

	const total = 300
	published := make(chan int, total)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // publishes at a steady pace, through the restart
		defer wg.Done()
		for i := range total {
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				pub.AwaitConnection(ctx)
				_, err := pub.Publish(ctx, &paho.Publish{Topic: in, QoS: 1, Payload: []byte(fmt.Sprint(i))})
				cancel()
				if err == nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			published <- i
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for len(published) < total/3 {
		time.Sleep(10 * time.Millisecond)
	}
	m.restart(func() {
		s.WaitState(mqtt.ChannelKind, "in", "degraded")
		s.WaitState(mqtt.OutgoingKind, "out", "degraded")
	})
	wg.Wait()

	seen := map[string]int{}
	for len(seen) < total {
		select {
		case p := <-got:
			seen[string(p.Payload)]++
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d messages arrived\n%s\n%s", len(seen), total, s.Log.Lines("object"), s.AdminCall("GET", "/metrics", "").Body)
		}
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	for late := true; late; { // any late duplicates
		select {
		case <-got:
			dups++
		case <-time.After(500 * time.Millisecond):
			late = false
		}
	}
	t.Logf("%d messages in, %d distinct out, %d duplicates", total, len(seen), dups)
	if dups > 3*4 { // at most the messages in flight (pool_size) at the publisher, the channel and the connection, each cut once
		t.Errorf("%d duplicates: more than at-least-once delivery explains", dups)
	}
}
