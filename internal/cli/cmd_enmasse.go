package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/enmasse"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/store"
)

func (a *App) enmasseCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "enmasse",
		Short: "Export, import and check the whole configuration as YAML",
		Long: `enmasse moves the whole configuration - channels, connections, security,
jobs - in and out of a server as YAML, in Zato's enmasse format, so a Zato
user's file imports as is. Export, import into an empty environment and
export again gives the same file.

Secrets are exported as ${VAR} references and filled in from the
environment (or --env-file) on import. Files in DIR/enmasse/ are imported
each time the server starts. See docs/enmasse.md.`,
		Example: `  plexus enmasse export --file enmasse.yaml
  plexus enmasse lint enmasse.yaml
  plexus enmasse import enmasse.yaml --env-file prod.env`,
	}
	c.AddCommand(a.enmasseExportCmd(), a.enmasseImportCmd(), a.enmasseLintCmd())
	return c
}

func (a *App) enmasseExportCmd() *cobra.Command {
	var file, server string
	var types []string
	c := &cobra.Command{
		Use:   "export [DIR]",
		Short: "Write every configuration object as an enmasse YAML file",
		Long: `Write every configuration object of the environment DIR (default
./plexus-env) as an enmasse file: sections in dependency order, objects by
name, only the fields that differ from their defaults, and secrets as
${VAR} references (KIND_NAME_FIELD, upper-cased), never in clear.

The configuration comes from the running server of DIR, or --server with
the admin password in ` + PasswordEnv + `. When the server of DIR is not
running, it is read from DIR's store directly.`,
		Example: `  plexus enmasse export > enmasse.yaml
  plexus enmasse export --file enmasse.yaml
  plexus enmasse export /srv/plexus --include-type channel_rest --file channels.yaml
  ` + PasswordEnv + `=... plexus enmasse export --server http://10.0.0.5:11224 --file prod.yaml`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			data, err := a.exportConfig(c.Context(), server, dirArg(args, 0), types)
			if err != nil {
				return err
			}
			if file == "" || file == "-" {
				_, err := a.Stdout.Write(data)
				return err
			}
			if err := writeFileAtomic(file, data); err != nil {
				return fmt.Errorf("writing %s: %w", file, err)
			}
			fmt.Fprintf(a.Stderr, "Exported the configuration to %s\n", file)
			return nil
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "file to write (default: standard output)")
	c.Flags().StringVar(&file, "output", "", "same as --file (Zato's name)")
	c.Flags().MarkHidden("output")
	c.Flags().StringSliceVar(&types, "include-type", nil, "export only these sections, e.g. channel_rest,security")
	c.Flags().StringVar(&server, "server", "", "admin URL of a running server, e.g. http://127.0.0.1:11224")
	return c
}

// exportConfig returns the enmasse file of a server, or of the store of
// DIR when its server is not running.
func (a *App) exportConfig(ctx context.Context, server, dir string, types []string) ([]byte, error) {
	if server == "" {
		env, err := envdir.Open(dir)
		if err != nil {
			return nil, err
		}
		cl, err := a.newClient("", dir)
		if err != nil || !cl.reachable() {
			return a.exportOffline(ctx, env, types)
		}
	}
	cl, err := a.newClient(server, dir)
	if err != nil {
		return nil, err
	}
	path := admin.Prefix + "/enmasse/export"
	if len(types) > 0 {
		path += "?include_type=" + url.QueryEscape(strings.Join(types, ","))
	}
	body, err := cl.call(ctx, "GET", path, nil)
	if err != nil {
		return nil, fmt.Errorf("exporting: %w", err)
	}
	return body, nil
}

// exportOffline exports from the store of a stopped server.
func (a *App) exportOffline(ctx context.Context, env *envdir.Env, types []string) ([]byte, error) {
	st, err := a.openStore(ctx, env, store.OpenReadOnly)
	if errors.Is(err, store.ErrNoStore) {
		fmt.Fprintf(a.Stderr, "The server of %s has never started: there is nothing to export.\n", env.Dir)
		return enmasse.Export(objectMap{}, enmasse.ExportOptions{IncludeTypes: types})
	}
	if err != nil {
		return nil, err
	}
	defer st.Close()
	snap, err := st.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the store of %s (start its server once to update it): %w", env.Dir, err)
	}
	objs := objectMap{}
	for _, r := range snap.Objects {
		k, ok := registry.Lookup(r.Kind)
		if !ok {
			fmt.Fprintf(a.Stderr, "Skipping %s %q: this plexus binary has no kind %s.\n", r.Kind, r.Name, r.Kind)
			continue
		}
		obj, errs := k.Decode(r.Body)
		if len(errs) > 0 {
			fmt.Fprintf(a.Stderr, "Skipping %s %q: %v\n", r.Kind, r.Name, errors.Join(errs...))
			continue
		}
		objs[k.ID] = append(objs[k.ID], obj)
	}
	fmt.Fprintf(a.Stderr, "The server of %s is not running: exporting from its store.\n", env.Dir)
	return enmasse.Export(objs, enmasse.ExportOptions{IncludeTypes: types})
}

