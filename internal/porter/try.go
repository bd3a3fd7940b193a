package porter

import (
	"fmt"
	"sort"
	"strings"
)

// tryFlow is set while the body of a try is converted into a function for
// catch: return, break and continue leave that function with a pair
// saying what to do, and the value returned.
type tryFlow struct{}

// flowExit returns the statement that leaves a try body.
func (sc *scope) flowExit(line int, flow string, value expr) stmt {
	return &returnStmt{span: span{line: line, end: line}, x: &seqExpr{kind: '(', paren: true, elems: []expr{str(flow), value}}}
}

// leave returns a statement that does flow (return value, break,
// continue) in the scope where the statement goes: inside another try
// body it becomes that body's exit.
func (sc *scope) leave(line int, flow string, value expr) stmt {
	if sc.flow != nil && (flow == "return" || !sc.loop) {
		return sc.flowExit(line, flow, value)
	}
	if flow == "return" {
		return &returnStmt{span: span{line: line, end: line}, x: value}
	}
	return &simpleStmt{span: span{line: line, end: line}, keyword: flow}
}

// exits reports whether statements return, or break or continue the loop
// around them (not loops of their own), outside nested functions.
func exits(ss []stmt, inLoop bool) (ret, brk, cont bool) {
	for _, s := range ss {
		switch s := s.(type) {
		case *returnStmt:
			ret = true
		case *simpleStmt:
			if !inLoop {
				brk = brk || s.keyword == "break"
				cont = cont || s.keyword == "continue"
			}
		case *defStmt, *classStmt:
			continue
		case *forStmt, *whileStmt:
			for _, b := range children(s) {
				r, _, _ := exits(b, true)
				ret = ret || r
			}
			continue
		}
		for _, b := range children(s) {
			r, b2, c := exits(b, inLoop)
			ret, brk, cont = ret || r, brk || b2, cont || c
		}
	}
	return
}

// try converts try/except/else/finally into catch: the body becomes a
// function, catch calls it, and the handlers run when it failed. The
// variables the body shares with the rest of the function live in a dict
// while it runs, so that what it set before failing is kept, as in
// Python.
func (sc *scope) try(s *tryStmt) []stmt {
	if sc.fn == nil {
		sc.note(s.line, "try at the top level", "kept as its body: a module's top level runs once, at deploy time")
		return sc.block(s.body)
	}
	*sc.tmp++
	k := *sc.tmp
	fnName, res, state := fmt.Sprintf("_try%d", k), fmt.Sprintf("_result%d", k), fmt.Sprintf("_state%d", k)
	flowVar, valueVar := fmt.Sprintf("_flow%d", k), fmt.Sprintf("_value%d", k)

	info := sc.c.tries[s]
	if info == nil { // not analysed with its function: only the body's own names
		info = &tryInfo{before: map[string]bool{}}
	}
	shared, before := info.shared, info.before
	ret, brk, cont := exits(s.body, false)
	flow := ret || (brk || cont) && sc.loop
	if (brk || cont) && !sc.loop && sc.flow == nil {
		sc.note(s.line, "break or continue in try", "outside a loop: rewrite the control flow")
	}

	var out []stmt
	if len(shared) > 0 {
		d := &dictExpr{}
		for _, v := range shared {
			var init expr = name("None")
			if before[v] {
				init = sc.expr(name(v))
			}
			d.entries = append(d.entries, dictEntry{key: str(v), val: init})
		}
		out = append(out, &assignStmt{span: span{line: s.line, end: s.line, blank: s.blank, prevEnd: s.prevEnd}, op: "=", targets: []expr{name(state)}, value: d})
	}

	// The body, as a function.
	fnDef := &defStmt{span: span{line: s.line, end: s.line, blank: s.blank && len(shared) == 0, prevEnd: s.prevEnd}, name: fnName}
	inner := *sc
	fnDef.body = s.body // for the names it binds, while it is converted
	sc.c.analyseTries(fnDef, s.body)
	inner.fn = fnDef
	inner.loop = false
	inner.flow = nil
	inner.finally = nil
	if flow {
		inner.flow = &tryFlow{}
	}
	inner.shared = map[string]string{}
	for k, v := range sc.shared {
		inner.shared[k] = v
	}
	for _, v := range shared {
		inner.shared[v] = state
	}
	body := inner.block(s.body)
	if flow {
		body = append(body, inner.flowExit(s.line, "", name("None")))
	}
	fnDef.body = orPass(body, s.line)
	out = append(out, fnDef, &assignStmt{span: span{blank: true}, op: "=", targets: []expr{name(res)}, value: call(name("catch"), name(fnName))})
	for _, v := range shared {
		out = append(out, &assignStmt{op: "=", targets: []expr{sc.expr(name(v))}, value: &indexExpr{x: name(state), index: str(v)}})
	}

	finally := sc.block(s.finally)
	withFinally := func(ss ...stmt) []stmt { return append(append([]stmt{}, finally...), ss...) }

	// When it worked: where the body left to, then the else.
	var ok []stmt
	if flow {
		ok = append(ok, &assignStmt{op: "=", targets: []expr{&seqExpr{kind: '(', elems: []expr{name(flowVar), name(valueVar)}}}, value: &rawExpr{text: res + ".value"}})
		for _, f := range []struct {
			on   bool
			flow string
		}{{ret, "return"}, {brk && sc.loop, "break"}, {cont && sc.loop, "continue"}} {
			if !f.on {
				continue
			}
			var v expr = name("None")
			if f.flow == "return" {
				v = name(valueVar)
			}
			ok = append(ok, &ifStmt{test: &compareExpr{x: name(flowVar), ops: []string{"=="}, ys: []expr{str(f.flow)}},
				body: withFinally(sc.leave(s.line, f.flow, v))})
		}
	}
	guarded := *sc
	if len(finally) > 0 {
		guarded.finally = finally
	}
	ok = append(ok, guarded.block(s.els)...)

	// When it failed: the handlers, by status for Zato's typed errors.
	failed := guarded.handlers(s, res, withFinally)

	okTest := &rawExpr{text: res + ".ok"}
	switch {
	case len(ok) == 0:
		out = append(out, &ifStmt{test: &unaryExpr{op: "not", x: okTest}, body: failed})
	default:
		out = append(out, &ifStmt{test: okTest, body: ok, els: failed})
	}
	return append(out, finally...)
}

