package porter

import (
	"strings"
)

// block converts the statements of a function body.
func (sc *scope) block(ss []stmt) []stmt {
	var out []stmt
	for _, s := range ss {
		out = append(out, sc.stmt(s)...)
	}
	return out
}

// stmt converts one statement into one or more.
func (sc *scope) stmt(s stmt) []stmt {
	switch s := s.(type) {
	case *exprStmt:
		s.x = sc.expr(s.x)
		return []stmt{s}
	case *assignStmt:
		return sc.assign(s)
	case *simpleStmt:
		if sc.flow != nil && !sc.loop && (s.keyword == "break" || s.keyword == "continue") {
			return []stmt{sc.flowExit(s.line, s.keyword, name("None"))}
		}
		return []stmt{s}
	case *returnStmt:
		s.x = sc.expr(s.x)
		if sc.flow != nil {
			v := s.x
			if v == nil {
				v = name("None")
			}
			return []stmt{sc.flowExit(s.line, "return", v)}
		}
		if sc.finally != nil {
			return append(append([]stmt{}, sc.finally...), s)
		}
		return []stmt{s}
	case *raiseStmt:
		if sc.finally != nil {
			return append(append([]stmt{}, sc.finally...), sc.raise(s))
		}
		return []stmt{sc.raise(s)}
	case *globalStmt:
		sc.note(s.line, s.keyword, "Starlark has no "+s.keyword+": module-level values are frozen after load; return values instead")
		return nil
	case *delStmt:
		return sc.del(s)
	case *assertStmt:
		test := sc.expr(s.test)
		msg := sc.expr(s.msg)
		if msg == nil {
			msg = str("assertion failed")
		}
		return []stmt{&ifStmt{span: s.span, test: &unaryExpr{op: "not", x: test}, body: []stmt{&exprStmt{span: span{line: s.line, end: s.line}, x: call(name("fail"), msg)}}}}
	case *importStmt:
		sc.c.imports(s)
		return nil
	case *ifStmt:
		s.test = sc.expr(s.test)
		s.body = orPass(sc.block(s.body), s.line)
		if s.elif {
			s.els = sc.stmt(s.els[0])
			if _, ok := s.els[0].(*ifStmt); !ok || len(s.els) != 1 {
				s.elif = false
			}
		} else {
			s.els = sc.block(s.els)
		}
		return []stmt{s}
	case *forStmt:
		s.vars = sc.expr(s.vars)
		s.iter = sc.expr(s.iter)
		return sc.loopStmt(s, &s.body, &s.els)
	case *whileStmt:
		s.test = sc.expr(s.test)
		return sc.loopStmt(s, &s.body, &s.els)
	case *tryStmt:
		return sc.try(s)
	case *withStmt:
		return sc.with(s)
	case *defStmt:
		return []stmt{sc.def(s)}
	case *classStmt:
		sc.note(s.line, "class "+s.name+" inside a function", "Starlark has no classes: use a dict, or model(...) for structured data")
		return []stmt{sc.kept(s.span, "class "+s.name)}
	case *badStmt:
		sc.note(s.line, s.what, "Starlark has no "+s.what+": rewrite it with if/elif and for")
		return []stmt{sc.kept(s.span, s.what)}
	}
	return []stmt{s}
}

// kept replaces a statement the porter does not convert with a call that
// fails when reached, keeping the source in a comment.
func (sc *scope) kept(sp span, what string) stmt {
	text := strings.TrimRight(sourceLines(sc.c.mod.src, sp.line, sp.end), "\n")
	var b strings.Builder
	b.WriteString("# Not converted (" + what + "):\n")
	for _, l := range strings.Split(text, "\n") {
		b.WriteString("#   " + l + "\n")
	}
	b.WriteString("fail(" + quote("not converted: "+what+" (see the port report)") + ")")
	return &rawStmt{span: span{line: sp.line, end: sp.end, blank: sp.blank}, text: b.String()}
}

