package memlimit

import (
	"go.starlark.net/syntax"
)

// Names of the checked builtins the rewritten code calls. They start with
// $, which no identifier of a script can, so a script can neither call nor
// shadow them.
const (
	prefixBinary = "$"         // $+ $* …: binary operators
	prefixUnary  = "$u"        // $u- $u+ $u~
	prefixAug    = "$="        // $=+ $=* …: augmented assignments
	prefixMethod = "$."        // $.join …: growing methods
	nameNew      = "$new"      // a list or dict literal just made
	nameElem     = "$elem"     // an element a list comprehension appends
	nameEntry    = "$entry"    // an entry a dict comprehension adds
	nameSetItem  = "$setitem"  // a value about to be stored in x[k]
	nameSlice    = "$slice"    // x[lo:hi:step], its bounds known
	nameSliceAll = "$sliceall" // x[…], its bounds unknown
	nameNone     = "$none"
)

// growing are the binary operators whose result may be larger than a
// machine word.
var growing = map[syntax.Token]bool{
	syntax.PLUS: true, syntax.MINUS: true, syntax.STAR: true, syntax.SLASH: true, syntax.SLASHSLASH: true,
	syntax.PERCENT: true, syntax.PIPE: true, syntax.AMP: true, syntax.CIRCUMFLEX: true, syntax.LTLT: true, syntax.GTGT: true,
}

// augmented maps each augmented assignment to its operator.
var augmented = map[syntax.Token]syntax.Token{
	syntax.PLUS_EQ: syntax.PLUS, syntax.MINUS_EQ: syntax.MINUS, syntax.STAR_EQ: syntax.STAR, syntax.SLASH_EQ: syntax.SLASH,
	syntax.SLASHSLASH_EQ: syntax.SLASHSLASH, syntax.PERCENT_EQ: syntax.PERCENT, syntax.AMP_EQ: syntax.AMP,
	syntax.PIPE_EQ: syntax.PIPE, syntax.CIRCUMFLEX_EQ: syntax.CIRCUMFLEX, syntax.LTLT_EQ: syntax.LTLT, syntax.GTGT_EQ: syntax.GTGT,
}

// Rewrite changes a parsed file, before it is resolved and compiled, so
// that what can make large values goes through the checked builtins of
// Predeclared. The calls it adds carry the positions of the operators
// they replace, so errors and tracebacks point at the user's source.
func Rewrite(f *syntax.File) {
	rangeFree := !bindsRange(f)
	rw := &rewriter{ints: boundedInts(f.Stmts, nil, nil, rangeFree), rangeFree: rangeFree}
	rw.stmts(f.Stmts)
}

// rewriter rewrites one scope.
type rewriter struct {
	// ints are the names of the scope that hold bounded ints (see
	// boundedInts): arithmetic on them is left as it is.
	ints      *ints
	rangeFree bool
}

// scope returns the rewriter of a function nested in rw's scope.
func (rw *rewriter) scope(body []syntax.Stmt, params []syntax.Expr) *rewriter {
	return &rewriter{ints: boundedInts(body, params, rw.ints, rw.rangeFree), rangeFree: rw.rangeFree}
}

func (rw *rewriter) stmts(ss []syntax.Stmt) {
	for i, s := range ss {
		ss[i] = rw.stmt(s)
	}
}

func (rw *rewriter) stmt(s syntax.Stmt) syntax.Stmt {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		return rw.assign(s)
	case *syntax.DefStmt:
		rw.params(s.Params)
		rw.scope(s.Body, s.Params).stmts(s.Body)
	case *syntax.ExprStmt:
		s.X = rw.expr(s.X)
	case *syntax.ForStmt:
		s.Vars = rw.target(s.Vars)
		s.X = rw.expr(s.X)
		rw.stmts(s.Body)
	case *syntax.WhileStmt:
		s.Cond = rw.expr(s.Cond)
		rw.stmts(s.Body)
	case *syntax.IfStmt:
		s.Cond = rw.expr(s.Cond)
		rw.stmts(s.True)
		rw.stmts(s.False)
	case *syntax.ReturnStmt:
		if s.Result != nil {
			s.Result = rw.expr(s.Result)
		}
	}
	return s
}

