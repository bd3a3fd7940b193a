package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/metrics"
	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/secret"
	"github.com/plexushq/plexus/internal/services"
	"github.com/plexushq/plexus/internal/store"
)

// Change creates, replaces or deletes one object.
type Change struct {
	Kind string
	Name string
	// Object is the new object; nil deletes.
	Object registry.Object
}

// CodeChange deploys or removes one source file.
type CodeChange struct {
	// File is the file's name relative to the pickup directory, e.g.
	// "billing/get_customer.star".
	File string
	// Source is the file's content; nil removes the file's services.
	Source []byte
}

// Changeset is everything one Apply changes, atomically.
type Changeset struct {
	// Source says where the change came from (admin, enmasse, pickup, …).
	Source string
	// Summary describes the change for the revision history and the log.
	Summary string
	Objects []Change
	Code    []CodeChange
	// DryRun validates without changing anything.
	DryRun bool
}

// Result is what Apply did.
type Result struct {
	Rev int64
	// Warnings are problems that did not refuse the change, such as a
	// misspelt handler name.
	Warnings []string
	// Services lists the services each deployed file now provides.
	Services map[string][]string
}

// Refused is the error of a change that was not applied. It lists every
// problem found, not just the first.
type Refused struct {
	Problems []*registry.Problem
}

func (r *Refused) Error() string {
	msgs := make([]string, len(r.Problems))
	for i, p := range r.Problems {
		msgs[i] = p.Error()
	}
	return "change refused: " + strings.Join(msgs, "; ")
}

// Compiler loads source files of one language into services.
type Compiler interface {
	// Compile turns one file into its services. Warnings do not stop the
	// deploy; an error does, and should carry file:line:column.
	Compile(file string, src []byte) (svcs []*services.Service, warnings []string, err error)
}

// Options configure a Runtime.
type Options struct {
	// Dir is the environment directory, for relative paths in objects.
	Dir      string
	Store    *store.Store
	Logger   *slog.Logger
	Settings *config.Settings
	Metrics  *metrics.Metrics
	// Builtins are the services compiled into the binary.
	Builtins []*services.Service
	// Compilers maps a file extension (".star") to its compiler.
	Compilers map[string]Compiler
	// Secrets seals secret fields in the store and opens them on load;
	// without it, changes with secrets cannot be committed (dry runs can).
	Secrets *secret.Box
}

// Runtime holds the current State and applies changes. It is safe for
// concurrent use; changes are applied one at a time.
type Runtime struct {
	opts Options
	mu   sync.Mutex
	cur  atomic.Pointer[State]

	watchMu  sync.Mutex
	watchers []func(old, new *State)
}

// New returns a runtime with an empty state holding the built-in services.
func New(opts Options) (*Runtime, error) {
	set, err := services.NewSet(opts.Builtins...)
	if err != nil {
		return nil, err
	}
	rt := &Runtime{opts: opts}
	rt.cur.Store(&State{Services: set, objects: map[string]map[string]*entry{}, code: map[string][]byte{}, assembled: map[string]any{}})
	return rt, nil
}

// Close closes the running forms of the current state (connection pools
// and the like), at shutdown, once no request uses them any more.
func (rt *Runtime) Close() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.release(rt.cur.Load(), &State{objects: map[string]map[string]*entry{}, assembled: map[string]any{}}, nil)
}

// State returns the current state. Load it once per request.
func (rt *Runtime) State() *State { return rt.cur.Load() }

// Watch registers a function called after every published change, with
// the old and the new state, from the goroutine that applied it.
func (rt *Runtime) Watch(fn func(old, new *State)) {
	rt.watchMu.Lock()
	rt.watchers = append(rt.watchers, fn)
	rt.watchMu.Unlock()
}

// candidate is a state being built.
type candidate struct {
	objects  map[string]map[string]*entry
	changed  map[string]map[string]bool // objects added or replaced
	touched  map[string]bool            // kinds with any object added, replaced or deleted
	deleted  bool                       // whether the change deletes objects
	code     map[string][]byte
	services *services.Set
	result   *Result
	problems []*registry.Problem

	strictServices bool
}

