package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/registry"
)

// kindInfo is what the CLI reads of GET /kinds: each kind's actions.
type kindInfo struct {
	ID      string       `json:"id"`
	Actions []actionInfo `json:"actions"`
}

type actionInfo struct {
	Name string `json:"name"`
	Doc  string `json:"doc"`
}

// hasAction reports whether the kind has an action.
func (k kindInfo) hasAction(name string) bool {
	return slices.ContainsFunc(k.Actions, func(a actionInfo) bool { return a.Name == name })
}

// kinds returns the kinds the server knows.
func (c *client) kinds(ctx context.Context) ([]kindInfo, error) {
	body, err := c.call(ctx, "GET", admin.Prefix+"/kinds", nil)
	if err != nil {
		return nil, err
	}
	var kinds []kindInfo
	if err := json.Unmarshal(body, &kinds); err != nil {
		return nil, fmt.Errorf("reading the server's answer: %w", err)
	}
	return kinds, nil
}

// kindsWith returns the ids of the kinds that have an action, or any
// action when action is "".
func kindsWith(kinds []kindInfo, action string) []string {
	var out []string
	for _, k := range kinds {
		if action == "" && len(k.Actions) > 0 || action != "" && k.hasAction(action) {
			out = append(out, k.ID)
		}
	}
	return out
}

// actionPath is the admin API path of an action on an object.
func actionPath(kind, name, action string) string {
	return admin.Prefix + "/objects/" + url.PathEscape(kind) + "/" + url.PathEscape(name) + "/" + url.PathEscape(action)
}

func (a *App) pingCmd() *cobra.Command {
	var server string
	c := &cobra.Command{
		Use:   "ping KIND NAME [DIR]",
		Short: "Ping an object, such as an outgoing connection, from a running server",
		Long: `Ping an object from the running server - an outgoing connection, say - and
print whether the remote end answered, with what and how fast. KIND is the
object's kind: any kind with a ping action, such as outgoing_rest, which sends
the connection's ping_method to its host + ping_path, with its credentials.
The exit code is 1 when the ping fails (no answer, or an HTTP answer of 400 or
more).

It runs the kind's ping action: plexus action KIND NAME ping prints its whole
answer. The server is the one of the local environment DIR (default
./plexus-env), or the one --server names, with the admin password in
` + PasswordEnv + `.`,
		Example: `  plexus ping outgoing_rest Billing
  plexus ping outgoing_rest "Orders API" /srv/plexus-env
  ` + PasswordEnv + `=... plexus ping outgoing_rest CRM --server http://10.0.0.5:11224`,
		Args:              rangeArgs(2, 3),
		ValidArgsFunction: a.completeAction("ping"),
		RunE: func(c *cobra.Command, args []string) error {
			kind, name := args[0], args[1]
			cl, err := a.newClient(server, dirArg(args, 2))
			if err != nil {
				return err
			}
			kinds, err := cl.kinds(c.Context())
			if err != nil {
				return err
			}
			if pingable := kindsWith(kinds, "ping"); !slices.Contains(pingable, kind) {
				return usageError{cmd: c.CommandPath(), err: fmt.Errorf("cannot ping %q: the kinds that can be pinged are %s", kind, strings.Join(pingable, ", "))}
			}
			body, err := cl.call(c.Context(), "POST", actionPath(kind, name, "ping"), nil)
			if err != nil {
				return err
			}
			var res registry.PingResult
			if err := json.Unmarshal(body, &res); err != nil {
				return fmt.Errorf("reading the server's answer: %w", err)
			}
			target := ""
			if res.Target != "" {
				target = " (" + res.Target + ")"
			}
			switch {
			case res.Status != 0:
				fmt.Fprintf(a.Stdout, "%s %q: %d %s in %.1f ms%s\n", kind, name, res.Status, http.StatusText(res.Status), res.TimeMS, target)
			case res.OK:
				fmt.Fprintf(a.Stdout, "%s %q: ok in %.1f ms%s\n", kind, name, res.TimeMS, target)
			default:
				fmt.Fprintf(a.Stdout, "%s %q: no answer after %.1f ms%s\n", kind, name, res.TimeMS, target)
			}
			if !res.OK {
				return fmt.Errorf("ping failed: %s", res.Error)
			}
			return nil
		},
	}
	c.Flags().StringVar(&server, "server", "", "admin URL of a running server, e.g. http://127.0.0.1:11224")
	return c
}

func (a *App) actionCmd() *cobra.Command {
	var server, data string
	c := &cobra.Command{
		Use:   "action KIND NAME ACTION [DIR]",
		Short: "Run an action on an object of a running server",
		Long: `Run an action on one object of a running server and print its answer as JSON.
Every kind declares its actions: outgoing_rest has ping, security has
change-password, scheduler has execute, pause and resume. GET
/admin/api/v1/kinds lists them with what they do, and completion offers the
kinds, names and actions of the running server.

--data is the action's JSON body; --data - reads it from standard input
(a password, say, which the command line would show to other users).

The server is the one of the local environment DIR (default ./plexus-env), or
the one --server names, with the admin password in ` + PasswordEnv + `.`,
		Example: `  plexus action outgoing_rest Billing ping
  plexus action scheduler crm.nightly-sync execute
  printf '{"password": "%s"}' "$NEW_SECRET" | plexus action security billing.creds change-password --data -
  ` + PasswordEnv + `=... plexus action scheduler crm.nightly-sync pause --server http://10.0.0.5:11224`,
		Args:              rangeArgs(3, 4),
		ValidArgsFunction: a.completeAction(""),
		RunE: func(c *cobra.Command, args []string) error {
			var body []byte
			switch data {
			case "":
			case "-":
				var err error
				if body, err = io.ReadAll(io.LimitReader(a.Stdin, 1<<20)); err != nil {
					return fmt.Errorf("reading the action's body: %w", err)
				}
			default:
				body = []byte(data)
			}
			if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
				return usageError{cmd: c.CommandPath(), err: errors.New("--data is not JSON: write the action's body, such as '{\"password\": \"...\"}'")}
			}
			cl, err := a.newClient(server, dirArg(args, 3))
			if err != nil {
				return err
			}
			answer, err := cl.call(c.Context(), "POST", actionPath(args[0], args[1], args[2]), body)
			if err != nil {
				return err
			}
			var out bytes.Buffer
			if json.Indent(&out, answer, "", "  ") != nil {
				out.Reset()
				out.Write(answer)
			}
			fmt.Fprintln(a.Stdout, strings.TrimSpace(out.String()))
			return nil
		},
	}
	c.Flags().StringVar(&server, "server", "", "admin URL of a running server, e.g. http://127.0.0.1:11224")
	c.Flags().StringVar(&data, "data", "", "the action's JSON body; - reads it from standard input")
	return c
}
