package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/admin"
	outrest "github.com/plexushq/plexus/internal/outconn/rest"
)

func (a *App) pingCmd() *cobra.Command {
	var server string
	c := &cobra.Command{
		Use:   "ping KIND NAME [DIR]",
		Short: "Ping an outgoing connection from a running server",
		Long: `Ping an outgoing connection from the running server and print the status the
remote end answered with and the time it took. KIND is the connection's kind;
outgoing_rest sends the connection's ping_method to its host + ping_path, with
its credentials. The exit code is 1 when the ping fails or the answer is 400
or more.

The server is the one of the local environment DIR (default ./plexus-env), or
the one --server names, with the admin password in ` + PasswordEnv + `.`,
		Example: `  plexus ping outgoing_rest Billing
  plexus ping outgoing_rest "Orders API" /srv/plexus-env
  ` + PasswordEnv + `=... plexus ping outgoing_rest CRM --server http://10.0.0.5:11224`,
		Args: rangeArgs(2, 3),
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return []cobra.Completion{outrest.Kind}, cobra.ShellCompDirectiveNoFileComp
			}
			return a.completeFromServer(1, objectsPath(args[0]))(c, args, toComplete)
		},
		RunE: func(c *cobra.Command, args []string) error {
			kind, name := args[0], args[1]
			if kind != outrest.Kind {
				return usageError{cmd: c.CommandPath(), err: fmt.Errorf("cannot ping %q: the kinds that can be pinged are %s", kind, outrest.Kind)}
			}
			cl, err := a.newClient(server, dirArg(args, 2))
			if err != nil {
				return err
			}
			path := admin.Prefix + "/" + kind + "/" + url.PathEscape(name) + "/ping"
			status, body, err := cl.do(c.Context(), "POST", path, nil)
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				var env struct {
					Details string `json:"details"`
				}
				if json.Unmarshal(body, &env) == nil && env.Details != "" {
					return errors.New(env.Details)
				}
				return fmt.Errorf("the server answered %d: %s", status, body)
			}
			var res outrest.PingResult
			if err := json.Unmarshal(body, &res); err != nil {
				return fmt.Errorf("reading the server's answer: %w", err)
			}
			if res.Status == 0 {
				fmt.Fprintf(a.Stdout, "%s %q: no answer after %.1f ms (%s %s)\n", kind, name, res.TimeMS, res.Method, res.URL)
				return fmt.Errorf("ping failed: %s", res.Error)
			}
			fmt.Fprintf(a.Stdout, "%s %q: %d %s in %.1f ms (%s %s)\n", kind, name, res.Status, http.StatusText(res.Status), res.TimeMS, res.Method, res.URL)
			if !res.OK {
				return fmt.Errorf("ping failed: %s", res.Error)
			}
			return nil
		},
	}
	c.Flags().StringVar(&server, "server", "", "admin URL of a running server, e.g. http://127.0.0.1:11224")
	return c
}
