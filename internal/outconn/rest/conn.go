package rest

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/metrics"
	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/internal/registry"
)

// Conn is the running form of an outgoing REST connection: its HTTP client
// with its own pool. It is safe for concurrent use.
//
// Its lifecycle follows the runtime's: Provision builds it, without
// connecting, when the connection is created or changed; Run (status.go)
// reports whether the remote API can be reached; calls acquire it for their whole duration,
// retries included; Close, called when a newer version has been swapped
// in, marks it closed, and its idle pooled connections are closed as soon
// as no call is in flight, so calls in flight finish on it undisturbed.
type Conn struct {
	cfg         *Config
	base        string // host without its trailing slash
	tpl         *pathTemplate
	contentType string
	client      *http.Client
	transport   *http.Transport
	log         *slog.Logger
	m           connMetrics
	// maxBody is the largest response body a call reads, and maxBodyKey
	// the setting it comes from.
	maxBody    int64
	maxBodyKey string

	// bare is the caller of a connection without security, made once.
	bare *caller

	inflight atomic.Int64
	closed   atomic.Bool

	// baseURL and probeAddr are what Run probes; health carries the
	// outcome of calls to Run, and degraded is Run's verdict.
	baseURL   *url.URL
	probeAddr string
	health    chan error
	degraded  atomic.Bool
}

func provision(env *registry.Env, obj registry.Object) (any, error) {
	cfg := obj.(*Config)
	tpl, err := cfg.template()
	if err != nil {
		return nil, registry.FieldProblem("url_path", "%s %v", redact.Quote(cfg.URLPath), err)
	}
	files, err := cfg.loadTLS(env.Dir)
	if err != nil {
		return nil, err
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Conn{
		cfg:         cfg,
		base:        strings.TrimSuffix(cfg.Host, "/"),
		tpl:         tpl,
		contentType: cfg.ContentType,
		log:         log.With("connection", cfg.Name),
		m:           newConnMetrics(env.Metrics, cfg.Name),
	}
	if c.contentType == "" {
		c.contentType = defaultContentType[cfg.DataFormat]
	}
	c.maxBody, c.maxBodyKey = responseLimit(env.Settings, cfg.MaxResponseSize)
	c.transport = newTransport(cfg, files)
	c.client = &http.Client{Transport: c.transport, Timeout: cfg.Timeout.D(), CheckRedirect: c.checkRedirect}
	c.bare = &caller{conn: c}
	c.baseURL, _ = url.Parse(c.base)
	c.probeAddr = hostPort(c.baseURL)
	c.health = make(chan error, 1)
	if !cfg.TLSVerify && strings.HasPrefix(cfg.Host, "https:") {
		c.log.Warn("TLS certificate verification is off for an outgoing REST connection")
	}
	return c, nil
}

// responseLimit returns the largest response body a connection reads and
// the setting that says so: its max_response_size, unless that is 0 or
// above the server's limits.max_outgoing_response_size.
func responseLimit(settings *config.Settings, own int64) (int64, string) {
	if settings == nil {
		settings = config.Default()
	}
	server := int64(settings.Limits.MaxOutgoingResponseSize)
	if own > 0 && own <= server {
		return own, "max_response_size"
	}
	return server, "limits.max_outgoing_response_size"
}

var defaultContentType = map[string]string{
	"json": "application/json",
	"form": "application/x-www-form-urlencoded",
	"raw":  "text/plain; charset=utf-8",
}

// newTransport returns the connection's own transport: the default one's
// settings with a pool of pool_size kept-alive connections, a limit of as
// many connections at once, the response header timeout and the TLS
// settings.
func newTransport(cfg *Config, files *tlsFiles) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	pool := cfg.PoolSize
	if pool < 1 {
		pool = DefaultPoolSize
	}
	t.MaxIdleConns = pool
	t.MaxIdleConnsPerHost = pool
	t.MaxConnsPerHost = pool
	t.ResponseHeaderTimeout = cfg.Timeout.D()
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: !cfg.TLSVerify}
	if files != nil {
		tc.RootCAs = files.roots
		if files.client != nil {
			tc.Certificates = []tls.Certificate{*files.client}
		}
	}
	t.TLSClientConfig = tc
	return t
}

// checkRedirect follows redirects only when the connection says so, and
// never carries credentials to another host or port (Go itself keeps
// Authorization across ports, and knows nothing of API key headers).
func (c *Conn) checkRedirect(req *http.Request, via []*http.Request) error {
	if !c.cfg.FollowRedirects {
		return http.ErrUseLastResponse
	}
	if len(via) >= 10 {
		return errTooManyRedirects
	}
	if h, ok := req.Context().Value(credentialHeader{}).(string); ok && !sameHost(req.URL, via[0].URL) {
		req.Header.Del(h)
	}
	return nil
}

// credentialHeader is the context key of the header that carries a call's
// credentials.
type credentialHeader struct{}

func sameHost(a, b *url.URL) bool {
	return strings.EqualFold(a.Host, b.Host) && a.Scheme == b.Scheme
}

// acquire marks a call in flight.
func (c *Conn) acquire() { c.inflight.Add(1) }

// release ends a call; the last call on a closed connection closes its
// idle pooled connections.
func (c *Conn) release() {
	if c.inflight.Add(-1) == 0 && c.closed.Load() {
		c.transport.CloseIdleConnections()
	}
}

// Close marks the connection replaced. Its idle pooled connections are
// closed now if no call is in flight, else when the last one ends. A call
// that still starts on it works, and closes what it leaves idle.
func (c *Conn) Close() error {
	c.closed.Store(true)
	if c.inflight.Load() == 0 {
		c.transport.CloseIdleConnections()
	}
	return nil
}

// Name returns the connection's name.
func (c *Conn) Name() string { return c.cfg.Name }

// connMetrics are one connection's collectors, looked up once.
type connMetrics struct {
	requests prometheus.Counter
	duration prometheus.Observer
	errors   *prometheus.CounterVec
}

func newConnMetrics(m *metrics.Metrics, name string) connMetrics {
	if m == nil {
		return connMetrics{}
	}
	labels := prometheus.Labels{"kind": Kind, "connection": name}
	return connMetrics{
		requests: m.OutRequests.With(labels),
		duration: m.OutDuration.With(labels),
		errors:   m.OutErrors.MustCurryWith(labels),
	}
}

// observe records one attempt: its duration, and its error reason (a
// status of 400 or more, or a failure such as "timeout").
func (m connMetrics) observe(elapsed time.Duration, reason string) {
	if m.requests == nil {
		return
	}
	m.requests.Inc()
	m.duration.Observe(elapsed.Seconds())
	if reason != "" {
		m.errors.WithLabelValues(reason).Inc()
	}
}
