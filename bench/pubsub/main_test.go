package main

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestBenchmarkShort runs the whole benchmark briefly, on every system
// whose variable is set: it builds the plexus program, measures, and
// checks that every system delivered at a rate with latencies.
func TestBenchmarkShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts real servers; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := run(ctx, options{publishers: 8, duration: 500 * time.Millisecond, systems: "plexus-sqlite,plexus-postgres,rabbitmq,nats"}, &out)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 || res[0].System != "plexus-sqlite" {
		t.Fatalf("Plexus on SQLite was not measured: %+v", res)
	}
	for _, m := range res {
		if m.MsgPerSec <= 0 || m.P99MaxMS <= 0 || m.P99HalfMS <= 0 || m.Errors != 0 {
			t.Errorf("%s: %+v", m.System, m)
		}
	}
}
