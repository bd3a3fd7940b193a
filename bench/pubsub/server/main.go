// Command server is the Plexus program the pub/sub benchmark runs: plexus,
// as cmd/plexus builds it, plus the benchmark's subscriber, a Go service
// that records each pushed message's end-to-end latency, and a service
// that reports (and resets) what it recorded.
package main

import (
	"os"
	"runtime/pprof"

	"github.com/plexushq/plexus"
	"github.com/plexushq/plexus/bench/pubsub/sink"
	"github.com/plexushq/plexus/sdk/service"
)

var rec sink.Recorder

// Sink is the push subscription's service.
type Sink struct{}

// Name is the service's name.
func (Sink) Name() string { return "bench.pubsub.sink" }

// Handle records the message.
func (Sink) Handle(s *service.Context) error {
	if len(s.Request.RawRequest) > 0 {
		rec.Deliver(s.Request.RawRequest)
	} else {
		rec.DeliverValue(s.Request.Payload)
	}
	return nil
}

// Stats answers what Sink recorded; {"reset": true} forgets it after.
type Stats struct{}

// Name is the service's name.
func (Stats) Name() string { return "bench.pubsub.stats" }

// Handle answers the stats.
func (Stats) Handle(s *service.Context) error {
	s.Response.Payload = rec.Stats()
	if reset, _ := s.Request.Input["reset"].(bool); reset {
		rec.Reset()
	}
	return nil
}

// main runs plexus; with PLEXUS_BENCH_CPUPROFILE set, it writes a CPU
// profile of the whole run to that file.
func main() {
	if f := os.Getenv("PLEXUS_BENCH_CPUPROFILE"); f != "" {
		out, err := os.Create(f)
		if err == nil && pprof.StartCPUProfile(out) == nil {
			code := plexus.New().Register(Sink{}, Stats{}).Run()
			pprof.StopCPUProfile()
			out.Close()
			os.Exit(code)
		}
	}
	os.Exit(plexus.New().Register(Sink{}, Stats{}).Run())
}
