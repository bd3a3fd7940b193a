//go:build unix

package nats_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/plexushq/plexus/internal/nats"
	"github.com/plexushq/plexus/plexustest"
)

// Both sides of BenchmarkRelay handle relayConcurrency messages at once,
// with twice as many unacknowledged; the load keeps relayOutstanding
// messages between publishing and arriving.
const (
	relayConcurrency = 16
	relayOutstanding = 64
)

// BenchmarkRelay measures, on the same NATS server in the same run, a
// JetStream channel invoking a Go service that publishes each message on
// to JetStream through an outgoing connection (waiting for the stream's
// acknowledgement) against a bare nats.go program doing the same
// consume → publish → wait for the acknowledgement → ack loop with as
// many messages at once. Each iteration relays b.N messages through
// Plexus, then b.N through the bare program, under the same closed-loop
// load, so that a noisy machine slows both alike; it reports each one's
// msg/s and p99 (from a message's publishing to its relayed copy's
// arrival) and the ratio of the msg/s.
func BenchmarkRelay(b *testing.B) {
	n := newServer(b)
	stream := n.stream()
	id := time.Now().UnixNano()
	in, out := n.subject(fmt.Sprint("plexus-in-", id)), n.subject(fmt.Sprint("plexus-out-", id))
	s := plexustest.Start(b, plexustest.Options{Services: []any{relay{out: out}}})
	s.Put(nats.OutgoingKind, "out", n.object(map[string]any{"jetstream": true, "pool_size": relayConcurrency}))
	s.Put(nats.ChannelKind, "in", n.object(map[string]any{"subject": in, "stream": stream, "durable": fmt.Sprint("bench-", id),
		"service": "t.relay", "data_format": "bytes", "pool_size": relayConcurrency, "max_ack_pending": 2 * relayConcurrency}))
	s.WaitState(nats.ChannelKind, "in", "running")
	s.WaitState(nats.OutgoingKind, "out", "running")
	bareIn, bareOut := n.subject(fmt.Sprint("bare-in-", id)), n.subject(fmt.Sprint("bare-out-", id))
	ctx, cancel := context.WithCancel(context.Background())
	done := bareRelay(ctx, b, n, stream, bareIn, bareOut)
	defer func() { cancel(); <-done }()

	b.ResetTimer()
	cpu := cpuTime()
	plexusRate, plexusP99 := load(b, n, in, out)
	plexusCPU := cpuTime() - cpu
	cpu = cpuTime()
	bareRate, bareP99 := load(b, n, bareIn, bareOut)
	bareCPU := cpuTime() - cpu
	b.StopTimer()
	// The process's CPU time per message, the load's own included
	// (the same on both sides): steadier than msg/s on a busy machine.
	b.ReportMetric(float64(plexusCPU.Microseconds())/float64(b.N), "plexus-cpu-us/msg")
	b.ReportMetric(float64(bareCPU.Microseconds())/float64(b.N), "bare-cpu-us/msg")
	b.ReportMetric(plexusRate, "plexus-msg/s")
	b.ReportMetric(bareRate, "bare-msg/s")
	b.ReportMetric(plexusP99, "plexus-p99-ms")
	b.ReportMetric(bareP99, "bare-p99-ms")
	b.ReportMetric(plexusRate/bareRate, "ratio")
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// load publishes b.N messages to in, keeping relayOutstanding of them
// not yet relayed to out, and returns msg/s and the p99 latency in ms.
func load(b *testing.B, n *server, in, out string) (rate, p99 float64) {
	sentAt := make([]time.Time, b.N)
	lat := make([]time.Duration, 0, b.N)
	slots := make(chan struct{}, relayOutstanding)
	arrived := make(chan struct{})
	var mu sync.Mutex
	seen := make([]bool, b.N)
	sub, err := n.nc.Subscribe(out, func(m *natsio.Msg) {
		if len(m.Data) != 8 {
			return
		}
		i := binary.BigEndian.Uint64(m.Data)
		mu.Lock()
		defer mu.Unlock()
		if i >= uint64(b.N) || seen[i] {
			return // a duplicate
		}
		seen[i] = true
		lat = append(lat, time.Since(sentAt[i]))
		<-slots
		if len(lat) == b.N {
			close(arrived)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Unsubscribe()
	sub.SetPendingLimits(-1, -1)
	n.nc.Flush()
	start := time.Now()
	for i := range b.N {
		slots <- struct{}{}
		var data [8]byte
		binary.BigEndian.PutUint64(data[:], uint64(i))
		mu.Lock()
		sentAt[i] = time.Now()
		mu.Unlock()
		if _, err := n.js.PublishAsync(in, data[:]); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-arrived:
	case <-time.After(5 * time.Minute):
		mu.Lock()
		b.Fatalf("%d of %d messages relayed", len(lat), b.N)
	}
	elapsed := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	return float64(b.N) / elapsed.Seconds(), float64(lat[len(lat)*99/100].Microseconds()) / 1000
}

// bareRelay consumes in through a durable consumer with relayConcurrency
// workers, each publishing the message to out on JetStream, waiting for
// the acknowledgement, then acknowledging the message.
func bareRelay(ctx context.Context, b *testing.B, n *server, stream, in, out string) <-chan struct{} {
	done := make(chan struct{})
	nc, err := natsio.Connect(n.url)
	if err != nil {
		b.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: fmt.Sprint("bare-", time.Now().UnixNano()),
		FilterSubject: in, AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 2 * relayConcurrency})
	if err != nil {
		b.Fatal(err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(2 * relayConcurrency))
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	for range relayConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, err := it.Next()
				if err != nil {
					return
				}
				if _, err := js.Publish(ctx, out, m.Data()); err != nil {
					return
				}
				m.Ack()
			}
		}()
	}
	go func() {
		<-ctx.Done()
		it.Stop()
		wg.Wait()
		nc.Close()
		close(done)
	}()
	return done
}