// sourceLines returns lines from to to of src.
func sourceLines(src string, from, to int) string {
	lines := strings.Split(src, "\n")
	if from < 1 {
		from = 1
	}
	if to > len(lines) {
		to = len(lines)
	}
	if from > to {
		return ""
	}
	return dedent(strings.Join(lines[from-1:to], "\n"))
}

func dedent(s string) string {
	lines := strings.Split(s, "\n")
	min := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if min < 0 || n < min {
			min = n
		}
	}
	for i, l := range lines {
		if len(l) >= min && min > 0 {
			lines[i] = l[min:]
		}
	}
	return strings.Join(lines, "\n")
}

func orPass(ss []stmt, line int) []stmt {
	if len(ss) == 0 {
		return []stmt{&simpleStmt{span: span{line: line, end: line}, keyword: "pass"}}
	}
	return ss
}

func (sc *scope) assign(s *assignStmt) []stmt {
	if s.op == ":" {
		return nil // an annotation alone
	}
	s.annot = nil
	s.value = sc.expr(s.value)
	for _, t := range s.targets {
		if hasStar(t) {
			sc.note(s.line, "starred assignment (a, *b = …)", "Starlark has none: slice instead (a, b = x[0], x[1:])")
			return []stmt{sc.kept(s.span, "starred assignment")}
		}
	}
	for i, t := range s.targets {
		if a, ok := t.(*attrExpr); ok && dotted(a.x) == "self" && sc.svc != nil && !strings.HasPrefix(dotted(a), "self.response.") {
			if _, isAttr := sc.svc.attrs[a.name]; !isAttr {
				sc.note(s.line, "self."+a.name+" = …", "Plexus services keep no state on self: use a local variable, or pass the value to the functions that need it")
			}
		}
		s.targets[i] = sc.expr(t)
	}
	switch s.op {
	case "**=":
		s.op = "="
		s.value = call(&rawExpr{text: "math.pow"}, s.targets[0], s.value)
		sc.note(s.line, "**=", "written as math.pow(x, y), which gives a float")
	case "@=":
		sc.note(s.line, "@=", "Starlark has no @ operator")
	}
	return []stmt{s}
}

func (sc *scope) del(s *delStmt) []stmt {
	var out []stmt
	for _, t := range s.targets {
		switch x := t.(type) {
		case *indexExpr:
			if _, isSlice := x.index.(*sliceExpr); isSlice {
				sc.note(s.line, "del x[a:b]", "Starlark cannot delete a slice: build a new list")
				continue
			}
			x.x, x.index = sc.expr(x.x), sc.expr(x.index)
			out = append(out, &exprStmt{span: s.span, x: call(&attrExpr{x: x.x, name: "pop"}, x.index)})
		case *nameExpr:
			out = append(out, &assignStmt{span: s.span, op: "=", targets: []expr{x}, value: name("None")})
		default:
			sc.note(s.line, "del", "Starlark has no del: use d.pop(key) for dicts")
		}
	}
	return out
}

