package enmasse

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/live"
)

// ImportDir imports the *.yaml and *.yml files of dir, sorted by name, as
// one import: the static deployment a server does at start-up. A file
// that another one includes is read once. Variables come from the
// process environment (see Getenv). A missing or empty dir imports nothing. On a
// problem nothing changes and the error (a *Refused) lists every problem.
func ImportDir(ctx context.Context, rt *live.Runtime, dir string, logger *slog.Logger) (*Report, error) {
	var files []string
	for _, pattern := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, fmt.Errorf("importing %s: %w", dir, err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		return &Report{}, nil
	}
	slices.Sort(files)
	in := FileInput(files...)
	in.Roots = rootsOnly(in)
	start := time.Now()
	rep, err := Import(ctx, rt, in, Options{Lookup: Getenv, Source: "enmasse start-up", Progress: logProgress(logger)})
	logWarnings(logger, rep)
	if err != nil {
		return rep, fmt.Errorf("importing %s at start-up (fix the files, or move them out of the directory, and start again): %w", dir, err)
	}
	logger.Info("enmasse files imported", "dir", dir, "files", len(rep.Files), "objects", rep.Objects,
		"created", rep.Created, "updated", rep.Updated, "unchanged", rep.Unchanged, "rev", rep.Rev,
		"took", time.Since(start).Round(time.Millisecond).String())
	return rep, nil
}

// rootsOnly drops from in.Roots the files another root includes, so that
// a directory holding both a file and what it includes imports each once.
func rootsOnly(in Input) []string {
	included := map[string]bool{}
	for _, root := range in.Roots {
		data, err := in.Read(root)
		if err != nil {
			continue
		}
		doc, _ := parseYAML(root, data)
		for _, inc := range includesOf(doc) {
			included[resolveInclude(root, inc)] = true
		}
	}
	var out []string
	for _, root := range in.Roots {
		if !included[root] {
			out = append(out, root)
		}
	}
	if len(out) == 0 {
		return in.Roots // they all include each other: the cycle is reported
	}
	return out
}

// Getenv returns a variable of the process environment for ${VAR}. A
// variable set to an empty value counts as unset, as in the CLI.
func Getenv(name string) (string, bool) {
	v := os.Getenv(name)
	return v, v != ""
}

// IsEnmasseFile reports whether a file saved in the pickup directory is an
// enmasse file to import while the server runs: its name matches
// *enmasse*.yaml or *enmasse*.yml, as in Zato.
func IsEnmasseFile(name string) bool {
	ok, _ := path.Match("*enmasse*.y*ml", strings.ToLower(filepath.Base(name)))
	return ok
}

// ImportFile imports one file (and what it includes) into a running
// server: the hot deployment of an enmasse file saved in the pickup
// directory. Variables come from opts.Lookup, else the process
// environment (see Getenv). On a problem nothing changes, the error (a *Refused) lists
// every problem, and the objects the server runs stay as they were.
func ImportFile(ctx context.Context, rt *live.Runtime, file string, opts Options) (*Report, error) {
	if opts.Lookup == nil {
		opts.Lookup = Getenv
	}
	if opts.Source == "" {
		opts.Source = "enmasse pickup"
	}
	rep, err := Import(ctx, rt, FileInput(file), opts)
	if err != nil {
		return rep, fmt.Errorf("importing %s: %w", file, err)
	}
	return rep, nil
}

// logProgress logs the start of each phase of an import.
func logProgress(logger *slog.Logger) func(Progress) {
	last := ""
	return func(p Progress) {
		if p.Phase == last || p.Phase == PhaseDone || p.Done > 0 {
			return
		}
		last = p.Phase
		logger.Info("enmasse import", "phase", p.Phase, "total", p.Total)
	}
}

func logWarnings(logger *slog.Logger, rep *Report) {
	if rep == nil {
		return
	}
	for _, w := range rep.Warnings {
		logger.Warn("enmasse import", "warning", w.Error())
	}
}