// tryInfo is what a try shares with its function, found before the
// function is converted (converting changes the names it reads).
type tryInfo struct {
	// shared are the variables the body sets that the rest of the
	// function knows.
	shared []string
	// before are the names surely bound when the try starts.
	before map[string]bool
}

// analyseTries finds what each try of a function's body shares with it,
// before the body is converted; a try inside another try's body belongs
// to the function the outer body becomes, and is analysed with it.
func (c *converter) analyseTries(fn *defStmt, body []stmt) {
	var visit func(ss []stmt)
	visit = func(ss []stmt) {
		for _, s := range ss {
			switch x := s.(type) {
			case *defStmt, *classStmt:
				continue
			case *tryStmt:
				inBody := map[string]bool{}
				bound(x.body, inBody)
				outsideBound, outsideUsed := map[string]bool{}, map[string]bool{}
				for _, p := range fn.params {
					outsideBound[p.name] = true
				}
				outside(body, x, outsideBound, outsideUsed)
				info := &tryInfo{before: definedBefore(fn, body, x)}
				for n := range inBody {
					if outsideBound[n] || outsideUsed[n] {
						info.shared = append(info.shared, n)
					}
				}
				sort.Strings(info.shared)
				c.tries[x] = info
				for _, h := range x.handlers {
					visit(h.body)
				}
				visit(x.els)
				visit(x.finally)
				continue
			}
			for _, b := range children(s) {
				visit(b)
			}
		}
	}
	visit(body)
}

// definedBefore returns the names surely bound when the try starts: the
// function's parameters and what the statements before it, on the way
// down to it, assign.
func definedBefore(fn *defStmt, body []stmt, t *tryStmt) map[string]bool {
	out := map[string]bool{}
	for _, p := range fn.params {
		out[p.name] = true
	}
	var walk func(ss []stmt) bool
	walk = func(ss []stmt) bool {
		for _, s := range ss {
			if s == stmt(t) {
				return true
			}
			if containsStmt(s, t) {
				if f, ok := s.(*forStmt); ok {
					for _, n := range assignedNames(f.vars) {
						out[n] = true
					}
				}
				for _, b := range children(s) {
					if walk(b) {
						return true
					}
				}
				return true
			}
			if a, ok := s.(*assignStmt); ok {
				for _, tg := range a.targets {
					for _, n := range assignedNames(tg) {
						out[n] = true
					}
				}
			}
			if d, ok := s.(*defStmt); ok {
				out[d.name] = true
			}
		}
		return false
	}
	walk(body)
	return out
}

