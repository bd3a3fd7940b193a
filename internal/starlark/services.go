package starlark

import (
	"fmt"
	"sort"
	"strings"

	sl "go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/registry"
)

// serviceDecl is what service(...) returns: one of several services of a
// module, as a Zato module defines several classes. Assigned to a
// module-level name, it is deployed with the module.
type serviceDecl struct {
	kw  sl.StringDict
	pos syntax.Position
}

func (d *serviceDecl) String() string        { return "<service>" }
func (d *serviceDecl) Type() string          { return "service" }
func (d *serviceDecl) Freeze()               { d.kw.Freeze() }
func (d *serviceDecl) Truth() sl.Bool        { return sl.True }
func (d *serviceDecl) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: service") }

// serviceArgs are the keyword arguments of service(...): the names a
// single-service file sets at the top level, and doc.
var serviceArgs = func() []string {
	out := []string{"doc"}
	for _, m := range Metadata {
		out = append(out, m)
	}
	for _, v := range verbs {
		out = append(out, "handle_"+v)
	}
	sort.Strings(out)
	return out
}()

// newService is the service builtin.
func newService(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("service: takes keyword arguments only, as in service(name = \"my.service\", handle = my_handler)")
	}
	d := &serviceDecl{kw: sl.StringDict{}}
	if thread.CallStackDepth() > 1 {
		d.pos = thread.CallFrame(1).Pos
	}
	for _, kv := range kwargs {
		k := string(kv[0].(sl.String))
		if !isKnown(k, serviceArgs) {
			msg := fmt.Sprintf("service: %s is not an argument of service(...), which takes %s", k, strings.Join(serviceArgs, ", "))
			if s := registry.Suggest(k, serviceArgs); s != "" && registry.Distance(k, s) <= 2 {
				msg = fmt.Sprintf("service: %s is not an argument of service(...); did you mean %s?", k, s)
			}
			return nil, fmt.Errorf("%s", msg)
		}
		d.kw[k] = kv[1]
	}
	return d, nil
}

// moduleIO are the module-level names that belong to the module's own
// service (its top-level handle), not to those of service(...).
var moduleIO = []string{"input_required", "input_optional", "output_required", "output_optional", "input", "output",
	"schema", "response_elem", "skip_empty_keys", "default_value", "invokes"}

// declared returns the services a module declares with service(...),
// sorted by where they are declared.
func (comp *Compiler) declared(file string, f *syntax.File, mod *Module) ([]*catalog.Service, error) {
	type named struct {
		global string
		d      *serviceDecl
	}
	var decls []named
	for g, v := range mod.Globals {
		if d, ok := v.(*serviceDecl); ok {
			decls = append(decls, named{g, d})
		}
	}
	sort.Slice(decls, func(i, j int) bool {
		a, b := decls[i].d.pos, decls[j].d.pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return decls[i].global < decls[j].global
	})
	var out []*catalog.Service
	for _, n := range decls {
		svc, err := comp.declaredService(file, f, mod, n.global, n.d)
		if err != nil {
			return nil, err
		}
		out = append(out, svc)
	}
	return out, nil
}

// declaredService builds one service of service(...). Its name defaults
// to the module's and the global's, as Zato names a class: GetCustomer in
// crm/customers.star is crm.customers.get-customer. The module-level
// namespace applies unless it sets its own; its documentation is doc, or
// the docstring of its handler.
func (comp *Compiler) declaredService(file string, f *syntax.File, mod *Module, global string, d *serviceDecl) (*catalog.Service, error) {
	at := func(msg string) error {
		if d.pos.Line == 0 {
			return atGlobal(file, f, global, msg)
		}
		return problemAt(d.pos, msg)
	}
	name := DeriveName(file) + "." + strings.ReplaceAll(strings.TrimPrefix(catalog.Uncamelify(global), "-"), "_", "-")
	if v, ok := d.kw["name"]; ok {
		s, ok := v.(sl.String)
		if !ok || strings.TrimSpace(string(s)) == "" {
			return nil, at(global + ": name must be a non-empty string")
		}
		name = string(s)
	}
	decl := sl.StringDict{}
	for k, v := range d.kw {
		decl[k] = v
	}
	if _, ok := decl["namespace"]; !ok {
		if ns, ok := mod.Globals["namespace"]; ok {
			decl["namespace"] = ns
		}
	}
	io, _, g, err := declaration(decl)
	if err != nil {
		return nil, at(fmt.Sprintf("%s: %s: %v", global, g, err))
	}
	deep := io != nil && io.Input != nil && io.Input.Name != ""
	var handle catalog.HandlerFunc
	var doc string
	handlers := map[string]catalog.HandlerFunc{}
	for _, k := range serviceArgs {
		verb, isHandler := handlerVerb(k)
		v, ok := d.kw[k]
		if !isHandler || !ok {
			continue
		}
		fn, ok := v.(*sl.Function)
		if !ok || fn.NumParams() < 1 || fn.NumParams()-fn.NumKwonlyParams() < 1 {
			return nil, at(fmt.Sprintf("%s: %s must be a function taking self, as in: def %s(self):", global, k, k))
		}
		if doc == "" {
			doc = strings.TrimSpace(fn.Doc())
		}
		h := comp.handler(name, fn, deep)
		if verb == "" {
			handle = h
		} else {
			handlers[verb] = h
		}
	}
	if v, ok := d.kw["doc"]; ok {
		s, ok := v.(sl.String)
		if !ok {
			return nil, at(fmt.Sprintf("%s: doc must be a string, not a %s", global, v.Type()))
		}
		doc = strings.TrimSpace(string(s))
	}
	svc, err := catalog.New(name, doc, catalog.Starlark, file, handle, handlers)
	if err != nil {
		return nil, at(global + ": no handler: give service(...) handle = a function taking self, or handle_GET = … and other verbs")
	}
	svc.Impl, svc.IO, svc.RawJSON = &Module{File: file, Doc: doc, Globals: mod.Globals}, io, io == nil
	return svc, nil
}
