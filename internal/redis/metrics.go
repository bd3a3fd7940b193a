package redis

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// pool is the collector of every connection's pool figures, read from
// go-redis when /metrics is scraped, and of the calls that failed.
type pool struct {
	mu    sync.Mutex
	conns map[string]*Conn

	failures *prometheus.CounterVec
	connsD   *prometheus.Desc
	idle     *prometheus.Desc
	waits    *prometheus.Desc
	timeouts *prometheus.Desc
	hits     *prometheus.Desc
	misses   *prometheus.Desc
}

func collectors() []prometheus.Collector {
	label := []string{"name"}
	return []prometheus.Collector{&pool{
		conns: map[string]*Conn{},
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "plexus_redis_failures_total",
			Help: "Calls of an outgoing Redis connection that failed to reach the server (after retries)."}, label),
		connsD:   prometheus.NewDesc("plexus_redis_pool_connections", "Connections open in an outgoing Redis connection's pool.", label, nil),
		idle:     prometheus.NewDesc("plexus_redis_pool_idle_connections", "Idle connections in an outgoing Redis connection's pool.", label, nil),
		waits:    prometheus.NewDesc("plexus_redis_pool_waits_total", "Commands that waited for a free connection of the pool.", label, nil),
		timeouts: prometheus.NewDesc("plexus_redis_pool_timeouts_total", "Commands that found no free connection within timeout.", label, nil),
		hits:     prometheus.NewDesc("plexus_redis_pool_hits_total", "Commands that found an idle connection in the pool.", label, nil),
		misses:   prometheus.NewDesc("plexus_redis_pool_misses_total", "Commands that had to open a connection.", label, nil),
	}}
}

func (p *pool) add(name string, c *Conn) {
	p.mu.Lock()
	p.conns[name] = c
	p.mu.Unlock()
}

// remove forgets a connection's pool unless a newer one took its name.
func (p *pool) remove(name string, c *Conn) {
	p.mu.Lock()
	if p.conns[name] == c {
		delete(p.conns, name)
	}
	p.mu.Unlock()
}

func (p *pool) failed(name string) { p.failures.WithLabelValues(name).Inc() }

// Describe implements prometheus.Collector.
func (p *pool) Describe(ch chan<- *prometheus.Desc) {
	p.failures.Describe(ch)
	for _, d := range []*prometheus.Desc{p.connsD, p.idle, p.waits, p.timeouts, p.hits, p.misses} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (p *pool) Collect(ch chan<- prometheus.Metric) {
	p.failures.Collect(ch)
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, c := range p.conns {
		s := c.client.PoolStats()
		ch <- prometheus.MustNewConstMetric(p.connsD, prometheus.GaugeValue, float64(s.TotalConns), name)
		ch <- prometheus.MustNewConstMetric(p.idle, prometheus.GaugeValue, float64(s.IdleConns), name)
		ch <- prometheus.MustNewConstMetric(p.waits, prometheus.CounterValue, float64(s.WaitCount), name)
		ch <- prometheus.MustNewConstMetric(p.timeouts, prometheus.CounterValue, float64(s.Timeouts), name)
		ch <- prometheus.MustNewConstMetric(p.hits, prometheus.CounterValue, float64(s.Hits), name)
		ch <- prometheus.MustNewConstMetric(p.misses, prometheus.CounterValue, float64(s.Misses), name)
	}
}
