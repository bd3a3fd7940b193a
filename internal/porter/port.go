// Package porter converts Zato services written in Python into Starlark
// services for Plexus. It reads the Python 3 that services use with its
// own tokenizer and parser (no Python runtime is needed), converts the
// mechanical differences — imports, classes, SimpleIO and models,
// f-strings, raise, try/except, Zato's API — and lists with line numbers
// everything it could not convert, saying what to do instead.
package porter

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/plexushq/plexus/internal/catalog"
)

// Note is something the porter did not convert, or converted in a way the
// user should check: where (the line in the Python file), what, and what
// to do.
type Note struct {
	Line    int    `json:"line"`
	What    string `json:"what"`
	Advice  string `json:"advice"`
	Service string `json:"service,omitempty"`
}

func (n Note) String() string {
	s := fmt.Sprintf("line %d: %s: %s", n.Line, n.What, n.Advice)
	if n.Service != "" {
		s = fmt.Sprintf("line %d (%s): %s: %s", n.Line, n.Service, n.What, n.Advice)
	}
	return s
}

// File is one Starlark service written by the porter.
type File struct {
	// Name is the file's name, such as get_customer.star.
	Name string `json:"file"`
	// Service is the service's name, as Zato named it.
	Service string `json:"service"`
	// Source is the Starlark source.
	Source string `json:"source"`
	// Class is the Python class it came from, and Line its line.
	Class string `json:"class"`
	Line  int    `json:"line"`
	// Module says the file holds several services (Options.Module):
	// Service lists their names, Class is the first class's.
	Module bool `json:"module,omitempty"`
}

// Result is what Port makes of one Python module.
type Result struct {
	Files []File `json:"files"`
	Notes []Note `json:"notes"`
}

// MaxSource is the largest Python file Port reads.
const MaxSource = 4 << 20

// Options change what Port writes.
type Options struct {
	// Module writes the services of a module with several into one
	// Starlark module, <module>.star, each declared with service(...), as
	// the Python module holds them; without it, each is a file of its own.
	Module bool
}

// Port converts the Zato services of one Python module (file is its path,
// for the service names Zato derives) into Starlark files, one per
// service.
func Port(file string, src []byte) (*Result, error) { return PortWith(file, src, Options{}) }

// PortWith is Port with options.
func PortWith(file string, src []byte, opts Options) (*Result, error) {
	if len(src) > MaxSource {
		return nil, fmt.Errorf("%s is %d bytes; the porter reads files up to %d bytes", file, len(src), MaxSource)
	}
	m, err := parse(string(src))
	if err != nil {
		return nil, err
	}
	stem := strings.TrimSuffix(path.Base(strings.ReplaceAll(file, "\\", "/")), path.Ext(file))
	c := &converter{mod: m, stem: stem, bindings: map[string]*binding{}, globals: map[string]*global{}, classes: map[string]*classStmt{},
		tries: map[*tryStmt]*tryInfo{}, module: opts.Module}
	return c.run()
}

// converter holds what one module's conversion knows.
type converter struct {
	mod      *module
	stem     string
	bindings map[string]*binding
	// globals are the module's own names: functions, constants, models.
	globals map[string]*global
	order   []string
	classes map[string]*classStmt
	notes   []Note
	// service is the service being written, for notes.
	service string
	// tries are the analyses of the try statements.
	tries map[*tryStmt]*tryInfo
	// module writes several services into one module (Options.Module).
	module bool
}

// global is a module-level name and what defines it.
type global struct {
	name  string
	stmt  stmt
	model bool
	uses  map[string]bool
}

func (c *converter) note(line int, what, advice string) {
	for _, n := range c.notes {
		if n.Line == line && n.What == what && n.Service == c.service {
			return
		}
	}
	c.notes = append(c.notes, Note{Line: line, What: what, Advice: advice, Service: c.service})
}

