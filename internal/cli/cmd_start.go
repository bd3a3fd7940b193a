package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/builtin"
	"github.com/plexushq/plexus/internal/channel/rest"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/server"
)

// PasswordEnv names the environment variable holding the admin password.
const PasswordEnv = "PLEXUS_ADMIN_PASSWORD"

// DBEnv names the environment variable holding the store's URL.
const DBEnv = "PLEXUS_DB"

type serverFlags struct {
	listen, adminListen, db, dbFile string
	// debug is the debugger's address (plexus start --debug).
	debug string
}

func (f *serverFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&f.listen, "listen", "", "API listener address (default from plexus.yaml, :11223)")
	c.Flags().StringVar(&f.adminListen, "admin-listen", "", "admin listener address (default from plexus.yaml, 127.0.0.1:11224)")
	c.Flags().StringVar(&f.db, "db", "", "configuration store: a postgres:// URL (default: "+DBEnv+", else embedded SQLite in DIR/data);\nother local users can read it with ps: give a URL with a password in "+DBEnv+" or --db-file")
	c.Flags().StringVar(&f.dbFile, "db-file", "", "file holding the configuration store's URL (instead of --db)")
	c.MarkFlagsMutuallyExclusive("db", "db-file")
}

// storeURL returns the store URL of --db, --db-file or the environment
// variable, or "" for plexus.yaml's.
func (a *App) storeURL(f serverFlags) (string, error) {
	switch {
	case f.db != "":
		return f.db, nil
	case f.dbFile != "":
		data, err := os.ReadFile(f.dbFile)
		if err != nil {
			return "", fmt.Errorf("reading --db-file: %w", err)
		}
		return strings.TrimSpace(string(data)), nil
	}
	return a.Getenv(DBEnv), nil
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

If ` + PasswordEnv + ` is set, it becomes the admin password. The store is
--db, else the URL in the --db-file file, else ` + DBEnv + `, else plexus.yaml's
db: prefer ` + DBEnv + ` or --db-file for a URL with a password, which other
local users could read in the command line of --db (ps).

If a listener stops serving, the server shuts down and exits non-zero with
the reason.`,
		Example: `  plexus start
  plexus start /srv/plexus --listen :8080 --admin-listen 127.0.0.1:8081
  ` + DBEnv + `=postgres://plexus:secret@db.internal/plexus plexus start /srv/plexus
  plexus start /srv/plexus --db-file /etc/plexus/db-url`,
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
	c.Flags().StringVar(&f.debug, "debug", "", "serve the debugger of Starlark services (Debug Adapter Protocol) on this address, e.g. 127.0.0.1:11225;\ndevelopment mode only, clients attach with the admin password (docs/debugging.md)")
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
once. --listen and --admin-listen are written to DIR/plexus.yaml, so a later
plexus start DIR listens on the same addresses. Nothing is created when the
addresses are busy or the password is refused. Running quickstart again on an
existing DIR just starts it, with the flags for that run only.`,
		Example: `  plexus quickstart
  plexus quickstart /tmp/demo --listen 127.0.0.1:8080 --admin-listen 127.0.0.1:8081
  ` + PasswordEnv + `=s3cret-pass plexus quickstart`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir := dirArg(args, 0)
			return a.serve(c.Context(), dir, f, !envdir.Exists(dir))
		},
	}
	f.add(c)
	return c
}

// serve opens and runs a server until interrupted or a listener fails.
// With create, it first makes the environment, with the listener addresses
// in its plexus.yaml, an admin password and demo channels; a failure before
// the server runs then removes what it made (when DIR did not exist) or
// prints the password it set, so no environment is left with a password
// nobody saw.
func (a *App) serve(ctx context.Context, dir string, f serverFlags, create bool) (err error) {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	db, err := a.storeURL(f)
	if err != nil {
		return err
	}
	opts := server.Options{Dir: dir, Listen: f.listen, AdminListen: f.adminListen, DB: db, Debug: f.debug, Services: a.Services, LogOutput: a.Stderr}
	var password string
	var shown, running bool
	if create {
		settings := config.Default()
		settings.Override(f.listen, f.adminListen, "")
		if opts.Listeners, err = server.Listen(settings.Listen, settings.AdminListen); err != nil {
			return err
		}
		_, statErr := os.Stat(dir)
		if _, err := envdir.CreateWith(dir, settings); err != nil {
			opts.Listeners.Close()
			return err
		}
		defer func() {
			switch {
			case err == nil || running:
			case errors.Is(statErr, fs.ErrNotExist):
				os.RemoveAll(dir)
			case shown:
				fmt.Fprintf(a.Stdout, "The admin password of %s is %s (user admin).\n", dir, password)
			}
		}()
	}
	srv, err := server.Open(ctx, opts)
	if err != nil {
		return err
	}
	if password, shown, err = a.ensurePassword(ctx, srv); err != nil {
		srv.Close()
		return err
	}
	if create {
		if err := addDemoChannels(ctx, srv.Runtime); err != nil {
			srv.Close()
			return err
		}
	}
	return srv.Run(ctx, func() {
		running = true
		a.banner(dir, srv, password, shown, create)
		if a.Ready != nil {
			a.Ready(srv.APIAddr(), srv.AdminAddr())
		}
	})
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

func addDemoChannels(ctx context.Context, rt *live.Runtime) error {
	cs := live.Changeset{Source: "quickstart", Summary: "demo channels"}
	for _, d := range builtin.Demos() {
		ch := &rest.Channel{Name: d.Channel, IsActive: true, Service: d.Service, URLPath: d.URLPath, Method: d.Method,
			DataFormat: "json", MergeURLParamsReq: true, URLParamsPri: "qs-over-path"}
		cs.Objects = append(cs.Objects, live.Change{Kind: rest.Kind, Name: d.Channel, Object: ch})
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
	fmt.Fprintf(w, "  Dashboard  http://%s/   (log in with the admin password)\n", adm)
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