func (c *candidate) problem(kind, name, field, format string, args ...any) {
	c.problems = append(c.problems, &registry.Problem{Kind: kind, Name: name, Field: field, Message: fmt.Sprintf(format, args...)})
}

// Apply validates and applies a changeset. It returns a *Refused error
// listing every problem when the change is not valid.
func (rt *Runtime) Apply(ctx context.Context, cs Changeset) (*Result, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	old := rt.cur.Load()
	c := rt.prepare(old, cs, true)
	if len(c.problems) > 0 {
		return nil, &Refused{Problems: c.problems}
	}
	next, err := rt.build(old, c)
	if err != nil {
		return nil, err
	}
	if cs.DryRun {
		rt.release(next, old, c.touched)
		c.result.Rev = old.Rev
		return c.result, nil
	}
	change, err := rt.toStoreChange(cs, c)
	if err != nil {
		rt.release(next, old, c.touched)
		return nil, err
	}
	rev, err := rt.opts.Store.Commit(ctx, change)
	if err != nil {
		rt.release(next, old, c.touched)
		return nil, err
	}
	next.Rev, c.result.Rev = rev, rev
	rt.publish(old, next, c.touched)
	rt.opts.Logger.Info("configuration changed", "rev", rev, "source", cs.Source, "summary", summary(cs))
	return c.result, nil
}

// Load builds the state from the store at start-up. Objects that no longer
// validate (a kind that was removed, a reference to something gone) are
// logged and left out rather than stopping the server.
func (rt *Runtime) Load(ctx context.Context) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	snap, err := rt.opts.Store.Load(ctx)
	if err != nil {
		return err
	}
	old := rt.cur.Load()
	cs := Changeset{Source: "start-up"}
	for _, r := range snap.Objects {
		kind, ok := registry.Lookup(r.Kind)
		if !ok {
			rt.opts.Logger.Warn("skipping stored object of unknown kind", "kind", r.Kind, "name", r.Name)
			continue
		}
		obj, errs := kind.Decode(r.Body)
		if len(errs) == 0 {
			var err error
			if obj, err = kind.MapSecrets(obj, rt.open); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			rt.logSkipped(registry.Locate(r.Kind, r.Name, errs))
			continue
		}
		cs.Objects = append(cs.Objects, Change{Kind: r.Kind, Name: r.Name, Object: obj})
	}
	for _, code := range snap.Code {
		cs.Code = append(cs.Code, CodeChange{File: code.File, Source: code.Source})
	}
	c := rt.prepareLenient(old, cs)
	next, err := rt.build(old, c)
	if err != nil {
		return err
	}
	next.Rev = snap.Rev
	rt.publish(old, next, nil)
	return nil
}

// prepareLenient drops whatever has problems until the rest validates.
func (rt *Runtime) prepareLenient(old *State, cs Changeset) *candidate {
	for {
		c := rt.prepare(old, cs, false)
		if len(c.problems) == 0 {
			return c
		}
		rt.logSkipped(c.problems)
		bad := map[[2]string]bool{}
		for _, p := range c.problems {
			bad[[2]string{p.Kind, p.Name}] = true
		}
		var keep []Change
		for _, ch := range cs.Objects {
			if !bad[[2]string{ch.Kind, ch.Name}] {
				keep = append(keep, ch)
			}
		}
		var keepCode []CodeChange
		for _, cc := range cs.Code {
			if !bad[[2]string{registry.KindCode, cc.File}] {
				keepCode = append(keepCode, cc)
			}
		}
		if len(keep) == len(cs.Objects) && len(keepCode) == len(cs.Code) {
			cs.Objects, cs.Code = nil, nil // problems not tied to one object
		} else {
			cs.Objects, cs.Code = keep, keepCode
		}
	}
}

func (rt *Runtime) logSkipped(problems []*registry.Problem) {
	for _, p := range problems {
		rt.opts.Logger.Warn("skipping stored configuration that does not validate", "problem", p.Error())
	}
}

