// Package deploy hot-deploys service files: it watches the pickup
// directory and turns saved, renamed and deleted files into changes on the
// one change path, so a saved file is live within a second and its code is
// kept in the store.
package deploy

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/runtime"
)

// Pickup deploys the service files of a directory tree as they are saved.
type Pickup struct {
	// Dir is the pickup directory.
	Dir string
	// Exts are the file extensions deployed as code, e.g. ".star".
	Exts []string
	// Runtime receives the changes.
	Runtime *runtime.Runtime
	Logger  *slog.Logger
	// Debounce is the quiet time before a changed file is deployed
	// (default DefaultDebounce).
	Debounce time.Duration
	// Hooks handle other files by name (for example enmasse files): the
	// first hook whose Match accepts a saved file's name receives it.
	Hooks []Hook
}

// Hook handles saved files that are not service code.
type Hook struct {
	Match  func(name string) bool
	Handle func(ctx context.Context, path string) error
}

// DeployAll deploys the directory's service files that differ from the
// deployed code, at once; the server calls it at start-up, before it
// imports enmasse files whose channels may name those services. Files
// deployed through other faces (the CLI, the admin API) stay deployed
// when they are not in the pickup directory.
func (p *Pickup) DeployAll(ctx context.Context) {
	var rels []string
	filepath.WalkDir(p.Dir, func(abs string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(p.Dir, abs)
		if rel = filepath.ToSlash(rel); p.isCode(rel) {
			rels = append(rels, rel)
		}
		return nil
	})
	p.deploy(ctx, rels)
}

// Run follows the directory's changes until ctx is done; the files it
// holds at start are handled once (code already deployed by DeployAll is
// left as it is).
func (p *Pickup) Run(ctx context.Context) error {
	w := &Watcher{Dir: p.Dir, Match: p.relevant, Debounce: p.Debounce, Initial: true, Logger: p.Logger, Changed: p.changed}
	return w.Run(ctx)
}

func (p *Pickup) isCode(rel string) bool {
	for _, ext := range p.Exts {
		if path.Ext(rel) == ext {
			return true
		}
	}
	return false
}

func (p *Pickup) relevant(rel string) bool {
	if p.isCode(rel) {
		return true
	}
	base := path.Base(rel)
	for _, h := range p.Hooks {
		if h.Match(base) {
			return true
		}
	}
	return false
}

// changed applies settled code files in one changeset, so a rename never
// leaves a moment without the service, then hands other files to their
// hooks, which may refer to the services just deployed.
func (p *Pickup) changed(ctx context.Context, settled []string) {
	p.deploy(ctx, settled)
	for _, rel := range settled {
		if !p.isCode(rel) {
			p.hook(ctx, rel, filepath.Join(p.Dir, filepath.FromSlash(rel)))
		}
	}
}

func (p *Pickup) deploy(ctx context.Context, settled []string) {
	deployed := p.Runtime.State().Code()
	cs := runtime.Changeset{Source: "pickup"}
	for _, rel := range settled {
		if !p.isCode(rel) {
			continue
		}
		abs := filepath.Join(p.Dir, filepath.FromSlash(rel))
		src, err := os.ReadFile(abs)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if _, ok := deployed[rel]; ok {
				cs.Code = append(cs.Code, runtime.CodeChange{File: rel})
			}
		case err != nil:
			p.Logger.Error("reading service file", "file", rel, "error", err.Error())
		case !bytes.Equal(src, deployed[rel]):
			cs.Code = append(cs.Code, runtime.CodeChange{File: rel, Source: src})
		}
	}
	if len(cs.Code) == 0 {
		return
	}
	res, err := p.Runtime.Apply(ctx, cs)
	if r, ok := runtime.IsRefused(err); ok {
		for _, prob := range r.Problems {
			p.Logger.Error("deploy refused; the previous version keeps serving", "problem", prob.Error())
		}
		return
	}
	if err != nil {
		p.Logger.Error("deploying service files", "error", err.Error())
		return
	}
	Log(p.Logger, "pickup", res)
}

// hook hands a file to the first hook that matches it.
func (p *Pickup) hook(ctx context.Context, rel, abs string) {
	for _, h := range p.Hooks {
		if !h.Match(path.Base(rel)) {
			continue
		}
		if _, err := os.Stat(abs); err != nil {
			return // removed: nothing to import
		}
		if err := h.Handle(ctx, abs); err != nil {
			p.Logger.Error("importing file from the pickup directory", "file", rel, "error", err.Error())
		}
		return
	}
}

// Log logs the result of a deploy: the services each file provides, and
// its warnings.
func Log(log *slog.Logger, source string, res *runtime.Result) {
	for _, file := range sortedFiles(res.Services) {
		if svcs := res.Services[file]; len(svcs) > 0 {
			log.Info("service deployed", "file", file, "services", strings.Join(svcs, ", "), "source", source, "rev", res.Rev)
		} else {
			log.Info("service undeployed", "file", file, "source", source, "rev", res.Rev)
		}
	}
	for _, w := range res.Warnings {
		log.Warn("deploy warning", "warning", w)
	}
}

func sortedFiles(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
