package pubsub

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plexushq/plexus/internal/registry"
)

// stats are the engine's counters.
type stats struct {
	published *prometheus.CounterVec
	messages  *prometheus.CounterVec
}

func collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plexus_pubsub_published_total",
			Help: "Messages published and committed, by topic (a service's hidden topic is zpsk.service.NAME)."}, []string{"topic"}),
		prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plexus_pubsub_messages_total",
			Help: "What became of messages in subscriptions' queues, by topic, subscription and outcome: delivered, retried (a failed push attempt), expired or dead_lettered."},
			[]string{"topic", "subscription", "outcome"}),
	}
}

// metricsFrom takes the server's collectors of the kind, once.
func (e *Engine) metricsFrom(env *registry.Env) {
	if e.stats.Load() != nil || env == nil || env.Collectors == nil {
		return
	}
	if cs := env.Collectors(KindSubscription); len(cs) == 2 {
		e.stats.CompareAndSwap(nil, &stats{cs[0].(*prometheus.CounterVec), cs[1].(*prometheus.CounterVec)})
	}
}

// count counts an outcome of a delivery.
func (e *Engine) count(topic, sub, outcome string) {
	if s := e.stats.Load(); s != nil {
		s.messages.WithLabelValues(metricTopic(topic), sub, outcome).Inc()
	}
}

func metricTopic(topic string) string { return topic }
