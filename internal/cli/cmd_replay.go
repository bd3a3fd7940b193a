package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/dispatch"
)

func (a *App) replayCmd() *cobra.Command {
	var server string
	var list, asJSON bool
	c := &cobra.Command{
		Use:   "replay CID [DIR]",
		Short: "Run a recent request again against the current code",
		Long: `Run a request that a server in development mode kept (the last ` + fmt.Sprint(dispatch.ReplayPerChannel) + ` of each
channel) again, against the services deployed now, and show the new response
beside the one it got. --list shows the requests kept, newest first. The
server is the one of the local environment DIR (default ./plexus-env), or the
one --server names, with the admin password in ` + PasswordEnv + `.`,
		Example: `  plexus replay --list
  plexus replay 6f1c2a9e0b7d4c3a8e5f1b2d
  plexus replay 6f1c2a9e0b7d4c3a8e5f1b2d --json`,
		Args: func(c *cobra.Command, args []string) error {
			if list {
				return rangeArgs(0, 1)(c, args)
			}
			return rangeArgs(1, 2)(c, args)
		},
		RunE: func(c *cobra.Command, args []string) error {
			dir := dirArg(args, 1)
			if list {
				dir = dirArg(args, 0)
			}
			cl, err := a.newClient(server, dir)
			if err != nil {
				return err
			}
			if list {
				body, err := cl.call(c.Context(), "GET", admin.Prefix+"/replay", nil)
				if err != nil {
					return err
				}
				if asJSON {
					fmt.Fprintln(a.Stdout, string(body))
					return nil
				}
				var recent []dispatch.Recorded
				if err := json.Unmarshal(body, &recent); err != nil {
					return err
				}
				printRecent(a.Stdout, recent)
				return nil
			}
			body, err := cl.call(c.Context(), "POST", admin.Prefix+"/replay/"+url.PathEscape(args[0]), nil)
			if err != nil {
				return err
			}
			if asJSON {
				fmt.Fprintln(a.Stdout, string(body))
				return nil
			}
			var out dispatch.Replayed
			if err := json.Unmarshal(body, &out); err != nil {
				return err
			}
			printReplayed(a.Stdout, &out)
			return nil
		},
	}
	c.Flags().BoolVar(&list, "list", false, "list the requests kept for replay, newest first")
	c.Flags().BoolVar(&asJSON, "json", false, "print the admin API's JSON answer")
	c.Flags().StringVar(&server, "server", "", "admin URL of a running server, e.g. http://127.0.0.1:11224")
	return c
}

func printRecent(w io.Writer, recent []dispatch.Recorded) {
	if len(recent) == 0 {
		fmt.Fprintln(w, "No request is kept: the server keeps requests in development mode only (development: true in plexus.yaml).")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CID\tTIME\tCHANNEL\tSERVICE\tREQUEST\tSTATUS")
	for _, r := range recent {
		req := strings.TrimSpace(r.Verb + " " + r.Path)
		if !r.Kept {
			req += fmt.Sprintf(" (%d bytes: not replayable)", r.Size)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s/%s\t%s\t%s\t%d\n", r.CID, r.Time.UTC().Format("15:04:05"), r.Kind, r.Channel, r.Service, req, r.Reply.Status)
	}
	tw.Flush()
}

// printReplayed shows the two answers side by side, JSON indented.
func printReplayed(w io.Writer, out *dispatch.Replayed) {
	r := out.Request
	fmt.Fprintf(w, "%s/%s → %s  %s\n", r.Kind, r.Channel, r.Service, strings.TrimSpace(r.Verb+" "+r.Path))
	if len(r.Left) > 0 {
		fmt.Fprintf(w, "left out of the replay (credentials are never kept): %s\n", strings.Join(r.Left, ", "))
	}
	left := answerLines("before", out.Before)
	right := answerLines("after", out.After)
	width := 0
	for _, l := range left {
		width = max(width, utf8.RuneCountInString(l))
	}
	width = min(width, 60)
	for i := range max(len(left), len(right)) {
		var l, rr string
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			rr = right[i]
		}
		pad := width - utf8.RuneCountInString(l)
		fmt.Fprintf(w, "%s%s │ %s\n", l, strings.Repeat(" ", max(pad, 0)), rr)
	}
	if out.Same {
		fmt.Fprintln(w, "same answer")
	} else {
		fmt.Fprintln(w, "the answers differ")
	}
}

func answerLines(title string, a dispatch.Answer) []string {
	lines := []string{fmt.Sprintf("%s (cid %s)", title, a.CID), fmt.Sprintf("status %d", a.Status)}
	body := a.Body
	var buf bytes.Buffer
	if json.Indent(&buf, []byte(body), "", "  ") == nil {
		body = buf.String()
	}
	if body != "" {
		lines = append(lines, strings.Split(strings.TrimRight(body, "\n"), "\n")...)
	}
	if a.Cut > 0 {
		lines = append(lines, fmt.Sprintf("… %d more bytes", a.Cut))
	}
	return lines
}
