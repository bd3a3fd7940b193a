package deploy

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long a file must stay unchanged before it is
// reported: long enough for an editor to finish writing, short enough to
// feel instant.
const DefaultDebounce = 250 * time.Millisecond

// Watcher reports the files of a directory tree that were created, saved,
// renamed or deleted, once each has stopped changing for the debounce
// time. It is used by the server's pickup directory and by plexus deploy
// --watch.
type Watcher struct {
	// Dir is the root of the tree.
	Dir string
	// Match selects files by their path relative to Dir, with / separators.
	Match func(rel string) bool
	// Debounce is the quiet time before a change is reported (default
	// DefaultDebounce).
	Debounce time.Duration
	// Initial reports every matching file once at start.
	Initial bool
	Logger  *slog.Logger
	// Changed receives the settled files, sorted, as paths relative to Dir.
	// A file that no longer exists was deleted or renamed away.
	Changed func(ctx context.Context, rels []string)

	mu      sync.Mutex
	pending map[string]int64 // relative path → size seen, -1 when absent
	timer   *time.Timer
	ready   chan struct{}
}

// Run watches until ctx is done.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Debounce == 0 {
		w.Debounce = DefaultDebounce
	}
	w.pending = map[string]int64{}
	w.ready = make(chan struct{}, 1)
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %s: %w", w.Dir, err)
	}
	defer fw.Close()
	if err := w.watchTree(fw, w.Dir); err != nil {
		return err
	}
	if w.Initial {
		w.queueTree(w.Dir)
		w.flush(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return nil
			}
			if ev.Has(fsnotify.Create) {
				if st, err := os.Stat(ev.Name); err == nil && st.IsDir() {
					w.watchTree(fw, ev.Name)
					w.queueTree(ev.Name) // files may have landed before the watch
					continue
				}
			}
			w.queue(ev.Name)
		case err, ok := <-fw.Errors:
			if !ok {
				return nil
			}
			w.Logger.Warn("file watcher", "dir", w.Dir, "error", err.Error())
		case <-w.ready:
			w.flush(ctx)
		}
	}
}

// watchTree watches dir and every directory below it, except hidden ones.
func (w *Watcher) watchTree(fw *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("watching %s: %w", path, err)
		}
		if !d.IsDir() {
			return nil
		}
		if path != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if err := fw.Add(path); err != nil {
			return fmt.Errorf("watching %s: %w", path, err)
		}
		return nil
	})
}

func (w *Watcher) queueTree(dir string) {
	filepath.WalkDir(dir, func(abs string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			w.queue(abs)
		}
		return nil
	})
}

// queue records a change and re-arms the debounce timer.
func (w *Watcher) queue(abs string) {
	rel, err := filepath.Rel(w.Dir, abs)
	if err != nil || strings.HasPrefix(rel, "..") {
		return
	}
	rel = filepath.ToSlash(rel)
	base := filepath.Base(rel)
	if strings.HasPrefix(base, ".") || strings.HasSuffix(base, "~") || !w.Match(rel) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending[rel] = size(abs)
	w.arm()
}

func (w *Watcher) arm() {
	if w.timer != nil {
		w.timer.Stop()
	}
	w.timer = time.AfterFunc(w.Debounce, func() {
		select {
		case w.ready <- struct{}{}:
		default:
		}
	})
}

func size(abs string) int64 {
	st, err := os.Stat(abs)
	if err != nil {
		return -1
	}
	return st.Size()
}

// flush reports the pending files whose size has not changed since they
// were queued; the others are still being written and wait for the next
// quiet period.
func (w *Watcher) flush(ctx context.Context) {
	w.mu.Lock()
	var settled []string
	for rel, seen := range w.pending {
		if now := size(filepath.Join(w.Dir, filepath.FromSlash(rel))); now != seen {
			w.pending[rel] = now
			continue
		}
		settled = append(settled, rel)
		delete(w.pending, rel)
	}
	if len(w.pending) > 0 {
		w.arm()
	}
	w.mu.Unlock()
	if len(settled) > 0 {
		sort.Strings(settled)
		w.Changed(ctx, settled)
	}
}
