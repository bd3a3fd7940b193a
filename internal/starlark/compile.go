// Package starlark runs services written in Starlark, the Python dialect of
// go.starlark.net. A .star file holds one service: module-level metadata
// (name, the I/O declarations), a docstring, and a handle(self) function or
// handle_<VERB>(self) functions. The self object offers the same API as a
// Go service's Context, spelled as Zato spells it (self.request.payload,
// self.response.status_code, self.invoke(...)); the kinds add attributes
// (self.out.rest, self.security.jwt, …) from their declarations, and tests
// more with Provide, without touching this package.
//
// Scripts are sandboxed: they reach no file, network or environment
// variable except through the platform's objects, and every invocation is
// stopped after a number of execution steps or once it has allocated its
// memory allowance (see package memlimit), loading a file included.
// Python's everyday modules (time, re, hashlib, …) and catch come from
// package stdlib, predeclared.
package starlark

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"sort"
	"strings"

	"go.starlark.net/lib/json"
	"go.starlark.net/lib/math"
	"go.starlark.net/resolve"
	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/starlark/memlimit"
	"github.com/plexushq/plexus/internal/starlark/stdlib"
	"github.com/plexushq/plexus/sdk/service"
)

// Ext is the file extension of Starlark services.
const Ext = ".star"

// AttrFunc returns the value of a self attribute for one invocation.
type AttrFunc func(c *service.Context) (sl.Value, error)

// Compiler loads .star files into services. Provide every attribute before
// the first Compile; after that a Compiler is safe for concurrent use.
type Compiler struct {
	maxSteps  uint64
	maxMemory int64
	log       *slog.Logger
	attrs     *namespace
	// lib are the limits of the standard library's functions.
	lib stdlib.Limits
	// debug, when set, is called before each statement (see Debug).
	debug Debugger
}

// New returns a compiler whose invocations (and file loads) may take at
// most the execution steps and allocate at most the memory of limits, with
// the self attributes the registered kinds declare (self.out.rest,
// self.security.jwt, …).
func New(limits config.Starlark, log *slog.Logger) *Compiler {
	comp := &Compiler{maxSteps: limits.MaxSteps, maxMemory: int64(limits.MaxMemory), log: log, attrs: &namespace{},
		lib: stdlib.Limits{MaxSteps: limits.MaxSteps, MaxPattern: int(limits.MaxPatternSize)}}
	comp.provideKinds()
	return comp
}

// newThread returns a thread bounded by the compiler's limits, charging a.
func (comp *Compiler) newThread(name string, a *memlimit.Allowance, print func(*sl.Thread, string)) *sl.Thread {
	thread := &sl.Thread{Name: name, Print: print}
	memlimit.Attach(thread, a)
	a.Watch(thread, comp.maxSteps)
	stdlib.Attach(thread, comp.lib)
	if comp.debug != nil {
		thread.SetLocal(debuggerKey, comp.debug)
	}
	return thread
}

// allowanceOf returns the memory allowance a thread charges, or a new one
// of max bytes.
func allowanceOf(thread *sl.Thread, max int64) *memlimit.Allowance {
	if a := memlimit.Of(thread); a != nil {
		return a
	}
	return memlimit.New(max)
}

// Provide adds an attribute to every service's self: "kvdb" for
// self.kvdb, or a dotted path such as "out.rest" for self.out.rest.
func (comp *Compiler) Provide(path string, fn AttrFunc) {
	ns := comp.attrs
	for _, part := range strings.Split(path, ".") {
		if ns.children == nil {
			ns.children = map[string]*namespace{}
		}
		next := ns.children[part]
		if next == nil {
			next = &namespace{name: part}
			ns.children[part] = next
		}
		ns = next
	}
	ns.leaf = fn
}

// namespace is a tree of provided attributes.
type namespace struct {
	name     string
	children map[string]*namespace
	leaf     AttrFunc
}

// value returns the namespace's value for one invocation: the leaf's,
// or an object whose attributes, its children, are made on first use.
func (ns *namespace) value(c *service.Context) (sl.Value, error) {
	if ns.leaf != nil {
		return ns.leaf(c)
	}
	return &nsObject{ns: ns, c: c}, nil
}