// prepare computes and validates the candidate configuration. With
// strictServices, references from changed objects to services must resolve.
func (rt *Runtime) prepare(old *State, cs Changeset, strictServices bool) *candidate {
	c := &candidate{
		strictServices: strictServices,
		objects:        maps.Clone(old.objects),
		changed:        map[string]map[string]bool{},
		touched:        map[string]bool{},
		code:           old.code,
		services:       old.Services,
		result:         &Result{Services: map[string][]string{}},
	}
	cloned := map[string]bool{}
	for _, ch := range cs.Objects {
		kind, ok := registry.Lookup(ch.Kind)
		if !ok {
			c.problem(ch.Kind, ch.Name, "", "unknown kind; known kinds are %s", strings.Join(registry.IDs(), ", "))
			continue
		}
		id := kind.ID
		if !cloned[id] {
			c.objects[id] = maps.Clone(c.objects[id])
			if c.objects[id] == nil {
				c.objects[id] = map[string]*entry{}
			}
			cloned[id] = true
		}
		if ch.Object == nil {
			if _, exists := c.objects[id][ch.Name]; !exists {
				c.problem(id, ch.Name, "", "does not exist")
				continue
			}
			delete(c.objects[id], ch.Name)
			c.touched[id], c.deleted = true, true
			continue
		}
		if name := registry.NameOf(ch.Object); name != ch.Name {
			c.problem(id, ch.Name, "name", "the object is named %s", redact.Quote(name))
			continue
		}
		if prev, ok := c.objects[id][ch.Name]; ok {
			kind.KeepSecrets(ch.Object, prev.obj)
		}
		// An object with problems still joins the candidate, so that
		// references and kind checks report theirs too.
		c.problems = append(c.problems, registry.Locate(id, ch.Name, append(kind.CheckFields(ch.Object), ch.Object.Validate()...))...)
		body, err := json.Marshal(ch.Object)
		if err != nil {
			c.problem(id, ch.Name, "", "cannot be encoded: %v", err)
			continue
		}
		if prev, ok := c.objects[id][ch.Name]; ok && bytes.Equal(prev.body, body) {
			continue // unchanged
		}
		c.objects[id][ch.Name] = &entry{obj: ch.Object, body: body}
		if c.changed[id] == nil {
			c.changed[id] = map[string]bool{}
		}
		c.changed[id][ch.Name] = true
		c.touched[id] = true
	}
	rt.prepareCode(c, cs.Code)
	rt.checkRefs(c)
	for _, kind := range registry.All() {
		if kind.Check == nil || !c.touched[kind.ID] {
			continue
		}
		// Unchanged objects come first, so a conflict is reported on the
		// object this change adds.
		objs := make([]registry.Object, 0, len(c.objects[kind.ID]))
		for n, e := range c.objects[kind.ID] {
			if !c.changed[kind.ID][n] {
				objs = append(objs, e.obj)
			}
		}
		for _, n := range sortedNames(c.changed[kind.ID]) {
			objs = append(objs, c.objects[kind.ID][n].obj)
		}
		for _, err := range kind.Check(objs) {
			c.problems = append(c.problems, registry.Locate(kind.ID, "", []error{err})...)
		}
	}
	return c
}

func (rt *Runtime) prepareCode(c *candidate, changes []CodeChange) {
	if len(changes) == 0 {
		return
	}
	c.code = maps.Clone(c.code)
	for _, cc := range changes {
		file := path.Clean(strings.ReplaceAll(cc.File, "\\", "/"))
		if cc.File == "" || strings.HasPrefix(file, "../") || path.IsAbs(file) {
			c.problem(registry.KindCode, cc.File, "", "file name must be relative to the pickup directory")
			continue
		}
		if cc.Source == nil {
			if _, ok := c.code[file]; !ok {
				c.problem(registry.KindCode, file, "", "is not deployed")
				continue
			}
			delete(c.code, file)
			set, err := c.services.Replace(file)
			if err != nil {
				c.problem(registry.KindCode, file, "", "%v", err)
				continue
			}
			c.services = set
			c.result.Services[file] = nil
			continue
		}
		comp, ok := rt.opts.Compilers[path.Ext(file)]
		if !ok {
			c.problem(registry.KindCode, file, "", "no service language uses %s files", redact.Quote(path.Ext(file)))
			continue
		}
		svcs, warnings, err := comp.Compile(file, cc.Source)
		c.result.Warnings = append(c.result.Warnings, warnings...)
		if err != nil {
			c.problems = append(c.problems, registry.Locate(registry.KindCode, file, []error{err})...)
			continue
		}
		set, err := c.services.Replace(file, svcs...)
		if err != nil {
			c.problem(registry.KindCode, file, "", "%v", err)
			continue
		}
		c.services = set
		c.code[file] = cc.Source
		for _, s := range svcs {
			c.result.Services[file] = append(c.result.Services[file], s.Name)
		}
	}
}

