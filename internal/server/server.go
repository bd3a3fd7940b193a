// Package server wires a Plexus server together: settings, store, runtime,
// invoker, the API listener and the admin listener. One Server struct holds
// everything, so tests can start many servers in one process.
package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/builtin"
	"github.com/plexushq/plexus/internal/bus"
	"github.com/plexushq/plexus/internal/cache"
	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/channel/rest"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/dashboard"
	"github.com/plexushq/plexus/internal/debugger"
	"github.com/plexushq/plexus/internal/deploy"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/enmasse"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/feed"
	"github.com/plexushq/plexus/internal/invoke"
	"github.com/plexushq/plexus/internal/jsonlimit"
	"github.com/plexushq/plexus/internal/kvdb"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/logging"
	"github.com/plexushq/plexus/internal/metrics"
	"github.com/plexushq/plexus/internal/password"
	"github.com/plexushq/plexus/internal/pubsub"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/scheduler"
	"github.com/plexushq/plexus/internal/secret"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/internal/serviceio"
	"github.com/plexushq/plexus/internal/starlark"
	"github.com/plexushq/plexus/internal/store"
	"github.com/plexushq/plexus/internal/wsx"
)

// Options configure a server. Empty fields take the environment's
// settings.
type Options struct {
	// Dir is the environment directory; it must exist.
	Dir string
	// Listen, AdminListen and DB override plexus.yaml, and Debug its
	// debug_listen.
	Listen, AdminListen, DB, Debug string
	// Services are the user's Go services (values with Handle methods).
	Services []any
	// LogOutput receives the logs; default os.Stderr.
	LogOutput io.Writer
	// Listeners, when set, are sockets already bound (see Listen) to serve
	// on instead of Listen and AdminListen. The server closes them when it
	// stops, or when Open or Start fails.
	Listeners *Listeners
}

// Listeners are the sockets of the API and admin listeners.
type Listeners struct {
	API, Admin net.Listener
}

// Listen binds the API and admin listener addresses; an error names the
// flag that sets another address.
func Listen(api, admin string) (*Listeners, error) {
	a, err := net.Listen("tcp", api)
	if err != nil {
		return nil, fmt.Errorf("listening on %s (set another address with --listen): %w", api, err)
	}
	b, err := net.Listen("tcp", admin)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("listening on %s (set another address with --admin-listen): %w", admin, err)
	}
	return &Listeners{API: a, Admin: b}, nil
}

// Close closes both sockets.
func (l *Listeners) Close() {
	l.API.Close()
	l.Admin.Close()
}

// Server is one running Plexus server.
type Server struct {
	Env      *envdir.Env
	Settings *config.Settings
	Logger   *slog.Logger
	Store    *store.Store
	Metrics  *metrics.Metrics
	Runtime  *live.Runtime
	Invoker  *invoke.Invoker
	// Pipeline runs the requests of every channel kind.
	Pipeline *dispatch.Pipeline
	Admin    *admin.API
	// Starlark compiles .star services, with the self attributes the
	// kinds declare.
	Starlark *starlark.Compiler
	// Pickup watches the pickup directory; subsystems add hooks to it
	// before Start.
	Pickup *deploy.Pickup
	// Scheduler fires scheduler jobs; its built-in services are
	// registered before the runtime exists and reach it after Attach.
	Scheduler *scheduler.Scheduler
	// Sessions keeps the sessions of jwt security definitions.
	Sessions *security.Sessions
	// KV is the embedded key-value store of self.kvdb.conn.
	KV *kvdb.Embedded
	// Cache is the default cache while no cache_builtin is the default.
	Cache *cache.Builtin
	// NodeID identifies this server among the nodes sharing its store; a
	// new one is drawn at each start.
	NodeID string
	// Feed applies the changes other nodes commit to a shared PostgreSQL
	// store; it runs from Start.
	Feed *feed.Feed
	// Debugger serves the Debug Adapter Protocol for Starlark services
	// when settings.debug_listen is set (development mode only).
	Debugger *debugger.Debugger
	// Bus carries WebSocket broadcasts and cache invalidations between
	// the servers sharing a PostgreSQL store; nil with SQLite.
	Bus     *bus.Bus
	busEnds []any // what the server's parts send on it
	// PubSub keeps and delivers the messages of pub/sub topics; it is one
	// of the subsystems, and delivers from Start.
	PubSub *pubsub.Engine
	// Logs keeps the last lines of the log, which the Dashboard shows by
	// correlation id.
	Logs *logging.Recent

	logOut   *logging.Output
	box      *secret.Box // seals secrets with the server key
	lns      *Listeners  // bound but not served yet
	tls      *tls.Config
	base     context.Context
	cancel   context.CancelFunc
	pickupWG sync.WaitGroup
	api      *http.Server
	adminSrv *http.Server
	apiLn    net.Listener
	adminLn  net.Listener
	debugLn  net.Listener
	served   chan error
}

