package dispatch_test

import (
	"context"
	"io"
	"testing"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/logging"
	"github.com/plexushq/plexus/sdk/service"
)

// BenchmarkBrokerMessage runs a message from a broker's channel through
// the pipeline, as a NATS JetStream channel hands one over (headers,
// details, the payload as bytes), to a Go service that does nothing:
// the platform's own cost per message, the access log and the metrics
// included.
func BenchmarkBrokerMessage(b *testing.B) {
	r := newRig(b, nil, nil)
	settings := config.Default()
	p := dispatch.New(dispatch.Options{Runtime: r.rt, Invoker: r.inv, Settings: settings, Metrics: r.m,
		Access: logging.NewAccess(io.Discard, settings.Log)})
	ch := broker.Channel("nats", "in", "t.last", dispatch.FormatBytes, "", nil)
	payload := []byte(`{"order": 42}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		d := &broker.Delivery{Payload: payload, Headers: map[string]any{"Nats-Msg-Id": "m-1", "Trace": "x"},
			Message: service.Message{ID: "1", Topic: "orders.new", DeliveryCount: 1, Details: map[string]any{
				"subject": "orders.new", "stream": "ORDERS", "consumer": "relay", "stream_sequence": int64(1)}}}
		if res := broker.Serve(ctx, p, "nats", ch, d); res.Outcome != broker.Ack {
			b.Fatal(res)
		}
	}
}
