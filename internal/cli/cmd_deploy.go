package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/deploy"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/runtime"
	"github.com/plexushq/plexus/internal/server"
	"github.com/plexushq/plexus/internal/starlark"
)

func (a *App) deployCmd() *cobra.Command {
	var server, env string
	var watch bool
	var opts deployOptions
	c := &cobra.Command{
		Use:   "deploy PATH",
		Short: "Deploy service files to a running server",
		Long: `Deploy Starlark service files (.star) to a running server, from anywhere: the
server may be on another machine. PATH is a file, deployed under its base name,
or a directory, whose .star files are deployed under their paths relative to
it (billing/get_customer.star gives the service billing.get-customer unless the
file sets name). The server keeps the code in its store, so it survives
restarts without the files.

The server is the one of the local environment --env (default ./plexus-env),
or the one --server names, with the admin password in ` + PasswordEnv + `.

A service is known by its name, and a deployed file by where it comes from
(the file's path on this machine, the server's pickup directory, …). A deploy
that would replace or undeploy a service another source deployed is refused,
naming both; --force deploys anyway, and undeploys the file whose service it
takes over.

--check validates without deploying: on the server when it is reachable (so
name clashes with deployed services are found too), else locally.
--watch keeps running and redeploys each file when it is saved.`,
		Example: `  plexus deploy services/get_customer.star
  plexus deploy services/ --watch
  plexus deploy services/ --check
  plexus deploy other/orders.star --force
  ` + PasswordEnv + `=... plexus deploy services/ --server http://10.0.0.5:11224`,
		Args: rangeArgs(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			root, files, err := sourceFiles(args[0])
			if err != nil {
				return err
			}
			cl, err := a.newClient(server, env)
			if err == nil {
				err = a.deployFiles(c.Context(), cl, root, files, opts)
			}
			if opts.check && (errors.Is(err, errUnreachable) || cl == nil) {
				return a.checkLocally(c.Context(), root, files, opts)
			}
			if cl == nil || err != nil && !watch {
				return err
			}
			if !watch {
				return nil
			}
			return a.watchAndDeploy(c.Context(), cl, args[0], root, opts)
		},
	}
	c.Flags().StringVar(&server, "server", "", "admin URL of a running server, e.g. http://127.0.0.1:11224")
	c.Flags().StringVar(&env, "env", envdir.DefaultDir, "environment directory whose running server receives the files")
	c.Flags().BoolVar(&watch, "watch", false, "keep running and redeploy files when they are saved")
	c.Flags().BoolVar(&opts.check, "check", false, "validate without deploying")
	c.Flags().BoolVar(&opts.force, "force", false, "replace services that another source deployed")
	return c
}

// deployOptions are the flags of a deploy.
type deployOptions struct {
	check, force bool
}

// sourceFiles lists the .star files of a path: the file itself, or those
// below a directory, relative to root.
func sourceFiles(p string) (root string, rels []string, err error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", nil, err
	}
	if !st.IsDir() {
		if filepath.Ext(p) != starlark.Ext {
			return "", nil, fmt.Errorf("%s is not a %s file", p, starlark.Ext)
		}
		return filepath.Dir(p), []string{filepath.Base(p)}, nil
	}
	err = filepath.WalkDir(p, func(abs string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && abs != p && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && filepath.Ext(abs) == starlark.Ext && !strings.HasPrefix(d.Name(), ".") {
			rel, _ := filepath.Rel(p, abs)
			rels = append(rels, filepath.ToSlash(rel))
		}
		return nil
	})
	if err == nil && len(rels) == 0 {
		err = fmt.Errorf("%s holds no %s files", p, starlark.Ext)
	}
	return p, rels, err
}

// readSources reads files below root for a deploy, each with its
// absolute path as its origin.
func readSources(root string, rels []string) ([]admin.SourceFile, error) {
	var out []admin.SourceFile
	for _, rel := range rels {
		abs, err := filepath.Abs(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return nil, err
		}
		src, err := os.ReadFile(abs)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, admin.SourceFile{File: rel, Source: string(src), Origin: abs})
	}
	return out, nil
}

