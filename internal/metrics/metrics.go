// Package metrics holds a server's Prometheus collectors. Each server has
// its own registry, so tests can run many servers in one process.
package metrics

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are a server's collectors. It is safe for concurrent use.
type Metrics struct {
	Registry *prometheus.Registry

	// Requests counts requests served by each channel, labelled by the
	// channel's kind and name.
	Requests *prometheus.CounterVec
	// Errors counts replies with a status of 400 or more, per channel and
	// status.
	Errors *prometheus.CounterVec
	// Duration is the time each channel takes to answer.
	Duration *prometheus.HistogramVec

	// OutRequests counts requests sent through each outgoing connection,
	// one per attempt, labelled by the connection's kind and name.
	OutRequests *prometheus.CounterVec
	// OutErrors counts failed attempts per outgoing connection, by reason:
	// a status of 400 or more, or timeout, refused, dns, tls, connection.
	OutErrors *prometheus.CounterVec
	// OutDuration is the time each attempt through an outgoing connection
	// takes.
	OutDuration *prometheus.HistogramVec

	mu sync.Mutex
	// objects are the collectors whose series belong to configuration
	// objects, by kind ("" for every kind, told apart by a kind label).
	objects map[string][]objectVecs
}

// objectVecs are collectors whose series carry an object's name in label.
type objectVecs struct {
	label string
	vecs  []*prometheus.MetricVec
}

// New returns a server's collectors, registered with a new registry
// together with the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plexus_channel_requests_total",
			Help: "Requests served, per channel: kind is the channel's kind (channel_rest, scheduler, admin), channel its name.",
		}, []string{"kind", "channel"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plexus_channel_errors_total",
			Help: "Replies with a status of 400 or more, per channel and status.",
		}, []string{"kind", "channel", "status"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "plexus_channel_request_duration_seconds",
			Help:    "Time taken to answer a request, per channel.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"kind", "channel"}),
		OutRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plexus_outgoing_requests_total",
			Help: "Requests sent through outgoing connections, one per attempt.",
		}, []string{"kind", "connection"}),
		OutErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "plexus_outgoing_errors_total",
			Help: "Failed attempts through outgoing connections, by reason: a status of 400 or more, or timeout, refused, dns, tls, connection.",
		}, []string{"kind", "connection", "reason"}),
		OutDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "plexus_outgoing_request_duration_seconds",
			Help:    "Time taken by one attempt through an outgoing connection.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"kind", "connection"}),
	}
	m.Registry.MustRegister(m.Requests, m.Errors, m.Duration, m.OutRequests, m.OutErrors, m.OutDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.objects = map[string][]objectVecs{"": {{label: "connection", vecs: []*prometheus.MetricVec{
		m.OutRequests.MetricVec, m.OutErrors.MetricVec, m.OutDuration.MetricVec}}}}
	return m
}

// RegisterObjects registers collectors whose series belong to objects of
// a kind, the label named label holding an object's name: Forget deletes
// them when the object is deleted. Collectors that are not vectors are
// registered and never forgotten.
func (m *Metrics) RegisterObjects(kind, label string, cs ...prometheus.Collector) error {
	ov := objectVecs{label: label}
	for _, c := range cs {
		if err := m.Registry.Register(c); err != nil {
			return err
		}
		if v := metricVec(c); v != nil {
			ov.vecs = append(ov.vecs, v)
		}
	}
	m.mu.Lock()
	m.objects[kind] = append(m.objects[kind], ov)
	m.mu.Unlock()
	return nil
}

// Forget deletes every series of a deleted object: those of the
// collectors registered for its kind, and those of the outgoing
// connection metrics, which every outgoing kind shares.
func (m *Metrics) Forget(kind, name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ov := range m.objects[kind] {
		for _, v := range ov.vecs {
			v.DeletePartialMatch(prometheus.Labels{ov.label: name})
		}
	}
	for _, ov := range m.objects[""] {
		for _, v := range ov.vecs {
			v.DeletePartialMatch(prometheus.Labels{"kind": kind, ov.label: name})
		}
	}
}

// metricVec returns the vector behind a collector, or nil.
func metricVec(c prometheus.Collector) *prometheus.MetricVec {
	switch v := c.(type) {
	case *prometheus.CounterVec:
		return v.MetricVec
	case *prometheus.GaugeVec:
		return v.MetricVec
	case *prometheus.HistogramVec:
		return v.MetricVec
	case *prometheus.SummaryVec:
		return v.MetricVec
	}
	return nil
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