// loopbackUnlessTold returns an address whose host is left out (":11225",
// "11225") on the loopback interface: the debugger listens elsewhere only
// when told to (0.0.0.0:11225).
func loopbackUnlessTold(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = "", addr
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// DebugAddr returns the debugger's address, or "" when it runs none.
func (s *Server) DebugAddr() string {
	if s.debugLn == nil {
		return ""
	}
	return s.debugLn.Addr().String()
}

// Open prepares a server: it reads the settings, opens and migrates the
// store and loads the configuration, but does not listen yet.
func Open(ctx context.Context, opts Options) (_ *Server, err error) {
	if opts.Listeners != nil {
		defer func() {
			if err != nil {
				opts.Listeners.Close()
			}
		}()
	}
	env, err := envdir.Open(opts.Dir)
	if err != nil {
		return nil, err
	}
	settings, err := env.Settings()
	if err != nil {
		return nil, err
	}
	settings.Override(opts.Listen, opts.AdminListen, opts.DB)
	if opts.Debug != "" {
		settings.DebugListen = opts.Debug
		if err := settings.Validate(); err != nil {
			return nil, fmt.Errorf("--debug %s: %w", opts.Debug, err)
		}
	}
	tlsConfig, err := apiTLS(env, settings.TLS)
	if err != nil {
		return nil, err
	}
	w := opts.LogOutput
	if w == nil {
		w = os.Stderr
	}
	logs := &logging.Recent{}
	s := &Server{Env: env, Settings: settings, Metrics: metrics.New(), logOut: logging.NewOutput(io.MultiWriter(w, logs)), tls: tlsConfig, Logs: logs,
		NodeID: envdir.RandomToken(9)}
	if err := s.open(ctx, opts.Services); err != nil {
		s.Close()
		return nil, err
	}
	s.lns = opts.Listeners
	return s, nil
}

// open builds the server's parts in dependency order; Close undoes what
// it got to.
func (s *Server) open(ctx context.Context, user []any) error {
	var err error
	if s.Logger, err = logging.New(s.logOut, s.Settings.Log); err != nil {
		return err
	}
	s.Scheduler = scheduler.New(scheduler.Options{Logger: s.Logger, Metrics: s.Metrics})
	svcs, err := goServices(append(builtin.Services(), s.Scheduler.Services()...), user)
	if err != nil {
		return err
	}
	if s.Store, err = store.Open(ctx, s.Settings.DB, s.Env.Path(envdir.DataDir)); err != nil {
		return err
	}
	// A key rotation interrupted by a crash is finished (or undone) before
	// the key is read.
	if err := secret.Recover(ctx, s.Store, s.Env.Path(envdir.ServerKey)); err != nil {
		return err
	}
	key, err := s.Env.ServerKey()
	if err != nil {
		return err
	}
	box, err := secret.New(key)
	if err != nil {
		return err
	}
	s.box = box
	if err := secret.VerifyKey(ctx, s.Store, box); err != nil {
		return err
	}
	if s.Sessions, err = security.NewSessions(s.Store.DB(), s.Store.Rebind, key, s.Logger); err != nil {
		return err
	}
	if s.Store.Dialect() == "postgres" {
		s.Bus = bus.New(s.Store.DB(), s.NodeID, s.Logger)
	}
	s.Starlark = starlark.New(s.Settings.Starlark, s.Logger)
	s.PubSub = pubsub.New(pubsub.Options{Store: s.Store, Bus: s.Bus, Logger: s.Logger,
		State: func() registry.State { return s.Runtime.State() }})
	if s.Settings.DebugListen != "" {
		s.Debugger = debugger.New(debugger.Options{Compiler: s.Starlark, Logger: s.Logger,
			Admit: func(ctx context.Context, addr netip.Addr, password string) bool {
				return s.Admin != nil && s.Admin.Admit(ctx, addr, password)
			}})
	}
	guard, err := dispatch.NewGuard(s.Settings, s.Sessions)
	if err != nil {
		return err
	}
	// The pipeline is one of the subsystems the runtime gives kinds, and
	// serves once attached to the runtime and the invoker.
	s.Pipeline = dispatch.New(dispatch.Options{Logger: s.Logger, Settings: s.Settings,
		Metrics: s.Metrics, Access: logging.NewAccess(s.logOut, s.Settings.Log), Guard: guard})
	s.Runtime, err = live.New(live.Options{
		Dir: s.Env.Dir, Store: s.Store, Logger: s.Logger, Settings: s.Settings, Metrics: s.Metrics, Builtins: svcs,
		Compilers: map[string]live.Compiler{starlark.Ext: s.Starlark}, Secrets: box, Subsystems: s.subsystems(),
	})
	if err != nil {
		return err
	}
	s.base, s.cancel = context.WithCancel(context.Background())
	if s.Bus != nil {
		go s.Bus.Run(s.base)
	}
	for _, e := range s.busEnds {
		if rb, ok := e.(*wsx.RedisBus); ok {
			go rb.Run(s.base)
		}
	}
	s.Invoker = invoke.New(s.base, s.Runtime, s.Logger)
	s.Invoker.MaxAsync = s.Settings.Limits.MaxAsyncInvocations
	js := s.Settings.Limits.JSON
	s.Invoker.JSON = &jsonlimit.Decoder{
		Limits: jsonlimit.Limits{MaxDepth: js.MaxDepth, MaxValues: js.MaxValues},
		Budget: jsonlimit.NewBudget(int64(js.DecodeBudget), "limits.json.decode_budget"),
	}
	s.openTypedIO()
	s.Pipeline.Attach(s.Runtime, s.Invoker)
	s.PubSub.Attach(s.Pipeline)
	s.Runtime.Watch(func(old, next *live.State) {
		if old != nil && next != nil {
			s.PubSub.Changed(old, next)
		}
	})
	s.Pickup = &deploy.Pickup{Dir: s.Env.Path(envdir.ServicesDir), Exts: []string{starlark.Ext}, Runtime: s.Runtime, Logger: s.Logger,
		Hooks: []deploy.Hook{{Match: enmasse.IsEnmasseFile, Handle: s.importPickedUp}}}
	s.Scheduler.Attach(s.Store, s.Runtime, s.Pipeline)
	if err := s.Runtime.Load(ctx); err != nil {
		return err
	}
	if err := serviceio.Upgrade(ctx, s.Store, s.Runtime, s.Logger); err != nil {
		return err
	}
	// Service files first, then static deployment from DIR/enmasse/*.yaml,
	// whose channels may name those services; a bad file stops the start,
	// with every problem listed.
	s.Pickup.DeployAll(ctx)
	_, err = enmasse.ImportDir(ctx, s.Runtime, s.Env.Path(envdir.EnmasseDir), s.Logger)
	return err
}

// subsystems are the server's shared parts that kinds' running forms,
// resolvers and actions use (registry.Subsystem), and that may add admin
// API calls of their own (admin.RouteSource): the scheduler, the JWT
// sessions, the request pipeline the channels of message brokers hand
// their messages to, the embedded key-value store, the default cache and
// the pub/sub engine, and, with a PostgreSQL store, the ends of the
// cluster's bus that carry WebSocket broadcasts and cache invalidations
// to every server (WebSocket broadcasts go over Redis instead with
// websocket.redis).
func (s *Server) subsystems() []any {
	if s.KV == nil {
		s.KV, s.Cache = kvdb.NewEmbedded(s.Store), cache.NewBuiltin()
		state := func() registry.State { return s.Runtime.State() }
		if ws := s.Settings.WebSocket; ws.Redis != "" {
			s.busEnds = append(s.busEnds, wsx.NewRedisBus(ws.Redis, ws.RedisChannel, state, s.Logger))
		} else if s.Bus != nil {
			s.busEnds = append(s.busEnds, wsx.NewClusterBus(s.Bus, state, s.Logger))
		}
		if s.Bus != nil {
			s.busEnds = append(s.busEnds, cache.NewClusterBroadcaster(s.Bus, state, s.Cache, s.Logger))
		}
	}
	return append([]any{s.Scheduler, s.Sessions, s.Pipeline, s.KV, s.Cache, s.PubSub}, s.busEnds...)
}

// importPickedUp imports an enmasse file saved in the pickup directory.
func (s *Server) importPickedUp(ctx context.Context, path string) error {
	rep, err := enmasse.ImportFile(ctx, s.Runtime, path, enmasse.Options{})
	if err != nil {
		return err
	}
	s.Logger.Info("enmasse file imported", "file", path, "rev", rep.Rev, "created", rep.Created, "updated", rep.Updated)
	return nil
}

// apiTLS loads the API listener's certificate and client CAs, or returns
// nil when TLS is off.
func apiTLS(env *envdir.Env, cfg config.TLS) (*tls.Config, error) {
	if cfg.CertFile == "" {
		return nil, nil
	}
	path := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return env.Path(p)
	}
	cert, err := tls.LoadX509KeyPair(path(cfg.CertFile), path(cfg.KeyFile))
	if err != nil {
		return nil, fmt.Errorf("loading tls.cert_file and tls.key_file: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if cfg.ClientCAFile != "" {
		data, err := os.ReadFile(path(cfg.ClientCAFile))
		if err != nil {
			return nil, fmt.Errorf("loading tls.client_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("loading tls.client_ca_file: %s holds no PEM certificate", cfg.ClientCAFile)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		if cfg.ClientAuth == "require" {
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return tc, nil
}

// goServices describes the built-in Go services (those of package builtin
// and of subsystems such as the scheduler) and the user's.
func goServices(builtins, user []any) ([]*catalog.Service, error) {
	var out []*catalog.Service
	for i, v := range append(builtins, user...) {
		svc, err := catalog.FromGo(v)
		if err != nil {
			return nil, fmt.Errorf("registering services: %w", err)
		}
		svc.Builtin = i < len(builtins)
		out = append(out, svc)
	}
	return out, nil
}

// Start binds both listeners (unless Options.Listeners are bound) and
// serves in the background. A listener that stops serving is reported to
// Run.
func (s *Server) Start() (err error) {
	lns := s.lns
	s.lns = nil
	if lns == nil {
		if lns, err = Listen(s.Settings.Listen, s.Settings.AdminListen); err != nil {
			return err
		}
	}
	defer func() {
		if err != nil {
			lns.Close()
		}
	}()
	s.apiLn, s.adminLn = lns.API, lns.Admin
	token := envdir.RandomToken(32)
	lim := s.Settings.Limits
	guard := s.Pipeline.Guard
	s.Admin = &admin.API{
		Runtime: s.Runtime, Pipeline: s.Pipeline, Store: s.Store, Logger: s.Logger,
		Settings: s.Settings, Metrics: s.Metrics, CLIToken: token,
		Failures: guard.Failures, Trusted: guard.Trusted, Subsystems: s.subsystems(),
		Passwords: password.NewVerifier(lim.MaxPasswordChecks, lim.PasswordCheckWait.D()),
	}
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: lim.ReadHeaderTimeout.D(),
			ReadTimeout:       lim.ReadTimeout.D(),
			WriteTimeout:      lim.WriteTimeout.D(),
			IdleTimeout:       lim.IdleTimeout.D(),
			MaxHeaderBytes:    int(lim.MaxHeaderSize),
			ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
		}
	}
	s.api = newServer(&pubsub.Handler{Engine: s.PubSub, Next: &wsx.Handler{Pipeline: s.Pipeline, Next: &rest.Handler{Pipeline: s.Pipeline}}})
	dash := &dashboard.Dashboard{API: s.Admin, Admin: s.Admin.Handler(), Logger: s.Logger, Logs: s.Logs, FlushLogs: s.FlushLogs, Metrics: s.Metrics, Secrets: s.box,
		Cluster: func(ctx context.Context) (*feed.Cluster, error) { return feed.Status(ctx, s.Store, time.Now()) }}
	s.adminSrv = newServer(dash.Handler())
	go dash.Run(s.base)
	if s.Debugger != nil {
		if s.debugLn, err = net.Listen("tcp", loopbackUnlessTold(s.Settings.DebugListen)); err != nil {
			return fmt.Errorf("listening on %s for the debugger (set another address with --debug): %w", s.Settings.DebugListen, err)
		}
		s.Logger.Warn("debugger listening: requests stop at its breakpoints", "address", s.debugLn.Addr().String())
		go s.Debugger.Serve(s.debugLn)
	}
	if err := s.Scheduler.Start(context.Background()); err != nil {
		return err
	}
	if err := s.Env.WriteCLI(envdir.CLI{Admin: s.AdminAddr(), Token: token}); err != nil {
		return fmt.Errorf("writing %s: %w", envdir.CLIFile, err)
	}
	s.served = make(chan error, 2)
	host, _ := os.Hostname()
	s.Feed = feed.Start(feed.Options{Store: s.Store, Runtime: s.Runtime, Logger: s.Logger,
		Self: feed.Self{ID: s.NodeID, Name: host, Address: s.APIAddr(), Leading: s.Scheduler.Leading}})
	s.Admin.Handle("GET "+admin.Prefix+"/cluster", s.Feed.ServeHTTP)
	s.startTypedIO()
	s.Sessions.Start()
	if err := s.PubSub.Start(s.base); err != nil {
		return err
	}
	s.pickupWG.Add(1)
	go func() {
		defer s.pickupWG.Done()
		if err := s.Pickup.Run(s.base); err != nil {
			s.Logger.Error("pickup directory", "error", err.Error())
		}
	}()
	s.api.TLSConfig = s.tls
	for _, l := range []struct {
		name string
		srv  *http.Server
		ln   net.Listener
	}{{"API", s.api, s.apiLn}, {"admin", s.adminSrv, s.adminLn}} {
		go func() {
			var err error
			if l.srv.TLSConfig != nil {
				err = l.srv.ServeTLS(l.ln, "", "") // HTTP/2 included
			} else {
				err = l.srv.Serve(l.ln)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				s.served <- fmt.Errorf("the %s listener on %s stopped: %w", l.name, l.ln.Addr(), err)
			}
		}()
	}
	s.Logger.Info("server started", "api", s.APIAddr(), "admin", s.AdminAddr(), "rev", s.Runtime.State().Rev,
		"services", s.Runtime.State().Services.Len(), "channels", s.Runtime.State().Count(rest.Kind))
	s.warnExposure()
	return nil
}

// warnExposure warns of settings that expose more than a production
// server should: an admin listener other machines can reach, and
// development mode.
func (s *Server) warnExposure() {
	if a, ok := s.adminLn.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		s.Logger.Warn("the admin listener is reachable from other machines: keep admin_listen on a loopback address such as 127.0.0.1:11224, or behind a firewall",
			"admin", s.AdminAddr())
	}
	if s.Settings.Development {
		s.Logger.Warn("development mode is on: 500 responses carry error details and Starlark tracebacks to callers; set development: false in production")
	}
}

// FlushLogs writes the log lines still buffered (they are otherwise
// written within logging.FlushInterval).
func (s *Server) FlushLogs() error { return s.logOut.Flush() }

// APIHandler returns the API listener's handler (for in-process
// benchmarks).
func (s *Server) APIHandler() http.Handler { return s.api.Handler }

// APIScheme returns "https" when the API listener serves TLS, else "http".
func (s *Server) APIScheme() string {
	if s.tls != nil {
		return "https"
	}
	return "http"
}

// APIAddr returns the API listener's address.
func (s *Server) APIAddr() string { return s.apiLn.Addr().String() }

// AdminAddr returns the admin listener's address.
func (s *Server) AdminAddr() string { return s.adminLn.Addr().String() }

// Run starts the server, calls started (unless nil) once it serves, and
// serves until ctx is done or a listener stops serving; then it shuts down
// gracefully. It returns why a listener stopped, with any error of the
// shutdown.
func (s *Server) Run(ctx context.Context, started func()) error {
	if err := s.Start(); err != nil {
		s.Close()
		return err
	}
	if started != nil {
		started()
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-s.served:
		s.Logger.Error("stopping the server", "error", serveErr.Error())
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.Settings.Limits.ShutdownTimeout.D())
	defer cancel()
	return errors.Join(serveErr, s.Shutdown(sctx))
}

// Shutdown stops accepting connections and background invocations, lets
// requests, scheduler job runs and background invocations in flight finish
// until ctx ends, cancels what is still running and closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	s.Logger.Info("shutting down")
	start := time.Now()
	s.Invoker.Close()
	var errs []error
	for _, srv := range []*http.Server{s.api, s.adminSrv} {
		if srv != nil {
			if err := srv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("draining requests: %w", err))
				srv.Close()
			}
		}
	}
	if err := s.Scheduler.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.Invoker.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := s.stop(ctx); err != nil {
		errs = append(errs, err)
	}
	s.Logger.Info("server stopped", "took", time.Since(start).Round(time.Millisecond).String())
	s.logOut.Close()
	return errors.Join(errs...)
}