// raise converts raise: Zato's typed exceptions become their builtins
// (NotFound(cid, msg) → not_found(msg)), others fail(msg); a bare raise in
// except raises the caught error again.
func (sc *scope) raise(s *raiseStmt) stmt {
	es := func(x expr) stmt { return &exprStmt{span: s.span, x: x} }
	if s.x == nil {
		if sc.result != "" {
			return es(call(&rawExpr{text: sc.result + ".reraise"}))
		}
		sc.note(s.line, "raise", "a bare raise outside except: fail(msg) instead")
		return es(call(name("fail"), str("re-raised outside except")))
	}
	if n, ok := s.x.(*nameExpr); ok && n.id == sc.excName && sc.result != "" {
		return es(call(&rawExpr{text: sc.result + ".reraise"}))
	}
	var cls string
	var args []arg
	switch x := s.x.(type) {
	case *callExpr:
		cls, args = dotted(x.fn), x.args
	case *nameExpr:
		cls = x.id
	case *attrExpr:
		cls = dotted(x)
	default:
		return es(call(name("fail"), call(name("str"), sc.expr(s.x))))
	}
	short := cls[strings.LastIndex(cls, ".")+1:]
	var pos []expr
	for _, a := range args {
		if a.name == "" && a.star == "" {
			pos = append(pos, a.x)
		} else if a.name == "msg" || a.name == "message" {
			pos = append(pos, a.x)
		}
	}
	if e, ok := zatoErrors[short]; ok {
		// Zato's exceptions take the cid first: NotFound(self.cid, msg).
		if len(pos) > 0 && (dotted(pos[0]) == "self.cid" || dotted(pos[0]) == "cid") {
			pos = pos[1:]
		}
		var msg expr = str("")
		if len(pos) > 0 {
			msg = sc.message(pos[0])
		}
		if e.builtin == "" {
			if e.status != 500 {
				sc.note(s.line, "raise "+short, "Plexus has no builtin for this status: set self.response.status_code and return, or fail(msg) for a 500")
			}
			return es(call(name("fail"), msg))
		}
		return es(call(name(e.builtin), msg))
	}
	if _, local := sc.c.globals[short]; local || isPythonError(short) || sc.c.bindings[short] != nil {
		if len(pos) == 0 {
			return es(call(name("fail"), str(short)))
		}
		return es(call(name("fail"), sc.message(pos[0])))
	}
	// raise some_error_value
	return es(call(name("fail"), call(name("str"), sc.expr(s.x))))
}

// message converts the message of an exception, as str() would show it.
func (sc *scope) message(x expr) expr {
	x = sc.expr(x)
	switch v := x.(type) {
	case *strExpr:
		return v
	case *callExpr:
		if a, ok := v.fn.(*attrExpr); ok && a.name == "format" {
			return v
		}
	case *binaryExpr:
		if v.op == "%" || v.op == "+" {
			return v
		}
	}
	return call(name("str"), x)
}

// with keeps the body of a with statement; the context manager is not
// entered, which the report says.
func (sc *scope) with(s *withStmt) []stmt {
	var out []stmt
	var what []string
	for _, it := range s.items {
		what = append(what, dotted(it.x))
		x := sc.expr(it.x)
		if it.as != nil {
			out = append(out, &assignStmt{span: span{line: s.line, end: s.line, blank: s.blank}, op: "=", targets: []expr{sc.expr(it.as)}, value: x})
		}
	}
	sc.note(s.line, "with", "Starlark has no with: the body is kept and the context manager is not entered (nothing is closed or locked for you)")
	return append(out, sc.block(s.body)...)
}

// def converts a nested function.
func (sc *scope) def(s *defStmt) *defStmt {
	for _, d := range s.decorators {
		sc.note(s.line, "decorator @"+decoratorName(d), "Starlark has no decorators: the function is kept undecorated")
	}
	s.decorators = nil
	if s.name == "load" {
		s.name = "load_"
	}
	sc.params(s.params, s.line)
	inner := *sc
	inner.fn = s
	inner.loop = false
	inner.flow = nil
	inner.finally = nil
	inner.shared = shadow(sc.shared, localNames(s))
	sc.c.analyseTries(s, s.body)
	s.body = orPass(inner.block(s.body), s.line)
	return s
}

// shadow drops the shared variables a nested function binds itself.
func shadow(shared map[string]string, locals map[string]bool) map[string]string {
	out := map[string]string{}
	for k, v := range shared {
		if !locals[k] {
			out[k] = v
		}
	}
	return out
}