// assign rewrites x = v, x[k] = v (v is charged for the entry it may add)
// and augmented assignments (x += v becomes x = $=+(x, v), with the same
// in-place meaning for lists and dicts). A target whose evaluation could
// have side effects is not evaluated twice: its assignment is left as it
// is.
func (rw *rewriter) assign(s *syntax.AssignStmt) syntax.Stmt {
	op, isAug := augmented[s.Op]
	if isAug && bounded(s.LHS, rw.ints) && bounded(s.RHS, rw.ints) {
		return s
	}
	s.RHS = rw.expr(s.RHS)
	if !isAug {
		if ix, ok := unparen(s.LHS).(*syntax.IndexExpr); ok && pure(ix.X) && pure(ix.Y) {
			s.RHS = call(nameSetItem, ix.Lbrack, s.RHS, rw.expr(clone(ix.X)), rw.expr(clone(ix.Y)))
		}
		s.LHS = rw.target(s.LHS)
		return s
	}
	var get syntax.Expr
	switch lhs := unparen(s.LHS).(type) {
	case *syntax.Ident:
		get = clone(lhs)
	case *syntax.IndexExpr:
		if pure(lhs.X) && pure(lhs.Y) {
			get = rw.expr(clone(lhs))
		}
	case *syntax.DotExpr:
		if pure(lhs.X) {
			get = rw.expr(clone(lhs))
		}
	}
	s.LHS = rw.target(s.LHS)
	if get == nil {
		return s
	}
	return &syntax.AssignStmt{OpPos: s.OpPos, Op: syntax.EQ, LHS: s.LHS, RHS: call(prefixAug+op.String(), s.OpPos, get, s.RHS)}
}

// target rewrites what an assignment target evaluates: the operands of
// x[k] and x.f.
func (rw *rewriter) target(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.ParenExpr:
		e.X = rw.target(e.X)
	case *syntax.TupleExpr:
		for i, x := range e.List {
			e.List[i] = rw.target(x)
		}
	case *syntax.ListExpr:
		for i, x := range e.List {
			e.List[i] = rw.target(x)
		}
	case *syntax.IndexExpr:
		e.X = rw.expr(e.X)
		e.Y = rw.expr(e.Y)
	case *syntax.DotExpr:
		e.X = rw.expr(e.X)
	}
	return e
}

// params rewrites the default values of parameters.
func (rw *rewriter) params(ps []syntax.Expr) {
	for _, p := range ps {
		if b, ok := p.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
			b.Y = rw.expr(b.Y)
		}
	}
}

// args rewrites the arguments of a call: f(x, k=v, *xs, **kw).
func (rw *rewriter) args(as []syntax.Expr) []syntax.Expr {
	for i, a := range as {
		switch a := a.(type) {
		case *syntax.BinaryExpr:
			if a.Op == syntax.EQ {
				a.Y = rw.expr(a.Y)
				continue
			}
		case *syntax.UnaryExpr:
			if a.Op == syntax.STAR || a.Op == syntax.STARSTAR {
				a.X = rw.expr(a.X)
				continue
			}
		}
		as[i] = rw.expr(a)
	}
	return as
}

func (rw *rewriter) expr(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.BinaryExpr:
		if growing[e.Op] && bounded(e, rw.ints) {
			return e
		}
		e.X, e.Y = rw.expr(e.X), rw.expr(e.Y)
		if growing[e.Op] {
			return call(prefixBinary+e.Op.String(), e.OpPos, e.X, e.Y)
		}
	case *syntax.UnaryExpr:
		if e.X == nil || bounded(e, rw.ints) {
			return e
		}
		e.X = rw.expr(e.X)
		if e.Op == syntax.MINUS || e.Op == syntax.PLUS || e.Op == syntax.TILDE {
			return call(prefixUnary+e.Op.String(), e.OpPos, e.X)
		}
	case *syntax.CallExpr:
		if dot, ok := e.Fn.(*syntax.DotExpr); ok && methods[dot.Name.Name] != nil {
			recv := rw.expr(dot.X)
			return &syntax.CallExpr{Fn: ident(prefixMethod+dot.Name.Name, dot.NamePos), Lparen: e.Lparen,
				Args: append([]syntax.Expr{recv}, rw.args(e.Args)...), Rparen: e.Rparen}
		}
		e.Fn = rw.expr(e.Fn)
		e.Args = rw.args(e.Args)
	case *syntax.Comprehension:
		for _, c := range e.Clauses {
			switch c := c.(type) {
			case *syntax.ForClause:
				c.Vars = rw.target(c.Vars)
				c.X = rw.expr(c.X)
			case *syntax.IfClause:
				c.Cond = rw.expr(c.Cond)
			}
		}
		if entry, ok := e.Body.(*syntax.DictEntry); ok {
			entry.Key = rw.expr(entry.Key)
			entry.Value = call(nameEntry, entry.Colon, rw.expr(entry.Value))
		} else {
			e.Body = call(nameElem, syntax.Start(e.Body), rw.expr(e.Body))
		}
	case *syntax.CondExpr:
		e.Cond, e.True, e.False = rw.expr(e.Cond), rw.expr(e.True), rw.expr(e.False)
	case *syntax.DictExpr:
		for _, x := range e.List {
			entry := x.(*syntax.DictEntry)
			entry.Key, entry.Value = rw.expr(entry.Key), rw.expr(entry.Value)
		}
		return call(nameNew, e.Lbrace, e)
	case *syntax.ListExpr:
		for i, x := range e.List {
			e.List[i] = rw.expr(x)
		}
		return call(nameNew, e.Lbrack, e)
	case *syntax.TupleExpr:
		for i, x := range e.List {
			e.List[i] = rw.expr(x)
		}
	case *syntax.DotExpr:
		e.X = rw.expr(e.X)
	case *syntax.IndexExpr:
		e.X, e.Y = rw.expr(e.X), rw.expr(e.Y)
	case *syntax.SliceExpr:
		return rw.slice(e)
	case *syntax.LambdaExpr:
		rw.params(e.Params)
		e.Body = rw.scope([]syntax.Stmt{&syntax.ReturnStmt{Result: e.Body}}, e.Params).expr(e.Body)
	case *syntax.ParenExpr:
		e.X = rw.expr(e.X)
	}
	return e
}

