package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	goruntime "runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/docgen"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/store"
)

func (a *App) invokeCmd() *cobra.Command {
	var payload, verb, server string
	c := &cobra.Command{
		Use:   "invoke SERVICE [DIR]",
		Short: "Invoke a service on a running server",
		Long: `Invoke a service by name on a running server and print what it answered.
The server is the one of the local environment DIR (default ./plexus-env), or
the one --server names, with the admin password in ` + PasswordEnv + `.`,
		Example: `  plexus invoke plexus.ping
  plexus invoke plexus.helpers.echo --payload '{"user_id": 123}'
  plexus invoke demo.multi-verb --verb POST
  ` + PasswordEnv + `=... plexus invoke plexus.ping --server http://10.0.0.5:11224`,
		Args:              rangeArgs(1, 2),
		ValidArgsFunction: a.completeFromServer(0, admin.Prefix+"/services"),
		RunE: func(c *cobra.Command, args []string) error {
			if payload != "" && !json.Valid([]byte(payload)) {
				return usageError{cmd: c.CommandPath(), err: fmt.Errorf("--payload is not valid JSON: %s", payload)}
			}
			cl, err := a.newClient(server, dirArg(args, 1))
			if err != nil {
				return err
			}
			path := "/admin/api/v1/services/" + url.PathEscape(args[0]) + "/invoke"
			if verb != "" {
				path += "?verb=" + url.QueryEscape(verb)
			}
			status, body, err := cl.do(c.Context(), "POST", path, []byte(payload))
			if err != nil {
				return err
			}
			if status >= 300 {
				fmt.Fprintln(a.Stderr, string(body))
				return fmt.Errorf("the service answered %d", status)
			}
			if len(body) > 0 {
				fmt.Fprintln(a.Stdout, string(body))
			}
			return nil
		},
	}
	c.Flags().StringVar(&payload, "payload", "", "JSON payload to send")
	c.Flags().StringVar(&verb, "verb", "", "run the service's handler for this HTTP verb (default: its generic handler)")
	c.Flags().StringVar(&server, "server", "", "admin URL of a running server, e.g. http://127.0.0.1:11224")
	return c
}

func (a *App) adminCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "admin",
		Short: "Manage the admin account",
	}
	pw := &cobra.Command{
		Use:   "password",
		Short: "Manage the admin password",
	}
	var password string
	reset := &cobra.Command{
		Use:   "reset [DIR]",
		Short: "Set a new admin password",
		Long: `Set a new admin password for the environment DIR (default ./plexus-env). The
new password is --password, else ` + PasswordEnv + `, else a random one that is
printed. It takes effect at once, also on a running server.`,
		Example: `  plexus admin password reset
  plexus admin password reset /srv/plexus --password 'a long passphrase'`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return a.resetPassword(c.Context(), dirArg(args, 0), password)
		},
	}
	reset.Flags().StringVar(&password, "password", "", "the new password (at least 8 characters)")
	pw.AddCommand(reset)
	c.AddCommand(pw)
	c.AddCommand(a.totpCmd())
	return c
}

// totpCmd is plexus admin totp: recovering the Dashboard's second factor.
func (a *App) totpCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "totp",
		Short: "Manage the admin's two-factor login",
	}
	c.AddCommand(&cobra.Command{
		Use:   "reset [DIR]",
		Short: "Turn off the Dashboard's two-factor login",
		Long: `Remove the TOTP key enrolled from the Dashboard for the environment DIR
(default ./plexus-env), when the authenticator app is lost: the Dashboard then
asks for the admin password alone until a new key is enrolled. It takes effect
at once, also on a running server.`,
		Example: `  plexus admin totp reset /srv/plexus`,
		Args:    maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			env, err := envdir.Open(dirArg(args, 0))
			if err != nil {
				return err
			}
			st, err := a.openStore(c.Context(), env, store.Open)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := admin.ResetTOTP(c.Context(), st); err != nil {
				return err
			}
			fmt.Fprintln(a.Stdout, "Two-factor login turned off; enrol a new key from the Dashboard's Account page.")
			return nil
		},
	})
	return c
}