// loop converts a for or while body, and its else: the else runs when the
// loop did not break, which a flag records.
func (sc *scope) loopStmt(s stmt, body, els *[]stmt) []stmt {
	inner := *sc
	inner.loop = true
	*body = orPass(inner.block(*body), s.lines().line)
	if len(*els) == 0 {
		return []stmt{s}
	}
	flag := sc.temp("broke")
	replaceBreaks(*body, flag)
	elseBody := sc.block(*els)
	*els = nil
	line := s.lines().line
	sp := span{line: line, end: line}
	return []stmt{
		&assignStmt{span: span{line: line, end: line, blank: s.lines().blank}, op: "=", targets: []expr{name(flag)}, value: name("False")},
		s,
		&ifStmt{span: sp, test: &unaryExpr{op: "not", x: name(flag)}, body: elseBody},
	}
}

// replaceBreaks sets flag before each break of a loop body (not of inner
// loops).
func replaceBreaks(ss []stmt, flag string) {
	for i := 0; i < len(ss); i++ {
		switch s := ss[i].(type) {
		case *simpleStmt:
			if s.keyword == "break" {
				ss[i] = &rawStmt{span: s.span, text: flag + " = True\nbreak"}
			}
		case *ifStmt:
			replaceBreaks(s.body, flag)
			replaceBreaks(s.els, flag)
		}
	}
}

// assignedNames returns the names an assignment target binds.
func assignedNames(t expr) []string {
	switch x := t.(type) {
	case *nameExpr:
		return []string{x.id}
	case *seqExpr:
		var out []string
		for _, e := range x.elems {
			out = append(out, assignedNames(e)...)
		}
		return out
	case *parenExpr:
		return assignedNames(x.x)
	case *starExpr:
		return assignedNames(x.x)
	}
	return nil
}

// bound returns the names statements bind, not looking into nested
// functions (whose names are their own).
func bound(ss []stmt, into map[string]bool) {
	for _, s := range ss {
		switch s := s.(type) {
		case *assignStmt:
			for _, t := range s.targets {
				for _, n := range assignedNames(t) {
					into[n] = true
				}
			}
		case *forStmt:
			for _, n := range assignedNames(s.vars) {
				into[n] = true
			}
		case *defStmt:
			into[s.name] = true
			continue
		case *withStmt:
			for _, it := range s.items {
				if it.as != nil {
					for _, n := range assignedNames(it.as) {
						into[n] = true
					}
				}
			}
		case *importStmt:
			for _, n := range s.names {
				if n.as != "" {
					into[n.as] = true
				} else {
					into[strings.Split(n.path, ".")[0]] = true
				}
			}
		case *tryStmt:
			for _, h := range s.handlers {
				if h.name != "" {
					into[h.name] = true
				}
			}
		}
		for _, b := range children(s) {
			bound(b, into)
		}
	}
}

// localNames are a function's parameters and the names its body binds.
func localNames(fn *defStmt) map[string]bool {
	m := map[string]bool{}
	for _, p := range fn.params {
		m[p.name] = true
	}
	bound(fn.body, m)
	return m
}

// used returns the names expressions and statements read.
func used(ss []stmt, into map[string]bool) {
	for _, s := range ss {
		walkStmt(s, func(e expr) {
			if n, ok := e.(*nameExpr); ok {
				into[n.id] = true
			}
		})
	}
}

// walkStmt calls f on every expression of a statement, nested ones too.
func walkStmt(s stmt, f func(expr)) {
	w := func(e expr) { walkExpr(e, f) }
	switch s := s.(type) {
	case *exprStmt:
		w(s.x)
	case *assignStmt:
		for _, t := range s.targets {
			w(t)
		}
		w(s.value)
		w(s.annot)
	case *returnStmt:
		w(s.x)
	case *raiseStmt:
		w(s.x)
		w(s.from)
	case *delStmt:
		for _, t := range s.targets {
			w(t)
		}
	case *assertStmt:
		w(s.test)
		w(s.msg)
	case *ifStmt:
		w(s.test)
	case *forStmt:
		w(s.vars)
		w(s.iter)
	case *whileStmt:
		w(s.test)
	case *withStmt:
		for _, it := range s.items {
			w(it.x)
			w(it.as)
		}
	case *defStmt:
		for _, p := range s.params {
			w(p.def)
		}
		for _, d := range s.decorators {
			w(d)
		}
	case *classStmt:
		for _, b := range s.bases {
			w(b.x)
		}
	case *tryStmt:
		for _, h := range s.handlers {
			w(h.typ)
		}
	case *rawStmt:
		for _, id := range identifiers(s.text) {
			f(&nameExpr{id: id})
		}
	}
	for _, b := range children(s) {
		for _, c := range b {
			walkStmt(c, f)
		}
	}
}

