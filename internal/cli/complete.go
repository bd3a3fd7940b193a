package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/envdir"
)

// completeFromServer completes the positional argument at index arg with
// the names a running server lists at path: the server of ./plexus-env, or
// the one --server names (with the admin password in PLEXUS_ADMIN_PASSWORD).
// Later arguments (DIR) complete as directories. Without a server, nothing
// is offered.
func (a *App) completeFromServer(arg int, path string) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) != arg {
			return nil, cobra.ShellCompDirectiveFilterDirs
		}
		cl, ctx, cancel, err := a.completionClient(c)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer cancel()
		status, body, err := cl.do(ctx, "GET", path, nil)
		var list []struct {
			Name string `json:"name"`
		}
		if err != nil || status != http.StatusOK || json.Unmarshal(body, &list) != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, o := range list {
			if strings.HasPrefix(o.Name, toComplete) {
				out = append(out, o.Name)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completionClient returns the client of the server completion asks (the
// server of ./plexus-env, or the one --server names) with a context that
// gives it 3 seconds.
func (a *App) completionClient(c *cobra.Command) (*client, context.Context, context.CancelFunc, error) {
	server, _ := c.Flags().GetString("server")
	cl, err := a.newClient(server, envdir.DefaultDir)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(c.Context(), 3*time.Second)
	return cl, ctx, cancel, nil
}

// completeAction completes plexus action KIND NAME ACTION [DIR] (all
// actions) or plexus ping KIND NAME [DIR] (action "ping"): the kinds with
// such actions, the names of the kind's objects and the kind's actions,
// from a running server (see completeFromServer).
func (a *App) completeAction(action string) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		last := 2
		if action != "" {
			last = 1
		}
		switch {
		case len(args) == 1:
			return a.completeFromServer(1, objectsPath(args[0]))(c, args, toComplete)
		case len(args) > last:
			return nil, cobra.ShellCompDirectiveFilterDirs
		}
		cl, ctx, cancel, err := a.completionClient(c)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer cancel()
		kinds, err := cl.kinds(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		if len(args) == 0 {
			for _, id := range kindsWith(kinds, action) {
				if strings.HasPrefix(id, toComplete) {
					out = append(out, id)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		}
		for _, k := range kinds {
			if k.ID != args[0] {
				continue
			}
			for _, act := range k.Actions {
				if strings.HasPrefix(act.Name, toComplete) {
					out = append(out, cobra.CompletionWithDesc(act.Name, firstSentence(act.Doc)))
				}
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// firstSentence returns the first sentence of a text.
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// objectsPath is the admin API path listing the objects of a kind.
func objectsPath(kind string) string { return admin.Prefix + "/objects/" + kind }
