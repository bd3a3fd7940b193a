package memlimit

import "go.starlark.net/syntax"

// Arithmetic on ints that cannot grow large needs no check: the rewrite
// leaves it to the interpreter. A name of a scope holds such an int when
// every binding of it (in the scope and, to be safe, in the scopes nested
// in it) is a loop over range(…) — its values are fixed, below 2^31 — or
// an assignment of, or an addition of, an expression of numbers written
// in the source, fixed names and other such names (assigned before, not
// in a cycle), which multiplies only fixed values. Its value then grows
// by a bounded amount at each step, and an expression of such names and
// numbers, whatever it does with them, is only as large as its source
// allows.

// ints are the names of a scope that hold bounded ints, and among them
// the fixed ones.
type ints struct {
	bounded, fixed map[string]bool
}

// binding is one way a name gets a value.
type binding struct {
	kind int
	x    syntax.Expr // the value, or what an augmented assignment adds
}

const (
	bindOther = iota
	bindRange
	bindAssign
	bindAdd // x += e, x -= e, x = x + e, x = x - e
)

// boundedInts returns the names of a scope (a file's top level, or a
// function's body and params) that always hold bounded ints. outer holds
// those of the enclosing scopes; names not bound in this one are looked
// up there. rangeFree says the file never binds the name range.
func boundedInts(body []syntax.Stmt, params []syntax.Expr, outer *ints, rangeFree bool) *ints {
	c := &collector{bindings: map[string][]binding{}, rangeFree: rangeFree, nested: outer != nil}
	for _, p := range params {
		c.param(p)
	}
	c.stmts(body)
	in := &ints{bounded: map[string]bool{}, fixed: map[string]bool{}}
	if outer != nil {
		for name := range outer.bounded {
			if _, bound := c.bindings[name]; !bound {
				in.bounded[name], in.fixed[name] = true, outer.fixed[name]
			}
		}
	}
	for name, bs := range c.bindings {
		fixed := true
		for _, b := range bs {
			fixed = fixed && b.kind == bindRange
		}
		if fixed {
			in.bounded[name], in.fixed[name] = true, true
		}
	}
	for changed := true; changed; {
		changed = false
		for name, bs := range c.bindings {
			if in.bounded[name] {
				continue
			}
			ok := true
			for _, b := range bs {
				ok = ok && settles(name, b, in)
			}
			if ok {
				in.bounded[name] = true
				changed = true
			}
		}
	}
	return in
}

// settles reports whether a binding keeps name a bounded int, given the
// names known to be ones.
func settles(name string, b binding, in *ints) bool {
	switch b.kind {
	case bindRange:
		return true
	case bindAssign:
		if bin, ok := unparen(b.x).(*syntax.BinaryExpr); ok && (bin.Op == syntax.PLUS || bin.Op == syntax.MINUS) {
			if isName(bin.X, name) {
				return additive(bin.Y, in) && !mentions(bin.Y, name)
			}
			if bin.Op == syntax.PLUS && isName(bin.Y, name) {
				return additive(bin.X, in) && !mentions(bin.X, name)
			}
		}
		return additive(b.x, in) && !mentions(b.x, name)
	case bindAdd:
		return additive(b.x, in) && !mentions(b.x, name)
	}
	return false
}

func isName(e syntax.Expr, name string) bool {
	id, ok := unparen(e).(*syntax.Ident)
	return ok && id.Name == name
}

// additive reports whether e is made of numbers written in the source and
// names holding bounded ints, with operators that multiply only fixed
// values.
func additive(e syntax.Expr, in *ints) bool {
	if arithmetic(e, in.fixed) {
		return true
	}
	switch e := e.(type) {
	case *syntax.ParenExpr:
		return additive(e.X, in)
	case *syntax.UnaryExpr:
		return (e.Op == syntax.MINUS || e.Op == syntax.PLUS) && e.X != nil && additive(e.X, in)
	case *syntax.BinaryExpr:
		switch e.Op {
		case syntax.PLUS, syntax.MINUS, syntax.SLASHSLASH, syntax.PERCENT, syntax.AMP, syntax.PIPE, syntax.CIRCUMFLEX, syntax.GTGT:
			return additive(e.X, in) && additive(e.Y, in)
		}
		return false
	}
	return atom(e, in.bounded)
}

// bounded reports whether e is an arithmetic expression of numbers written
// in the source and names holding bounded ints: its value is only as
// large as its source allows.
func bounded(e syntax.Expr, in *ints) bool { return arithmetic(e, in.bounded) }

