package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plexushq/plexus/bench/pubsub/sink"
)

// system is one system measured: durable publish, delivery to a
// subscriber that records each message's latency.
type system interface {
	// publish returns once the system confirmed the message durable.
	publish(ctx context.Context, body []byte) error
	// stats and reset read and forget what the subscriber recorded.
	stats(ctx context.Context) (sink.Stats, error)
	reset(ctx context.Context) error
	close()
}

// Measurement is what one system achieved.
type Measurement struct {
	System string `json:"system"`
	// MsgPerSec is the rate of messages published and delivered with
	// -publishers publishing at once, each waiting for its confirmation.
	MsgPerSec float64 `json:"msg_per_s"`
	// P99MaxMS is the end-to-end p99 latency at that rate.
	P99MaxMS float64 `json:"p99_max_ms"`
	// HalfRate is half of MsgPerSec, and P50HalfMS and P99HalfMS the
	// latencies with messages published at that rate.
	HalfRate  float64 `json:"half_rate_msg_per_s"`
	P50HalfMS float64 `json:"p50_half_ms"`
	P99HalfMS float64 `json:"p99_half_ms"`
	// Errors counts publishes that failed.
	Errors int64 `json:"errors"`
}

// measure finds a system's maximum rate, then its latency at half of it.
func measure(ctx context.Context, name string, s system, o options) (Measurement, error) {
	m := Measurement{System: name}
	// Warm up: a few messages through, then forget them.
	if n, _, err := closedLoop(ctx, s, o.publishers, o.duration/10); err != nil {
		return m, err
	} else if err := waitDelivered(ctx, s, n); err != nil {
		return m, fmt.Errorf("warm-up: %w", err)
	}
	if err := s.reset(ctx); err != nil {
		return m, err
	}
	start := time.Now()
	n, errs, err := closedLoop(ctx, s, o.publishers, o.duration)
	if err != nil {
		return m, err
	}
	if err := waitDelivered(ctx, s, n); err != nil {
		return m, err
	}
	st, err := s.stats(ctx)
	if err != nil {
		return m, err
	}
	m.Errors = errs
	m.MsgPerSec = float64(n) / time.Unix(0, st.LastUnixNano).Sub(start).Seconds()
	m.P99MaxMS = st.P99MS
	if err := s.reset(ctx); err != nil {
		return m, err
	}
	m.HalfRate = m.MsgPerSec / 2
	n, errs, err = paced(ctx, s, m.HalfRate, o.publishers*8, o.duration)
	if err != nil {
		return m, err
	}
	if err := waitDelivered(ctx, s, n); err != nil {
		return m, err
	}
	if st, err = s.stats(ctx); err != nil {
		return m, err
	}
	m.Errors += errs
	m.P50HalfMS, m.P99HalfMS = st.P50MS, st.P99MS
	return m, s.reset(ctx)
}

// closedLoop publishes from conc goroutines, each publishing its next
// message when the previous one is confirmed, for d, and returns how
// many were confirmed and how many failed.
func closedLoop(ctx context.Context, s system, conc int, d time.Duration) (int64, int64, error) {
	var ok, failed atomic.Int64
	var first atomic.Pointer[error]
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if err := s.publish(ctx, sink.Message(time.Now())); err != nil {
					failed.Add(1)
					first.CompareAndSwap(nil, &err)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	return ok.Load(), failed.Load(), tooManyErrors(ok.Load(), failed.Load(), first.Load())
}

// paced publishes rate messages a second for d, each at its own time,
// with at most conc publishes waiting for confirmation at once.
func paced(ctx context.Context, s system, rate float64, conc int, d time.Duration) (int64, int64, error) {
	var ok, failed atomic.Int64
	var first atomic.Pointer[error]
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	start := time.Now()
	total := int64(rate * d.Seconds())
	for i := int64(0); i < total && ctx.Err() == nil; i++ {
		if wait := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); wait > 0 {
			time.Sleep(wait)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.publish(ctx, sink.Message(time.Now())); err != nil {
				failed.Add(1)
				first.CompareAndSwap(nil, &err)
				return
			}
			ok.Add(1)
		}()
	}
	wg.Wait()
	return ok.Load(), failed.Load(), tooManyErrors(ok.Load(), failed.Load(), first.Load())
}

// tooManyErrors fails a phase where more than 1% of the publishes failed.
func tooManyErrors(ok, failed int64, first *error) error {
	if first != nil && failed*100 > ok+failed {
		return fmt.Errorf("%d of %d publishes failed, the first with: %w", failed, ok+failed, *first)
	}
	return nil
}

// waitDelivered waits until the subscriber has recorded n messages.
func waitDelivered(ctx context.Context, s system, n int64) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := s.stats(ctx)
		if err != nil {
			return err
		}
		if st.Delivered >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d published messages delivered after 2 minutes", st.Delivered, n)
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), fmt.Errorf("%d of %d delivered", st.Delivered, n))
		case <-time.After(20 * time.Millisecond):
		}
	}
}