// deployFiles sends files to the server in one deploy and prints what it
// did or every problem it found.
func (a *App) deployFiles(ctx context.Context, cl *client, root string, rels []string, opts deployOptions) error {
	var req admin.DeployRequest
	var err error
	if req.Files, err = readSources(root, rels); err != nil || len(req.Files) == 0 {
		return err
	}
	body, _ := json.Marshal(req)
	q := url.Values{}
	if opts.check {
		q.Set("dry_run", "true")
	}
	if opts.force {
		q.Set("force", "true")
	}
	path := admin.Prefix + "/deploy"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	status, data, err := cl.do(ctx, "POST", path, body)
	if err != nil {
		return err
	}
	if status != 200 {
		var refused struct {
			Details  string
			Problems []*registry.Problem
		}
		json.Unmarshal(data, &refused)
		if len(refused.Problems) == 0 {
			fmt.Fprintln(a.Stderr, string(data))
		}
		a.printProblems(refused.Problems)
		return fmt.Errorf("deploy refused; the server keeps the previous version")
	}
	var res admin.DeployResult
	json.Unmarshal(data, &res)
	a.printDeploy(req.Files, res.Services, res.Warnings, opts.check)
	return nil
}

// printDeploy prints the services each file provides, the files a forced
// deploy undeployed, and the warnings.
func (a *App) printDeploy(files []admin.SourceFile, services map[string][]string, warnings []string, check bool) {
	verb := "deployed"
	if check {
		verb = "ok"
	}
	sent := map[string]bool{}
	for _, f := range files {
		sent[f.File] = true
		fmt.Fprintf(a.Stdout, "%s %s → %s\n", verb, f.File, strings.Join(services[f.File], ", "))
	}
	for _, file := range slices.Sorted(maps.Keys(services)) {
		if !sent[file] && len(services[file]) == 0 && !check {
			fmt.Fprintf(a.Stdout, "undeployed %s\n", file)
		}
	}
	for _, w := range warnings {
		fmt.Fprintln(a.Stderr, "warning: "+w)
	}
}

// printProblems prints the problems of a refused deploy.
func (a *App) printProblems(problems []*registry.Problem) {
	for _, p := range problems {
		fmt.Fprintln(a.Stderr, p.Error())
	}
}

// checkLocally validates files without a server, through a runtime of its
// own that runs the same checks as the server's, but knows none of its
// services.
func (a *App) checkLocally(ctx context.Context, root string, rels []string, opts deployOptions) error {
	files, err := readSources(root, rels)
	if err != nil {
		return err
	}
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	settings := config.Default()
	rt, err := runtime.New(runtime.Options{Logger: discard, Settings: settings,
		Compilers: map[string]runtime.Compiler{starlark.Ext: server.NewStarlark(settings.Starlark, discard)}})
	if err != nil {
		return err
	}
	cs := runtime.Changeset{Source: "check", DryRun: true, Force: opts.force}
	for _, f := range files {
		cs.Code = append(cs.Code, runtime.CodeChange{File: f.File, Source: []byte(f.Source), Origin: f.Origin})
	}
	res, err := rt.Apply(ctx, cs)
	defer fmt.Fprintln(a.Stderr, "(checked locally: no server was reachable, so name clashes with deployed services were not checked)")
	if r, ok := runtime.IsRefused(err); ok {
		a.printProblems(r.Problems)
		return errors.New("some files do not load")
	}
	if err != nil {
		return err
	}
	a.printDeploy(files, res.Services, res.Warnings, true)
	return nil
}

// watchAndDeploy redeploys files when they are saved, until interrupted.
func (a *App) watchAndDeploy(ctx context.Context, cl *client, arg, root string, opts deployOptions) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	single := ""
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		single = filepath.Base(arg)
	}
	fmt.Fprintf(a.Stdout, "watching %s for changes; stop with Ctrl+C\n", arg)
	w := &deploy.Watcher{
		Dir:    root,
		Logger: slog.New(slog.NewTextHandler(a.Stderr, nil)),
		Match: func(rel string) bool {
			return filepath.Ext(rel) == starlark.Ext && (single == "" || rel == single)
		},
		Changed: func(ctx context.Context, rels []string) {
			var saved []string
			for _, rel := range rels {
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel))); err == nil {
					saved = append(saved, rel)
					continue
				}
				// Deleted: undeploy it too, if it was deployed from here.
				abs, _ := filepath.Abs(filepath.Join(root, filepath.FromSlash(rel)))
				q := url.Values{"origin": {abs}}
				if opts.force {
					q.Set("force", "true")
				}
				if status, _, err := cl.do(ctx, "DELETE", admin.Prefix+"/deploy/"+rel+"?"+q.Encode(), nil); err == nil && status == 200 {
					fmt.Fprintf(a.Stdout, "undeployed %s\n", rel)
				}
			}
			if err := a.deployFiles(ctx, cl, root, saved, opts); err != nil {
				fmt.Fprintln(a.Stderr, err.Error())
			}
		},
	}
	return w.Run(ctx)
}
