package sink

import (
	"encoding/json"
	"testing"
	"time"
)

func TestMessageAndRecorder(t *testing.T) {
	now := time.Now()
	m := Message(now)
	if len(m) != Size || !json.Valid(m) {
		t.Fatalf("message of %d bytes, valid JSON %v", len(m), json.Valid(m))
	}
	var r Recorder
	r.Deliver(m)
	r.Deliver([]byte(`{"data":` + string(m) + `}`))
	r.Deliver([]byte(`{"data":` + string(mustJSON(string(m))) + `}`))
	r.DeliverValue(map[string]any{"data": json.RawMessage(m)})
	r.Deliver([]byte(`not json`))
	s := r.Stats()
	if s.Delivered != 5 || s.Bad != 1 || s.P99MS <= 0 || s.LastUnixNano < now.UnixNano() {
		t.Fatalf("stats: %+v", s)
	}
	r.Reset()
	if s := r.Stats(); s.Delivered != 0 || s.P99MS != 0 {
		t.Fatalf("after reset: %+v", s)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// FuzzDeliver feeds the recorder any body: it never panics, and counts it.
func FuzzDeliver(f *testing.F) {
	f.Add(Message(time.Now()))
	f.Add([]byte(`{"data": "{\"t\": 1}"}`))
	f.Add([]byte(`{"t": "x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var r Recorder
		r.Deliver(body)
		if r.Stats().Delivered != 1 {
			t.Fatal("not counted")
		}
	})
}
