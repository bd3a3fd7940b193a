package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/porter"
	"github.com/plexushq/plexus/internal/starlark"
)

func (a *App) portCmd() *cobra.Command {
	var output string
	var force, asJSON, module bool
	c := &cobra.Command{
		Use:   "port FILE.py...",
		Short: "Convert Zato services written in Python into Starlark services",
		Long: `Convert the Zato services of Python modules into Starlark services that deploy
to Plexus. Each service class becomes one file, DIR/<module>/<class>.star,
named as Zato named it (its name attribute, or the module and the class name);
plexus deploy DIR/<module> deploys them. With --module, a module with several
service classes becomes one Starlark module, DIR/<module>.star, holding each
as a service(...), as the Python module holds them.

The mechanical differences are converted: imports (json, datetime, uuid,
hashlib, re, csv, ElementTree, … become the built-in modules), the class, its
docstring and class SimpleIO (or input/output attributes), Model dataclasses,
helper methods and hooks, f-strings and %/format specs, raise and Zato's typed
errors, try/except (with catch), HTTPStatus, self.outgoing.plain_http and
self.logger.warn. Everything that could not be converted is listed with its
line and what to do instead; it is kept in the file so that the file still
deploys, and fails where it runs.

No Python is needed: the porter reads Python 3 itself. Existing files are not
overwritten unless --force is given.`,
		Example: `  plexus port my_services.py
  plexus port services/*.py --output plexus-env/services
  plexus port billing.py --output ported --force --json
  plexus port customers.py --module --output ported`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{cmd: c.CommandPath(), err: errors.New("name the Python files to port")}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return a.port(args, output, force, asJSON, porter.Options{Module: module})
		},
	}
	c.Flags().StringVarP(&output, "output", "o", ".", "directory to write the Starlark files to, one subdirectory per module")
	c.Flags().BoolVar(&force, "force", false, "overwrite files that exist")
	c.Flags().BoolVar(&asJSON, "json", false, "print what was written and the notes as JSON")
	c.Flags().BoolVar(&module, "module", false, "write a module's services into one Starlark module, each a service(...)")
	return c
}

// portReport is what plexus port --json prints for one Python file.
type portReport struct {
	File     string        `json:"file"`
	Written  []portedFile  `json:"written"`
	Notes    []porter.Note `json:"notes"`
	Warnings []string      `json:"warnings,omitempty"`
}

type portedFile struct {
	Path    string `json:"path"`
	Service string `json:"service"`
	Class   string `json:"class"`
}

func (a *App) port(files []string, output string, force, asJSON bool, opts porter.Options) error {
	type job struct {
		src  string
		res  *porter.Result
		dest []string
	}
	var jobs []job
	var exists []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("reading %s: %w", f, err)
		}
		res, err := porter.PortWith(f, data, opts)
		if err != nil {
			var se *porter.SyntaxError
			if errors.As(err, &se) {
				return fmt.Errorf("%s:%d:%d: %s (the porter reads Python 3; fix the file, or port it from a copy without the line)", f, se.Line, se.Col, se.Msg)
			}
			return fmt.Errorf("porting %s: %w", f, err)
		}
		stem := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		j := job{src: f, res: res}
		for _, out := range res.Files {
			dest := filepath.Join(output, stem, out.Name)
			if out.Module {
				dest = filepath.Join(output, out.Name)
			}
			if _, err := os.Stat(dest); err == nil && !force {
				exists = append(exists, dest)
			}
			j.dest = append(j.dest, dest)
		}
		jobs = append(jobs, j)
	}
	if len(exists) > 0 {
		return fmt.Errorf("these files exist and were left as they are: %s; pass --force to overwrite them, or --output to write elsewhere", strings.Join(exists, ", "))
	}
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	comp := starlark.New(config.Default().Starlark, discard)
	var reports []portReport
	notes := 0
	for _, j := range jobs {
		rep := portReport{File: j.src, Notes: j.res.Notes}
		for i, out := range j.res.Files {
			// Every file must load: a file that does not is the porter's
			// fault, and is not written.
			name := filepath.ToSlash(filepath.Join(filepath.Base(filepath.Dir(j.dest[i])), out.Name))
			if out.Module {
				name = out.Name
			}
			_, warnings, err := comp.Compile(name, []byte(out.Source))
			if err != nil {
				return fmt.Errorf("the port of %s (class %s) does not load: %v; please report it", j.src, out.Class, err)
			}
			rep.Warnings = append(rep.Warnings, warnings...)
			if err := os.MkdirAll(filepath.Dir(j.dest[i]), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(j.dest[i], []byte(out.Source), 0o644); err != nil {
				return err
			}
			rep.Written = append(rep.Written, portedFile{Path: j.dest[i], Service: out.Service, Class: out.Class})
		}
		notes += len(j.res.Notes)
		reports = append(reports, rep)
	}
	if asJSON {
		enc := json.NewEncoder(a.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(reports)
	}
	for _, rep := range reports {
		for _, w := range rep.Written {
			fmt.Fprintf(a.Stdout, "wrote %s → %s (class %s)\n", w.Path, w.Service, w.Class)
		}
		for _, n := range rep.Notes {
			fmt.Fprintf(a.Stdout, "%s:%d: %s: %s\n", rep.File, n.Line, n.What, n.Advice)
		}
	}
	switch {
	case notes > 0:
		fmt.Fprintf(a.Stdout, "%d %s to review (above), then deploy with: plexus deploy %s\n", notes, map[bool]string{true: "note", false: "notes"}[notes == 1], output)
	default:
		fmt.Fprintf(a.Stdout, "nothing to review; deploy with: plexus deploy %s\n", output)
	}
	return nil
}