// outside collects the names a function binds and reads outside one try
// body.
func outside(ss []stmt, skip *tryStmt, b, u map[string]bool) {
	for _, s := range ss {
		if t, ok := s.(*tryStmt); ok && t == skip {
			for _, h := range t.handlers {
				bound(h.body, b)
				used(h.body, u)
			}
			for _, x := range [][]stmt{t.els, t.finally} {
				bound(x, b)
				used(x, u)
			}
			continue
		}
		if containsStmt(s, skip) {
			// The try is nested in s: its header counts, and its other blocks.
			walkStmt(headerOnly(s), func(e expr) {
				if n, ok := e.(*nameExpr); ok {
					u[n.id] = true
				}
			})
			if f, ok := s.(*forStmt); ok {
				for _, n := range assignedNames(f.vars) {
					b[n] = true
				}
			}
			for _, blk := range children(s) {
				outside(blk, skip, b, u)
			}
			continue
		}
		bound([]stmt{s}, b)
		used([]stmt{s}, u)
	}
}

// containsStmt reports whether s is or holds t.
func containsStmt(s stmt, t stmt) bool {
	if s == t {
		return true
	}
	for _, b := range children(s) {
		for _, c := range b {
			if containsStmt(c, t) {
				return true
			}
		}
	}
	return false
}

// headerOnly returns a statement without its blocks, for the names its
// header reads.
func headerOnly(s stmt) stmt {
	switch s := s.(type) {
	case *ifStmt:
		return &ifStmt{test: s.test}
	case *forStmt:
		return &forStmt{vars: s.vars, iter: s.iter}
	case *whileStmt:
		return &whileStmt{test: s.test}
	case *withStmt:
		return &withStmt{items: s.items}
	}
	return &simpleStmt{keyword: "pass"}
}

// handlers converts except clauses into what runs when the body failed.
func (sc *scope) handlers(s *tryStmt, res string, withFinally func(...stmt) []stmt) []stmt {
	reraise := &exprStmt{span: span{line: s.line, end: s.line}, x: call(&rawExpr{text: res + ".reraise"})}
	if len(s.handlers) == 0 {
		return withFinally(reraise)
	}
	type branch struct {
		statuses []int
		body     []stmt
	}
	var branches []branch
	var catchAll []stmt
	for _, h := range s.handlers {
		statuses, all := sc.exceptTypes(h)
		inner := *sc
		inner.result, inner.excName = res, h.name
		var body []stmt
		if h.name != "" {
			body = append(body, &assignStmt{span: span{line: h.line, end: h.line}, op: "=", targets: []expr{name(h.name)}, value: &rawExpr{text: res + ".error"}})
		}
		body = append(body, inner.block(h.body)...)
		body = orPass(body, h.line)
		if all {
			catchAll = body
			break
		}
		branches = append(branches, branch{statuses, body})
	}
	if catchAll == nil {
		catchAll = withFinally(reraise)
	}
	if len(branches) == 0 {
		return catchAll
	}
	var out *ifStmt
	var last *ifStmt
	for _, b := range branches {
		var test expr
		if len(b.statuses) == 1 {
			test = &compareExpr{x: &rawExpr{text: res + ".status"}, ops: []string{"=="}, ys: []expr{&numExpr{text: fmt.Sprint(b.statuses[0])}}}
		} else {
			var elems []expr
			for _, st := range b.statuses {
				elems = append(elems, &numExpr{text: fmt.Sprint(st)})
			}
			test = &compareExpr{x: &rawExpr{text: res + ".status"}, ops: []string{"in"}, ys: []expr{&seqExpr{kind: '(', paren: true, elems: elems}}}
		}
		n := &ifStmt{span: span{line: s.line, end: s.line}, test: test, body: b.body}
		if out == nil {
			out = n
		} else {
			last.els, last.elif = []stmt{n}, true
		}
		last = n
	}
	last.els = catchAll
	return []stmt{out}
}

// exceptTypes reads what an except catches: the statuses of Zato's typed
// errors, or everything.
func (sc *scope) exceptTypes(h handler) (statuses []int, all bool) {
	if h.typ == nil {
		return nil, true
	}
	var types []expr
	if t, ok := h.typ.(*seqExpr); ok {
		types = t.elems
	} else if p, ok := h.typ.(*parenExpr); ok {
		if t, ok := p.x.(*seqExpr); ok {
			types = t.elems
		} else {
			types = []expr{p.x}
		}
	} else {
		types = []expr{h.typ}
	}
	for _, t := range types {
		n := dotted(t)
		short := n[strings.LastIndex(n, ".")+1:]
		switch {
		case short == "Exception" || short == "BaseException":
			return nil, true
		case zatoErrors[short].status != 0:
			statuses = append(statuses, zatoErrors[short].status)
		default:
			sc.note(h.line, "except "+n, "Starlark errors have no types: this except catches every error (check the error's text or status if it must be narrower)")
			return nil, true
		}
	}
	return statuses, false
}
