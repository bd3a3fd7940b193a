package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/deploy"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/starlark"
)

func (a *App) deployCmd() *cobra.Command {
	var server, env string
	var watch, check bool
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

--check validates without deploying: on the server when it is reachable (so
name clashes with deployed services are found too), else locally.
--watch keeps running and redeploys each file when it is saved.`,
		Example: `  plexus deploy services/get_customer.star
  plexus deploy services/ --watch
  plexus deploy services/ --check
  ` + PasswordEnv + `=... plexus deploy services/ --server http://10.0.0.5:11224`,
		Args: rangeArgs(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			root, files, err := sourceFiles(args[0])
			if err != nil {
				return err
			}
			cl, clientErr := a.newClient(server, env)
			if check && clientErr != nil {
				return a.checkLocally(root, files)
			}
			if clientErr != nil {
				return clientErr
			}
			if err := a.deployFiles(c.Context(), cl, root, files, check); err != nil && !watch {
				return err
			}
			if !watch {
				return nil
			}
			return a.watchAndDeploy(c.Context(), cl, args[0], root)
		},
	}
	c.Flags().StringVar(&server, "server", "", "admin URL of a running server, e.g. http://127.0.0.1:11224")
	c.Flags().StringVar(&env, "env", envdir.DefaultDir, "environment directory whose running server receives the files")
	c.Flags().BoolVar(&watch, "watch", false, "keep running and redeploy files when they are saved")
	c.Flags().BoolVar(&check, "check", false, "validate without deploying")
	return c
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

// deployFiles sends files to the server in one deploy and prints what it
// did or every problem it found.
func (a *App) deployFiles(ctx context.Context, cl *client, root string, rels []string, dryRun bool) error {
	var req admin.DeployRequest
	for _, rel := range rels {
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		req.Files = append(req.Files, admin.SourceFile{File: rel, Source: string(src)})
	}
	if len(req.Files) == 0 {
		return nil
	}
	body, _ := json.Marshal(req)
	path := admin.Prefix + "/deploy"
	if dryRun {
		path += "?dry_run=true"
	}
	status, data, err := cl.do(ctx, "POST", path, body)
	if err != nil {
		return err
	}
	if status != 200 {
		var refused struct {
			Details  string
			Problems []registry.Problem
		}
		json.Unmarshal(data, &refused)
		for _, p := range refused.Problems {
			fmt.Fprintln(a.Stderr, p.Error())
		}
		if len(refused.Problems) == 0 {
			fmt.Fprintln(a.Stderr, string(data))
		}
		return fmt.Errorf("deploy refused; the server keeps the previous version")
	}
	var res admin.DeployResult
	json.Unmarshal(data, &res)
	verb := "deployed"
	if dryRun {
		verb = "ok"
	}
	for _, f := range req.Files {
		fmt.Fprintf(a.Stdout, "%s %s → %s\n", verb, f.File, strings.Join(res.Services[f.File], ", "))
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(a.Stderr, "warning: "+w)
	}
	return nil
}

// checkLocally compiles files without a server.
func (a *App) checkLocally(root string, rels []string) error {
	comp := starlark.New(config.Default().Starlark, slog.New(slog.NewTextHandler(io.Discard, nil)))
	failed := false
	for _, rel := range rels {
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		svcs, warnings, err := comp.Compile(rel, src)
		for _, w := range warnings {
			fmt.Fprintln(a.Stderr, "warning: "+w)
		}
		if err != nil {
			fmt.Fprintln(a.Stderr, err.Error())
			failed = true
			continue
		}
		fmt.Fprintf(a.Stdout, "ok %s → %s\n", rel, svcs[0].Name)
	}
	fmt.Fprintln(a.Stderr, "(checked locally: no server was reachable, so name clashes with deployed services were not checked)")
	if failed {
		return errors.New("some files do not load")
	}
	return nil
}

// watchAndDeploy redeploys files when they are saved, until interrupted.
func (a *App) watchAndDeploy(ctx context.Context, cl *client, arg, root string) error {
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
				// Deleted: undeploy it too.
				if status, _, err := cl.do(ctx, "DELETE", admin.Prefix+"/deploy/"+rel, nil); err == nil && status == 200 {
					fmt.Fprintf(a.Stdout, "undeployed %s\n", rel)
				}
			}
			if err := a.deployFiles(ctx, cl, root, saved, false); err != nil {
				fmt.Fprintln(a.Stderr, err.Error())
			}
		},
	}
	return w.Run(ctx)
}
