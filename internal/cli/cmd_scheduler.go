package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/scheduler"
)

const schedulerJobs = admin.Prefix + "/scheduler/jobs"

func (a *App) schedulerCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "scheduler",
		Short: "List, run, pause and resume scheduler jobs",
		Long: `Work with the scheduler jobs of a running server: the server of the local
environment DIR (default ./plexus-env), or the one --server names, with the
admin password in ` + PasswordEnv + `.

Jobs themselves are configuration (kind scheduler): create and change them
with the admin API, enmasse files or the plexus.scheduler.job.* services.`,
		Example: `  plexus scheduler list
  plexus scheduler run crm.nightly-sync --wait
  plexus scheduler pause crm.nightly-sync
  plexus scheduler resume crm.nightly-sync /srv/plexus`,
	}
	c.AddCommand(a.schedulerListCmd(), a.schedulerRunCmd(), a.schedulerSetActiveCmd(false), a.schedulerSetActiveCmd(true))
	return c
}

func (a *App) schedulerListCmd() *cobra.Command {
	var server string
	var asJSON bool
	c := &cobra.Command{
		Use:   "list [DIR]",
		Short: "List the jobs with their last and next runs",
		Long: `List every scheduler job: whether it is active, its service and plan, when it
runs next, when it last ran, how that run ended and how long it took. Times
are UTC.`,
		Example: `  plexus scheduler list
  plexus scheduler list --json
  ` + PasswordEnv + `=... plexus scheduler list --server http://10.0.0.5:11224`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			body, err := a.schedulerCall(c.Context(), server, dirArg(args, 0), "GET", schedulerJobs)
			if err != nil {
				return err
			}
			if asJSON {
				fmt.Fprint(a.Stdout, string(body))
				return nil
			}
			var list []scheduler.JobStatus
			if err := json.Unmarshal(body, &list); err != nil {
				return fmt.Errorf("reading the server's answer: %w", err)
			}
			if len(list) == 0 {
				fmt.Fprintln(a.Stdout, "No scheduler jobs.")
				return nil
			}
			w := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tACTIVE\tSERVICE\tPLAN\tNEXT RUN (UTC)\tLAST RUN (UTC)\tOUTCOME\tDURATION")
			for _, j := range list {
				outcome := j.LastOutcome
				if j.Running {
					outcome = "running"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.Name, yesNo(j.IsActive), j.Service, j.Plan,
					when(j.NextRun), when(j.LastRun), dash(outcome), duration(j.LastDurationMS))
			}
			return w.Flush()
		},
	}
	c.Flags().StringVar(&server, "server", "", "admin URL of a running server, e.g. http://127.0.0.1:11224")
	c.Flags().BoolVar(&asJSON, "json", false, "print the admin API's JSON")
	return c
}

func (a *App) schedulerRunCmd() *cobra.Command {
	var server string
	var wait bool
	c := &cobra.Command{
		Use:   "run NAME [DIR]",
		Short: "Run a job now, without changing its plan",
		Long: `Run a scheduler job now, as if it were due, without changing when it runs
next or counting towards its repeats. Inactive jobs can be run too. It prints
the run's cid, which every log line of the run carries; with --wait it waits
for the run to end, prints how it ended and exits 1 if it failed. A job whose
previous run is still going is not started again.`,
		Example: `  plexus scheduler run crm.nightly-sync
  plexus scheduler run crm.nightly-sync --wait`,
		Args:              rangeArgs(1, 2),
		ValidArgsFunction: a.completeFromServer(0, schedulerJobs),
		RunE: func(c *cobra.Command, args []string) error {
			dir := dirArg(args, 1)
			body, err := a.schedulerCall(c.Context(), server, dir, "POST", schedulerJobs+"/"+url.PathEscape(args[0])+"/execute")
			if err != nil {
				return err
			}
			var started struct{ CID string }
			if err := json.Unmarshal(body, &started); err != nil {
				return fmt.Errorf("reading the server's answer: %w", err)
			}
			fmt.Fprintf(a.Stdout, "Started %s, cid %s\n", args[0], started.CID)
			if !wait {
				return nil
			}
			return a.waitRun(c.Context(), server, dir, args[0], started.CID)
		},
	}
	c.Flags().StringVar(&server, "server", "", "admin URL of a running server, e.g. http://127.0.0.1:11224")
	c.Flags().BoolVar(&wait, "wait", false, "wait for the run to end and report its outcome")
	return c
}

