package amqp_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rabbitmq/amqp091-go"

	"github.com/plexushq/plexus/internal/amqp"
	"github.com/plexushq/plexus/plexustest"
)

// relayConcurrency is how many messages both sides of BenchmarkRelay
// handle at once.
const relayConcurrency = 16

// BenchmarkRelay measures, on the same broker in the same run, an AMQP
// channel invoking a Go service that publishes each message on through an
// outgoing connection (persistent, with confirms) against a bare
// amqp091-go program doing the same consume-ack-publish-confirm loop with
// as many messages at once. Each reports msg/s: N messages are queued
// first, then timed from the first consumed to the last published.
func BenchmarkRelay(b *testing.B) {
	r := newRabbit(b)
	b.Run("plexus", func(b *testing.B) {
		in, out := r.queue(fmt.Sprint("bench-in-", time.Now().UnixNano()), nil), r.queue(fmt.Sprint("bench-out-", time.Now().UnixNano()), nil)
		s := plexustest.Start(b, plexustest.Options{Services: []any{relay{out: out}}})
		s.Put(amqp.OutgoingKind, "out", r.object(map[string]any{"pool_size": relayConcurrency}))
		fill(b, r, in, b.N)
		b.ResetTimer()
		start := time.Now()
		s.Put(amqp.ChannelKind, "in", r.object(map[string]any{"queue": in, "service": "t.relay", "data_format": "bytes",
			"pool_size": relayConcurrency, "prefetch_count": 2 * relayConcurrency}))
		waitCount(b, r, out, b.N)
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
	})
	b.Run("bare", func(b *testing.B) {
		in, out := r.queue(fmt.Sprint("bench-bare-in-", time.Now().UnixNano()), nil), r.queue(fmt.Sprint("bench-bare-out-", time.Now().UnixNano()), nil)
		fill(b, r, in, b.N)
		b.ResetTimer()
		start := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go bareRelay(ctx, b, r.url, in, out)
		waitCount(b, r, out, b.N)
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
	})
}

// bareRelay consumes in with relayConcurrency workers, each publishing
// the message to out on its own confirm channel, waiting for the
// confirm, then acknowledging.
func bareRelay(ctx context.Context, b *testing.B, url, in, out string) {
	conn, err := amqp091.Dial(url)
	if err != nil {
		b.Error(err)
		return
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	ch.Qos(2*relayConcurrency, 0, false)
	deliveries, err := ch.Consume(in, "", false, false, false, false, nil)
	if err != nil {
		b.Error(err)
		return
	}
	var wg sync.WaitGroup
	for range relayConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pub, _ := conn.Channel()
			pub.Confirm(false)
			for {
				select {
				case d := <-deliveries:
					dc, err := pub.PublishWithDeferredConfirm("", out, true, false, amqp091.Publishing{Body: d.Body, DeliveryMode: amqp091.Persistent})
					if err != nil || !dc.Wait() {
						return
					}
					d.Ack(false)
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	wg.Wait()
}

// fill queues n persistent messages.
func fill(b *testing.B, r *rabbit, queue string, n int) {
	b.Helper()
	for i := range n {
		if err := r.ch.Publish("", queue, false, false, amqp091.Publishing{Body: []byte(fmt.Sprint(i)), DeliveryMode: amqp091.Persistent}); err != nil {
			b.Fatal(err)
		}
	}
	waitCount(b, r, queue, n)
}

// waitCount waits until a queue holds n messages.
func waitCount(b *testing.B, r *rabbit, queue string, n int) {
	b.Helper()
	for deadline := time.Now().Add(5 * time.Minute); r.count(queue) < n; {
		if time.Now().After(deadline) {
			b.Fatalf("%s holds %d messages, want %d", queue, r.count(queue), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// latencyRate is the pace of BenchmarkRelayLatency, msg/s: below what
// both sides relay, so that latency is the relay's, not a queue's.
const latencyRate = 400

// BenchmarkRelayLatency measures, on the same broker in the same run, the
// time from publishing a message (confirmed) to its arrival on the far
// queue through the same two relays as BenchmarkRelay, at a steady
// latencyRate: reported as p50-ms and p99-ms.
func BenchmarkRelayLatency(b *testing.B) {
	r := newRabbit(b)
	b.Run("plexus", func(b *testing.B) {
		in, out := r.queue(fmt.Sprint("lat-in-", time.Now().UnixNano()), nil), r.queue(fmt.Sprint("lat-out-", time.Now().UnixNano()), nil)
		s := plexustest.Start(b, plexustest.Options{Services: []any{relay{out: out}}})
		s.Put(amqp.OutgoingKind, "out", r.object(map[string]any{"pool_size": relayConcurrency}))
		s.Put(amqp.ChannelKind, "in", r.object(map[string]any{"queue": in, "service": "t.relay", "data_format": "bytes",
			"pool_size": relayConcurrency, "prefetch_count": 2 * relayConcurrency}))
		s.WaitState(amqp.ChannelKind, "in", "running")
		s.WaitState(amqp.OutgoingKind, "out", "running")
		measureLatency(b, r, in, out)
	})
	b.Run("bare", func(b *testing.B) {
		in, out := r.queue(fmt.Sprint("lat-bare-in-", time.Now().UnixNano()), nil), r.queue(fmt.Sprint("lat-bare-out-", time.Now().UnixNano()), nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go bareRelay(ctx, b, r.url, in, out)
		measureLatency(b, r, in, out)
	})
}

// measureLatency publishes b.N messages to in at latencyRate, each
// holding the time it was published, and reports the percentiles of the
// time each took to reach out.
func measureLatency(b *testing.B, r *rabbit, in, out string) {
	conn, err := amqp091.Dial(r.url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	got, err := ch.Consume(out, "", true, false, false, false, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	go func() {
		tick := time.NewTicker(time.Second / latencyRate)
		defer tick.Stop()
		for range b.N {
			<-tick.C
			r.publish(in, amqp091.Publishing{Body: []byte(fmt.Sprint(time.Now().UnixNano()))})
		}
	}()
	lat := make([]time.Duration, 0, b.N)
	timeout := time.After(5 * time.Minute)
	for len(lat) < b.N {
		select {
		case d := <-got:
			var sent int64
			fmt.Sscan(string(d.Body), &sent)
			lat = append(lat, time.Duration(time.Now().UnixNano()-sent))
		case <-timeout:
			b.Fatalf("%d of %d messages arrived", len(lat), b.N)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
