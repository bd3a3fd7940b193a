package porter

import (
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/resolve"
	sl "go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/plexushq/plexus/internal/starlark"
)

// ioNames are the class attributes Plexus reads as module-level names.
var ioNames = map[string]bool{
	"input_required": true, "input_optional": true, "output_required": true, "output_optional": true,
	"input": true, "output": true, "response_elem": true, "skip_empty_keys": true, "default_value": true,
	"schema": true, "invokes": true,
}

// zatoOnly are SimpleIO and service attributes Plexus does without.
var zatoOnly = map[string]string{
	"default_input_value":      "use default_value, or a default on each element: Text(\"x\", default = \"\")",
	"default_output_value":     "set the value in the output yourself",
	"request_elem":             "Plexus reads the request's top level: send the elements there",
	"skip_empty_request_keys":  "drop the keys in handle",
	"skip_empty_response_keys": "use skip_empty_keys",
	"force_empty_keys":         "Plexus keeps keys unless skip_empty_keys drops them",
	"output_repeated":          "return a list as the payload",
	"call_hooks":               "Plexus calls no hooks",
	"handles_auth_rejection":   "Plexus never calls a service for a rejected request",
	"is_active":                "deploy or undeploy the file instead",
}

// hooks are Zato's hooks; before_handle, after_handle and accept are
// called from the handlers, the rest are not called at all.
var hooks = map[string]bool{
	"before_handle": true, "after_handle": true, "accept": true, "validate_input": true, "validate_output": true,
	"finalize_handle": true, "before_job": true, "after_job": true, "before_one_time_job": true, "after_one_time_job": true,
	"before_interval_based_job": true, "after_interval_based_job": true, "before_cron_style_job": true, "after_cron_style_job": true,
	"before_add_to_store": true, "after_add_to_store": true, "get_request_hash": true,
}

// serviceInfo is a service class with its bases merged in.
type serviceInfo struct {
	cls     *classStmt
	doc     *strExpr
	methods map[string]*defStmt
	morder  []string
	static  map[string]bool
	props   map[string]bool
	// rename is the Starlark name of each method (a method named like a
	// predeclared name gets a suffix).
	rename map[string]string
	attrs  map[string]*assignStmt
	aorder []string
	io     []*assignStmt
	// payloadAttrs is set when the service writes Zato's free-form
	// payload (self.response.payload.x = …).
	payloadAttrs bool
	explicitName string
	// prefix starts the module-level names of the service's methods and
	// constants when several services share a module.
	prefix string
}

func (svc *serviceInfo) attrName(n string) string { return svc.prefix + n }

// isHandler reports whether a method is a handler: handle or handle_VERB.
func isHandler(method string) bool { return method == "handle" || strings.HasPrefix(method, "handle_") }

// collect reads a class and its bases (bases first, the class wins).
func (c *converter) collect(s *classStmt, svc *serviceInfo, depth int) {
	if depth > 20 {
		return
	}
	for _, b := range baseNames(s) {
		if base, ok := c.classes[b]; ok && base != s {
			c.collect(base, svc, depth+1)
		}
	}
	for i, x := range s.body {
		switch x := x.(type) {
		case *exprStmt:
			if str, ok := x.x.(*strExpr); ok && i == 0 {
				if depth == 0 || svc.doc == nil {
					svc.doc = str
				}
			}
		case *assignStmt:
			c.classAssign(x, svc, false)
		case *defStmt:
			if _, seen := svc.methods[x.name]; !seen {
				svc.morder = append(svc.morder, x.name)
			}
			svc.methods[x.name] = x
			delete(svc.static, x.name)
			delete(svc.props, x.name)
			for _, d := range x.decorators {
				switch decoratorName(d) {
				case "staticmethod":
					svc.static[x.name] = true
				case "classmethod":
					svc.static[x.name] = true
					c.note(x.line, "@classmethod "+x.name, "written as a plain function; its cls argument is dropped: use module-level names instead of cls.x")
					if len(x.params) > 0 {
						x.params = x.params[1:]
					}
				case "property":
					svc.props[x.name] = true
				default:
					c.note(x.line, "decorator @"+decoratorName(d), "Starlark has no decorators: the function is kept undecorated")
				}
			}
			x.decorators = nil
		case *classStmt:
			if x.name == "SimpleIO" || x.name == "IO" {
				for _, y := range x.body {
					if a, ok := y.(*assignStmt); ok {
						c.classAssign(a, svc, true)
					}
				}
				continue
			}
			c.note(x.line, "class "+x.name+" inside a service", "Starlark has no classes: use module-level names, or model(...) for data")
		case *simpleStmt:
		default:
			c.note(x.lines().line, "statement in the class body", "only attributes and methods of a service class are ported")
		}
	}
}

