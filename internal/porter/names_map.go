package porter

// mapNames replaces names in expressions: f returns the replacement of a
// name, or nil to keep it. Lambdas, functions and comprehensions that bind
// the name themselves keep theirs.
func mapNames(e expr, f func(*nameExpr) expr) expr {
	m := func(x expr) expr { return mapNames(x, f) }
	switch x := e.(type) {
	case nil:
		return nil
	case *nameExpr:
		if r := f(x); r != nil {
			return r
		}
	case *attrExpr:
		x.x = m(x.x)
	case *indexExpr:
		x.x, x.index = m(x.x), m(x.index)
	case *sliceExpr:
		x.lo, x.hi, x.step = m(x.lo), m(x.hi), m(x.step)
	case *callExpr:
		x.fn = m(x.fn)
		for i := range x.args {
			x.args[i].x = m(x.args[i].x)
		}
	case *binaryExpr:
		x.x, x.y = m(x.x), m(x.y)
	case *unaryExpr:
		x.x = m(x.x)
	case *compareExpr:
		x.x = m(x.x)
		for i := range x.ys {
			x.ys[i] = m(x.ys[i])
		}
	case *condExpr:
		x.cond, x.then, x.els = m(x.cond), m(x.then), m(x.els)
	case *lambdaExpr:
		for i := range x.params {
			x.params[i].def = m(x.params[i].def)
		}
		x.body = mapNames(x.body, shadowed(f, paramNames(x.params)))
	case *parenExpr:
		x.x = m(x.x)
	case *starExpr:
		x.x = m(x.x)
	case *seqExpr:
		for i := range x.elems {
			x.elems[i] = m(x.elems[i])
		}
	case *dictExpr:
		for i := range x.entries {
			x.entries[i].key, x.entries[i].val = m(x.entries[i].key), m(x.entries[i].val)
		}
	case *compExpr:
		bound := map[string]bool{}
		for _, c := range x.clauses {
			for _, n := range assignedNames(c.vars) {
				bound[n] = true
			}
		}
		inner := shadowed(f, bound)
		for i := range x.clauses {
			x.clauses[i].iter = mapNames(x.clauses[i].iter, inner)
			x.clauses[i].cond = mapNames(x.clauses[i].cond, inner)
		}
		x.elt, x.val = mapNames(x.elt, inner), mapNames(x.val, inner)
	}
	return e
}

func paramNames(ps []param) map[string]bool {
	m := map[string]bool{}
	for _, p := range ps {
		m[p.name] = true
	}
	return m
}

// shadowed is f for a scope that binds the names of bound itself.
func shadowed(f func(*nameExpr) expr, bound map[string]bool) func(*nameExpr) expr {
	if len(bound) == 0 {
		return f
	}
	return func(n *nameExpr) expr {
		if bound[n.id] {
			return nil
		}
		return f(n)
	}
}

// mapStmtNames replaces names in statements, as mapNames does.
func mapStmtNames(ss []stmt, f func(*nameExpr) expr) {
	m := func(x expr) expr { return mapNames(x, f) }
	for _, s := range ss {
		switch s := s.(type) {
		case *exprStmt:
			s.x = m(s.x)
		case *assignStmt:
			for i := range s.targets {
				s.targets[i] = m(s.targets[i])
			}
			s.value = m(s.value)
		case *returnStmt:
			s.x = m(s.x)
		case *raiseStmt:
			s.x, s.from = m(s.x), m(s.from)
		case *delStmt:
			for i := range s.targets {
				s.targets[i] = m(s.targets[i])
			}
		case *assertStmt:
			s.test, s.msg = m(s.test), m(s.msg)
		case *ifStmt:
			s.test = m(s.test)
		case *forStmt:
			s.vars, s.iter = m(s.vars), m(s.iter)
		case *whileStmt:
			s.test = m(s.test)
		case *withStmt:
			for i := range s.items {
				s.items[i].x, s.items[i].as = m(s.items[i].x), m(s.items[i].as)
			}
		case *defStmt:
			for i := range s.params {
				s.params[i].def = m(s.params[i].def)
			}
			mapStmtNames(s.body, shadowed(f, localNames(s)))
			continue
		case *classStmt:
			continue
		}
		for _, b := range children(s) {
			mapStmtNames(b, f)
		}
	}
}
