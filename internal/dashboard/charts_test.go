package dashboard

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/metrics"
)

func TestCharts(t *testing.T) {
	m := metrics.New()
	s := &sampler{m: m}
	now := time.Unix(0, 0)
	s.take(now)
	for i := range 3 {
		for range 10 * (i + 1) {
			m.Requests.WithLabelValues("channel_rest", "orders").Inc()
			m.Duration.WithLabelValues("channel_rest", "orders").Observe(0.003)
		}
		m.Errors.WithLabelValues("channel_rest", "orders", "500").Inc()
		m.Requests.WithLabelValues("channel_rest", "quiet").Inc()
		now = now.Add(SampleEvery)
		s.take(now)
	}
	if len(s.ring) != 3 || s.ring[2].Requests != 31 || s.ring[2].Errors != 1 || s.ring[2].Top["channel_rest orders"][0] != 30 {
		t.Fatalf("samples: %+v", s.ring)
	}
	charts := s.charts()
	if len(charts) != 4 || !strings.Contains(charts[2].Title, "channel_rest orders") || !strings.Contains(string(charts[0].SVG), "<path d=\"M") {
		t.Fatalf("charts: %+v", charts)
	}
	if !strings.Contains(string(charts[0].SVG), `aria-label="requests now 31, errors now 1"`) {
		t.Fatalf("text alternative: %s", charts[0].SVG)
	}
	// p50 of 3 ms observations lies in the 2.5–5 ms bucket.
	if p := string(charts[1].SVG); !strings.Contains(p, "p50 now 3.") && !strings.Contains(p, "p50 now 4") {
		t.Fatalf("latency: %s", p)
	}
	for range Samples + 5 {
		now = now.Add(SampleEvery)
		s.take(now)
	}
	if len(s.ring) != Samples {
		t.Fatalf("%d samples kept", len(s.ring))
	}
}

func TestQuantile(t *testing.T) {
	bounds := []float64{1, 2, 4}
	if q := quantile(.5, bounds, []float64{0, 10, 10}); q != 1.5 {
		t.Fatalf("p50 = %v", q)
	}
	if q := quantile(.5, bounds, []float64{0, 0, 0}); !math.IsNaN(q) {
		t.Fatalf("no observations: %v", q)
	}
}
