package sqlconn

import (
	"database/sql"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// collectors makes the kind's metrics: the pools' use, read when scraped,
// and the statements by outcome.
func collectors() []prometheus.Collector {
	return []prometheus.Collector{newPoolStats(), prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "plexus_sql_statements_total",
		Help: "Statements run through outgoing SQL connections, by outcome: ok, error (the database refused it), timeout, unavailable (the database could not be reached) or refused (bad parameters, too many rows).",
	}, []string{"name", "outcome"})}
}

// poolStats reports the pools of the running connections when scraped.
// It is safe for concurrent use.
type poolStats struct {
	open, inUse, idle, max, waits, waited *prometheus.Desc

	mu    sync.Mutex
	pools map[string]*Database
}

func newPoolStats() *poolStats {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"name"}, nil)
	}
	return &poolStats{
		open:   desc("plexus_sql_pool_open_connections", "Connections an outgoing SQL connection's pool holds open."),
		inUse:  desc("plexus_sql_pool_in_use_connections", "Connections of a pool running a statement or a transaction."),
		idle:   desc("plexus_sql_pool_idle_connections", "Connections of a pool waiting for a statement."),
		max:    desc("plexus_sql_pool_max_connections", "The most connections a pool may open: its pool_size."),
		waits:  desc("plexus_sql_pool_waits_total", "Statements that waited for a connection because the pool was full."),
		waited: desc("plexus_sql_pool_wait_seconds_total", "Time statements spent waiting for a connection."),
		pools:  map[string]*Database{},
	}
}

func (p *poolStats) add(d *Database) {
	p.mu.Lock()
	p.pools[d.name] = d
	p.mu.Unlock()
}

// remove forgets a pool, unless a newer one of the same name replaced it.
func (p *poolStats) remove(d *Database) {
	p.mu.Lock()
	if p.pools[d.name] == d {
		delete(p.pools, d.name)
	}
	p.mu.Unlock()
}

// Describe sends the metrics' descriptions.
func (p *poolStats) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{p.open, p.inUse, p.idle, p.max, p.waits, p.waited} {
		ch <- d
	}
}

// Collect sends every pool's figures.
func (p *poolStats) Collect(ch chan<- prometheus.Metric) {
	p.mu.Lock()
	pools := make([]*Database, 0, len(p.pools))
	for _, d := range p.pools {
		pools = append(pools, d)
	}
	p.mu.Unlock()
	for _, d := range pools {
		s := d.poolFigures()
		ch <- prometheus.MustNewConstMetric(p.open, prometheus.GaugeValue, float64(s.OpenConnections), d.name)
		ch <- prometheus.MustNewConstMetric(p.inUse, prometheus.GaugeValue, float64(s.InUse), d.name)
		ch <- prometheus.MustNewConstMetric(p.idle, prometheus.GaugeValue, float64(s.Idle), d.name)
		ch <- prometheus.MustNewConstMetric(p.max, prometheus.GaugeValue, float64(s.MaxOpenConnections), d.name)
		ch <- prometheus.MustNewConstMetric(p.waits, prometheus.CounterValue, float64(s.WaitCount), d.name)
		ch <- prometheus.MustNewConstMetric(p.waited, prometheus.CounterValue, s.WaitDuration.Seconds(), d.name)
	}
}

// poolFigures returns the pool's figures as database/sql counts them; a
// PostgreSQL pool counts as waits the statements that found no idle
// connection, whether they waited for one to free or for a new one to
// open.
func (d *Database) poolFigures() sql.DBStats {
	if d.pg == nil {
		return d.db.Stats()
	}
	s := d.pg.Stat()
	return sql.DBStats{OpenConnections: int(s.TotalConns()), InUse: int(s.AcquiredConns()), Idle: int(s.IdleConns()),
		MaxOpenConnections: int(s.MaxConns()), WaitCount: s.EmptyAcquireCount(), WaitDuration: s.EmptyAcquireWaitTime()}
}