// Close cancels background work and closes the store without draining
// requests or waiting for background invocations.
func (s *Server) Close() error {
	if s.lns != nil {
		s.lns.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.Settings.Limits.ShutdownTimeout.D())
	defer cancel()
	err := s.stop(ctx)
	s.logOut.Close()
	return err
}

// stop cancels background work, waits until ctx ends for the running
// objects to stop, and closes the store; it is safe on a server that Open
// built only in part. Background invocations that ignore the cancellation
// are not waited for: Shutdown gave them their time.
func (s *Server) stop(ctx context.Context) error {
	if s.Debugger != nil {
		s.Debugger.Close()
	}
	if s.Scheduler != nil {
		if err := s.Scheduler.Close(); err != nil {
			s.Logger.Warn("closing the scheduler", "error", err.Error())
		}
	}
	if s.Feed != nil {
		s.Feed.Close()
	}
	if s.PubSub != nil {
		s.PubSub.Close()
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.pickupWG.Wait()
	if s.Invoker != nil {
		s.Invoker.Close()
	}
	if s.Sessions != nil {
		s.Sessions.Close()
	}
	if s.Runtime != nil {
		if err := s.Runtime.Close(ctx); err != nil {
			s.Logger.Warn("stopping running objects", "error", err.Error())
		}
	}
	if s.Store == nil {
		return nil
	}
	return s.Store.Close()
}