func (a *App) resetPassword(ctx context.Context, dir, password string) error {
	env, err := envdir.Open(dir)
	if err != nil {
		return err
	}
	st, err := a.openStore(ctx, env, store.Open)
	if err != nil {
		return err
	}
	defer st.Close()
	shown := false
	if password == "" {
		password = a.Getenv(PasswordEnv)
	}
	if password == "" {
		password, shown = envdir.RandomToken(12), true
	}
	if err := admin.SetPassword(ctx, st, password); err != nil {
		return err
	}
	if shown {
		fmt.Fprintf(a.Stdout, "New admin password: %s\n", password)
	} else {
		fmt.Fprintln(a.Stdout, "Admin password changed.")
	}
	return nil
}

// Version is the release version, set at build time with
// -ldflags "-X github.com/plexushq/plexus/internal/cli.Version=v1.2.3";
// by default it is the Plexus module's version in the build information.
var Version = ""

func (a *App) kindsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "kinds",
		Short: "Print the reference of the configuration kinds, as Markdown",
		Long: `Print the reference of every kind of configuration object this binary knows,
as Markdown: each kind's enmasse section and admin API path, its fields with
their labels, types, defaults, bounds and help, grouped as forms show them,
its actions and an example. A program that declares kinds of its own (package
kind) prints them too; Plexus's own page is docs/reference/kinds.md. A running
server gives the same as JSON at GET /admin/api/v1/kinds.`,
		Example: "  plexus kinds > kinds.md",
		Args:    maxArgs(0),
		Run: func(c *cobra.Command, args []string) {
			fmt.Fprint(a.Stdout, docgen.Kinds())
		},
	}
}

func (a *App) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Long: `Print the version of the Plexus module this binary was built from (devel
for a build from a work tree), the version control revision of the build
(with "modified" when the tree had uncommitted changes), and the Go version
and platform. plexus --version prints the same.`,
		Example: "  plexus version\n  plexus --version",
		Args:    maxArgs(0),
		Run: func(c *cobra.Command, args []string) {
			fmt.Fprintln(a.Stdout, version())
		},
	}
}

// version describes the binary: plexus VERSION (revision REV, modified)
// GO OS/ARCH.
func version() string {
	info, _ := debug.ReadBuildInfo()
	return versionOf(info)
}

// versionOf describes a binary from its build information (nil when it
// has none).
func versionOf(info *debug.BuildInfo) string {
	v, rev, modified := Version, "", false
	goVersion := goruntime.Version()
	if info != nil {
		goVersion = info.GoVersion
		// The Plexus module is the main one, or a dependency of a program
		// that embeds Plexus.
		module := strings.TrimSuffix(reflect.TypeFor[App]().PkgPath(), "/internal/cli")
		mod := &info.Main
		for _, d := range info.Deps {
			if d.Path == module {
				mod = d
			}
		}
		if v == "" {
			v = mod.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	out := "plexus " + v
	if rev != "" {
		out += " (revision " + rev
		if modified {
			out += ", modified"
		}
		out += ")"
	}
	return out + " " + goVersion + " " + goruntime.GOOS + "/" + goruntime.GOARCH
}

// openStore opens an environment's store, for commands that work on a
// stopped server: the one PLEXUS_DB names, else plexus.yaml's.
func (a *App) openStore(ctx context.Context, env *envdir.Env, open func(ctx context.Context, dsn, dataDir string) (*store.Store, error)) (*store.Store, error) {
	settings, err := env.Settings()
	if err != nil {
		return nil, err
	}
	settings.Override("", "", a.Getenv(DBEnv))
	return open(ctx, settings.DB, env.Path(envdir.DataDir))
}
