// Package cli holds the plexus commands. Main runs them in-process, so
// tests and users' own binaries (through the plexus package) get the same
// commands.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/envdir"
)

// App is what the commands need from their caller.
type App struct {
	// Services are the user's Go services, registered with every server the
	// commands start.
	Services []any
	// Stdout, Stderr receive the commands' output.
	Stdout, Stderr io.Writer
	// Stdin is where commands read secrets from (default os.Stdin).
	Stdin io.Reader
	// Getenv reads environment variables.
	Getenv func(string) string
	// Ready, when set, is called with the started server's addresses
	// (tests use it).
	Ready func(api, admin string)
}

// Main runs the command line args and returns the process exit code.
func (a *App) Main(ctx context.Context, args []string) int {
	if a.Stdout == nil {
		a.Stdout = os.Stdout
	}
	if a.Stderr == nil {
		a.Stderr = os.Stderr
	}
	if a.Getenv == nil {
		a.Getenv = os.Getenv
	}
	if a.Stdin == nil {
		a.Stdin = os.Stdin
	}
	root := a.Root()
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(a.Stderr, "Error: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(a.Stderr, "Run '%s --help' for usage.\n", ue.cmd)
		}
		return 1
	}
	return 0
}

// usageError is an error in how a command was called.
type usageError struct {
	cmd string
	err error
}

func (e usageError) Error() string { return e.err.Error() }

// Root returns the plexus command with every subcommand.
func (a *App) Root() *cobra.Command {
	root := &cobra.Command{
		Use:   "plexus",
		Short: "Plexus integration platform and backend application server",
		Long: `Plexus runs services - small units of business logic written in Go or
Starlark - on REST channels, with outgoing connections, security, a scheduler
and configuration kept in one store.

Start with:
  plexus quickstart            create ./plexus-env and start a server
  plexus start [DIR]           start an existing environment`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{cmd: c.CommandPath(), err: err}
	})
	root.AddCommand(
		a.quickstartCmd(),
		a.startCmd(),
		a.invokeCmd(),
		a.deployCmd(),
		a.portCmd(),
		a.replayCmd(),
		a.initVSCodeCmd(),
		a.enmasseCmd(),
		a.schedulerCmd(),
		a.pubsubCmd(),
		a.clusterCmd(),
		a.adminCmd(),
		a.pingCmd(),
		a.actionCmd(),
		a.kindsCmd(),
		a.openapiCmd(),
		a.apidocsCmd(),
		a.securityCmd(),
		a.secretsCmd(),
		a.versionCmd(),
	)
	root.Version = version()
	root.SetVersionTemplate("{{.Version}}\n")
	refuseUnknownSubcommands(root)
	return root
}

// refuseUnknownSubcommands makes every command that only groups others
// (plexus admin, plexus scheduler, …) fail on an unknown subcommand,
// instead of printing its help and exiting 0 as cobra does; without one it
// prints its help.
func refuseUnknownSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		refuseUnknownSubcommands(sub)
	}
	if c.Runnable() || !c.HasSubCommands() || !c.HasParent() {
		return
	}
	c.SuggestionsMinimumDistance = 2
	c.Args = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return usageError{cmd: c.CommandPath(), err: errors.New(msg)}
	}
	c.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
}

// dirArg returns the environment directory argument at index i, or the
// default.
func dirArg(args []string, i int) string {
	if len(args) > i {
		return args[i]
	}
	return envdir.DefaultDir
}

// maxArgs is cobra.MaximumNArgs with an error that points at --help.
func maxArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := cobra.MaximumNArgs(n)(c, args); err != nil {
			return usageError{cmd: c.CommandPath(), err: err}
		}
		return nil
	}
}

// rangeArgs is cobra.RangeArgs with an error that points at --help.
func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := cobra.RangeArgs(lo, hi)(c, args); err != nil {
			return usageError{cmd: c.CommandPath(), err: err}
		}
		return nil
	}
}