// objectMap holds objects by kind, sorted by name.
type objectMap map[string][]registry.Object

// Objects returns the objects of a kind.
func (m objectMap) Objects(kind string) []registry.Object { return m[kind] }

// importFlags are the flags of enmasse import and lint.
type importFlags struct {
	server, envFile      string
	dryRun, replace, yes bool
	// ifRev imports only if the server runs this revision.
	ifRev int64
	// offline lints without a server; lint reports without changing.
	offline, lint bool
}

func (a *App) enmasseImportCmd() *cobra.Command {
	var f importFlags
	c := &cobra.Command{
		Use:   "import FILE [DIR]",
		Short: "Import an enmasse YAML file into a running server",
		Long: `Import FILE (and the files its include: lists) into the running server of
the environment DIR (default ./plexus-env), or --server with the admin
password in ` + PasswordEnv + `.

Everything is checked first - YAML, sections, fields (with the nearest
known name suggested), types, ${VAR} references, references to other
objects, deployed services, duplicate names - and every problem is listed
with file:line:column. Only when there is none is the file applied:
objects are created or replaced by name, in one transaction. Objects the
file does not hold stay, unless --replace, which lists what it would
delete and needs --yes to do it.

${VAR} references are filled in from the environment, or from --env-file
(NAME=value lines), which wins. Zato 3.2 and current Zato files import as
they are: fields Plexus does not support yet are warnings.`,
		Example: `  plexus enmasse import enmasse.yaml
  plexus enmasse import enmasse.yaml --dry-run
  plexus enmasse import enmasse.yaml /srv/plexus --env-file prod.env
  plexus enmasse import enmasse.yaml --replace --yes`,
		Args: rangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			if f.yes && !f.replace {
				return usageError{cmd: c.CommandPath(), err: errors.New("--yes confirms what --replace deletes; it needs --replace")}
			}
			return a.runImport(c.Context(), args[0], dirArg(args, 1), f)
		},
	}
	c.Flags().BoolVar(&f.dryRun, "dry-run", false, "check everything and say what would change, without changing anything")
	c.Flags().BoolVar(&f.replace, "replace", false, "also delete every object the file does not hold (lists them; needs --yes)")
	c.Flags().BoolVar(&f.yes, "yes", false, "confirm the deletions of --replace")
	c.Flags().Int64Var(&f.ifRev, "if-rev", 0, "import only if the configuration is still at this revision (X-Plexus-Revision, plexus cluster status); else nothing changes")
	c.Flags().StringVar(&f.envFile, "env-file", "", "file of NAME=value lines for ${VAR} references (wins over the environment)")
	c.Flags().StringVar(&f.server, "server", "", "admin URL of a running server, e.g. http://127.0.0.1:11224")
	return c
}

func (a *App) enmasseLintCmd() *cobra.Command {
	var f importFlags
	c := &cobra.Command{
		Use:   "lint FILE [DIR]",
		Short: "Check an enmasse YAML file and list every problem",
		Long: `Check FILE (and the files its include: lists) as an import would, without
changing anything, and list every problem with file:line:column, and every
warning. It exits 1 when there is a problem.

It asks the running server of DIR (or --server), which knows the deployed
services and the objects of its store. --offline checks without a server
(in CI, say): everything but services and references to objects that
only a store holds.`,
		Example: `  plexus enmasse lint enmasse.yaml
  plexus enmasse lint enmasse.yaml --env-file staging.env
  plexus enmasse lint enmasse.yaml --offline`,
		Args: rangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			f.dryRun, f.lint = true, true
			return a.runImport(c.Context(), args[0], dirArg(args, 1), f)
		},
	}
	c.Flags().StringVar(&f.envFile, "env-file", "", "file of NAME=value lines for ${VAR} references (wins over the environment)")
	c.Flags().StringVar(&f.server, "server", "", "admin URL of a running server, e.g. http://127.0.0.1:11224")
	c.Flags().BoolVar(&f.offline, "offline", false, "check without a server: no service checks, references within the files only")
	return c
}

// lookupVars returns the variables of an import: --env-file, then the
// environment. A variable set to an empty value counts as unset.
func (a *App) lookupVars(envFile string) (func(string) (string, bool), error) {
	file := map[string]string{}
	if envFile != "" {
		var err error
		if file, err = enmasse.ReadEnvFile(envFile); err != nil {
			return nil, err
		}
	}
	return func(name string) (string, bool) {
		if v, ok := file[name]; ok {
			return v, true
		}
		v := a.Getenv(name)
		return v, v != ""
	}, nil
}