// classAssign files one class attribute: I/O declarations, Zato-only
// settings, the name, or a constant.
func (c *converter) classAssign(a *assignStmt, svc *serviceInfo, simpleIO bool) {
	if len(a.targets) != 1 {
		c.note(a.line, "class attribute", "only simple class attributes are ported")
		return
	}
	n, ok := a.targets[0].(*nameExpr)
	if !ok || a.value == nil {
		return
	}
	switch {
	case n.id == "name" && !simpleIO:
		return
	case ioNames[n.id]:
		for i, x := range svc.io {
			if x.targets[0].(*nameExpr).id == n.id {
				svc.io = append(svc.io[:i], svc.io[i+1:]...)
				break
			}
		}
		svc.io = append(svc.io, a)
	case zatoOnly[n.id] != "":
		c.note(a.line, n.id, "Plexus has no "+n.id+": "+zatoOnly[n.id])
	case simpleIO:
		c.note(a.line, "SimpleIO."+n.id, "Plexus reads no such declaration; it is dropped")
	default:
		if _, seen := svc.attrs[n.id]; !seen {
			svc.aorder = append(svc.aorder, n.id)
		}
		svc.attrs[n.id] = a
	}
}

// serviceParts is a service class converted: what its file, or its
// service(...) in a module, is made of.
type serviceParts struct {
	svc  *serviceInfo
	name string
	doc  *strExpr
	// io are the I/O declarations, as assignments; body the constants and
	// methods, as module-level definitions.
	io, body []stmt
}

// convert converts one service class; prefix starts the module-level
// names of its methods and constants ("" for a file of its own).
func (c *converter) convert(cls *classStmt, prefix string, tmp *int) *serviceParts {
	svcName, _ := c.serviceName(cls)
	svc := &serviceInfo{cls: cls, methods: map[string]*defStmt{}, static: map[string]bool{}, props: map[string]bool{},
		rename: map[string]string{}, attrs: map[string]*assignStmt{}, prefix: prefix}
	c.service = svcName
	defer func() { c.service = "" }()
	c.collect(cls, svc, 0)
	if m, ok := svc.methods["get_name"]; ok && svc.static["get_name"] && len(m.body) == 1 {
		if r, ok := m.body[0].(*returnStmt); ok {
			if s, ok := r.x.(*strExpr); ok {
				if v, ok := stringValue(s); ok {
					svcName = v
					c.service = v
				}
			}
		}
		delete(svc.methods, "get_name")
	}
	for _, m := range svc.morder {
		svc.rename[m] = prefix + m
		if prefix == "" && (starlark.IsPredeclared(m) || m == "name" || m == "namespace" || ioNames[m]) {
			svc.rename[m] = m + "_"
		}
	}
	parts := &serviceParts{svc: svc, name: svcName, doc: svc.doc}
	ms := &scope{c: c, tmp: tmp}
	for _, a := range svc.io {
		parts.io = append(parts.io, c.ioDecl(a, ms))
	}
	for _, n := range svc.aorder {
		a := svc.attrs[n]
		a.value = ms.expr(a.value)
		a.blank = false
		if prefix != "" {
			a.targets = []expr{name(svc.attrName(n))}
		}
		parts.body = append(parts.body, a)
	}
	for _, m := range svc.morder {
		def, ok := svc.methods[m]
		if !ok {
			continue
		}
		parts.body = append(parts.body, c.method(svc, def, tmp))
	}
	if len(svc.methods) > 0 && (svc.methods["before_handle"] != nil || svc.methods["after_handle"] != nil || svc.methods["accept"] != nil) {
		c.wireHooks(svc, parts.body)
	}
	for h := range hooks {
		if m, ok := svc.methods[h]; ok && h != "before_handle" && h != "after_handle" && h != "accept" {
			c.note(m.line, "hook "+h, "Plexus does not call "+h+": call it from handle if it is needed")
		}
	}
	return parts
}

