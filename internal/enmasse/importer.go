package enmasse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Options configure an import.
type Options struct {
	// DryRun checks everything and reports what the import would do,
	// without changing anything.
	DryRun bool
	// Replace deletes every object of the store that the files do not
	// hold, of every kind.
	Replace bool
	// ConfirmDelete, when not nil, is the list of objects Replace was
	// shown to delete: if the import would delete anything else, it is
	// refused (the store changed since).
	ConfirmDelete []registry.Ref
	// Lookup returns the value of a ${VAR}; nil means no variable is set.
	Lookup func(name string) (string, bool)
	// Progress, when set, is called as the import advances.
	Progress func(Progress)
	// Source says where the change came from, for the revision history;
	// default "enmasse".
	Source string
	// IfRev, when not zero, imports only if the store's latest revision
	// is IfRev: nobody changed the configuration since it was exported or
	// checked (see live.Changeset.IfRev).
	IfRev int64
}

// Phases of an import, in Progress.Phase. Only an import that changed
// the configuration reports PhaseApply, once its changes are committed: a
// dry run, a lint or a refused import never does.
const (
	PhaseRead  = "reading"
	PhaseCheck = "checking"
	PhaseApply = "applying"
	PhaseDone  = "done"
)

// Progress is how far an import is: Done of Total items of a phase.
type Progress struct {
	Phase string `json:"phase"`
	Done  int    `json:"done"`
	Total int    `json:"total"`
}

// Import checks the files of in and applies them through the runtime's one
// change path, in one transaction: objects are created or replaced by
// name (fields a file leaves out take their defaults); objects the files
// do not hold stay, unless opts.Replace. It always returns a report; the
// error is a *Refused listing every problem when there is any (and then
// nothing changed), or the error that stopped the change.
func Import(ctx context.Context, rt *live.Runtime, in Input, opts Options) (*Report, error) {
	return check(in, opts).apply(ctx, rt, opts)
}

