package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/metrics"
	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/secret"
	"github.com/plexushq/plexus/internal/store"
)

// Change creates, replaces or deletes one object.
type Change struct {
	Kind string
	Name string
	// Object is the new object; nil deletes.
	Object registry.Object
	// IfRev, when not zero, applies the change only if the object exists
	// and was last written by this revision (IfAny: exists at all);
	// otherwise Apply fails with a *Conflict and changes nothing.
	IfRev int64
}

// IfAny is the Change.IfRev of a change that needs the object to exist,
// whatever its revision.
const IfAny = -1

// Conflict is the error of a change whose object is not at the revision
// the change expects (Change.IfRev): another change came first.
type Conflict struct {
	Kind, Name string
	// Want is the revision the change expected; Have the object's, 0 when
	// it does not exist.
	Want, Have int64
}

func (e *Conflict) Error() string {
	if e.Kind == "" {
		return fmt.Sprintf("the configuration was changed by revision %d since revision %d", e.Have, e.Want)
	}
	if e.Have == 0 {
		return fmt.Sprintf("%s %q does not exist (any more)", e.Kind, e.Name)
	}
	if e.Want == IfAny {
		return fmt.Sprintf("%s %q exists", e.Kind, e.Name)
	}
	return fmt.Sprintf("%s %q was changed by revision %d since revision %d", e.Kind, e.Name, e.Have, e.Want)
}

// CodeChange deploys or removes one source file.
type CodeChange struct {
	// File is the file's name relative to the pickup directory, e.g.
	// "billing/get_customer.star".
	File string
	// Source is the file's content; nil removes the file's services.
	Source []byte
	// Origin says where the file comes from: OriginPickup, OriginAPI, or
	// the file's path on the machine that ran plexus deploy. A file
	// deployed from one origin is replaced or removed from another only by
	// a forced change. Empty matches any origin.
	Origin string
}

// Origins of deployed files besides paths named by plexus deploy.
const (
	OriginPickup = "pickup"
	OriginAPI    = "api"
)

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
	// Force lets code changes replace or undeploy services that another
	// source deployed: a file that provided a service now deployed from
	// another file is undeployed.
	Force bool
	// IfRev, when not zero, applies the change only if the store's latest
	// revision is IfRev (nobody changed the configuration since it was
	// read); otherwise Apply fails with a *Conflict and changes nothing.
	IfRev int64
	// Partial leaves out the objects and files that have problems, and
	// those that fail because they are left out, and applies the rest;
	// Result.LeftOut says what was left out and why. Problems that name
	// nothing in the change still refuse it.
	Partial bool
}

// Result is what Apply did.
type Result struct {
	Rev int64
	// Warnings are problems that did not refuse the change, such as a
	// misspelt handler name.
	Warnings []string
	// Services lists the services each deployed file now provides; a
	// file with none was undeployed.
	Services map[string][]string
	// LeftOut lists, for a partial change, what it left out.
	LeftOut []LeftOut
}

// LeftOut is an object or a source file that a partial change left out.
type LeftOut struct {
	// Kind is the object's kind, or registry.KindCode for a file.
	Kind string
	// Name is the object's name or the file's.
	Name     string
	Problems []*registry.Problem
	// Because names what was left out before it (files by name, objects
	// as kind "name") when its problems come from their absence; it is
	// empty when the problems are its own.
	Because []string
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
	Compile(file string, src []byte) (svcs []*catalog.Service, warnings []string, err error)
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
	Builtins []*catalog.Service
	// Compilers maps a file extension (".star") to its compiler.
	Compilers map[string]Compiler
	// Secrets seals secret fields in the store and opens them on load;
	// without it, changes with secrets cannot be committed (dry runs can).
	Secrets *secret.Box
	// Subsystems are the server's shared parts that kinds' running forms,
	// resolvers and actions use (registry.Subsystem finds them).
	Subsystems []any
}

// Runtime holds the current State and applies changes. It is safe for
// concurrent use; changes are applied one at a time.
type Runtime struct {
	opts Options
	// env is what every state is built with, but the services and the
	// running forms.
	env  registry.Env
	mu   sync.Mutex
	cur  atomic.Pointer[State]
	runs *runner

	watchMu  sync.Mutex
	watchers []func(old, new *State)
}