// globalsFor returns the module's definitions that statements need:
// models and constants first (the declarations may name them), then
// functions.
func (c *converter) globalsFor(ss []stmt, tmp *int) (values, funcs []stmt) {
	for _, g := range c.neededGlobals(ss) {
		for _, s := range c.globalStmt(g, tmp) {
			if _, isDef := s.(*defStmt); isDef {
				funcs = append(funcs, s)
			} else {
				values = append(values, s)
			}
		}
	}
	return values, funcs
}

// serviceFile writes one service's Starlark file.
func (c *converter) serviceFile(cls *classStmt, namespace string) (*File, error) {
	var tmp int
	parts := c.convert(cls, "", &tmp)
	var top []stmt
	doc := parts.doc
	if doc == nil {
		doc = moduleDoc(c.mod)
	}
	if doc != nil {
		top = append(top, &exprStmt{x: (&scope{c: c, tmp: &tmp}).expr(cleanDoc(doc))})
	}
	top = append(top, &assignStmt{op: "=", targets: []expr{name("name")}, value: str(parts.name)})
	if namespace != "" {
		top = append(top, &assignStmt{op: "=", targets: []expr{name("namespace")}, value: str(namespace)})
	}
	io := parts.io
	if len(io) > 0 {
		io[0].lines().blank = true
	}
	values, funcs := c.globalsFor(append(append(append([]stmt{}, top...), io...), parts.body...), &tmp)
	c.service = parts.name
	defer func() { c.service = "" }()
	all := append(append(append(append(top, values...), io...), funcs...), parts.body...)
	src, err := c.print(all)
	if err != nil {
		return nil, err
	}
	return &File{Name: fileName(cls.name), Service: parts.name, Source: src, Class: cls.name, Line: cls.line}, nil
}

// moduleFile writes the services of a module into one Starlark module,
// as the Python module holds them: each class's methods and constants
// become module-level names starting with the class's, and each class a
// service(...) with its name, documentation, I/O and handlers.
func (c *converter) moduleFile(classes []*classStmt, namespace string) (*File, error) {
	var tmp int
	var top []stmt
	if doc := moduleDoc(c.mod); doc != nil {
		top = append(top, &exprStmt{x: (&scope{c: c, tmp: &tmp}).expr(cleanDoc(doc))})
	}
	if namespace != "" {
		top = append(top, &assignStmt{op: "=", targets: []expr{name("namespace")}, value: str(namespace)})
	}
	var convs []*serviceParts
	var used []stmt
	for _, cls := range classes {
		p := c.convert(cls, "_"+strings.TrimSuffix(fileName(cls.name), ".star")+"_", &tmp)
		convs = append(convs, p)
		used = append(append(used, p.io...), p.body...)
	}
	values, funcs := c.globalsFor(append(append([]stmt{}, top...), used...), &tmp)
	all := append(append(top, values...), funcs...)
	var names []string
	for i, p := range convs {
		if len(p.body) > 0 {
			p.body[0].lines().blank = true
		}
		all = append(all, p.body...)
		all = append(all, &rawStmt{span: span{blank: true}, text: c.serviceCall(classes[i].name, p)})
		names = append(names, p.name)
	}
	src, err := c.print(all)
	if err != nil {
		return nil, err
	}
	return &File{Name: strings.ReplaceAll(c.stem, "-", "_") + ".star", Service: strings.Join(names, ", "), Source: src,
		Class: classes[0].name, Line: classes[0].line, Module: true}, nil
}

