package dispatch

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/registry"
)

// seriesKey names the metric series of one channel.
type seriesKey struct{ kind, name string }

// observe records a served request in its channel's metrics, which are
// looked up on first use rather than for every channel at each change.
func (p *Pipeline) observe(x *Exchange, elapsed time.Duration) {
	m := p.Metrics
	if m == nil {
		return
	}
	ch := x.Channel
	ch.once.Do(func() {
		name := ch.Name
		if ch.KindSeries {
			name = ""
		} else {
			p.track(x.Kind, name)
		}
		ch.requests = m.Requests.WithLabelValues(x.Kind, name)
		ch.duration = m.Duration.WithLabelValues(x.Kind, name)
		ch.errors = m.Errors.MustCurryWith(prometheus.Labels{"kind": x.Kind, "channel": name})
	})
	ch.requests.Inc()
	ch.duration.Observe(elapsed.Seconds())
	if x.Reply.Status >= 400 {
		ch.errors.WithLabelValues(strconv.Itoa(x.Reply.Status)).Inc()
	}
}

// track notes that a channel that is a configuration object has series,
// to delete them with it.
func (p *Pipeline) track(kind, name string) {
	if _, ok := registry.Lookup(kind); !ok {
		return // not configuration (the admin API): never deleted
	}
	p.mu.Lock()
	p.series[seriesKey{kind, name}] = true
	p.mu.Unlock()
}

// forget deletes the series of the channels a change deleted (or
// renamed), so /metrics shows only channels that exist. A request still
// in flight on a deleted channel may bring its series back; the next
// change deletes them again.
func (p *Pipeline) forget(_, st *live.State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range p.series {
		if _, ok := st.Object(k.kind, k.name); ok {
			continue
		}
		delete(p.series, k)
		labels := prometheus.Labels{"kind": k.kind, "channel": k.name}
		p.Metrics.Requests.Delete(labels)
		p.Metrics.Duration.Delete(labels)
		p.Metrics.Errors.DeletePartialMatch(labels)
	}
}