// New returns a runtime with an empty state holding the built-in services.
func New(opts Options) (*Runtime, error) {
	set, err := catalog.NewSet(opts.Builtins...)
	if err != nil {
		return nil, err
	}
	rt := &Runtime{opts: opts}
	rt.runs = newRunner(rt.logger().Warn)
	collectors := map[string][]prometheus.Collector{}
	if opts.Metrics != nil {
		opts.Metrics.Registry.MustRegister(newUpCollector(rt))
		for _, k := range registry.All() {
			if k.Collectors == nil {
				continue
			}
			cs := k.Collectors()
			if err := opts.Metrics.RegisterObjects(k.ID, "name", cs...); err != nil {
				return nil, fmt.Errorf("registering the metrics of kind %s: %w", k.ID, err)
			}
			collectors[k.ID] = cs
		}
	}
	rt.env = registry.Env{Dir: opts.Dir, Logger: rt.logger(), Settings: opts.Settings, Metrics: opts.Metrics, Subsystems: opts.Subsystems,
		Collectors: func(kind string) []prometheus.Collector { return collectors[kind] }}
	env := rt.env
	env.Services = set
	rt.cur.Store(&State{Services: set, env: &env, objects: map[string]map[string]*entry{}, code: map[string]CodeFile{}, assembled: map[string]any{}})
	return rt, nil
}

// Close stops the background work of the current state's running forms,
// waiting for it until ctx ends, and closes them (connection pools and the
// like), at shutdown, once no request uses them any more.
func (rt *Runtime) Close(ctx context.Context) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	err := rt.runs.close(ctx)
	rt.release(rt.cur.Load(), &State{objects: map[string]map[string]*entry{}, assembled: map[string]any{}}, nil)
	return err
}

func (rt *Runtime) logger() *slog.Logger {
	if rt.opts.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return rt.opts.Logger
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
	removed  map[string]map[string]bool // objects the change deletes, by kind
	code     map[string]CodeFile
	services *catalog.Set
	result   *Result
	problems []*registry.Problem
	// updates apply changes in place to running forms, once committed.
	updates []func()
	// waits maps files that wait for files of the change that keep their
	// previous version to those files.
	waits map[string][]string

	strictServices bool
}

func (c *candidate) problem(kind, name, field, format string, args ...any) {
	c.problems = append(c.problems, &registry.Problem{Kind: kind, Name: name, Field: field, Message: fmt.Sprintf(format, args...)})
}