// serviceCall writes Class = service(name = …, doc = …, <I/O>, handle = …).
func (c *converter) serviceCall(class string, p *serviceParts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s = service(\n    name = %s,\n", class, quote(p.name))
	if p.doc != nil {
		pr := newPrinter(nil)
		pr.stmt(&exprStmt{x: cleanDoc(p.doc)})
		fmt.Fprintf(&b, "    doc = %s,\n", strings.TrimSpace(pr.b.String()))
	}
	for _, s := range p.io {
		pr := newPrinter(nil)
		pr.stmt(s)
		text := strings.TrimSpace(pr.b.String())
		fmt.Fprintf(&b, "    %s,\n", strings.ReplaceAll(strings.Replace(text, " = ", " = ", 1), "\n", "\n    "))
	}
	for _, m := range p.svc.morder {
		if _, ok := p.svc.methods[m]; ok && isHandler(m) {
			fmt.Fprintf(&b, "    %s = %s,\n", m, p.svc.rename[m])
		}
	}
	b.WriteString(")")
	return b.String()
}

// method writes a method as a module-level function; handlers that use
// Zato's free-form payload start with it as a dict.
func (c *converter) method(svc *serviceInfo, def *defStmt, tmp *int) stmt {
	sc := &scope{c: c, svc: svc, fn: def, tmp: tmp}
	c.analyseTries(def, def.body)
	reindentDoc(def.body, 1)
	sc.params(def.params, def.line)
	def.body = orPass(sc.block(def.body), def.line)
	handler := isHandler(def.name)
	def.name = svc.rename[def.name]
	if svc.payloadAttrs && handler && !assignsPayload(def.body) {
		init := &assignStmt{op: "=", targets: []expr{&rawExpr{text: "self.response.payload"}}, value: &dictExpr{}}
		def.body = insertAfterDoc(def.body, init)
	}
	def.blank = true
	return def
}

// assignsPayload reports whether a handler's first statements set the
// payload before writing its keys.
func assignsPayload(ss []stmt) bool {
	for _, s := range ss {
		if a, ok := s.(*assignStmt); ok && len(a.targets) == 1 {
			if r, ok := a.targets[0].(*rawExpr); ok && r.text == "self.response.payload" {
				return true
			}
			if d := dotted(a.targets[0]); d == "self.response.payload" {
				return true
			}
		}
	}
	return false
}

func insertAfterDoc(ss []stmt, s stmt) []stmt {
	if len(ss) > 0 {
		if e, ok := ss[0].(*exprStmt); ok {
			if _, ok := e.x.(*strExpr); ok {
				return append([]stmt{ss[0], s}, ss[1:]...)
			}
		}
	}
	return append([]stmt{s}, ss...)
}

// wireHooks calls before_handle and accept at the start of each handler,
// and after_handle at its end, as Zato does around handle.
func (c *converter) wireHooks(svc *serviceInfo, body []stmt) {
	for _, s := range body {
		def, ok := s.(*defStmt)
		if !ok || !isHandler(strings.TrimPrefix(def.name, svc.prefix)) {
			continue
		}
		var pre []stmt
		if m := svc.methods["accept"]; m != nil {
			pre = append(pre, &rawStmt{text: "if not " + svc.rename["accept"] + "(self):\n    self.response.status_code = 400\n    return"})
			c.note(m.line, "hook accept", "called at the start of each handler: when it returns False the caller gets 400, as in Zato")
		}
		if m := svc.methods["before_handle"]; m != nil {
			pre = append(pre, &rawStmt{text: svc.rename["before_handle"] + "(self)"})
			c.note(m.line, "hook before_handle", "called at the start of each handler; unlike Zato's, its errors are not swallowed")
		}
		def.body = append(pre, def.body...)
		if m := svc.methods["after_handle"]; m != nil {
			def.body = append(def.body, &rawStmt{text: svc.rename["after_handle"] + "(self)"})
			c.note(m.line, "hook after_handle", "called at the end of each handler; a handler that returns early skips it")
		}
	}
}

// ioDecl writes a SimpleIO declaration as a module-level name: a single
// name becomes a list, typed elements stay as they are.
func (c *converter) ioDecl(a *assignStmt, sc *scope) stmt {
	n := a.targets[0].(*nameExpr)
	v := sc.expr(a.value)
	if p, ok := v.(*parenExpr); ok {
		v = p.x
	}
	if s, ok := v.(*strExpr); ok && n.id != "response_elem" && n.id != "schema" {
		v = &seqExpr{kind: '[', elems: []expr{s}}
	}
	if t, ok := v.(*seqExpr); ok && t.kind == '(' {
		v = &seqExpr{line: t.line, kind: '[', elems: t.elems, multiline: t.multiline, endLine: t.endLine}
	}
	return &assignStmt{span: span{line: a.line, end: a.end, prevEnd: a.prevEnd}, op: "=", targets: []expr{name(n.id)}, value: v}
}

// neededGlobals returns the module's definitions that statements use,
// and those that they use, in the module's order.
func (c *converter) neededGlobals(ss []stmt) []*global {
	want := map[string]bool{}
	var visit func(names map[string]bool)
	visit = func(names map[string]bool) {
		for n := range names {
			g, ok := c.globals[n]
			if !ok || want[n] {
				continue
			}
			want[n] = true
			inner := map[string]bool{}
			used([]stmt{g.stmt}, inner)
			if cls, ok := g.stmt.(*classStmt); ok {
				for _, x := range cls.body {
					used([]stmt{x}, inner)
					if a, ok := x.(*assignStmt); ok && a.annot != nil {
						walkExpr(a.annot, func(e expr) {
							if n, ok := e.(*nameExpr); ok {
								inner[n.id] = true
							}
							if s, ok := e.(*strExpr); ok {
								if v, ok := stringValue(s); ok {
									inner[v] = true
								}
							}
						})
					}
				}
			}
			visit(inner)
		}
	}
	names := map[string]bool{}
	used(ss, names)
	visit(names)
	var out []*global
	for _, n := range c.order {
		if want[n] {
			out = append(out, c.globals[n])
		}
	}
	return sortModels(out)
}

// globalStmt converts one of the module's definitions.
func (c *converter) globalStmt(g *global, tmp *int) []stmt {
	saved := c.service
	c.service = ""
	defer func() { c.service = saved }()
	sc := &scope{c: c, tmp: tmp}
	switch s := g.stmt.(type) {
	case *classStmt:
		if g.model {
			return []stmt{c.model(s, sc)}
		}
		c.note(s.line, "class "+s.name, "Starlark has no classes: use a dict, or model(...) for data; the class is left out")
		return nil
	case *defStmt:
		reindentDoc(s.body, 1)
		d := sc.def(s)
		d.blank = true
		return []stmt{d}
	case *assignStmt:
		out := sc.stmt(s)
		for _, o := range out {
			o.lines().blank = false
		}
		return out
	}
	return nil
}

// stub writes, once per file, a function that stands for an imported name
// Plexus does not have.
func (c *converter) stub(local string, b *binding) {
	if b.kind == bindStub {
		c.note(b.line, local+" (from "+b.origin+")", "Plexus has no "+strings.Split(b.origin, ".")[0]+": a stub that fails when called is written; do the work through self.out or another service")
	}
}

// print writes the statements as Starlark, adds stubs for the names that
// are not defined, and checks that the result compiles.
func (c *converter) print(all []stmt) (string, error) {
	all = c.parseable(all)
	src := c.render(all)
	missing := undefinedNames(src)
	if len(missing) == 0 {
		return src, nil
	}
	var stubs []stmt
	for _, n := range missing {
		what := n
		if b, ok := c.bindings[n]; ok {
			what = n + " (from " + b.origin + ")"
		} else {
			c.note(firstUse(c.mod, n), "name "+n, "it is not defined in the module nor in Plexus: a stub that fails when called is written")
		}
		stubs = append(stubs, &rawStmt{span: span{blank: true}, text: "def " + n + "(*args, **kwargs):\n    fail(" + quote(what+" is not available in Plexus (see the port report)") + ")"})
	}
	// Stubs go after the declarations, before the definitions.
	i := 0
	for i < len(all) {
		if _, ok := all[i].(*defStmt); ok {
			break
		}
		i++
	}
	withStubs := append(append(append([]stmt{}, all[:i]...), stubs...), all[i:]...)
	return c.render(withStubs), nil
}

// parseable replaces each definition whose Starlark the porter could not
// write validly with one that fails when called, keeping the Python in a
// comment; the report names it.
func (c *converter) parseable(all []stmt) []stmt {
	opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
	out := make([]stmt, len(all))
	for i, s := range all {
		out[i] = s
		src := newPrinter(nil)
		src.stmt(s)
		if _, err := opts.Parse("x.star", src.b.String(), 0); err == nil {
			continue
		}
		sp := *s.lines()
		c.note(sp.line, "code the porter could not convert", "kept as a comment, and it fails when run: rewrite it by hand")
		kept := (&scope{c: c}).kept(sp, "a construct the porter does not handle")
		if d, ok := s.(*defStmt); ok {
			var params []string
			for _, p := range d.params {
				if p.name != "" {
					params = append(params, p.star+p.name)
				}
			}
			body := strings.ReplaceAll(kept.(*rawStmt).text, "\n", "\n    ")
			out[i] = &rawStmt{span: span{blank: true}, text: "def " + d.name + "(" + strings.Join(params, ", ") + "):\n    " + body}
			continue
		}
		text := kept.(*rawStmt).text
		out[i] = &rawStmt{span: span{blank: sp.blank}, text: text[:strings.LastIndex(text, "\nfail(")]}
	}
	return out
}

func firstUse(m *module, n string) int {
	line := 1
	found := false
	var find func([]stmt)
	find = func(ss []stmt) {
		for _, s := range ss {
			if found {
				return
			}
			walkStmt(s, func(e expr) {
				if x, ok := e.(*nameExpr); ok && x.id == n && !found {
					line, found = x.line, true
				}
			})
		}
	}
	find(m.body)
	return line
}

func (c *converter) render(all []stmt) string {
	pr := newPrinter(c.mod.comments)
	for i, s := range all {
		if i > 0 {
			if _, isDef := s.(*defStmt); isDef || s.lines().blank {
				pr.blankLine()
			}
		}
		pr.stmt(s)
	}
	return pr.b.String()
}

// undefinedNames returns the names a Starlark file uses and nothing
// defines, Plexus's predeclared names and Starlark's builtins aside.
func undefinedNames(src string) []string {
	f, err := (&syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}).Parse("x.star", src, 0)
	if err != nil {
		return nil
	}
	missing := map[string]bool{}
	err = resolve.File(f, func(string) bool { return false }, func(n string) bool {
		return starlark.IsPredeclared(n) || sl.Universe.Has(n)
	})
	if list, ok := err.(resolve.ErrorList); ok {
		for _, e := range list {
			if n, ok := strings.CutPrefix(e.Msg, "undefined: "); ok {
				if i := strings.IndexFunc(n, func(r rune) bool { return !isIdentChar(r) }); i >= 0 {
					n = n[:i]
				}
				if n != "" {
					missing[n] = true
				}
			}
		}
	}
	var out []string
	for n := range missing {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// moduleDoc returns the module's docstring.
func moduleDoc(m *module) *strExpr {
	if len(m.body) > 0 {
		if e, ok := m.body[0].(*exprStmt); ok {
			if s, ok := e.x.(*strExpr); ok {
				return s
			}
		}
	}
	return nil
}

// cleanDoc removes the indentation of a docstring's later lines, as
// Python's inspect.cleandoc does.
func cleanDoc(s *strExpr) *strExpr {
	if len(s.parts) != 1 || len(s.parts[0].quote) != 3 {
		return s
	}
	p := s.parts[0]
	lines := strings.Split(p.body, "\n")
	if len(lines) < 2 {
		return s
	}
	rest := dedent(strings.Join(lines[1:], "\n"))
	p.body = lines[0] + "\n" + rest
	if strings.TrimSpace(lines[len(lines)-1]) == "" {
		p.body = strings.TrimRight(p.body, " \t")
	}
	return &strExpr{line: s.line, parts: []strPart{p}}
}

// reindentDoc indents the later lines of a function's docstring for the
// function's new depth.
func reindentDoc(body []stmt, depth int) {
	if len(body) == 0 {
		return
	}
	e, ok := body[0].(*exprStmt)
	if !ok {
		return
	}
	s, ok := e.x.(*strExpr)
	if !ok {
		return
	}
	clean := cleanDoc(s)
	if len(clean.parts) != 1 || len(clean.parts[0].quote) != 3 {
		return
	}
	p := &clean.parts[0]
	p.body = strings.ReplaceAll(p.body, "\n", "\n"+strings.Repeat("    ", depth))
	e.x = clean
}