// arithmetic reports whether e is an arithmetic expression of numbers
// written in the source and of names.
func arithmetic(e syntax.Expr, names map[string]bool) bool {
	switch e := e.(type) {
	case *syntax.ParenExpr:
		return arithmetic(e.X, names)
	case *syntax.UnaryExpr:
		return (e.Op == syntax.MINUS || e.Op == syntax.PLUS || e.Op == syntax.TILDE) && e.X != nil && arithmetic(e.X, names)
	case *syntax.BinaryExpr:
		return growing[e.Op] && arithmetic(e.X, names) && arithmetic(e.Y, names)
	}
	return atom(e, names)
}

func atom(e syntax.Expr, names map[string]bool) bool {
	switch e := e.(type) {
	case *syntax.Literal:
		return e.Token == syntax.INT || e.Token == syntax.FLOAT
	case *syntax.Ident:
		return names[e.Name]
	}
	return false
}

// mentions reports whether e refers to name.
func mentions(e syntax.Expr, name string) bool {
	found := false
	syntax.Walk(e, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok && id.Name == name {
			found = true
		}
		return !found
	})
	return found
}

// collector gathers the bindings of a scope, those of nested scopes
// included: more bindings only make fewer names bounded.
type collector struct {
	bindings  map[string][]binding
	rangeFree bool
	// nested is set for a function: at a file's top level, the bodies of
	// functions bind their own names, not the file's.
	nested bool
}

func (c *collector) bind(name string, b binding) {
	c.bindings[name] = append(c.bindings[name], b)
}

// others binds every name of an assignment target to something unknown.
func (c *collector) others(target syntax.Expr) {
	syntax.Walk(target, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Ident:
			c.bind(n.Name, binding{kind: bindOther})
		case *syntax.IndexExpr, *syntax.DotExpr:
			return false // x[i] = … and x.f = … bind no name
		}
		return true
	})
}

func (c *collector) param(p syntax.Expr) {
	switch p := p.(type) {
	case *syntax.BinaryExpr: // name=default
		c.others(p.X)
	case *syntax.UnaryExpr: // *args, **kwargs
		if p.X != nil {
			c.others(p.X)
		}
	default:
		c.others(p)
	}
}

// loop binds the variables of for … in x.
func (c *collector) loop(vars, x syntax.Expr) {
	if id, ok := vars.(*syntax.Ident); ok && c.rangeFree {
		if call, ok := x.(*syntax.CallExpr); ok && isName(call.Fn, "range") {
			c.bind(id.Name, binding{kind: bindRange})
			return
		}
	}
	c.others(vars)
}

func (c *collector) stmts(ss []syntax.Stmt) {
	for _, s := range ss {
		c.stmt(s)
	}
}

func (c *collector) stmt(s syntax.Stmt) {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		id, isIdent := unparen(s.LHS).(*syntax.Ident)
		switch {
		case isIdent && s.Op == syntax.EQ:
			c.bind(id.Name, binding{kind: bindAssign, x: s.RHS})
		case isIdent && (s.Op == syntax.PLUS_EQ || s.Op == syntax.MINUS_EQ):
			c.bind(id.Name, binding{kind: bindAdd, x: s.RHS})
		default:
			c.others(s.LHS)
		}
		c.expr(s.RHS)
	case *syntax.DefStmt:
		c.bind(s.Name.Name, binding{kind: bindOther})
		if c.nested {
			for _, p := range s.Params {
				c.param(p)
			}
			c.stmts(s.Body)
		}
	case *syntax.ForStmt:
		c.loop(s.Vars, s.X)
		c.expr(s.X)
		c.stmts(s.Body)
	case *syntax.WhileStmt:
		c.expr(s.Cond)
		c.stmts(s.Body)
	case *syntax.IfStmt:
		c.expr(s.Cond)
		c.stmts(s.True)
		c.stmts(s.False)
	case *syntax.LoadStmt:
		for _, id := range s.To {
			c.bind(id.Name, binding{kind: bindOther})
		}
	case *syntax.ExprStmt:
		c.expr(s.X)
	case *syntax.ReturnStmt:
		if s.Result != nil {
			c.expr(s.Result)
		}
	}
}

// expr gathers the bindings of comprehensions and lambdas in e.
func (c *collector) expr(e syntax.Expr) {
	syntax.Walk(e, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.ForClause:
			c.loop(n.Vars, n.X)
		case *syntax.LambdaExpr:
			for _, p := range n.Params {
				c.param(p)
			}
		}
		return true
	})
}

// bindsRange reports whether a file may bind the name range, which would
// make for i in range(n) loop over something else: range appears other
// than as the function of a call.
func bindsRange(f *syntax.File) bool {
	called := map[*syntax.Ident]bool{}
	syntax.Walk(f, func(n syntax.Node) bool {
		if c, ok := n.(*syntax.CallExpr); ok {
			if id, ok := c.Fn.(*syntax.Ident); ok {
				called[id] = true
			}
		}
		return true
	})
	found := false
	syntax.Walk(f, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok && id.Name == "range" && !called[id] {
			found = true
		}
		return !found
	})
	return found
}