// waitRun polls the job until its history holds the run.
func (a *App) waitRun(ctx context.Context, server, dir, name, id string) error {
	for {
		body, err := a.schedulerCall(ctx, server, dir, "GET", schedulerJobs+"/"+url.PathEscape(name))
		if err != nil {
			return err
		}
		var j scheduler.JobStatus
		if err := json.Unmarshal(body, &j); err != nil {
			return fmt.Errorf("reading the server's answer: %w", err)
		}
		for _, r := range j.History {
			if r.CID != id {
				continue
			}
			if r.Outcome != "ok" {
				return fmt.Errorf("the run failed after %s: %s", duration(&r.DurationMS), r.Details)
			}
			fmt.Fprintf(a.Stdout, "Finished: ok, %s\n", duration(&r.DurationMS))
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (a *App) schedulerSetActiveCmd(active bool) *cobra.Command {
	var server string
	verb, done, doc := "pause", "Paused", `Make a scheduler job inactive: it is kept, with its run history, but does not
run until it is resumed. A run going on is not stopped. The change goes through
the one change path, as an edit of the job's is_active would.`
	if active {
		verb, done, doc = "resume", "Resumed", `Make a scheduler job active again. It runs at the next point of its plan;
runs missed while it was paused are not made up. A job that had completed its
plan (a one-time job that ran, or repeats reached) starts its plan afresh, so a
one-time job whose start_date is past runs at once.`
	}
	c := &cobra.Command{
		Use:               verb + " NAME [DIR]",
		Short:             strings.ToUpper(verb[:1]) + verb[1:] + " a job",
		Long:              doc,
		Example:           fmt.Sprintf("  plexus scheduler %s crm.nightly-sync\n  plexus scheduler %s crm.nightly-sync /srv/plexus", verb, verb),
		Args:              rangeArgs(1, 2),
		ValidArgsFunction: a.completeFromServer(0, schedulerJobs),
		RunE: func(c *cobra.Command, args []string) error {
			body, err := a.schedulerCall(c.Context(), server, dirArg(args, 1), "POST", schedulerJobs+"/"+url.PathEscape(args[0])+"/"+verb)
			if err != nil {
				return err
			}
			var j scheduler.JobStatus
			if err := json.Unmarshal(body, &j); err != nil {
				return fmt.Errorf("reading the server's answer: %w", err)
			}
			if active {
				fmt.Fprintf(a.Stdout, "%s %s; next run %s\n", done, j.Name, when(j.NextRun))
			} else {
				fmt.Fprintf(a.Stdout, "%s %s\n", done, j.Name)
			}
			return nil
		},
	}
	c.Flags().StringVar(&server, "server", "", "admin URL of a running server, e.g. http://127.0.0.1:11224")
	return c
}

// schedulerCall calls the admin API and returns the body of a successful
// answer, or the error envelope's details as an error.
func (a *App) schedulerCall(ctx context.Context, server, dir, method, path string) ([]byte, error) {
	cl, err := a.newClient(server, dir)
	if err != nil {
		return nil, err
	}
	status, body, err := cl.do(ctx, method, path, nil)
	if err != nil {
		return nil, err
	}
	if status >= 300 {
		var env struct{ Details string }
		if json.Unmarshal(body, &env) == nil && env.Details != "" {
			return nil, errors.New(env.Details)
		}
		return nil, fmt.Errorf("the server answered %d: %s", status, body)
	}
	return body, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// when formats an admin API time for a terminal.
func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func duration(ms *float64) string {
	if ms == nil {
		return "-"
	}
	d := time.Duration(*ms * float64(time.Millisecond))
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.2f ms", *ms)
	case d < time.Second:
		return fmt.Sprintf("%.0f ms", *ms)
	}
	return d.Round(time.Millisecond).String()
}