func (c *converter) run() (*Result, error) {
	res := &Result{}
	var svcs []*classStmt
	namespace := ""
	// First the imports and the module's own names.
	for _, s := range c.mod.body {
		switch s := s.(type) {
		case *importStmt:
			c.imports(s)
		case *classStmt:
			c.classes[s.name] = s
		case *ifStmt:
			if isTypeCheckingBlock(s) {
				continue
			}
		case *tryStmt:
			// try: import simplejson as json / except ImportError: import json
			if onlyImports(s) {
				for _, b := range append([][]stmt{s.body}, handlerBodies(s)...) {
					for _, x := range b {
						c.imports(x.(*importStmt))
					}
				}
			}
		}
	}
	for _, s := range c.mod.body {
		switch s := s.(type) {
		case *classStmt:
			switch {
			case c.isService(s):
				svcs = append(svcs, s)
			case c.isModel(s):
				c.addGlobal(s.name, s, true)
			default:
				if !c.isServiceBase(s) {
					c.addGlobal(s.name, s, false)
				}
			}
		case *defStmt:
			c.addGlobal(s.name, s, false)
		case *assignStmt:
			if len(s.targets) == 1 {
				if n, ok := s.targets[0].(*nameExpr); ok {
					if n.id == "namespace" {
						if v, ok := s.value.(*strExpr); ok {
							namespace, _ = stringValue(v)
						}
						continue
					}
					c.addGlobal(n.id, s, false)
					continue
				}
			}
			for _, t := range s.targets {
				for _, n := range assignedNames(t) {
					c.addGlobal(n, s, false)
				}
			}
		case *importStmt, *simpleStmt:
		case *exprStmt:
			if _, ok := s.x.(*strExpr); ok {
				continue // the module's docstring
			}
			c.note(s.line, "module-level statement", "a statement at the top level of the module runs once at deploy time in Plexus, and only definitions are kept; move it into handle")
		case *ifStmt:
			if !isTypeCheckingBlock(s) {
				c.note(s.line, "module-level if", "kept out: only definitions are ported from the top level; move the logic into handle")
			}
		case *tryStmt:
			if !onlyImports(s) {
				c.note(s.line, "module-level try", "kept out: only definitions are ported from the top level; move the logic into handle")
			}
		default:
			c.note(s.lines().line, "module-level statement", "kept out: only definitions are ported from the top level")
		}
	}
	if len(svcs) == 0 {
		c.note(1, "no services", "the module has no class that subclasses Service; nothing was written")
	}
	if c.module && len(svcs) > 1 {
		f, err := c.moduleFile(svcs, namespace)
		if err != nil {
			return nil, err
		}
		res.Files = append(res.Files, *f)
		svcs = nil
	}
	names := map[string]bool{}
	for _, s := range svcs {
		f, err := c.serviceFile(s, namespace)
		if err != nil {
			return nil, err
		}
		if names[f.Name] {
			f.Name = strings.TrimSuffix(f.Name, ".star") + "_" + fmt.Sprint(s.line) + ".star"
		}
		names[f.Name] = true
		res.Files = append(res.Files, *f)
	}
	sort.SliceStable(c.notes, func(i, j int) bool { return c.notes[i].Line < c.notes[j].Line })
	res.Notes = c.notes
	return res, nil
}

func handlerBodies(s *tryStmt) [][]stmt {
	var out [][]stmt
	for _, h := range s.handlers {
		out = append(out, h.body)
	}
	return out
}

// onlyImports reports whether a try holds only imports (a fallback
// import).
func onlyImports(s *tryStmt) bool {
	for _, b := range append([][]stmt{s.body, s.els, s.finally}, handlerBodies(s)...) {
		for _, x := range b {
			if _, ok := x.(*importStmt); !ok {
				if ss, ok := x.(*simpleStmt); !ok || ss.keyword != "pass" {
					return false
				}
			}
		}
	}
	return true
}

// isTypeCheckingBlock reports whether an if is Zato's `if 0:` or typing's
// `if TYPE_CHECKING:`, which hold imports for type checkers only.
func isTypeCheckingBlock(s *ifStmt) bool {
	switch t := s.test.(type) {
	case *numExpr:
		return t.text == "0"
	case *nameExpr:
		return t.id == "TYPE_CHECKING" || t.id == "False"
	case *attrExpr:
		return t.name == "TYPE_CHECKING"
	}
	return false
}

func (c *converter) addGlobal(name string, s stmt, model bool) {
	if _, ok := c.globals[name]; !ok {
		c.order = append(c.order, name)
	}
	c.globals[name] = &global{name: name, stmt: s, model: model}
}

