package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/plexushq/plexus/internal/metrics"
)

// Limits of the overview's charts.
const (
	// SampleEvery is how often the channel metrics are sampled.
	SampleEvery = 10 * time.Second
	// Samples is how many samples the charts show: 5 minutes.
	Samples = 30
	// TopChannels is how many channels get a chart of their own: those
	// with the most requests in a sample.
	TopChannels = 8
)

// sample is the activity of one SampleEvery.
type sample struct {
	At time.Time
	// Requests, Errors and the latency buckets of every channel together.
	Requests, Errors float64
	Buckets          []float64
	// Top are the busiest channels' requests and errors.
	Top map[string][2]float64
}

// totals are the counters of one channel at an instant.
type totals struct {
	requests, errors float64
	buckets          []float64 // cumulative counts, one per bound
}

// sampler keeps the last Samples samples of the channel metrics; it is
// safe for concurrent use.
type sampler struct {
	m      *metrics.Metrics
	mu     sync.Mutex
	last   map[string]totals
	bounds []float64
	ring   []sample
}

// read returns the counters of every channel now.
func (s *sampler) read() (map[string]totals, []float64) {
	out := map[string]totals{}
	var bounds []float64
	each := func(c prometheus.Collector, fn func(key string, m *dto.Metric)) {
		ch := make(chan prometheus.Metric, 256)
		go func() { c.Collect(ch); close(ch) }()
		for pm := range ch {
			var m dto.Metric
			if pm.Write(&m) != nil {
				continue
			}
			var kind, channel string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "kind":
					kind = l.GetValue()
				case "channel":
					channel = l.GetValue()
				}
			}
			fn(kind+" "+channel, &m)
		}
	}
	each(s.m.Requests, func(key string, m *dto.Metric) {
		t := out[key]
		t.requests += m.GetCounter().GetValue()
		out[key] = t
	})
	each(s.m.Errors, func(key string, m *dto.Metric) {
		t := out[key]
		t.errors += m.GetCounter().GetValue()
		out[key] = t
	})
	each(s.m.Duration, func(key string, m *dto.Metric) {
		t := out[key]
		bs := m.GetHistogram().GetBucket()
		if bounds == nil {
			for _, b := range bs {
				bounds = append(bounds, b.GetUpperBound())
			}
		}
		if len(t.buckets) != len(bs) {
			t.buckets = make([]float64, len(bs))
		}
		for i, b := range bs {
			t.buckets[i] += float64(b.GetCumulativeCount())
		}
		out[key] = t
	})
	return out, bounds
}

// take adds a sample: what every channel did since the previous one.
func (s *sampler) take(now time.Time) {
	cur, bounds := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.last, s.bounds = cur, bounds
		return
	}
	smp := sample{At: now, Buckets: make([]float64, len(bounds)), Top: map[string][2]float64{}}
	type busy struct {
		key      string
		req, err float64
	}
	var active []busy
	for key, t := range cur {
		prev := s.last[key]
		req, errs := t.requests-prev.requests, t.errors-prev.errors
		if req < 0 { // the channel was deleted and made again
			req, errs, prev = t.requests, t.errors, totals{}
		}
		smp.Requests += req
		smp.Errors += max(errs, 0)
		for i := range smp.Buckets {
			if i < len(t.buckets) {
				p := 0.0
				if i < len(prev.buckets) {
					p = prev.buckets[i]
				}
				smp.Buckets[i] += t.buckets[i] - p
			}
		}
		if req > 0 {
			active = append(active, busy{key, req, max(errs, 0)})
		}
	}
	slices.SortFunc(active, func(a, b busy) int { return cmp.Or(cmp.Compare(b.req, a.req), strings.Compare(a.key, b.key)) })
	for _, a := range active[:min(len(active), TopChannels)] {
		smp.Top[a.key] = [2]float64{a.req, a.err}
	}
	s.last, s.bounds = cur, bounds
	s.ring = append(s.ring, smp)
	if len(s.ring) > Samples {
		s.ring = slices.Delete(s.ring, 0, len(s.ring)-Samples)
	}
}

// run samples every SampleEvery until ctx is done.
func (s *sampler) run(ctx context.Context) {
	s.take(time.Now())
	t := time.NewTicker(SampleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.take(now)
		}
	}
}

// quantile estimates a quantile from cumulative bucket counts, as
// Prometheus's histogram_quantile does (linear within a bucket).
func quantile(q float64, bounds, counts []float64) float64 {
	if len(counts) == 0 || counts[len(counts)-1] == 0 {
		return math.NaN()
	}
	rank := q * counts[len(counts)-1]
	lower, below := 0.0, 0.0
	for i, c := range counts {
		if c >= rank {
			if c == below {
				return bounds[i]
			}
			return lower + (bounds[i]-lower)*(rank-below)/(c-below)
		}
		lower, below = bounds[i], c
	}
	return bounds[len(bounds)-1]
}

