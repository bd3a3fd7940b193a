// Package deploy hot-deploys service files: it watches the pickup
// directory and turns saved, renamed and deleted files into changes on the
// one change path, so a saved file is live within a second and its code is
// kept in the store.
package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/registry"
)

// Pickup deploys the service files of a directory tree as they are saved.
type Pickup struct {
	// Dir is the pickup directory.
	Dir string
	// Exts are the file extensions deployed as code, e.g. ".star".
	Exts []string
	// Runtime receives the changes.
	Runtime *live.Runtime
	Logger  *slog.Logger
	// Debounce is the quiet time before a changed file is deployed
	// (default DefaultDebounce).
	Debounce time.Duration
	// Hooks handle other files by name (for example enmasse files): the
	// first hook whose Match accepts a saved file's name receives it.
	Hooks []Hook

	mu   sync.Mutex
	left map[string]leftFile // files not deployed, retried on every change
}

// leftFile is a file a deploy left out: its content and what the log said
// about it, so that a retry with the same outcome is not logged again.
type leftFile struct {
	sum  [sha256.Size]byte
	note string
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
// when they are not in the pickup directory. As on every change, the
// valid files are deployed and the others are logged and left out.
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

// deploy applies the saved code files, and retries those left out
// before, in one partial change: the valid files are deployed, the others
// are left out and logged file by file, with their problems or the files
// that hold them back, and tried again on the next change.
func (p *Pickup) deploy(ctx context.Context, saved []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	try := map[string]bool{}
	for _, rel := range saved {
		if p.isCode(rel) {
			try[rel] = true
		}
	}
	for rel := range p.left {
		try[rel] = true
	}
	deployed := p.Runtime.State().Code()
	cs := live.Changeset{Source: "pickup", Partial: true}
	for _, rel := range sortedKeys(try) {
		src, err := os.ReadFile(filepath.Join(p.Dir, filepath.FromSlash(rel)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			delete(p.left, rel)
			if _, ok := deployed[rel]; ok {
				cs.Code = append(cs.Code, live.CodeChange{File: rel, Origin: live.OriginPickup})
			}
		case err != nil:
			p.Logger.Error("reading service file", "file", rel, "error", err.Error())
		case bytes.Equal(src, deployed[rel].Source):
			delete(p.left, rel)
		default:
			cs.Code = append(cs.Code, live.CodeChange{File: rel, Source: src, Origin: live.OriginPickup})
		}
	}
	if len(cs.Code) == 0 {
		return
	}
	res, err := p.Runtime.Apply(ctx, cs)
	if err != nil {
		for _, cc := range cs.Code {
			p.leave(ctx, cc, note{slog.LevelWarn, heldBack, []any{"because", err.Error()}})
		}
		return
	}
	Log(p.Logger, "pickup", res)
	for file := range res.Services {
		delete(p.left, file)
	}
	for _, lo := range res.LeftOut {
		for _, cc := range cs.Code {
			if lo.Kind == registry.KindCode && lo.Name == cc.File {
				p.leave(ctx, cc, leftOutNote(cc, lo, deployed))
			}
		}
	}
}

const heldBack = "service file held back; it is tried again when the directory changes"

// note is a log line about one file.
type note struct {
	level slog.Level
	msg   string
	attrs []any
}

// leftOutNote says why a change of a file was left out: refused for its
// own problems (a removal too), or held back because files left out before
// it are.
func leftOutNote(cc live.CodeChange, lo live.LeftOut, deployed map[string]live.CodeFile) note {
	msgs := make([]string, len(lo.Problems))
	for i, prob := range lo.Problems {
		msgs[i] = prob.Error()
	}
	problem := strings.Join(msgs, "; ")
	if len(lo.Because) > 0 {
		return note{slog.LevelWarn, heldBack, []any{"because", strings.Join(lo.Because, ", "), "problem", problem}}
	}
	if cc.Source == nil {
		return note{slog.LevelError, "undeploy refused", []any{"problem", problem}}
	}
	if _, ok := deployed[lo.Name]; ok {
		return note{slog.LevelError, "deploy refused; the previous version keeps serving", []any{"problem", problem}}
	}
	return note{slog.LevelError, "deploy refused", []any{"problem", problem}}
}

// leave records a file left out and logs why, unless it was left out
// before with the same content for the same reason. A removal left out is
// logged but not retried.
func (p *Pickup) leave(ctx context.Context, cc live.CodeChange, n note) {
	lf := leftFile{sum: sha256.Sum256(cc.Source), note: fmt.Sprint(n.msg, n.attrs)}
	if cc.Source != nil {
		if p.left[cc.File] == lf {
			return
		}
		if p.left == nil {
			p.left = map[string]leftFile{}
		}
		p.left[cc.File] = lf
	}
	p.Logger.Log(ctx, n.level, n.msg, append([]any{"file", cc.File}, n.attrs...)...)
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

// Log logs the result of a deploy, file by file: the services each file
// now provides, or that it was undeployed, and its warnings.
func Log(log *slog.Logger, source string, res *live.Result) {
	warnings := res.Warnings
	for _, file := range sortedKeys(res.Services) {
		if svcs := res.Services[file]; len(svcs) > 0 {
			log.Info("service deployed", "file", file, "services", strings.Join(svcs, ", "), "source", source, "rev", res.Rev)
		} else {
			log.Info("service undeployed", "file", file, "source", source, "rev", res.Rev)
		}
		rest := warnings[:0:0]
		for _, w := range warnings {
			if strings.HasPrefix(w, file+":") {
				log.Warn("deploy warning", "file", file, "warning", w)
			} else {
				rest = append(rest, w)
			}
		}
		warnings = rest
	}
	for _, w := range warnings {
		log.Warn("deploy warning", "warning", w)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
