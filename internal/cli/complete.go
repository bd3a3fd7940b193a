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
		server, _ := c.Flags().GetString("server")
		cl, err := a.newClient(server, envdir.DefaultDir)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(c.Context(), 3*time.Second)
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

// objectsPath is the admin API path listing the objects of a kind.
func objectsPath(kind string) string { return admin.Prefix + "/objects/" + kind }