// chart is one small chart of the overview.
type chart struct {
	Title string
	SVG   template.HTML
}

// charts draws the overview's charts from the samples: requests and
// errors, latency percentiles, and the busiest channels.
func (s *sampler) charts() []chart {
	s.mu.Lock()
	ring := slices.Clone(s.ring)
	bounds := s.bounds
	s.mu.Unlock()
	req, errs, p50, p95 := make([]float64, len(ring)), make([]float64, len(ring)), make([]float64, len(ring)), make([]float64, len(ring))
	perChannel := map[string][]float64{}
	for i, smp := range ring {
		req[i], errs[i] = smp.Requests, smp.Errors
		p50[i] = quantile(.5, bounds, smp.Buckets) * 1000
		p95[i] = quantile(.95, bounds, smp.Buckets) * 1000
		for key, v := range smp.Top {
			if perChannel[key] == nil {
				perChannel[key] = make([]float64, len(ring))
			}
			perChannel[key][i] = v[0]
		}
	}
	per := fmt.Sprintf("per %s, last %s", SampleEvery, SampleEvery*Samples)
	out := []chart{
		{Title: "Requests and errors " + per, SVG: svgLines([]series{{"requests", "line-a", req}, {"errors", "line-b", errs}}, "")},
		{Title: "Latency p50 and p95 (ms)", SVG: svgLines([]series{{"p50", "line-a", p50}, {"p95", "line-b", p95}}, "ms")},
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range perChannel {
			if !yield(k) {
				return
			}
		}
	})
	slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(sum(perChannel[b]), sum(perChannel[a])) })
	for _, k := range keys[:min(len(keys), TopChannels)] {
		out = append(out, chart{Title: "Requests of " + k, SVG: svgLines([]series{{"requests", "line-a", perChannel[k]}}, "")})
	}
	return out
}

func sum(xs []float64) float64 {
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t
}

// series is one line of a chart.
type series struct {
	// Class is the line's CSS class: line-a or line-b.
	Name, Class string
	Values      []float64
}

// svgLines draws lines as a small SVG, scaled to the largest value, with
// a text alternative for screen readers. NaN values (no requests) are
// gaps.
func svgLines(ss []series, unit string) template.HTML {
	const w, h, pad = 300.0, 100.0, 4.0
	top := 0.0
	n := 0
	for _, s := range ss {
		n = max(n, len(s.Values))
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				top = max(top, v)
			}
		}
	}
	var b strings.Builder
	var desc []string
	for _, s := range ss {
		last := math.NaN()
		if len(s.Values) > 0 {
			last = s.Values[len(s.Values)-1]
		}
		desc = append(desc, fmt.Sprintf("%s now %s%s", s.Name, num(last), unit))
	}
	fmt.Fprintf(&b, `<svg viewBox="0 0 %g %g" role="img" aria-label="%s" preserveAspectRatio="none">`, w, h+14, template.HTMLEscapeString(strings.Join(desc, ", ")))
	fmt.Fprintf(&b, `<line x1="0" y1="%g" x2="%g" y2="%g" stroke="currentColor" stroke-opacity=".3"/>`, h, w, h)
	if n < 2 || top == 0 {
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" fill="currentColor">no requests yet</text>`, pad, h/2)
	} else {
		for _, s := range ss {
			var d strings.Builder
			pen := false
			for i, v := range s.Values {
				if math.IsNaN(v) {
					pen = false
					continue
				}
				x := pad + (w-2*pad)*float64(i)/float64(n-1)
				y := h - pad - (h-2*pad)*v/top
				if pen {
					fmt.Fprintf(&d, " L%.1f %.1f", x, y)
				} else {
					fmt.Fprintf(&d, " M%.1f %.1f", x, y)
					pen = true
				}
			}
			fmt.Fprintf(&b, `<path d="%s" class="%s" fill="none" stroke-width="2"/>`, strings.TrimSpace(d.String()), s.Class)
		}
		fmt.Fprintf(&b, `<text x="%g" y="10" font-size="10" fill="currentColor">max %s%s</text>`, pad, num(top), unit)
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" fill="currentColor">%s</text></svg>`, pad, h+12, template.HTMLEscapeString(strings.Join(desc, " · ")))
	return template.HTML(b.String())
}

// num formats a value for a chart.
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
