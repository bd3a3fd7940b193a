// Package metrics holds a server's Prometheus collectors. Each server has
// its own registry, so tests can run many servers in one process.
package metrics

import (
	"net/http"

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
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
