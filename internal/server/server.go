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
	"sync"
	"time"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/builtin"
	"github.com/plexushq/plexus/internal/channel/rest"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/deploy"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/invoke"
	"github.com/plexushq/plexus/internal/metrics"
	"github.com/plexushq/plexus/internal/runtime"
	"github.com/plexushq/plexus/internal/secret"
	"github.com/plexushq/plexus/internal/services"
	"github.com/plexushq/plexus/internal/starlark"
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
	// Starlark compiles .star services; subsystems add self attributes to
	// it with Provide before Start.
	Starlark *starlark.Compiler
	// Pickup watches the pickup directory; subsystems add hooks to it
	// before Start.
	Pickup *deploy.Pickup

	base     context.Context
	cancel   context.CancelFunc
	pickupWG sync.WaitGroup
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
	svcs, err := goServices(opts.Services)
	if err != nil {
		return nil, err
	}
	key, err := env.ServerKey()
	if err != nil {
		return nil, err
	}
	box, err := secret.New(key)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, settings.DB, env.Path(envdir.DataDir))
	if err != nil {
		return nil, err
	}
	s := &Server{Env: env, Settings: settings, Logger: logger, Store: st, Metrics: metrics.New()}
	s.Starlark = starlark.New(settings.Starlark.MaxSteps, logger)
	s.Runtime, err = runtime.New(runtime.Options{
		Store: st, Logger: logger, Settings: settings, Metrics: s.Metrics, Builtins: svcs,
		Compilers: map[string]runtime.Compiler{starlark.Ext: s.Starlark}, Secrets: box,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	base, cancel := context.WithCancel(context.Background())
	s.base, s.cancel = base, cancel
	s.Invoker = invoke.New(base, s.Runtime, logger)
	if err := s.openTypedIO(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.Pickup = &deploy.Pickup{Dir: env.Path(envdir.ServicesDir), Exts: []string{starlark.Ext}, Runtime: s.Runtime, Logger: logger}
	if err := s.Runtime.Load(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// goServices describes the built-in and user Go services.
func goServices(user []any) ([]*services.Service, error) {
	var out []*services.Service
	for i, v := range append(builtin.Services(), user...) {
		svc, err := services.FromGo(v)
		if err != nil {
			return nil, fmt.Errorf("registering services: %w", err)
		}
		svc.Builtin = i < len(builtin.Services())
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
	s.startTypedIO()
	s.pickupWG.Add(1)
	go func() {
		defer s.pickupWG.Done()
		if err := s.Pickup.Run(s.base); err != nil {
			s.Logger.Error("pickup directory", "error", err.Error())
		}
	}()
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
	if err := s.Close(); err != nil {
		errs = append(errs, err)
	}
	s.Logger.Info("server stopped", "took", time.Since(start).Round(time.Millisecond).String())
	return errors.Join(errs...)
}

// Close stops background work and closes the store without draining.
func (s *Server) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	s.pickupWG.Wait()
	if s.Invoker != nil {
		s.Invoker.Wait()
	}
	return s.Store.Close()
}
