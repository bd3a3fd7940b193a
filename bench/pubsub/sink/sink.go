// Package sink is what every subscriber of the pub/sub benchmark does with
// a delivered message: it reads the publish time the message carries and
// records the end-to-end latency.
package sink

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Size is the size of every benchmark message, in bytes.
const Size = 1024

// MaxSamples bounds the latencies a Recorder keeps: later deliveries are
// counted but their latency is not kept.
const MaxSamples = 1 << 21

// Message returns the benchmark's 1 KB JSON message: {"t": NANOS, "pad": "…"},
// t being the Unix time in nanoseconds when it is published.
func Message(now time.Time) []byte {
	head := `{"t":` + strconv.FormatInt(now.UnixNano(), 10) + `,"pad":"`
	return []byte(head + strings.Repeat("x", Size-len(head)-2) + `"}`)
}

// Stats is what a Recorder measured since its last reset.
type Stats struct {
	Delivered int64   `json:"delivered"`
	Bad       int64   `json:"bad"`
	P50MS     float64 `json:"p50_ms"`
	P99MS     float64 `json:"p99_ms"`
	MaxMS     float64 `json:"max_ms"`
	// LastUnixNano is when the last message arrived.
	LastUnixNano int64 `json:"last_unix_nano"`
}

// Recorder counts deliveries and keeps their latencies.
type Recorder struct {
	mu        sync.Mutex
	delivered int64
	bad       int64
	last      int64
	lat       []time.Duration
}

// Deliver records one delivered message: its raw body, the benchmark's
// JSON message or a JSON object carrying it under "data".
func (r *Recorder) Deliver(body []byte) {
	now := time.Now()
	t, ok := publishTime(body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delivered++
	r.last = now.UnixNano()
	if !ok {
		r.bad++
		return
	}
	if len(r.lat) < MaxSamples {
		r.lat = append(r.lat, now.Sub(time.Unix(0, t)))
	}
}

// DeliverValue records a message already decoded from JSON.
func (r *Recorder) DeliverValue(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = nil
	}
	r.Deliver(b)
}

// publishTime finds "t" in the message, at its top or under "data".
func publishTime(body []byte) (int64, bool) {
	var m struct {
		T    *int64          `json:"t"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return 0, false
	}
	if m.T != nil {
		return *m.T, true
	}
	if len(m.Data) > 0 && m.Data[0] == '"' {
		var s string
		if json.Unmarshal(m.Data, &s) == nil {
			return publishTime([]byte(s))
		}
	}
	if len(m.Data) > 0 {
		return publishTime(m.Data)
	}
	return 0, false
}

// Stats returns what was recorded since the last Reset.
func (r *Recorder) Stats() Stats {
	r.mu.Lock()
	lat := slices.Clone(r.lat)
	s := Stats{Delivered: r.delivered, Bad: r.bad, LastUnixNano: r.last}
	r.mu.Unlock()
	if len(lat) > 0 {
		slices.Sort(lat)
		s.P50MS, s.P99MS, s.MaxMS = ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), ms(lat[len(lat)-1])
	}
	return s
}

// Reset forgets everything recorded.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.delivered, r.bad, r.last, r.lat = 0, 0, 0, r.lat[:0]
	r.mu.Unlock()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// String formats the stats for a terminal.
func (s Stats) String() string {
	return fmt.Sprintf("%d delivered, p50 %.1f ms, p99 %.1f ms, max %.1f ms", s.Delivered, s.P50MS, s.P99MS, s.MaxMS)
}
