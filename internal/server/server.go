// Package server wires a Plexus server together: settings, store, runtime,
// invoker, the API listener and the admin listener. One Server struct holds
// everything, so tests can start many servers in one process.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/builtin"
	"github.com/plexushq/plexus/internal/channel/rest"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/invoke"
	"github.com/plexushq/plexus/internal/metrics"
	"github.com/plexushq/plexus/internal/runtime"
	"github.com/plexushq/plexus/internal/scheduler"
	"github.com/plexushq/plexus/internal/services"
	"github.com/plexushq/plexus/internal/store"
)

// Options configure a server. Empty fields take the environment's
// settings.
type Options struct {
	// Dir is the environment directory; it must exist.
	Dir string
	// Listen, AdminListen and DB override plexus.yaml.
	Listen, AdminListen, DB string
	// Services are the user's Go services (values with Handle methods).
	Services []any
	// LogOutput receives the logs; default os.Stderr.
	LogOutput io.Writer
}

// Server is one running Plexus server.
type Server struct {
	Env      *envdir.Env
	Settings *config.Settings
	Logger   *slog.Logger
	Store    *store.Store
	Metrics  *metrics.Metrics
	Runtime  *runtime.Runtime
	Invoker  *invoke.Invoker
	Admin    *admin.API
	// Scheduler fires scheduler jobs; its built-in services are
	// registered before the runtime exists and reach it after Attach.
	Scheduler *scheduler.Scheduler

	cancel   context.CancelFunc
	api      *http.Server
	adminSrv *http.Server
	apiLn    net.Listener
	adminLn  net.Listener
	served   chan error
}

// Open prepares a server: it reads the settings, opens and migrates the
// store and loads the configuration, but does not listen yet.
func Open(ctx context.Context, opts Options) (*Server, error) {
	env, err := envdir.Open(opts.Dir)
	if err != nil {
		return nil, err
	}
	settings, err := env.Settings()
	if err != nil {
		return nil, err
	}
	for dst, v := range map[*string]string{&settings.Listen: opts.Listen, &settings.AdminListen: opts.AdminListen, &settings.DB: opts.DB} {
		if v != "" {
			*dst = v
		}
	}
	out := opts.LogOutput
	if out == nil {
		out = os.Stderr
	}
	logger, err := NewLogger(out, settings.Log)
	if err != nil {
		return nil, err
	}
	m := metrics.New()
	sched := scheduler.New(scheduler.Options{Logger: logger, Metrics: m})
	svcs, err := goServices(append(builtin.Services(), sched.Services()...), opts.Services)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, settings.DB, env.Path(envdir.DataDir))
	if err != nil {
		return nil, err
	}
	s := &Server{Env: env, Settings: settings, Logger: logger, Store: st, Metrics: m, Scheduler: sched}
	s.Runtime, err = runtime.New(runtime.Options{
		Store: st, Logger: logger, Settings: settings, Metrics: s.Metrics, Builtins: svcs,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	base, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.Invoker = invoke.New(base, s.Runtime, logger)
	s.Scheduler.Attach(st, s.Runtime, s.Invoker)
	if err := s.Runtime.Load(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// goServices describes the built-in Go services (those of package builtin
// and of subsystems such as the scheduler) and the user's.
func goServices(builtins, user []any) ([]*services.Service, error) {
	var out []*services.Service
	for i, v := range append(builtins, user...) {
		svc, err := services.FromGo(v)
		if err != nil {
			return nil, fmt.Errorf("registering services: %w", err)
		}
		svc.Builtin = i < len(builtins)
		out = append(out, svc)
	}
	return out, nil
}

// NewLogger returns the server's logger.
func NewLogger(w io.Writer, cfg config.Log) (*slog.Logger, error) {
	level, err := config.ParseLevel(cfg.Level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// Start opens both listeners and serves in the background.
func (s *Server) Start() error {
	token := envdir.RandomToken(32)
	lim := s.Settings.Limits
	s.Admin = &admin.API{
		Runtime: s.Runtime, Invoker: s.Invoker, Store: s.Store, Logger: s.Logger,
		Settings: s.Settings, Metrics: s.Metrics, CLIToken: token,
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
	s.api = newServer(&rest.Handler{Runtime: s.Runtime, Invoker: s.Invoker, Logger: s.Logger, Settings: s.Settings})
	s.adminSrv = newServer(s.Admin.Handler())
	s.Scheduler.Routes(s.Admin, admin.Prefix)
	if err := s.Scheduler.Start(context.Background()); err != nil {
		return err
	}
	var err error
	if s.apiLn, err = net.Listen("tcp", s.Settings.Listen); err != nil {
		return fmt.Errorf("listening on %s (set another address with --listen): %w", s.Settings.Listen, err)
	}
	if s.adminLn, err = net.Listen("tcp", s.Settings.AdminListen); err != nil {
		s.apiLn.Close()
		return fmt.Errorf("listening on %s (set another address with --admin-listen): %w", s.Settings.AdminListen, err)
	}
	if err := s.Env.WriteCLI(envdir.CLI{Admin: s.AdminAddr(), Token: token}); err != nil {
		s.apiLn.Close()
		s.adminLn.Close()
		return fmt.Errorf("writing %s: %w", envdir.CLIFile, err)
	}
	s.served = make(chan error, 2)
	for srv, ln := range map[*http.Server]net.Listener{s.api: s.apiLn, s.adminSrv: s.adminLn} {
		go func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				s.served <- err
			}
		}()
	}
	s.Logger.Info("server started", "api", s.APIAddr(), "admin", s.AdminAddr(), "rev", s.Runtime.State().Rev,
		"services", s.Runtime.State().Services.Len(), "channels", s.Runtime.State().Count(rest.Kind))
	return nil
}

// APIAddr returns the API listener's address.
func (s *Server) APIAddr() string { return s.apiLn.Addr().String() }

// AdminAddr returns the admin listener's address.
func (s *Server) AdminAddr() string { return s.adminLn.Addr().String() }

// Run starts the server and serves until ctx is done, then shuts down
// gracefully.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(); err != nil {
		s.Close()
		return err
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-s.served:
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.Settings.Limits.ShutdownTimeout.D())
	defer cancel()
	return errors.Join(serveErr, s.Shutdown(sctx))
}

// Shutdown stops accepting connections, lets requests in flight finish
// until ctx ends, stops background invocations and closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	s.Logger.Info("shutting down")
	start := time.Now()
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
	if err := s.Close(); err != nil {
		errs = append(errs, err)
	}
	s.Logger.Info("server stopped", "took", time.Since(start).Round(time.Millisecond).String())
	return errors.Join(errs...)
}

// Close stops background work and closes the store without draining.
func (s *Server) Close() error {
	if err := s.Scheduler.Close(); err != nil {
		s.Logger.Warn("closing the scheduler", "error", err.Error())
	}
	if s.cancel != nil {
		s.cancel()
	}
	if s.Invoker != nil {
		s.Invoker.Wait()
	}
	return s.Store.Close()
}