func (c *converter) imports(s *importStmt) {
	for _, n := range s.names {
		switch {
		case s.from == "":
			local := n.as
			if local == "" {
				local = strings.Split(n.path, ".")[0]
				if _, ok := stdModules[n.path]; ok && !strings.Contains(n.path, ".") {
					local = n.path
				}
			}
			module := n.path
			if n.as == "" && strings.Contains(n.path, ".") {
				module = local // import os.path binds os
			}
			c.bind(local, module, "", s.line)
		case n.path == "*":
			c.note(s.line, "from "+s.from+" import *", "the names it brings are not known; import each name, or use the Starlark modules listed in docs/starlark.md")
		default:
			local := n.as
			if local == "" {
				local = n.path
			}
			mod := strings.Repeat(".", s.level) + s.from
			if s.from == "." {
				mod = "."
			}
			c.bind(local, strings.TrimPrefix(mod, "."), n.path, s.line)
			if s.level > 0 {
				c.bindings[local].kind = bindStub
			}
		}
	}
}

// baseNames returns the names of a class's bases.
func baseNames(s *classStmt) []string {
	var out []string
	for _, b := range s.bases {
		if b.name != "" {
			continue
		}
		switch x := b.x.(type) {
		case *nameExpr:
			out = append(out, x.id)
		case *attrExpr:
			out = append(out, x.name)
		}
	}
	return out
}

// isService reports whether a class is a service: it subclasses Service
// (or another service class of the module) and has a handler, itself or
// through its bases.
func (c *converter) isService(s *classStmt) bool {
	return c.derivesFrom(s, map[string]bool{"Service": true, "AdminService": true, "RESTAdapter": true}, 0) && c.hasHandler(s, 0)
}

// isServiceBase reports whether a class is a base of services without a
// handler of its own: its methods are merged into the services.
func (c *converter) isServiceBase(s *classStmt) bool {
	return c.derivesFrom(s, map[string]bool{"Service": true, "AdminService": true}, 0)
}

func (c *converter) isModel(s *classStmt) bool {
	if c.derivesFrom(s, map[string]bool{"Model": true}, 0) {
		return true
	}
	for _, d := range s.decorators {
		if n := decoratorName(d); n == "dataclass" || n == "dataclasses.dataclass" {
			return true
		}
	}
	return false
}

func (c *converter) derivesFrom(s *classStmt, roots map[string]bool, depth int) bool {
	if depth > 20 {
		return false
	}
	for _, b := range baseNames(s) {
		if roots[b] {
			return true
		}
		if base, ok := c.classes[b]; ok && base != s && c.derivesFrom(base, roots, depth+1) {
			return true
		}
	}
	return false
}

func (c *converter) hasHandler(s *classStmt, depth int) bool {
	if depth > 20 {
		return false
	}
	for _, x := range s.body {
		if d, ok := x.(*defStmt); ok && (d.name == "handle" || strings.HasPrefix(d.name, "handle_")) {
			return true
		}
	}
	for _, b := range baseNames(s) {
		if base, ok := c.classes[b]; ok && base != s && c.hasHandler(base, depth+1) {
			return true
		}
	}
	return false
}

func decoratorName(d expr) string {
	if call, ok := d.(*callExpr); ok {
		d = call.fn
	}
	switch x := d.(type) {
	case *nameExpr:
		return x.id
	case *attrExpr:
		if n, ok := x.x.(*nameExpr); ok {
			return n.id + "." + x.name
		}
		return x.name
	}
	return ""
}

// serviceName is the name Zato gives a service class: its explicit name,
// or the module and the class name uncamelified.
func (c *converter) serviceName(s *classStmt) (string, bool) {
	for _, x := range s.body {
		if a, ok := x.(*assignStmt); ok && len(a.targets) == 1 {
			if n, ok := a.targets[0].(*nameExpr); ok && n.id == "name" {
				if v, ok := a.value.(*strExpr); ok {
					if name, ok := stringValue(v); ok && name != "" {
						return name, true
					}
				}
			}
		}
	}
	return strings.ReplaceAll(c.stem, "_", "-") + "." + strings.TrimPrefix(catalog.Uncamelify(s.name), "-"), false
}

// fileName is the Starlark file of a service class: its name in snake
// case.
func fileName(class string) string {
	return strings.ReplaceAll(catalog.Uncamelify(class), "-", "_") + ".star"
}
