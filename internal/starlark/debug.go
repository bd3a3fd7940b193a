package starlark

import (
	"context"
	"fmt"

	sl "go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Debugger stops invocations of Starlark services at statements, for a
// step debugger. go.starlark.net has no hook per statement, so a compiler
// given a Debugger compiles every statement of every function with a
// call to it before it.
type Debugger interface {
	// Line is called on an invocation's thread before each statement of
	// a function runs (thread.DebugFrame(1) is that function's frame). It
	// may block while the invocation is stopped.
	Line(thread *sl.Thread)
	// Done is called when an invocation's thread has ended.
	Done(thread *sl.Thread)
}

// Debug makes the compiler's functions call d before each statement.
// Call it before the first Compile; files compiled before are not
// instrumented.
func (comp *Compiler) Debug(d Debugger) { comp.debug = d }

// Invocation is what a debugger knows of the invocation a thread runs.
type Invocation struct {
	Service, CID string
	// Context ends when the request does.
	Context context.Context
}

const (
	debuggerKey   = "plexus.debugger"
	invocationKey = "plexus.invocation"
	nameLine      = "$line"
)

// InvocationOf returns the invocation a thread runs, or nil for a thread
// that loads a file.
func InvocationOf(thread *sl.Thread) *Invocation {
	inv, _ := thread.Local(invocationKey).(*Invocation)
	return inv
}

// lineBuiltin is what instrumented statements call: the thread's
// debugger's Line.
var lineBuiltin = sl.NewBuiltin(nameLine, func(thread *sl.Thread, _ *sl.Builtin, _ sl.Tuple, _ []sl.Tuple) (sl.Value, error) {
	if d, ok := thread.Local(debuggerKey).(Debugger); ok && InvocationOf(thread) != nil {
		d.Line(thread)
	}
	return sl.None, nil
})

// instrument puts a call of $line before every statement of every
// function of f, at the statement's position.
func instrument(f *syntax.File) {
	var stmts func(ss []syntax.Stmt, inFunc bool) []syntax.Stmt
	stmts = func(ss []syntax.Stmt, inFunc bool) []syntax.Stmt {
		if len(ss) == 0 {
			return ss // nil stays nil: an if without else has False == nil
		}
		out := make([]syntax.Stmt, 0, 2*len(ss))
		for _, s := range ss {
			pos := stmtStart(s)
			switch s := s.(type) {
			case *syntax.DefStmt:
				s.Body = stmts(s.Body, true)
			case *syntax.IfStmt:
				s.True = stmts(s.True, inFunc)
				s.False = stmts(s.False, inFunc)
			case *syntax.ForStmt:
				s.Body = stmts(s.Body, inFunc)
			case *syntax.WhileStmt:
				s.Body = stmts(s.Body, inFunc)
			}
			if inFunc {
				out = append(out, &syntax.ExprStmt{X: &syntax.CallExpr{
					Fn: &syntax.Ident{NamePos: pos, Name: nameLine}, Lparen: pos, Rparen: pos}})
			}
			out = append(out, s)
		}
		return out
	}
	f.Stmts = stmts(f.Stmts, false)
}

// stmtStart returns where a statement starts, without Span, which needs
// the statement's blocks not to be empty.
func stmtStart(s syntax.Stmt) syntax.Position {
	switch s := s.(type) {
	case *syntax.IfStmt:
		return s.If
	case *syntax.ForStmt:
		return s.For
	case *syntax.WhileStmt:
		return s.While
	case *syntax.DefStmt:
		return s.Def
	case *syntax.ReturnStmt:
		return s.Return
	case *syntax.BranchStmt:
		return s.TokenPos
	case *syntax.LoadStmt:
		return s.Load
	}
	pos, _ := s.Span()
	return pos
}

// Eval evaluates a Starlark expression in a frame of a stopped
// invocation (depth as for thread.DebugFrame): its locals, its free
// variables and its module's globals are in scope. It runs on a thread
// of its own, within the compiler's step limit and the invocation's
// memory allowance.
func (comp *Compiler) Eval(thread *sl.Thread, depth int, expr string) (sl.Value, error) {
	fr := thread.DebugFrame(depth)
	fn, ok := fr.Callable().(*sl.Function)
	if !ok {
		return nil, fmt.Errorf("the frame is not a Starlark function")
	}
	env := sl.StringDict{}
	for name, v := range predeclared {
		env[name] = v
	}
	for name, v := range fn.Globals() {
		env[name] = v
	}
	for i := range fn.NumFreeVars() {
		b, v := fn.FreeVar(i)
		env[b.Name] = v
	}
	for i := range fr.NumLocals() {
		if b, v := fr.Local(i); v != nil {
			env[b.Name] = v
		}
	}
	opts := &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: true}
	eval := comp.newThread("evaluate", allowanceOf(thread, comp.maxMemory), nil)
	return sl.EvalOptions(opts, eval, "<evaluate>", expr, env)
}
