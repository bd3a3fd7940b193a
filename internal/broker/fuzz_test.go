package broker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/testhook"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// echo answers the payload it decoded.
type echo struct{}

func (echo) Name() string { return "t.echo" }

func (echo) Handle(c *service.Context) error {
	c.Response.Payload = c.Request.Payload
	return nil
}

var formats = []string{"json", "text", "bytes"}

// Any message, in any data format, with any headers, goes through the
// pipeline without failing the server: bytes always reach the service,
// text whenever it is UTF-8, JSON whenever it is valid (an empty payload is no payload, as an
// empty HTTP body is); anything else is
// given up (a 4xx), never retried as if the server had failed, and every
// message has a cid.
func FuzzServe(f *testing.F) {
	s := plexustest.Start(f, plexustest.Options{Services: []any{echo{}}})
	pipe := testhook.Server(s).Pipeline
	for _, seed := range []struct {
		payload string
		format  uint8
		header  string
	}{
		{`{"order": 42}`, 0, ""}, {`{"order": `, 0, "Basic Zm9vOmJhcg=="}, {"plain", 1, "Bearer x"}, {"\xff\xfe", 1, ""},
		{"\x00\x01", 2, "0123456789abcdef01234567"}, {`[1, 2, {"a": null}]`, 0, "X"}, {"", 0, ""}, {`"\ud800"`, 0, ""},
	} {
		f.Add([]byte(seed.payload), seed.format, seed.header)
	}
	f.Fuzz(func(t *testing.T, payload []byte, format uint8, header string) {
		df := formats[int(format)%len(formats)]
		ch := broker.Channel(service.ChannelAMQP, "fuzz", "t.echo", df, "", nil)
		res := broker.Serve(context.Background(), pipe, "channel_amqp", ch, &broker.Delivery{Payload: payload,
			Headers: map[string]any{"Authorization": header, "X-Plexus-CID": header, "x-list": []any{header, 1}}, CID: header})
		if !cid.Valid(res.CID) {
			t.Errorf("cid %q", res.CID)
		}
		if res.Outcome == broker.Retry {
			t.Fatalf("%s %q: retried (%d %s)", df, payload, res.Status, res.Body)
		}
		switch {
		case df == "bytes" && res.Outcome != broker.Ack:
			t.Errorf("bytes %q: %d %s", payload, res.Status, res.Body)
		case df == "json" && len(bytes.TrimSpace(payload)) > 0 && !json.Valid(payload) && res.Outcome == broker.Ack:
			t.Errorf("malformed JSON %q acknowledged", payload)
		case res.Outcome == broker.Reject && res.Details == "":
			t.Errorf("%s %q: given up with no reason", df, payload)
		}
	})
}