// walkExpr calls f on e and the expressions inside it.
func walkExpr(e expr, f func(expr)) {
	if e == nil {
		return
	}
	f(e)
	w := func(x expr) { walkExpr(x, f) }
	switch x := e.(type) {
	case *attrExpr:
		w(x.x)
	case *indexExpr:
		w(x.x)
		w(x.index)
	case *sliceExpr:
		w(x.lo)
		w(x.hi)
		w(x.step)
	case *callExpr:
		w(x.fn)
		for _, a := range x.args {
			w(a.x)
		}
	case *binaryExpr:
		w(x.x)
		w(x.y)
	case *unaryExpr:
		w(x.x)
	case *compareExpr:
		w(x.x)
		for _, y := range x.ys {
			w(y)
		}
	case *condExpr:
		w(x.cond)
		w(x.then)
		w(x.els)
	case *lambdaExpr:
		for _, p := range x.params {
			w(p.def)
		}
		w(x.body)
	case *parenExpr:
		w(x.x)
	case *starExpr:
		w(x.x)
	case *seqExpr:
		for _, el := range x.elems {
			w(el)
		}
	case *dictExpr:
		for _, en := range x.entries {
			w(en.key)
			w(en.val)
		}
	case *compExpr:
		w(x.elt)
		w(x.val)
		for _, c := range x.clauses {
			w(c.vars)
			w(c.iter)
			w(c.cond)
		}
	case *rawExpr:
		for _, id := range identifiers(x.text) {
			f(&nameExpr{id: id})
		}
	case *strExpr:
		for _, p := range x.parts {
			if strings.Contains(p.prefix, "f") {
				for _, field := range fstringFields(p) {
					walkExpr(field, f)
				}
			}
		}
	}
}

// fstringFields parses the expressions of an f-string's fields.
func fstringFields(p strPart) []expr {
	var out []expr
	spans, _ := replacementFields(p.body)
	for _, fs := range spans {
		text, _, _ := splitField(fs.field)
		text = strings.TrimSuffix(strings.TrimRight(text, " "), "=")
		if x, err := parseExprText(text, p.line); err == nil {
			out = append(out, x)
		}
	}
	return out
}

// identifiers returns the names that start dotted chains in Starlark text
// made by the porter (json.encode → json).
func identifiers(text string) []string {
	var out []string
	inString := byte(0)
	for i := 0; i < len(text); i++ {
		c := text[i]
		if inString != 0 {
			if c == '\\' {
				i++
			} else if c == inString {
				inString = 0
			}
			continue
		}
		if c == '"' || c == '\'' {
			inString = c
			continue
		}
		if c == '#' {
			for i < len(text) && text[i] != '\n' {
				i++
			}
			continue
		}
		if isIdentStart(c) && (i == 0 || text[i-1] != '.' && !isIdentChar(rune(text[i-1]))) {
			j := i
			for j < len(text) && isIdentChar(rune(text[j])) {
				j++
			}
			out = append(out, text[i:j])
			i = j - 1
		}
	}
	return out
}

// hasStar reports whether an assignment target unpacks with *.
func hasStar(t expr) bool {
	switch x := t.(type) {
	case *starExpr:
		return true
	case *seqExpr:
		for _, e := range x.elems {
			if hasStar(e) {
				return true
			}
		}
	case *parenExpr:
		return hasStar(x.x)
	}
	return false
}