// checkRefs checks that every reference points at an existing object.
// References to services are checked only for objects this change adds or
// replaces: removing a service's code leaves its channels configured (they
// answer 503 until the service is deployed again).
func (rt *Runtime) checkRefs(c *candidate) {
	var found []*registry.Problem
	defer func() {
		sort.SliceStable(found, func(i, j int) bool {
			a, b := found[i], found[j]
			return a.Kind < b.Kind || a.Kind == b.Kind && (a.Name < b.Name || a.Name == b.Name && a.Field < b.Field)
		})
		c.problems = append(c.problems, found...)
	}()
	for _, kind := range registry.All() {
		// Unchanged objects' references held before this change, so they
		// need checking again only when the change deletes something.
		names := c.changed[kind.ID]
		if c.deleted {
			names = nil
			for n := range c.objects[kind.ID] {
				if names == nil {
					names = map[string]bool{}
				}
				names[n] = true
			}
		}
		for name := range names {
			e := c.objects[kind.ID][name]
			for _, ref := range kind.Refs(e.obj) {
				if ref.Kind == registry.RefService {
					if c.strictServices && c.changed[kind.ID][name] && c.services.Get(ref.Name) == nil {
						msg := fmt.Sprintf("no service named %s is deployed", redact.Quote(ref.Name))
						if s := registry.Suggest(ref.Name, c.services.Names()); s != "" {
							msg += fmt.Sprintf("; did you mean %q?", s)
						}
						found = append(found, &registry.Problem{Kind: kind.ID, Name: name, Field: ref.Field, Message: msg})
					}
					continue
				}
				if _, ok := c.objects[ref.Kind][ref.Name]; !ok {
					title := ref.Kind
					if k, ok := registry.Lookup(ref.Kind); ok {
						title = k.Title
					}
					found = append(found, &registry.Problem{Kind: kind.ID, Name: name, Field: ref.Field,
						Message: fmt.Sprintf("no %s named %s exists", title, redact.Quote(ref.Name))})
				}
			}
		}
	}
}

// build starts the running forms of changed objects, reuses unchanged
// ones, and assembles the kinds this change touches; untouched kinds keep
// their objects and assembled form as they are.
func (rt *Runtime) build(old *State, c *candidate) (*State, error) {
	next := &State{Services: c.services, objects: map[string]map[string]*entry{}, code: c.code, assembled: map[string]any{}}
	env := &registry.Env{
		Dir:      rt.opts.Dir,
		Logger:   rt.opts.Logger,
		Settings: rt.opts.Settings,
		Metrics:  rt.opts.Metrics,
		Services: c.services,
		Running:  next.Running,
	}
	for _, kind := range registry.All() {
		objs := c.objects[kind.ID]
		if a, ok := old.assembled[kind.ID]; ok && !c.touched[kind.ID] {
			next.objects[kind.ID] = objs // unchanged: the same immutable entries
			next.assembled[kind.ID] = a
			continue
		}
		next.objects[kind.ID] = objs
		for name := range c.changed[kind.ID] {
			e := objs[name] // a new entry made by prepare: fill in its running form
			if kind.Start == nil {
				continue
			}
			r, err := kind.Start(env, e.obj)
			if err != nil {
				rt.release(next, old, c.touched)
				return nil, &Refused{Problems: registry.Locate(kind.ID, name, []error{fmt.Errorf("starting: %w", err)})}
			}
			e.running = r
		}
		if kind.Assemble == nil {
			continue
		}
		entries := make([]registry.Entry, 0, len(objs))
		for n, e := range objs {
			entries = append(entries, registry.Entry{Name: n, Object: e.obj, Running: e.running, Changed: c.changed[kind.ID][n]})
		}
		a, err := kind.Assemble(env, entries)
		if err != nil {
			rt.release(next, old, c.touched)
			return nil, &Refused{Problems: registry.Locate(kind.ID, "", []error{err})}
		}
		next.assembled[kind.ID] = a
	}
	return next, nil
}