// Apply validates and applies a changeset. It returns a *Refused error
// listing every problem when the change is not valid.
//
// The change is made against the store's latest revision, holding the
// store's change lock (store.Store.LockChanges): changes other nodes
// committed are applied first (see Sync); should one be committed while
// this one is prepared anyway (by a node that does not take the lock),
// this one is prepared again on top of it.
func (rt *Runtime) Apply(ctx context.Context, cs Changeset) (*Result, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if !cs.DryRun {
		unlock, err := rt.opts.Store.LockChanges(ctx)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	for attempt := 1; ; attempt++ {
		if _, err := rt.sync(ctx, "store", false); err != nil {
			return nil, err
		}
		res, err := rt.apply(ctx, cs)
		var stale *store.StaleError
		if errors.As(err, &stale) && attempt < maxStaleRetries {
			continue
		}
		return res, err
	}
}

// maxStaleRetries bounds how often Apply prepares a change again because
// another node committed first.
const maxStaleRetries = 10

// apply applies a changeset to the current state; rt.mu is held.
func (rt *Runtime) apply(ctx context.Context, cs Changeset) (*Result, error) {
	old := rt.cur.Load()
	if cs.IfRev != 0 && cs.IfRev != old.Rev {
		return nil, &Conflict{Want: cs.IfRev, Have: old.Rev}
	}
	for _, ch := range cs.Objects {
		if ch.IfRev == 0 {
			continue
		}
		kind := ch.Kind
		if k, ok := registry.Lookup(ch.Kind); ok {
			kind = k.ID
		}
		have, _ := old.ObjectRev(kind, ch.Name)
		if have == 0 || ch.IfRev != IfAny && have != ch.IfRev {
			return nil, &Conflict{Kind: kind, Name: ch.Name, Want: ch.IfRev, Have: have}
		}
	}
	var c *candidate
	if cs.Partial {
		var left []LeftOut
		c, cs, left = rt.prepareLeavingOut(old, cs, true)
		c.result.LeftOut = left
	} else {
		c = rt.prepare(old, cs, true)
	}
	if len(c.problems) > 0 {
		return nil, &Refused{Problems: c.problems}
	}
	if len(cs.Objects) == 0 && len(cs.Code) == 0 {
		c.result.Rev = old.Rev // a partial change that left out everything
		return c.result, nil
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
	rev, err := rt.opts.Store.CommitAt(ctx, old.Rev, change)
	if err != nil {
		rt.release(next, old, c.touched)
		return nil, err
	}
	next.Rev, c.result.Rev = rev, rev
	for kind, names := range c.changed {
		for name := range names {
			next.objects[kind][name].rev = rev
		}
	}
	rt.publish(old, next, c)
	rt.opts.Logger.Info("configuration changed", "rev", rev, "source", cs.Source, "summary", summary(cs))
	return c.result, nil
}

// Load builds the state from the store at start-up. Objects that no longer
// validate (a kind that was removed, a reference to something gone) are
// logged and left out rather than stopping the server.
func (rt *Runtime) Load(ctx context.Context) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	_, err := rt.sync(ctx, "start-up", true)
	return err
}

// Sync applies what was committed to the store since the current state's
// revision, by other nodes sharing it, as one change: only the objects and
// files that changed are rebuilt, as on the node that made the change. It
// returns the revision the runtime now runs. What no longer validates is
// logged and left out, as Load does.
func (rt *Runtime) Sync(ctx context.Context) (int64, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.sync(ctx, "store", false)
}

// sync applies the store's changes since the current state; rt.mu is
// held. The first sync builds the state even from an empty store.
func (rt *Runtime) sync(ctx context.Context, source string, first bool) (int64, error) {
	old := rt.cur.Load()
	if rt.opts.Store == nil { // a runtime that only validates (dry runs)
		return old.Rev, nil
	}
	d, err := rt.opts.Store.Changes(ctx, old.Rev)
	if err != nil {
		return old.Rev, err
	}
	if d.Rev <= old.Rev && !first {
		return old.Rev, nil
	}
	// The store is the truth: its files replace whatever origin ran here.
	cs := Changeset{Source: source, Force: true}
	revs := map[string]map[string]int64{}
	for _, r := range d.Objects {
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
		if revs[kind.ID] == nil {
			revs[kind.ID] = map[string]int64{}
		}
		revs[kind.ID][r.Name] = r.Rev
	}
	for _, k := range d.Removed {
		if _, ok := old.objects[k.Kind][k.Name]; ok {
			cs.Objects = append(cs.Objects, Change{Kind: k.Kind, Name: k.Name})
		}
	}
	for _, code := range d.Code {
		cs.Code = append(cs.Code, CodeChange{File: code.File, Source: code.Source, Origin: code.Origin})
	}
	for _, f := range d.RemovedCode {
		if _, ok := old.code[f]; ok {
			cs.Code = append(cs.Code, CodeChange{File: f})
		}
	}
	c, _, left := rt.prepareLeavingOut(old, cs, false)
	for _, lo := range left {
		rt.logSkipped(lo.Problems)
	}
	if len(c.problems) > 0 { // problems not tied to one object
		rt.logSkipped(c.problems)
		c = rt.prepare(old, Changeset{}, false)
	}
	next, err := rt.build(old, c)
	if err != nil {
		return old.Rev, err
	}
	next.Rev = d.Rev
	for kind, names := range c.changed {
		for name := range names {
			next.objects[kind][name].rev = revs[kind][name]
		}
	}
	if first {
		c.touched = nil // every kind starts
	}
	rt.publish(old, next, c)
	if !first {
		rt.opts.Logger.Info("configuration changed in the store", "rev", d.Rev, "from", d.From)
	}
	return d.Rev, nil
}

// prepareLeavingOut prepares cs, then leaves out, round by round, the
// objects and files that have problems until the rest validates. It
// returns the candidate (with the problems that name nothing in cs, if
// any), the changeset it stands for, and what it left out.
func (rt *Runtime) prepareLeavingOut(old *State, cs Changeset, strict bool) (*candidate, Changeset, []LeftOut) {
	var left []LeftOut
	var before []string            // what earlier rounds left out
	waits := map[string][]string{} // file → files of the change it waited for
	for {
		c := rt.prepare(old, cs, strict)
		for f, w := range c.waits {
			waits[f] = append(waits[f], w...)
		}
		in := map[[2]string]bool{}
		for _, ch := range cs.Objects {
			in[[2]string{ch.Kind, ch.Name}] = true
		}
		for _, cc := range cs.Code {
			in[[2]string{registry.KindCode, cleanFile(cc.File)}] = true
		}
		at := map[[2]string]int{}
		var names []string
		for _, p := range c.problems {
			key := [2]string{p.Kind, p.Name}
			if !in[key] {
				continue // names nothing this change could leave out
			}
			i, ok := at[key]
			if !ok {
				i = len(left)
				at[key] = i
				lo := LeftOut{Kind: p.Kind, Name: p.Name}
				if len(before) > 0 {
					lo.Because = before
					if w := waits[p.Name]; p.Kind == registry.KindCode && len(w) > 0 {
						lo.Because = w
					}
				}
				left = append(left, lo)
				names = append(names, label(p.Kind, p.Name))
			}
			left[i].Problems = append(left[i].Problems, p)
		}
		if len(at) == 0 {
			return c, cs, left
		}
		before = append(slices.Clone(before), names...)
		var keep []Change
		for _, ch := range cs.Objects {
			if _, bad := at[[2]string{ch.Kind, ch.Name}]; !bad {
				keep = append(keep, ch)
			}
		}
		var keepCode []CodeChange
		for _, cc := range cs.Code {
			if _, bad := at[[2]string{registry.KindCode, cleanFile(cc.File)}]; !bad {
				keepCode = append(keepCode, cc)
			}
		}
		cs.Objects, cs.Code = keep, keepCode
	}
}

// label names an object or a file for messages.
func label(kind, name string) string {
	if kind == registry.KindCode {
		return name
	}
	return fmt.Sprintf("%s %q", kind, name)
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
			if c.removed == nil {
				c.removed = map[string]map[string]bool{}
			}
			if c.removed[id] == nil {
				c.removed[id] = map[string]bool{}
			}
			c.removed[id][ch.Name] = true
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
	rt.prepareCode(c, cs.Code, cs.Force)
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

// checkRefs checks that every reference points at an existing object.
// References to services are checked only for objects this change adds or
// replaces: removing a service's code leaves its channels configured (they
// answer 503 until the service is deployed again). Deleting an object that
// others still refer to is one problem on the deleted object, naming every
// object that uses it.
func (rt *Runtime) checkRefs(c *candidate) {
	var found []*registry.Problem
	users := map[registry.Ref][]string{} // deleted object (Kind, Name) → its users
	defer func() {
		for del, list := range users {
			slices.Sort(list)
			found = append(found, &registry.Problem{Kind: del.Kind, Name: del.Name,
				Message: fmt.Sprintf("still used by %s; change or delete those first", strings.Join(slices.Compact(list), ", "))})
		}
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
					if c.removed[ref.Kind][ref.Name] {
						del := registry.Ref{Kind: ref.Kind, Name: ref.Name}
						users[del] = append(users[del], fmt.Sprintf("%s %q", kind.ID, name))
						continue
					}
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
	env := rt.env
	env.Services, env.Running = c.services, next.Running
	next.env = &env
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
			if prev, ok := old.objects[kind.ID][name]; ok && prev.running != nil && kind.Update != nil {
				if apply := kind.Update(&env, prev.running, prev.obj, e.obj); apply != nil {
					e.running, e.status = prev.running, prev.status
					c.updates = append(c.updates, apply)
					continue
				}
			}
			if kind.Provision == nil {
				continue
			}
			r, err := kind.Provision(&env, e.obj)
			if err != nil {
				rt.release(next, old, c.touched)
				return nil, &Refused{Problems: registry.Locate(kind.ID, name, []error{fmt.Errorf("starting: %w", err)})}
			}
			e.running = r
			if _, ok := r.(registry.Runner); ok {
				e.status = registry.NewStatus(registry.StateConnecting, rt.statusLogger(kind.ID, name))
			}
		}
		if kind.Assemble == nil {
			continue
		}
		entries := make([]registry.Entry, 0, len(objs))
		for n, e := range objs {
			entries = append(entries, registry.Entry{Name: n, Object: e.obj, Running: e.running, Changed: c.changed[kind.ID][n]})
		}
		a, err := kind.Assemble(&env, entries)
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

// publish makes next the current state: it applies in-place updates,
// hands running forms over, publishes next, starts the Run of its new
// running forms and retires the old ones of the touched kinds as their
// kinds' swap policies say.
func (rt *Runtime) publish(old, next *State, c *candidate) {
	for _, apply := range c.updates {
		apply()
	}
	type swap struct {
		kind *registry.Kind
		name string
		e    *entry
		prev *entry
	}
	var swaps []swap
	for _, kind := range registry.All() {
		if c.touched != nil && !c.touched[kind.ID] {
			continue
		}
		for name, e := range next.objects[kind.ID] {
			if e.running == nil {
				continue
			}
			prev := old.objects[kind.ID][name]
			if prev != nil && prev.running == e.running {
				continue // unchanged, or updated in place
			}
			if prev != nil && kind.Swap == registry.Handover {
				if s, ok := e.running.(registry.Successor); ok && prev.running != nil {
					s.TakeOver(prev.running)
				}
			}
			swaps = append(swaps, swap{kind, name, e, prev})
		}
	}
	rt.cur.Store(next)
	// Old running forms stop (and close once their Run has returned);
	// a stop-then-start kind's new Run waits for the old one's.
	waitFor := map[*entry]<-chan struct{}{}
	for kindID, objs := range old.objects {
		if c.touched != nil && !c.touched[kindID] {
			continue
		}
		for name, e := range objs {
			if e.running == nil {
				continue
			}
			if k, ok := next.objects[kindID][name]; ok && k.running == e.running {
				continue
			}
			form, kind, name := e.running, kindID, name
			done := rt.runs.retire(form, func() {
				if err := registry.Close(form); err != nil {
					rt.logger().Warn("closing running object", "kind", kind, "name", name, "error", err)
				}
			})
			waitFor[e] = done
		}
	}
	for kind, a := range old.assembled {
		if next.assembled[kind] != a {
			registry.Close(a)
		}
	}
	rt.forgetDeleted(old, next, c.touched)
	for _, s := range swaps {
		var after <-chan struct{}
		if s.kind.Swap == registry.StopThenStart && s.prev != nil {
			after = waitFor[s.prev]
		}
		rt.runs.start(s.kind.ID, s.name, s.e.running, s.e.status, after)
	}
	rt.watchMu.Lock()
	ws := slices.Clone(rt.watchers)
	rt.watchMu.Unlock()
	for _, w := range ws {
		w(old, next)
	}
}

// forgetDeleted deletes the metric series of the objects of the touched
// kinds that old has and next does not.
func (rt *Runtime) forgetDeleted(old, next *State, touched map[string]bool) {
	if rt.opts.Metrics == nil {
		return
	}
	for kind := range touched {
		for name := range old.objects[kind] {
			if _, ok := next.objects[kind][name]; !ok {
				rt.opts.Metrics.Forget(kind, name)
			}
		}
	}
}

// statusLogger logs the changes of state of an object's status.
func (rt *Runtime) statusLogger(kind, name string) func(registry.StatusInfo) {
	return func(s registry.StatusInfo) {
		switch s.State {
		case registry.StateDegraded:
			rt.logger().Warn("object degraded", "kind", kind, "name", name, "error", s.Error)
		case registry.StateRunning:
			rt.logger().Info("object running", "kind", kind, "name", name)
		}
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
	for _, file := range sortedNames(c.result.Services) {
		if code, ok := c.code[file]; ok {
			sc.PutCode = append(sc.PutCode, store.Code{File: file, Source: code.Source, Origin: code.Origin})
		} else {
			sc.DeleteCode = append(sc.DeleteCode, file)
		}
	}
	return sc, nil
}

// seal encrypts a secret for the store.
func (rt *Runtime) seal(_, s string) (string, error) {
	if rt.opts.Secrets == nil {
		return "", errors.New("no server key to encrypt secrets with")
	}
	return rt.opts.Secrets.Seal(s), nil
}

// open decrypts a secret from the store.
func (rt *Runtime) open(_, s string) (string, error) {
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