// slice rewrites x[lo:hi:step] into $slice(x, lo, hi, step)[lo:hi:step]
// when the bounds can be evaluated twice, and into $sliceall(x)[…]
// otherwise.
func (rw *rewriter) slice(e *syntax.SliceExpr) syntax.Expr {
	bounds := []syntax.Expr{e.Lo, e.Hi, e.Step}
	twice := true
	for _, b := range bounds {
		twice = twice && (b == nil || pure(b))
	}
	var copies []syntax.Expr
	if twice {
		for _, b := range bounds {
			if b == nil {
				copies = append(copies, ident(nameNone, e.Lbrack))
			} else {
				copies = append(copies, rw.expr(clone(b)))
			}
		}
	}
	for _, b := range []*syntax.Expr{&e.Lo, &e.Hi, &e.Step} {
		if *b != nil {
			*b = rw.expr(*b)
		}
	}
	if twice {
		e.X = call(nameSlice, e.Lbrack, append([]syntax.Expr{rw.expr(e.X)}, copies...)...)
	} else {
		e.X = call(nameSliceAll, e.Lbrack, rw.expr(e.X))
	}
	return e
}

func call(name string, pos syntax.Position, as ...syntax.Expr) *syntax.CallExpr {
	return &syntax.CallExpr{Fn: ident(name, pos), Lparen: pos, Args: as, Rparen: pos}
}

func ident(name string, pos syntax.Position) *syntax.Ident {
	return &syntax.Ident{NamePos: pos, Name: name}
}

func unparen(e syntax.Expr) syntax.Expr {
	for {
		p, ok := e.(*syntax.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

// pure reports whether evaluating e twice is the same as once: names,
// constants, attributes of those, and sums and differences of them.
func pure(e syntax.Expr) bool {
	switch e := e.(type) {
	case *syntax.Ident, *syntax.Literal:
		return true
	case *syntax.ParenExpr:
		return pure(e.X)
	case *syntax.DotExpr:
		return pure(e.X)
	case *syntax.UnaryExpr:
		return (e.Op == syntax.MINUS || e.Op == syntax.PLUS) && e.X != nil && pure(e.X)
	case *syntax.BinaryExpr:
		return (e.Op == syntax.PLUS || e.Op == syntax.MINUS) && pure(e.X) && pure(e.Y)
	case *syntax.IndexExpr:
		return pure(e.X) && pure(e.Y)
	}
	return false
}

// clone copies a pure expression, so that the copy is resolved on its own.
func clone(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.Ident:
		return &syntax.Ident{NamePos: e.NamePos, Name: e.Name}
	case *syntax.Literal:
		c := *e
		return &c
	case *syntax.ParenExpr:
		return &syntax.ParenExpr{Lparen: e.Lparen, X: clone(e.X), Rparen: e.Rparen}
	case *syntax.DotExpr:
		return &syntax.DotExpr{X: clone(e.X), Dot: e.Dot, NamePos: e.NamePos, Name: &syntax.Ident{NamePos: e.Name.NamePos, Name: e.Name.Name}}
	case *syntax.UnaryExpr:
		return &syntax.UnaryExpr{OpPos: e.OpPos, Op: e.Op, X: clone(e.X)}
	case *syntax.BinaryExpr:
		return &syntax.BinaryExpr{X: clone(e.X), OpPos: e.OpPos, Op: e.Op, Y: clone(e.Y)}
	case *syntax.IndexExpr:
		return &syntax.IndexExpr{X: clone(e.X), Lbrack: e.Lbrack, Y: clone(e.Y), Rbrack: e.Rbrack}
	}
	return e
}