// Lint checks files without a server: everything Import checks except
// what only a server knows. References between the files' objects are
// checked; references to services are not, nor to objects that only a
// store holds. It never changes anything.
func Lint(ctx context.Context, in Input, opts Options) (*Report, error) {
	c := check(in, opts)
	var stubs []*catalog.Service
	seen := map[string]bool{}
	for _, o := range c.objs {
		for _, ref := range o.src.kind.Refs(o.val) {
			if ref.Kind == registry.RefService && !seen[ref.Name] {
				seen[ref.Name] = true
				svc, err := catalog.New(ref.Name, "", catalog.Go, "lint", func(*service.Context) error { return nil }, nil)
				if err == nil {
					stubs = append(stubs, svc)
				}
			}
		}
	}
	rt, err := live.New(live.Options{Builtins: stubs, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return c.report(), fmt.Errorf("linting: %w", err)
	}
	opts.DryRun, opts.Replace = true, false
	return c.apply(ctx, rt, opts)
}

// checked is an import after its files are read and decoded.
type checked struct {
	p        *parser
	objs     []decoded
	index    map[string]map[string]*object
	dryRun   bool
	progress func(Progress)
}

// check reads and decodes the files of an import.
func check(in Input, opts Options) *checked {
	progress := opts.Progress
	if progress == nil {
		progress = func(Progress) {}
	}
	progress(Progress{Phase: PhaseRead, Total: len(in.Roots)})
	p := newParser(in, opts.Lookup)
	for i, root := range in.Roots {
		p.parseFile(root, nil)
		progress(Progress{Phase: PhaseRead, Done: i + 1, Total: len(in.Roots)})
	}
	p.foldAMQPDefinitions()
	p.foldPubSubEndpoints()
	p.flushWarnings()
	objs, index := p.decodeAll(progress)
	return &checked{p: p, objs: objs, index: index, dryRun: opts.DryRun, progress: progress}
}

func (c *checked) report() *Report {
	return &Report{Files: c.p.files, DryRun: c.dryRun, Deleted: []registry.Ref{}, Objects: len(c.objs),
		Problems: c.p.problems, Warnings: c.p.warnings}
}

// apply computes the changes against the runtime's state and applies
// them, or only checks them when there are problems already.
func (c *checked) apply(ctx context.Context, rt *live.Runtime, opts Options) (*Report, error) {
	p, progress := c.p, c.progress
	rep := &Report{Files: append([]string{}, p.files...), DryRun: opts.DryRun, Deleted: []registry.Ref{}, Objects: len(c.objs),
		CreatedObjects: []registry.Ref{}, UpdatedObjects: []registry.Ref{}}
	cs := live.Changeset{Source: opts.Source, DryRun: opts.DryRun}
	if cs.Source == "" {
		cs.Source = "enmasse"
	}
	st := rt.State()
	for _, o := range c.objs {
		cur, exists := st.Object(o.src.kind.ID, o.src.name)
		if exists {
			o.keepSecrets(cur)
		}
		switch {
		case exists && sameObject(cur, o.val):
			rep.Unchanged++
			continue
		case exists:
			rep.Updated++
			rep.UpdatedObjects = append(rep.UpdatedObjects, registry.Ref{Kind: o.src.kind.ID, Name: o.src.name})
		default:
			rep.Created++
			rep.CreatedObjects = append(rep.CreatedObjects, registry.Ref{Kind: o.src.kind.ID, Name: o.src.name})
		}
		cs.Objects = append(cs.Objects, live.Change{Kind: o.src.kind.ID, Name: o.src.name, Object: o.val})
	}
	if opts.Replace {
		for _, k := range registry.All() {
			for _, name := range st.Names(k.ID) {
				if c.index[k.ID][name] == nil {
					rep.Deleted = append(rep.Deleted, registry.Ref{Kind: k.ID, Name: name})
					cs.Objects = append(cs.Objects, live.Change{Kind: k.ID, Name: name})
				}
			}
		}
		if opts.ConfirmDelete != nil && !sameRefs(opts.ConfirmDelete, rep.Deleted) {
			p.problem(&registry.Problem{Message: "the objects --replace deletes changed since they were listed; run the import again to see the new list"})
		}
	}
	if len(cs.Objects) > 0 {
		cs.DryRun = cs.DryRun || len(p.problems) > 0
		cs.IfRev = opts.IfRev
		cs.Summary = fmt.Sprintf("enmasse import of %s: %d created, %d updated, %d deleted", strings.Join(rep.Files, ", "), rep.Created, rep.Updated, len(rep.Deleted))
		// The change path checks the changes in the same call that applies
		// them: that is still checking, until they are applied.
		res, err := rt.Apply(ctx, cs)
		if refused, ok := live.IsRefused(err); ok {
			p.locateApplied(refused.Problems, c.index)
		} else if err != nil {
			return rep, fmt.Errorf("applying the import: %w", err)
		} else {
			for _, w := range res.Warnings {
				p.warnings = append(p.warnings, &registry.Problem{Message: w})
			}
			if !cs.DryRun {
				rep.Rev = res.Rev
				progress(Progress{Phase: PhaseApply, Done: len(cs.Objects), Total: len(cs.Objects)})
			}
		}
	}
	rep.Problems, rep.Warnings = p.problems, p.warnings
	sortProblems(rep.Problems, rep.Files)
	sortProblems(rep.Warnings, rep.Files)
	for name := range p.missing {
		rep.MissingVariables = append(rep.MissingVariables, name)
	}
	slices.Sort(rep.MissingVariables)
	if rep.Problems == nil {
		rep.Problems = []*registry.Problem{}
	}
	if rep.Warnings == nil {
		rep.Warnings = []*registry.Problem{}
	}
	progress(Progress{Phase: PhaseDone, Done: rep.Objects, Total: rep.Objects})
	if !rep.OK() {
		rep.Rev = 0
		return rep, &Refused{Report: rep}
	}
	return rep, nil
}

// decoded is an object of the files with its decoded value.
type decoded struct {
	src *object
	val registry.Object
}

// keepSecrets gives the secret fields the file leaves out the values cur
// has: a file without passwords (Zato's files often have none, and they
// are set later with change-password) can be imported again without
// losing them. A secret the file sets, even to "", is the file's, and so
// are the secrets nested in a field the file sets.
func (o decoded) keepSecrets(cur registry.Object) {
	for _, f := range o.src.kind.Fields() {
		if f.Secret && o.src.fields[f.Name] == nil {
			f.Value(o.val).Set(f.Value(cur))
		}
	}
}

// decodeAll decodes every object, in dependency order, and indexes them
// by kind and name. A name used twice in a kind is a problem.
func (p *parser) decodeAll(progress func(Progress)) ([]decoded, map[string]map[string]*object) {
	index := map[string]map[string]*object{}
	out := make([]decoded, 0, len(p.objects))
	step := max(1, len(p.objects)/100)
	for i, obj := range p.objects {
		if i%step == 0 {
			progress(Progress{Phase: PhaseCheck, Done: i, Total: len(p.objects)})
		}
		byName := index[obj.kind.ID]
		if byName == nil {
			byName = map[string]*object{}
			index[obj.kind.ID] = byName
		}
		if prev := byName[obj.name]; prev != nil {
			p.problem(at(obj.file, obj.nameNode, obj.kind.ID, obj.name, "name", "defined twice (first at %s:%d:%d)", prev.file, prev.nameNode.Line, prev.nameNode.Column))
			continue
		}
		byName[obj.name] = obj
		out = append(out, decoded{src: obj, val: p.decode(obj)})
	}
	progress(Progress{Phase: PhaseCheck, Done: len(p.objects), Total: len(p.objects)})
	slices.SortStableFunc(out, func(a, b decoded) int { return a.src.kind.Order - b.src.kind.Order })
	return out, index
}

// decode converts an object's fields to JSON and decodes them with its
// kind's declaration, placing each problem at the field it names.
func (p *parser) decode(obj *object) registry.Object {
	raw := make(map[string]json.RawMessage, len(obj.fields)+1)
	for _, name := range obj.order {
		var t reflect.Type
		if f, ok := obj.kind.Field(name); ok {
			t = f.Type
		}
		if t == nil {
			// Unknown: decoding reports it with the nearest field. When
			// the file does not set that field, its own problems (must not
			// be empty) would repeat it; when it does, they are its own.
			if s := registry.Suggest(name, fieldNames(obj.kind)); s != "" && obj.fields[s] == nil {
				p.covered[[3]string{obj.kind.ID, obj.name, s}] = true
			}
		}
		c := &converter{p: p, obj: obj, field: name}
		data, err := json.Marshal(c.value(obj.fields[name].value, t))
		if err != nil {
			p.problem(at(obj.file, obj.fields[name].value, obj.kind.ID, obj.name, name, "cannot be converted: %v", err))
			continue
		}
		raw[name] = data
	}
	raw["name"], _ = json.Marshal(obj.name)
	val, errs := obj.kind.DecodeFields(raw)
	for _, pr := range registry.Locate(obj.kind.ID, obj.name, errs) {
		p.problem(obj.locate(pr))
	}
	return val
}

// locateApplied places the problems the change path found at the objects
// and fields they name. A field that already has a problem from decoding
// is not reported twice.
func (p *parser) locateApplied(problems []*registry.Problem, index map[string]map[string]*object) {
	reported := maps.Clone(p.covered)
	for _, pr := range p.problems {
		reported[[3]string{pr.Kind, pr.Name, pr.Field}] = true
		if f := pr.Field; f != "" {
			// A problem reported on a field as written (service_name)
			// covers the field it sets (service).
			if obj := index[pr.Kind][pr.Name]; obj != nil {
				for name, fn := range obj.fields {
					if fn.zato == f {
						reported[[3]string{pr.Kind, pr.Name, name}] = true
					}
				}
			}
		}
	}
	for _, pr := range problems {
		if reported[[3]string{pr.Kind, pr.Name, pr.Field}] {
			continue
		}
		if obj := index[pr.Kind][pr.Name]; obj != nil {
			p.problem(obj.locate(pr))
			continue
		}
		p.problem(&registry.Problem{Kind: pr.Kind, Name: pr.Name, Field: pr.Field, Message: pr.Message})
	}
}

func fieldNames(k *registry.Kind) []string {
	names := make([]string, len(k.Fields()))
	for i, f := range k.Fields() {
		names[i] = f.Name
	}
	return names
}

// locate places a problem of an object at the node of the field it names
// (the key, for an unknown field), or at the object.
func (o *object) locate(pr *registry.Problem) *registry.Problem {
	out := &registry.Problem{File: o.file, Kind: pr.Kind, Name: pr.Name, Field: pr.Field, Message: pr.Message}
	n := o.node
	top, rest := splitPath(pr.Field)
	switch f := o.fields[top]; {
	case pr.Field == "name":
		n = o.nameNode
	case f != nil && rest == "" && strings.HasPrefix(pr.Message, "unknown field"):
		n = f.key
	case f != nil:
		n = walk(f.value, rest)
		if f.zato != "" && rest == "" {
			out.Field = f.zato // name the field as the file spells it
		}
	}
	if n != nil {
		out.Line, out.Column = n.Line, n.Column
	}
	return out
}

// splitPath splits a field path such as limits.max or rules[2].cidr into
// its first field and the rest.
func splitPath(field string) (string, string) {
	if i := strings.IndexAny(field, ".["); i >= 0 {
		return field[:i], field[i:]
	}
	return field, ""
}

// walk follows a path such as .max or [2].cidr from a node, as far as the
// file has it.
func walk(n *yaml.Node, path string) *yaml.Node {
	for path != "" {
		n = deref(n)
		if n == nil {
			return nil
		}
		var next *yaml.Node
		switch {
		case path[0] == '.':
			key, rest := splitPath(path[1:])
			path = rest
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == key {
						next = n.Content[i+1]
					}
				}
			}
		case path[0] == '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return n
			}
			i, err := strconv.Atoi(path[1:end])
			path = path[end+1:]
			if err == nil && n.Kind == yaml.SequenceNode && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
			}
		default:
			return n
		}
		if next == nil {
			return n
		}
		n = next
	}
	return n
}

// sameObject reports whether two objects have the same fields.
func sameObject(a, b registry.Object) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

func sameRefs(a, b []registry.Ref) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[registry.Ref]bool, len(a))
	for _, r := range a {
		seen[r] = true
	}
	for _, r := range b {
		if !seen[r] {
			return false
		}
	}
	return true
}