// nsObject is a namespace of provided attributes, such as self.out, in
// one invocation.
type nsObject struct {
	ns    *namespace
	c     *service.Context
	cache map[string]sl.Value
}

func (o *nsObject) String() string        { return "<" + o.ns.name + ">" }
func (o *nsObject) Type() string          { return o.ns.name }
func (o *nsObject) Freeze()               {}
func (o *nsObject) Truth() sl.Bool        { return sl.True }
func (o *nsObject) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: %s", o.ns.name) }

func (o *nsObject) Attr(name string) (sl.Value, error) {
	if v, ok := o.cache[name]; ok {
		return v, nil
	}
	child, ok := o.ns.children[name]
	if !ok {
		return nil, nil // "has no .name field or method"
	}
	v, err := child.value(o.c)
	if err != nil {
		return nil, err
	}
	if o.cache == nil {
		o.cache = map[string]sl.Value{}
	}
	o.cache[name] = v
	return v, nil
}

func (o *nsObject) AttrNames() []string {
	names := make([]string, 0, len(o.ns.children))
	for n := range o.ns.children {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Module is a loaded .star file: what the runtime keeps as a service's
// Impl, for subsystems that read its declarations.
type Module struct {
	File    string
	Doc     string
	Globals sl.StringDict
}

// Metadata lists the module-level names Plexus reads. Any other name is
// the user's own, except one close to these, which is reported as a likely
// misspelling.
var Metadata = []string{
	"name", "handle", "input_required", "input_optional", "output_required", "output_optional",
	"input", "output", "schema", "response_elem", "skip_empty_keys", "default_value", "invokes",
	"namespace",
}

var verbs = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

var fileOptions = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}

// predeclared are the names every script sees besides Starlark's builtins,
// which memlimit's checked ones replace where they make values.
var predeclared = func() sl.StringDict {
	d := sl.StringDict{
		"json":    json.Module,
		"math":    math.Module,
		"struct":  sl.NewBuiltin("struct", starlarkstruct.Make),
		"service": sl.NewBuiltin("service", newService),
		nameLine:  lineBuiltin,
		// Zato's constants of scheduler jobs: SCHEDULER.JOB_TYPE.ONE_TIME.
		"SCHEDULER": starlarkstruct.FromStringDict(sl.String("SCHEDULER"), sl.StringDict{
			"JOB_TYPE": starlarkstruct.FromStringDict(sl.String("JOB_TYPE"), sl.StringDict{
				"ONE_TIME": sl.String("one_time"), "INTERVAL_BASED": sl.String("interval_based"), "CRON_STYLE": sl.String("cron_style"),
			}),
		}),
	}
	for name, status := range map[string]int{
		"bad_request": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404,
		"conflict": 409, "too_many_requests": 429, "service_unavailable": 503,
	} {
		d[name] = errorBuiltin(name, status)
	}
	for name, b := range ioBuiltins() {
		d[name] = b
	}
	for name, b := range memlimit.Predeclared() {
		d[name] = b
	}
	// After memlimit's: the library's int and abs also take decimals, and
	// call memlimit's for the rest.
	for name, v := range stdlib.Predeclared() {
		d[name] = v
	}
	d.Freeze()
	return d
}()

// IsPredeclared reports whether every script sees name without defining
// it: Plexus's builtins and modules (Starlark's own builtins aside).
func IsPredeclared(name string) bool { return predeclared.Has(name) }

// errorBuiltin returns a function that stops the service with a typed
// error: not_found("No such customer") answers 404 with that message.
func errorBuiltin(name string, status int) *sl.Builtin {
	return sl.NewBuiltin(name, func(_ *sl.Thread, _ *sl.Builtin, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
		var msg string
		if err := sl.UnpackPositionalArgs(name, args, kw, 0, &msg); err != nil {
			return nil, err
		}
		return nil, service.NewError(status, "%s", msg)
	})
}

// program parses and resolves a file, with the debugger's hook before
// every statement of its functions when debug is set.
func program(file string, src []byte, debug bool) (*syntax.File, *sl.Program, error) {
	f, err := fileOptions.Parse(file, src, 0)
	if err != nil {
		return nil, nil, err
	}
	memlimit.Rewrite(f)
	if debug {
		instrument(f)
	}
	prog, err := sl.FileProgram(f, predeclared.Has)
	return f, prog, err
}

// Compile loads one file into its service. Its warnings flag likely
// misspellings of metadata and handler names; its error carries the file,
// line and column.
func (comp *Compiler) Compile(file string, src []byte) ([]*catalog.Service, []string, error) {
	f, prog, err := program(file, src, comp.debug != nil)
	if err != nil && comp.debug != nil {
		// The resolver's "did you mean" may name the debugger's hook;
		// the user's error is the one of their own code.
		if _, _, plain := program(file, src, false); plain != nil {
			err = plain
		}
	}
	if err != nil {
		return nil, nil, positioned(file, src, err)
	}
	thread := comp.newThread("load "+file, memlimit.New(comp.maxMemory), func(_ *sl.Thread, msg string) { comp.log.Info(msg, "file", file) })
	globals, err := prog.Init(thread, predeclared)
	if err != nil {
		return nil, nil, positioned(file, nil, err)
	}
	globals.Freeze()
	doc, docWarnings := docstring(f)
	mod := &Module{File: file, Doc: doc, Globals: globals}

	declared, err := comp.declared(file, f, mod)
	if err != nil {
		return nil, nil, err
	}
	ws := warnings(file, f, globals)
	ws = append(ws, docWarnings...)
	ws = append(ws, comp.selfWarnings(f)...)
	own, ioWarnings, err := comp.moduleService(file, f, mod, len(declared) > 0)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range ioWarnings {
		ws = append(ws, file+":1:1: "+w)
	}
	if own != nil {
		declared = append([]*catalog.Service{own}, declared...)
	}
	return declared, ws, nil
}

// moduleService returns the service of the module's top-level names (name,
// the I/O declarations, handle), or nil when it has no top-level handler
// and others declares services with service(...).
func (comp *Compiler) moduleService(file string, f *syntax.File, mod *Module, others bool) (*catalog.Service, []string, error) {
	globals := mod.Globals
	hasHandler := false
	for gname := range globals {
		if _, ok := handlerVerb(gname); ok {
			hasHandler = true
		}
	}
	if !hasHandler && others {
		for _, g := range append([]string{"name"}, moduleIO...) {
			if _, ok := globals[g]; ok {
				return nil, nil, atGlobal(file, f, g, g+" is set at the top level, where it belongs to the file's own service, which has no handle(self): pass it to service(...) instead")
			}
		}
		return nil, nil, nil
	}
	name := DeriveName(file)
	if v, ok := globals["name"]; ok {
		s, ok := v.(sl.String)
		if !ok || strings.TrimSpace(string(s)) == "" {
			return nil, nil, atGlobal(file, f, "name", "name must be a non-empty string")
		}
		name = string(s)
	}
	io, ioWarnings, global, err := declaration(globals)
	if err != nil {
		return nil, nil, atGlobal(file, f, global, err.Error())
	}
	deep := io != nil && io.Input != nil && io.Input.Name != ""
	var handle catalog.HandlerFunc
	handlers := map[string]catalog.HandlerFunc{}
	for gname, v := range globals {
		verb, isHandler := handlerVerb(gname)
		if !isHandler {
			continue
		}
		fn, ok := v.(*sl.Function)
		if !ok || fn.NumParams() < 1 || fn.NumParams()-fn.NumKwonlyParams() < 1 {
			return nil, nil, atGlobal(file, f, gname, fmt.Sprintf("%s must be a function taking self, as in: def %s(self):", gname, gname))
		}
		h := comp.handler(name, fn, deep)
		if verb == "" {
			handle = h
		} else {
			handlers[verb] = h
		}
	}
	svc, err := catalog.New(name, mod.Doc, catalog.Starlark, file, handle, handlers)
	if err != nil {
		return nil, nil, problemAtStart(file, "no handler: define handle(self), or handle_GET(self) and other verbs, or services with service(...)")
	}
	svc.Impl, svc.IO, svc.RawJSON = mod, io, io == nil
	return svc, ioWarnings, nil
}

// DeriveName derives a service name from a file path as Zato derives a
// module name: the path below the pickup directory, dotted, with _ turned
// into - (billing/get_customer.star → billing.get-customer).
func DeriveName(file string) string {
	file = strings.TrimSuffix(path.Clean(strings.ReplaceAll(file, "\\", "/")), Ext)
	parts := strings.Split(strings.TrimPrefix(file, "/"), "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(p, "_", "-")
	}
	return strings.Join(parts, ".")
}

// warnings reports module-level names that look like misspelt metadata
// or handler names.
func warnings(file string, f *syntax.File, globals sl.StringDict) []string {
	known := append([]string{}, Metadata...)
	for _, v := range verbs {
		known = append(known, "handle_"+v)
	}
	var out []string
	for _, name := range globals.Keys() {
		if strings.HasPrefix(name, "_") || isKnown(name, known) {
			continue
		}
		if v, ok := strings.CutPrefix(name, "handle_"); ok && strings.ToUpper(v) != v {
			out = append(out, fmt.Sprintf("%s: %s is not a handler: verb handlers are named with the verb in capitals, as in handle_%s", globalAt(file, f, name), name, strings.ToUpper(v)))
			continue
		}
		if s := registry.Suggest(name, known); s != "" && len(name) > 3 && registry.Distance(name, s) <= 2 {
			out = append(out, fmt.Sprintf("%s: %s is not a name Plexus reads; did you mean %s?", globalAt(file, f, name), name, s))
		}
	}
	return out
}

func isKnown(name string, known []string) bool {
	for _, k := range known {
		if k == name {
			return true
		}
	}
	return false
}

// globalPos returns where a global is defined: its file, line and column.
func globalPos(file string, f *syntax.File, name string) (string, int, int) {
	for _, stmt := range f.Stmts {
		switch s := stmt.(type) {
		case *syntax.DefStmt:
			if s.Name.Name == name {
				return file, int(s.Name.NamePos.Line), int(s.Name.NamePos.Col)
			}
		case *syntax.AssignStmt:
			if id, ok := s.LHS.(*syntax.Ident); ok && id.Name == name {
				return file, int(id.NamePos.Line), int(id.NamePos.Col)
			}
		}
	}
	return file, 1, 1
}

// globalAt returns file:line:column of a global's definition.
func globalAt(file string, f *syntax.File, name string) string {
	file, line, col := globalPos(file, f, name)
	return fmt.Sprintf("%s:%d:%d", file, line, col)
}

func atGlobal(file string, f *syntax.File, name, msg string) error {
	file, line, col := globalPos(file, f, name)
	return &registry.Problem{File: file, Line: line, Column: col, Message: msg}
}

func posString(p syntax.Position) string {
	return fmt.Sprintf("%s:%d:%d", p.Filename(), p.Line, p.Col)
}

// problemAt returns a problem at a position of a file.
func problemAt(p syntax.Position, msg string) *registry.Problem {
	return &registry.Problem{File: p.Filename(), Line: int(p.Line), Column: int(p.Col), Message: msg}
}

// problemAtStart returns a problem at the start of a file.
func problemAtStart(file, msg string) *registry.Problem {
	return &registry.Problem{File: file, Line: 1, Column: 1, Message: msg}
}

// positioned turns a Starlark error into a problem at file:line:column;
// a syntax error in src that is Python syntax says what to write instead.
func positioned(file string, src []byte, err error) error {
	var se syntax.Error
	if errors.As(err, &se) {
		return problemAt(se.Pos, withHint(se.Msg, pythonHint(src, se)))
	}
	var rl resolve.ErrorList
	if errors.As(err, &rl) && len(rl) > 0 {
		msg := withHint(rl[0].Msg, namesHint(rl[0].Msg))
		if len(rl) > 1 {
			msg += fmt.Sprintf(" (and %d more problems)", len(rl)-1)
		}
		return problemAt(rl[0].Pos, msg)
	}
	var ee *sl.EvalError
	if errors.As(err, &ee) {
		for i := len(ee.CallStack) - 1; i >= 0; i-- {
			if ee.CallStack[i].Pos.Filename() == file {
				return problemAt(ee.CallStack[i].Pos, bounded(ee.Msg))
			}
		}
		return problemAtStart(file, bounded(ee.Msg))
	}
	return problemAtStart(file, err.Error())
}

// handler returns the Go handler that runs a Starlark function. An
// invocation made by another Starlark invocation shares its memory
// allowance.
func (comp *Compiler) handler(name string, fn *sl.Function, deepInput bool) catalog.HandlerFunc {
	return func(c *service.Context) error {
		var a *memlimit.Allowance
		if c.Context != nil {
			a = memlimit.FromContext(c.Context)
		}
		if a == nil {
			a = memlimit.New(comp.maxMemory)
			if c.Context != nil {
				c.Context = memlimit.WithAllowance(c.Context, a)
			}
		}
		thread := comp.newThread(name, a, func(_ *sl.Thread, msg string) { c.Logger().Info(msg) })
		if c.Context != nil && c.Done() != nil {
			stop := context.AfterFunc(c, func() { thread.Cancel("the request was cancelled") })
			defer stop()
		}
		self := &selfValue{comp: comp, c: c, mem: a, response: newResponse(), deepInput: deepInput}
		if comp.debug != nil {
			ctx := c.Context
			if ctx == nil {
				ctx = context.Background()
			}
			thread.SetLocal(invocationKey, &Invocation{Service: name, CID: c.CID, Context: ctx})
			defer comp.debug.Done(thread)
		}
		_, err := sl.Call(thread, fn, sl.Tuple{self}, nil)
		if err != nil {
			return runError(err)
		}
		return self.response.fill(a, c.Response)
	}
}

// runError keeps a typed error raised by the script (not_found(...)) and
// turns anything else into an error whose text is the Starlark backtrace,
// for the log.
func runError(err error) error {
	var se *service.Error
	if errors.As(err, &se) {
		return se
	}
	var ee *sl.EvalError
	if errors.As(err, &ee) {
		return errors.New(backtrace(ee))
	}
	return err
}

// Bounds of a backtrace: the outermost and innermost calls it shows, and
// the length of its message.
const (
	backtraceCalls   = 10
	backtraceMessage = 4 << 10
)

// backtrace is ee.Backtrace() bounded, so that deep recursion or a huge
// message logs a short record: the calls in the middle of a deep stack are
// counted instead of listed, and a long message is cut.
func backtrace(ee *sl.EvalError) string {
	stack := ee.CallStack
	suffix := ""
	if last := len(stack) - 1; last >= 0 && stack[last].Pos.Filename() == "<builtin>" {
		suffix = " in " + stack[last].Name
		stack = stack[:last]
	}
	var b strings.Builder
	if len(stack) > 0 {
		b.WriteString("Traceback (most recent call last):\n")
	}
	for i, fr := range stack {
		if len(stack) > 2*backtraceCalls && i == backtraceCalls {
			fmt.Fprintf(&b, "  … %d more calls …\n", len(stack)-2*backtraceCalls)
		}
		if len(stack) > 2*backtraceCalls && i >= backtraceCalls && i < len(stack)-backtraceCalls {
			continue
		}
		fmt.Fprintf(&b, "  %s: in %s\n", fr.Pos, fr.Name)
	}
	fmt.Fprintf(&b, "Error%s: %s", suffix, bounded(ee.Msg))
	return b.String()
}

// bounded cuts an error message longer than backtraceMessage bytes.
func bounded(msg string) string {
	if len(msg) <= backtraceMessage {
		return msg
	}
	return fmt.Sprintf("%s… (%d more bytes)", strings.ToValidUTF8(msg[:backtraceMessage], ""), len(msg)-backtraceMessage)
}
