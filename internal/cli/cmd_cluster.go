package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/feed"
)

func (a *App) clusterCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "cluster",
		Short: "Show the nodes sharing the server's store",
		Long: `Work with the cluster of nodes that share one PostgreSQL store (see
docs/cluster.md). A server on SQLite is a cluster of one node.`,
		Example: `  plexus cluster status`,
	}
	c.AddCommand(a.clusterStatusCmd())
	return c
}

func (a *App) clusterStatusCmd() *cobra.Command {
	var server string
	var asJSON bool
	c := &cobra.Command{
		Use:   "status [DIR]",
		Short: "List the nodes, the revision each runs and the scheduler leader",
		Long: `List every node of the cluster of the server of the local environment DIR
(default ./plexus-env), or the one --server names, with the admin password in
` + PasswordEnv + `: its id, host name, API address, version, the store
revision it runs, whether it leads the scheduler, when it started and when
it last heart-beat. STATE is ok, lagging (it runs an older revision than the
store's latest) or stale (no heartbeat for ` + feed.StaleAfter.String() + `: it stopped
without leaving, or cannot reach the store). Times are UTC.`,
		Example: `  plexus cluster status
  plexus cluster status --json
  ` + PasswordEnv + `=... plexus cluster status --server http://10.0.0.5:11224`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.newClient(server, dirArg(args, 0))
			if err != nil {
				return err
			}
			body, err := cl.call(c.Context(), "GET", admin.Prefix+"/cluster", nil)
			if err != nil {
				return err
			}
			if asJSON {
				fmt.Fprint(a.Stdout, string(body))
				return nil
			}
			var st feed.Cluster
			if err := json.Unmarshal(body, &st); err != nil {
				return fmt.Errorf("reading the server's answer: %w", err)
			}
			leader := "none"
			for _, n := range st.Nodes {
				if n.ID == st.Leader {
					leader = n.ID + " (" + n.Name + ")"
				}
			}
			fmt.Fprintf(a.Stdout, "Store revision %d, %d node(s), scheduler leader: %s\n", st.Rev, len(st.Nodes), leader)
			w := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tNAME\tADDRESS\tVERSION\tREVISION\tSTATE\tSCHEDULER\tSTARTED (UTC)\tHEARTBEAT (UTC)")
			for _, n := range st.Nodes {
				state := "ok"
				switch {
				case n.Stale:
					state = "stale"
				case n.Lagging:
					state = "lagging"
				}
				role := "-"
				if n.Leader {
					role = "leader"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", n.ID, n.Name, n.Address, n.Version, n.Rev, state, role,
					n.StartedAt.UTC().Format(time.DateTime), n.Heartbeat.UTC().Format(time.DateTime))
			}
			return w.Flush()
		},
	}
	c.Flags().StringVar(&server, "server", "", "admin URL of a server to ask, such as http://10.0.0.5:11224")
	c.Flags().BoolVar(&asJSON, "json", false, "print the admin API's JSON answer")
	return c
}