// release closes the running forms of from that keep is not using, in
// the kinds of only (every kind when only is nil).
func (rt *Runtime) release(from, keep *State, only map[string]bool) {
	for kind, objs := range from.objects {
		if only != nil && !only[kind] {
			continue
		}
		for name, e := range objs {
			if e.running == nil {
				continue
			}
			if k, ok := keep.objects[kind][name]; ok && k.running == e.running {
				continue
			}
			if err := registry.Close(e.running); err != nil {
				rt.opts.Logger.Warn("closing running object", "kind", kind, "name", name, "error", err)
			}
		}
	}
	for kind, a := range from.assembled {
		if keep.assembled[kind] != a {
			registry.Close(a)
		}
	}
}

func (rt *Runtime) publish(old, next *State, touched map[string]bool) {
	rt.cur.Store(next)
	rt.release(old, next, touched)
	rt.watchMu.Lock()
	ws := slices.Clone(rt.watchers)
	rt.watchMu.Unlock()
	for _, w := range ws {
		w(old, next)
	}
}

// toStoreChange makes the store change of a changeset, with secrets
// sealed.
func (rt *Runtime) toStoreChange(cs Changeset, c *candidate) (store.Change, error) {
	sc := store.Change{Source: cs.Source, Summary: summary(cs)}
	for _, ch := range cs.Objects {
		kind, _ := registry.Lookup(ch.Kind)
		if ch.Object == nil {
			sc.Delete = append(sc.Delete, store.Key{Kind: kind.ID, Name: ch.Name})
			continue
		}
		if !c.changed[kind.ID][ch.Name] {
			continue
		}
		sealed, err := kind.MapSecrets(c.objects[kind.ID][ch.Name].obj, rt.seal)
		if err != nil {
			return sc, err
		}
		body, err := json.Marshal(sealed)
		if err != nil {
			return sc, fmt.Errorf("encoding %s %q: %w", kind.ID, ch.Name, err)
		}
		sc.Put = append(sc.Put, store.Record{Kind: kind.ID, Name: ch.Name, Body: body})
	}
	for _, cc := range cs.Code {
		file := path.Clean(strings.ReplaceAll(cc.File, "\\", "/"))
		if cc.Source == nil {
			sc.DeleteCode = append(sc.DeleteCode, file)
		} else {
			sc.PutCode = append(sc.PutCode, store.Code{File: file, Source: cc.Source})
		}
	}
	return sc, nil
}

// seal encrypts a secret for the store.
func (rt *Runtime) seal(s string) (string, error) {
	if rt.opts.Secrets == nil {
		return "", errors.New("no server key to encrypt secrets with")
	}
	return rt.opts.Secrets.Seal(s), nil
}

// open decrypts a secret from the store.
func (rt *Runtime) open(s string) (string, error) {
	if secret.IsSealed(s) && rt.opts.Secrets == nil {
		return "", errors.New("no server key to decrypt secrets with")
	}
	if rt.opts.Secrets == nil {
		return s, nil
	}
	return rt.opts.Secrets.Open(s)
}

func summary(cs Changeset) string {
	if cs.Summary != "" {
		return cs.Summary
	}
	var parts []string
	for i, ch := range cs.Objects {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(cs.Objects)-5))
			break
		}
		verb := "put"
		if ch.Object == nil {
			verb = "delete"
		}
		parts = append(parts, fmt.Sprintf("%s %s %q", verb, ch.Kind, ch.Name))
	}
	for _, cc := range cs.Code {
		verb := "deploy"
		if cc.Source == nil {
			verb = "undeploy"
		}
		parts = append(parts, verb+" "+cc.File)
	}
	return strings.Join(parts, ", ")
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsRefused reports whether err is a refused change and returns it.
func IsRefused(err error) (*Refused, bool) {
	var r *Refused
	ok := errors.As(err, &r)
	return r, ok
}
