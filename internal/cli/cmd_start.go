package cli

import (
	"context"
	"fmt"
	"net"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/builtin"
	"github.com/plexushq/plexus/internal/channel/rest"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/runtime"
	"github.com/plexushq/plexus/internal/server"
)

// PasswordEnv names the environment variable holding the admin password.
const PasswordEnv = "PLEXUS_ADMIN_PASSWORD"

type serverFlags struct {
	listen, adminListen, db string
}

func (f *serverFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.listen, "listen", "", "API listener address (default from plexus.yaml, :11223)")
	c.Flags().StringVar(&f.adminListen, "admin-listen", "", "admin listener address (default from plexus.yaml, 127.0.0.1:11224)")
	c.Flags().StringVar(&f.db, "db", "", "configuration store: a postgres:// URL (default: embedded SQLite in DIR/data)")
}

func (a *App) startCmd() *cobra.Command {
	var f serverFlags
	c := &cobra.Command{
		Use:   "start [DIR]",
		Short: "Start the server of an existing environment",
		Long: `Start the server of an existing environment (default ./plexus-env) in the
foreground. It serves REST channels on the API listener and the admin API on
the admin listener, and stops gracefully on Ctrl+C or SIGTERM: it stops
accepting connections and lets requests in flight finish.

If ` + PasswordEnv + ` is set, it becomes the admin password.`,
		Example: `  plexus start
  plexus start /srv/plexus --listen :8080 --admin-listen 127.0.0.1:8081
  plexus start --db postgres://plexus@db.internal/plexus`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir := dirArg(args, 0)
			if _, err := envdir.Open(dir); err != nil {
				return err
			}
			return a.serve(c.Context(), dir, f, false)
		},
	}
	f.add(c)
	return c
}

func (a *App) quickstartCmd() *cobra.Command {
	var f serverFlags
	c := &cobra.Command{
		Use:   "quickstart [DIR]",
		Short: "Create an environment with demo services and start it",
		Long: `Create an environment (default ./plexus-env) with demo services, their REST
channels and an admin account, then start the server in the foreground and
print its addresses, the admin password and curl lines to try.

The admin password is ` + PasswordEnv + ` when set, else a random one printed
once. Running quickstart again on an existing DIR just starts it.`,
		Example: `  plexus quickstart
  plexus quickstart /tmp/demo --listen 127.0.0.1:8080 --admin-listen 127.0.0.1:8081
  ` + PasswordEnv + `=s3cret-pass plexus quickstart`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir := dirArg(args, 0)
			created := false
			if !envdir.Exists(dir) {
				if _, err := envdir.Create(dir); err != nil {
					return err
				}
				created = true
			}
			return a.serve(c.Context(), dir, f, created)
		},
	}
	f.add(c)
	return c
}

// serve opens and runs a server until interrupted. A new environment gets
// its admin password and demo channels first.
func (a *App) serve(ctx context.Context, dir string, f serverFlags, created bool) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := server.Open(ctx, server.Options{
		Dir: dir, Listen: f.listen, AdminListen: f.adminListen, DB: f.db,
		Services: a.Services, LogOutput: a.Stderr,
	})
	if err != nil {
		return err
	}
	password, shown, err := a.ensurePassword(ctx, srv)
	if err != nil {
		srv.Close()
		return err
	}
	if created {
		if err := addDemoChannels(ctx, srv.Runtime); err != nil {
			srv.Close()
			return err
		}
	}
	if err := srv.Start(); err != nil {
		srv.Close()
		return err
	}
	a.banner(dir, srv, password, shown, created)
	if a.Ready != nil {
		a.Ready(srv.APIAddr(), srv.AdminAddr())
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), srv.Settings.Limits.ShutdownTimeout.D())
	defer cancel()
	return srv.Shutdown(sctx)
}

// ensurePassword sets the admin password from the environment variable,
// or a random one when none is set yet. shown says whether password
// should be printed.
func (a *App) ensurePassword(ctx context.Context, srv *server.Server) (password string, shown bool, err error) {
	if p := a.Getenv(PasswordEnv); p != "" {
		return p, false, admin.SetPassword(ctx, srv.Store, p)
	}
	has, err := admin.HasPassword(ctx, srv.Store)
	if err != nil || has {
		return "", false, err
	}
	p := envdir.RandomToken(12)
	return p, true, admin.SetPassword(ctx, srv.Store, p)
}

func addDemoChannels(ctx context.Context, rt *runtime.Runtime) error {
	cs := runtime.Changeset{Source: "quickstart", Summary: "demo channels"}
	for _, d := range builtin.Demos() {
		ch := &rest.Channel{Name: d.Channel, IsActive: true, Service: d.Service, URLPath: d.URLPath, Method: d.Method,
			DataFormat: "json", MergeURLParamsReq: true, URLParamsPri: "qs-over-path"}
		cs.Objects = append(cs.Objects, runtime.Change{Kind: rest.Kind, Name: d.Channel, Object: ch})
	}
	_, err := rt.Apply(ctx, cs)
	return err
}

// hostPort turns a listener address into one a user can type.
func hostPort(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func (a *App) banner(dir string, srv *server.Server, password string, shown, created bool) {
	api, adm := hostPort(srv.APIAddr()), hostPort(srv.AdminAddr())
	w := a.Stdout
	fmt.Fprintf(w, "\nPlexus is running from %s\n\n", dir)
	fmt.Fprintf(w, "  API        %s://%s\n", srv.APIScheme(), api)
	fmt.Fprintf(w, "  Admin API  http://%s/admin/api/v1   (/metrics on the same listener)\n", adm)
	pw := "$" + PasswordEnv
	switch {
	case shown:
		pw = password
		fmt.Fprintf(w, "  Admin      user admin, password %s   (shown once; change it with: plexus admin password reset %s)\n", password, dir)
	case password != "":
		fmt.Fprintf(w, "  Admin      user admin, password from %s\n", PasswordEnv)
	default:
		pw = "PASSWORD"
		fmt.Fprintf(w, "  Admin      user admin, password set earlier (reset it with: plexus admin password reset %s)\n", dir)
	}
	fmt.Fprintf(w, "\nTry it:\n\n")
	if created || srv.Runtime.State().Count(rest.Kind) > 0 {
		fmt.Fprintf(w, "  curl %s/api/log-input-data -d '{\"user_id\":\"123\", \"user_name\":\"my.user\"}'\n", api)
		fmt.Fprintf(w, "  curl -X DELETE %s/api/multi-verb\n", api)
	}
	fmt.Fprintf(w, "  curl -u admin:%s http://%s/admin/api/v1/services\n", pw, adm)
	fmt.Fprintf(w, "\nStop with Ctrl+C.\n\n")
}
