package mongodb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	mopts "go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Conn is the running form of an outgoing MongoDB connection: a client
// made on first use or when Run starts (never by a dry run), whose status
// follows the driver's checks of the servers. It is safe for concurrent
// use.
type Conn struct {
	cfg  *Outgoing
	opts *mopts.ClientOptions

	mu       sync.Mutex
	client   *mongo.Client
	closed   bool
	inflight int           // operations of Starlark services under way
	idle     chan struct{} // closed when inflight drops to 0 while closing

	// health carries the driver's view of the servers to Run: nil when
	// one is usable, else why none is.
	health chan error
	pool   *prometheus.GaugeVec
}

// options builds the client options of a configuration; dir is the
// environment directory that TLS file names are relative to ("" leaves
// the files unread, for validation).
func options(cfg *Outgoing, dir string) (*mopts.ClientOptions, error) {
	o := mopts.Client()
	if cfg.Address != "" {
		o.ApplyURI(cfg.Address)
	} else {
		o.SetHosts(cfg.servers())
	}
	app := cfg.AppName
	if app == "" {
		app = "plexus"
	}
	o.SetAppName(app).
		SetMaxPoolSize(uint64(cfg.PoolSizeMax)).
		SetConnectTimeout(cfg.ConnectTimeout.D()).
		SetServerSelectionTimeout(cfg.ServerSelectTimeout.D()).
		SetHeartbeatInterval(cfg.HBFrequency.D()).
		SetMaxConnIdleTime(cfg.MaxIdleTime.D())
	if cfg.ReplicaSet != "" {
		o.SetReplicaSet(cfg.ReplicaSet)
	}
	if cfg.Username != "" || cfg.AuthMechanism == "MONGODB-X509" {
		o.SetAuth(mopts.Credential{Username: cfg.Username, Password: cfg.Password, PasswordSet: cfg.Password != "",
			AuthSource: cfg.AuthSource, AuthMechanism: cfg.AuthMechanism})
	}
	if cs := cfg.compressors(); len(cs) > 0 {
		o.SetCompressors(cs)
	}
	if cfg.ReadPrefType != "" {
		mode, err := readpref.ModeFromString(cfg.ReadPrefType)
		if err != nil {
			return nil, err
		}
		rp, err := readpref.New(mode)
		if err != nil {
			return nil, err
		}
		o.SetReadPreference(rp)
	}
	if cfg.WriteTo != "" || cfg.WriteJournalIsEnabled {
		wc := &writeconcern.WriteConcern{}
		if cfg.WriteJournalIsEnabled {
			j := true
			wc.Journal = &j
		}
		if n, err := strconv.Atoi(cfg.WriteTo); err == nil {
			wc.W = n
		} else if cfg.WriteTo != "" {
			wc.W = cfg.WriteTo
		}
		o.SetWriteConcern(wc)
	}
	if cfg.IsTLSEnabled {
		tc, err := tlsConfig(cfg, dir)
		if err != nil {
			return nil, err
		}
		o.SetTLSConfig(tc)
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return o, nil
}

// tlsConfig reads the TLS files, relative to dir; with dir "" it only
// checks the settings.
func tlsConfig(cfg *Outgoing, dir string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.TLSValidate == "CERT_NONE"}
	if dir == "" {
		return tc, nil
	}
	path := func(f string) string {
		if filepath.IsAbs(f) {
			return f
		}
		return filepath.Join(dir, f)
	}
	if cfg.TLSCACertsFile != "" {
		pem, err := os.ReadFile(path(cfg.TLSCACertsFile))
		if err != nil {
			return nil, registry.FieldProblem("tls_ca_certs_file", "%v", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, registry.FieldProblem("tls_ca_certs_file", "%s holds no PEM certificate", cfg.TLSCACertsFile)
		}
	}
	if cfg.TLSCertFile != "" {
		key := cfg.TLSPrivateKeyFile
		if key == "" {
			key = cfg.TLSCertFile
		}
		cert, err := tls.LoadX509KeyPair(path(cfg.TLSCertFile), path(key))
		if err != nil {
			return nil, registry.FieldProblem("tls_cert_file", "%v", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// provision checks the configuration and reads its TLS files; the client
// is made later, by Run or the first call.
func provision(env *registry.Env, obj registry.Object) (any, error) {
	cfg := obj.(*Outgoing)
	o, err := options(cfg, env.Dir)
	if err != nil {
		return nil, err
	}
	c := &Conn{cfg: cfg, opts: o, health: make(chan error, 1)}
	if cs := env.Collectors(Kind); len(cs) > 0 {
		c.pool = cs[0].(*prometheus.GaugeVec)
	}
	o.SetServerMonitor(&event.ServerMonitor{
		TopologyDescriptionChanged: c.topologyChanged,
		ServerHeartbeatFailed:      c.heartbeatFailed,
	})
	if c.pool != nil {
		open, inUse := c.pool.WithLabelValues(cfg.Name, "open"), c.pool.WithLabelValues(cfg.Name, "in_use")
		o.SetPoolMonitor(&event.PoolMonitor{Event: func(e *event.PoolEvent) {
			switch e.Type {
			case event.ConnectionCreated:
				open.Inc()
			case event.ConnectionClosed:
				open.Dec()
			case event.ConnectionCheckedOut:
				inUse.Inc()
			case event.ConnectionCheckedIn:
				inUse.Dec()
			}
		}})
	}
	return c, nil
}

func collectors() []prometheus.Collector {
	return []prometheus.Collector{prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "plexus_mongodb_connections",
		Help: "Connections of outgoing MongoDB connections' pools, by state: open, or in_use by an operation.",
	}, []string{"name", "state"})}
}

// errClosed is the error of calls on a connection that was replaced or
// removed after the call looked it up.
var errClosed = service.ServiceUnavailable("the MongoDB connection was closed; call again")

// Client returns the connection's client, making it on first use.
func (c *Conn) Client() (*mongo.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == nil {
		if c.closed {
			return nil, errClosed
		}
		cl, err := mongo.Connect(c.opts)
		if err != nil {
			return nil, fmt.Errorf("outgoing MongoDB connection %q: %w", c.cfg.Name, err)
		}
		c.client = cl
	}
	return c.client, nil
}

// lastHeartbeat is the error of the last failed check of a server.
var lastHeartbeat sync.Map // *Conn → error

func (c *Conn) heartbeatFailed(e *event.ServerHeartbeatFailedEvent) {
	lastHeartbeat.Store(c, e.Failure)
}

// topologyChanged tells Run whether a server is usable.
func (c *Conn) topologyChanged(e *event.TopologyDescriptionChangedEvent) {
	var err error = errors.New("no server answers")
	for _, s := range e.NewDescription.Servers {
		if s.Kind != "Unknown" && s.Kind != "" {
			err = nil
			break
		}
	}
	if err != nil {
		f, ok := lastHeartbeat.Load(c)
		if !ok {
			return // no server checked yet: still connecting
		}
		err = fmt.Errorf("no server answers: %w", f.(error))
	}
	select {
	case <-c.health: // only the newest view matters
	default:
	}
	select {
	case c.health <- err:
	default:
	}
}

// Run starts the client and reports, as the driver checks the servers
// (every hb_frequency), whether one is usable. A deployment that is down
// leaves the connection degraded, never the server unable to start, and
// calls made meanwhile fail with 502 after server_select_timeout.
func (c *Conn) Run(ctx context.Context, st *registry.Status) error {
	if !c.cfg.IsActive {
		return nil
	}
	if _, err := c.Client(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-c.health:
			if err == nil {
				st.Running()
			} else {
				st.Degraded(err)
			}
		}
	}
}

// acquire returns the client for one operation, which calls release when
// it is done: Close waits for them.
func (c *Conn) acquire() (cl *mongo.Client, release func(), err error) {
	if cl, err = c.Client(); err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	c.inflight++
	c.mu.Unlock()
	return cl, func() {
		c.mu.Lock()
		if c.inflight--; c.inflight == 0 && c.idle != nil {
			close(c.idle)
			c.idle = nil
		}
		c.mu.Unlock()
	}, nil
}

// Close disconnects the client once the operations in flight finished,
// waiting at most socket_timeout for them; the driver also waits for the
// connections Go services hold.
func (c *Conn) Close() error {
	c.mu.Lock()
	cl := c.client
	c.closed = true
	var idle chan struct{}
	if c.inflight > 0 {
		idle = make(chan struct{})
		c.idle = idle
	}
	c.mu.Unlock()
	lastHeartbeat.Delete(c)
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.SocketTimeout.D())
	defer cancel()
	if idle != nil {
		select {
		case <-idle:
		case <-ctx.Done():
		}
	}
	if c.pool != nil {
		c.pool.DeleteLabelValues(c.cfg.Name, "open")
		c.pool.DeleteLabelValues(c.cfg.Name, "in_use")
	}
	if cl == nil {
		return nil
	}
	return cl.Disconnect(ctx)
}

// resolve returns the connection with a name, for services.
func resolve(st registry.State, name string) (any, error) {
	v, ok := st.Running(Kind, name)
	if !ok {
		msg := fmt.Sprintf("no outgoing MongoDB connection named %q", name)
		if s := registry.Suggest(name, st.Names(Kind)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, errors.New(msg)
	}
	c := v.(*Conn)
	if !c.cfg.IsActive {
		return nil, service.ServiceUnavailable("outgoing MongoDB connection %q is inactive", name)
	}
	return c, nil
}

// pingAction runs the ping command on a server the connection selects.
var pingAction = registry.Action{
	Name: "ping",
	Doc:  `Runs MongoDB's ping command through the connection and answers {"name", "cid", "target", "ok", "status", "time_ms", "error"}.`,
	Run: func(ctx context.Context, call *registry.Call) (any, error) {
		c := call.Running.(*Conn)
		res := registry.PingResult{Name: call.Name, CID: call.CID, Target: c.cfg.target()}
		start := time.Now()
		if err := c.ping(ctx); err != nil {
			res.Error = err.Error()
		} else {
			res.OK = true
		}
		res.TimeMS = float64(time.Since(start).Microseconds()) / 1000
		return res, nil
	},
}

// ping runs the ping command within socket_timeout.
func (c *Conn) ping(ctx context.Context) error {
	cl, err := c.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.SocketTimeout.D())
	defer cancel()
	return failure(cl.Ping(ctx, nil))
}

// failure turns a driver error into the error a service answers with: 502
// when no server could be reached, 409 for a duplicate key, 504 for a
// timeout; other errors (a bad query, say) keep the server's message.
func failure(err error) error {
	var sel topology.ServerSelectionError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &sel), mongo.IsNetworkError(err), errors.Is(err, mongo.ErrClientDisconnected):
		return &service.Error{Status: 502, Message: "MongoDB cannot be reached: " + err.Error(), Cause: err}
	case mongo.IsDuplicateKeyError(err):
		return &service.Error{Status: 409, Message: "MongoDB refused a duplicate key: " + err.Error(), Cause: err}
	case mongo.IsTimeout(err), errors.Is(err, context.DeadlineExceeded):
		return &service.Error{Status: 504, Message: "MongoDB did not answer in time", Cause: err}
	}
	return err
}