func (a *App) runImport(ctx context.Context, file, dir string, f importFlags) error {
	start := time.Now()
	lookup, err := a.lookupVars(f.envFile)
	if err != nil {
		return err
	}
	if f.offline {
		rep, err := enmasse.Lint(ctx, enmasse.FileInput(file), enmasse.Options{Lookup: lookup})
		return a.finishImport(file, rep, err, f, start)
	}
	bundle, err := enmasse.Gather(file, lookup)
	if err != nil {
		return err
	}
	cl, err := a.newClient(f.server, dir)
	if err != nil {
		return a.offlineHint(err, file, f)
	}
	if f.replace {
		// List what --replace deletes before deleting anything.
		resp, err := a.postImport(ctx, cl, bundle, true, true, false)
		if err != nil {
			return err
		}
		if !resp.OK() || f.dryRun {
			return a.finishImport(file, resp.Report, refusedErr(resp.Report), f, start)
		}
		if n := len(resp.Deleted); n > 0 {
			fmt.Fprintf(a.Stderr, "--replace deletes these %d objects, which %s does not hold:\n", n, file)
			for _, r := range resp.Deleted {
				fmt.Fprintf(a.Stderr, "  %s\n", r)
			}
			if !f.yes {
				return fmt.Errorf("nothing was changed: run again with --yes to delete them")
			}
		}
		bundle.ConfirmDelete = resp.Deleted
	}
	bundle.IfRev = f.ifRev
	resp, err := a.postImport(ctx, cl, bundle, f.dryRun, f.replace, true)
	if err != nil {
		return a.offlineHint(err, file, f)
	}
	return a.finishImport(file, resp.Report, refusedErr(resp.Report), f, start)
}

// offlineHint adds to lint's failure to reach a server that it can check
// without one.
func (a *App) offlineHint(err error, file string, f importFlags) error {
	if !f.lint {
		return err
	}
	return fmt.Errorf("%w\nOr check the file without a server: plexus enmasse lint %s --offline", err, file)
}

func refusedErr(rep *enmasse.Report) error {
	if rep.OK() {
		return nil
	}
	return &enmasse.Refused{Report: rep}
}

// finishImport prints an import's warnings, problems and summary.
func (a *App) finishImport(file string, rep *enmasse.Report, err error, f importFlags, start time.Time) error {
	var refused *enmasse.Refused
	if err != nil && !errors.As(err, &refused) {
		return err
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(a.Stderr, "warning: %s\n", w.Error())
	}
	if refused != nil {
		for _, p := range rep.Problems {
			fmt.Fprintln(a.Stderr, p.Error())
		}
		if len(rep.MissingVariables) > 0 {
			fmt.Fprintf(a.Stderr, "Variables not set: %s (set them in the environment or in --env-file).\n", strings.Join(rep.MissingVariables, ", "))
		}
		n := len(rep.Problems)
		noun := "problems"
		if n == 1 {
			noun = "problem"
		}
		if f.lint {
			return fmt.Errorf("%s: %d %s", file, n, noun)
		}
		return fmt.Errorf("%s: %d %s; nothing was changed", file, n, noun)
	}
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case f.lint:
		fmt.Fprintf(a.Stdout, "%s: OK, %s\n", file, rep.Summary())
	case f.dryRun:
		fmt.Fprintf(a.Stdout, "%s: OK (dry run, nothing was changed), %s\n", file, rep.Summary())
	default:
		fmt.Fprintf(a.Stdout, "Imported %s: %s in %s\n", file, rep.Summary(), took)
	}
	return nil
}

// postImport sends an import to the admin API and returns the answer,
// showing progress as the server streams it.
func (a *App) postImport(ctx context.Context, cl *client, b *enmasse.Bundle, dryRun, replace, progress bool) (*admin.ImportResponse, error) {
	body, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("progress", "true")
	if dryRun {
		q.Set("dry_run", "true")
	}
	if replace {
		q.Set("replace", "true")
	}
	var printer *enmasse.ProgressPrinter
	if progress {
		printer = enmasse.NewProgressPrinter(a.Stderr, enmasse.IsTerminal(a.Stderr))
		defer printer.Finish()
	}
	var resp *admin.ImportResponse
	err = cl.stream(ctx, "POST", admin.Prefix+"/enmasse/import?"+q.Encode(), body, func(line []byte) error {
		var l admin.ImportLine
		if err := json.Unmarshal(line, &l); err != nil {
			return fmt.Errorf("reading the server's answer: %w", err)
		}
		switch {
		case l.Progress != nil && printer != nil:
			printer.Update(*l.Progress)
		case l.ImportResponse != nil && l.Result != "":
			resp = l.ImportResponse
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if resp == nil || resp.Report == nil {
		if resp != nil && resp.Details != "" {
			return nil, fmt.Errorf("the import failed on the server: %s (cid %s, see the server's log)", resp.Details, resp.CID)
		}
		return nil, errors.New("the server ended its answer early; see its log")
	}
	return resp, nil
}

// stream sends a request to the admin API and calls fn with each line of a
// 200 answer.
func (c *client) stream(ctx context.Context, method, path string, body []byte, fn func([]byte) error) error {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusUnauthorized {
			return fmt.Errorf("the server at %s refused the credentials: set %s to the admin password", c.base, PasswordEnv)
		}
		return answerError(resp.StatusCode, data)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for sc.Scan() {
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading the server's answer: %w", err)
	}
	return nil
}

// reachable reports whether the server's admin listener accepts
// connections.
func (c *client) reachable() bool {
	u, err := url.Parse(c.base)
	if err != nil {
		return false
	}
	conn, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// writeFileAtomic writes a file through a temporary file in the same
// directory, so readers never see half of it.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
