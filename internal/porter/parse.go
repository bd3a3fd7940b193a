package porter

import (
	"fmt"
	"strings"
)

// module is a parsed Python file.
type module struct {
	src      string
	body     []stmt
	comments []comment
}

// parse reads Python 3 source.
func parse(src string) (*module, error) {
	src = strings.TrimPrefix(src, "\ufeff")
	toks, comments, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, src: src}
	var body []stmt
	err = p.catch(func() {
		for p.peek().kind != tEOF {
			if p.peek().kind == tNewline {
				p.next()
				continue
			}
			body = append(body, p.statement()...)
		}
	})
	if err != nil {
		return nil, err
	}
	m := &module{src: src, body: body, comments: comments}
	markBlankLines(m)
	return m, nil
}

type parser struct {
	toks  []token
	i     int
	src   string
	depth int
}

// bail is the panic value of a syntax error, recovered by catch.
type bail struct{ err *SyntaxError }

func (p *parser) catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bail)
			if !ok {
				panic(r)
			}
			err = b.err
		}
	}()
	f()
	return nil
}

func (p *parser) failf(t token, format string, args ...any) {
	panic(bail{&SyntaxError{Line: t.line, Col: t.col, Msg: fmt.Sprintf(format, args...)}})
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) prev() token { return p.toks[max(p.i-1, 0)] }

// is reports whether the next token is the operator or keyword s.
func (p *parser) is(s string) bool {
	t := p.peek()
	return (t.kind == tOp || t.kind == tName) && t.text == s
}

func (p *parser) accept(s string) bool {
	if p.is(s) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expect(s string) token {
	if !p.is(s) {
		t := p.peek()
		what := t.text
		if what == "" {
			what = t.kind.String()
		}
		p.failf(t, "expected %q, found %q", s, what)
	}
	return p.next()
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.failf(p.peek(), "nested more than %d deep", maxDepth)
	}
}

func (p *parser) leave() { p.depth-- }

var keywords = map[string]bool{
	"False": true, "None": true, "True": true, "and": true, "as": true, "assert": true, "async": true, "await": true,
	"break": true, "class": true, "continue": true, "def": true, "del": true, "elif": true, "else": true, "except": true,
	"finally": true, "for": true, "from": true, "global": true, "if": true, "import": true, "in": true, "is": true,
	"lambda": true, "nonlocal": true, "not": true, "or": true, "pass": true, "raise": true, "return": true, "try": true,
	"while": true, "with": true, "yield": true,
}

// statement reads one statement, or the simple statements of a line
// joined by ;.
func (p *parser) statement() []stmt {
	p.enter()
	defer p.leave()
	t := p.peek()
	if t.kind == tIndent {
		p.failf(t, "unexpected indent")
	}
	if t.kind == tName {
		switch t.text {
		case "if":
			return []stmt{p.ifStmt()}
		case "for":
			return []stmt{p.forStmt()}
		case "while":
			return []stmt{p.whileStmt()}
		case "try":
			return []stmt{p.tryStmt()}
		case "with":
			return []stmt{p.withStmt()}
		case "def":
			return []stmt{p.defStmt(nil, false)}
		case "class":
			return []stmt{p.classStmt(nil)}
		case "async":
			p.next()
			if p.is("def") {
				return []stmt{p.defStmt(nil, true)}
			}
			return []stmt{p.badCompound(t, "async for/with")}
		case "match":
			// A soft keyword: match x: starts a block.
			if nt := p.peekAt(1); nt.kind == tName || nt.kind == tString || nt.kind == tNumber || nt.kind == tOp && (nt.text == "(" || nt.text == "[" || nt.text == "{") {
				if p.lineEndsWithColon() {
					return []stmt{p.badCompound(t, "match statement")}
				}
			}
		}
	}
	if t.kind == tOp && t.text == "@" {
		var decorators []expr
		for p.accept("@") {
			decorators = append(decorators, p.namedExpr())
			if p.peek().kind != tNewline {
				p.failf(p.peek(), "expected the end of the line after a decorator")
			}
			p.next()
		}
		switch {
		case p.is("def"):
			return []stmt{p.defStmt(decorators, false)}
		case p.is("async"):
			p.next()
			return []stmt{p.defStmt(decorators, true)}
		case p.is("class"):
			return []stmt{p.classStmt(decorators)}
		}
		p.failf(p.peek(), "a decorator must be followed by def or class")
	}
	var out []stmt
	for {
		out = append(out, p.simple())
		if !p.accept(";") || p.peek().kind == tNewline {
			break
		}
	}
	p.endLine()
	return out
}

func (p *parser) endLine() {
	t := p.peek()
	switch t.kind {
	case tNewline:
		p.next()
	case tEOF, tDedent:
	default:
		p.failf(t, "unexpected %q", t.text)
	}
}

// lineEndsWithColon reports whether the logical line ends with a colon
// (a block starts).
func (p *parser) lineEndsWithColon() bool {
	for j := p.i; j < len(p.toks); j++ {
		if p.toks[j].kind == tNewline || p.toks[j].kind == tEOF {
			return j > p.i && p.toks[j-1].text == ":"
		}
	}
	return false
}

// badCompound keeps a block statement the porter does not convert as its
// source text.
func (p *parser) badCompound(start token, what string) stmt {
	for p.peek().kind != tNewline && p.peek().kind != tEOF {
		p.next()
	}
	p.next()
	end := p.prev().end
	if p.peek().kind == tIndent {
		depth := 0
		for {
			t := p.next()
			if t.kind == tIndent {
				depth++
			}
			if t.kind == tDedent {
				depth--
				if depth == 0 {
					break
				}
			}
			if t.kind == tEOF {
				break
			}
			end = t.end
		}
	}
	return &badStmt{span: span{line: start.line, end: p.prev().line}, what: what, text: p.src[start.start:end]}
}

func (p *parser) simple() stmt {
	t := p.peek()
	sp := span{line: t.line}
	done := func(s stmt) stmt {
		s.lines().end = p.prev().endLine
		return s
	}
	if t.kind == tName {
		switch t.text {
		case "pass", "break", "continue":
			p.next()
			return done(&simpleStmt{span: sp, keyword: t.text})
		case "return":
			p.next()
			s := &returnStmt{span: sp}
			if !p.atLineEnd() {
				s.x = p.starExprs()
			}
			return done(s)
		case "raise":
			p.next()
			s := &raiseStmt{span: sp}
			if !p.atLineEnd() {
				s.x = p.expression()
				if p.accept("from") {
					s.from = p.expression()
				}
			}
			return done(s)
		case "global", "nonlocal":
			p.next()
			s := &globalStmt{span: sp, keyword: t.text}
			for {
				s.names = append(s.names, p.name())
				if !p.accept(",") {
					break
				}
			}
			return done(s)
		case "del":
			p.next()
			s := &delStmt{span: sp}
			for {
				s.targets = append(s.targets, p.bitor())
				if !p.accept(",") || p.atLineEnd() {
					break
				}
			}
			return done(s)
		case "assert":
			p.next()
			s := &assertStmt{span: sp, test: p.expression()}
			if p.accept(",") {
				s.msg = p.expression()
			}
			return done(s)
		case "import":
			p.next()
			s := &importStmt{span: sp}
			for {
				n := importName{path: p.dotted()}
				if p.accept("as") {
					n.as = p.name()
				}
				s.names = append(s.names, n)
				if !p.accept(",") {
					break
				}
			}
			return done(s)
		case "from":
			p.next()
			s := &importStmt{span: sp}
			for p.is(".") || p.is("...") {
				s.level += len(p.next().text)
			}
			if !p.is("import") {
				s.from = p.dotted()
			}
			p.expect("import")
			paren := p.accept("(")
			if p.accept("*") {
				s.names = append(s.names, importName{path: "*"})
			} else {
				for {
					n := importName{path: p.name()}
					if p.accept("as") {
						n.as = p.name()
					}
					s.names = append(s.names, n)
					if !p.accept(",") || paren && p.is(")") {
						break
					}
				}
			}
			if paren {
				p.expect(")")
			}
			if s.from == "" {
				s.from = "."
			}
			return done(s)
		}
	}
	// An expression, an assignment or an annotation.
	x := p.starExprs()
	switch {
	case p.is("="):
		s := &assignStmt{span: sp, op: "=", targets: []expr{x}}
		for p.accept("=") {
			v := p.assignValue()
			s.targets = append(s.targets, v)
		}
		s.value = s.targets[len(s.targets)-1]
		s.targets = s.targets[:len(s.targets)-1]
		return done(s)
	case p.peek().kind == tOp && strings.HasSuffix(p.peek().text, "=") && len(p.peek().text) >= 2 && !isComparison(p.peek().text):
		op := p.next().text
		return done(&assignStmt{span: sp, op: op, targets: []expr{x}, value: p.assignValue()})
	case p.is(":"):
		p.next()
		s := &assignStmt{span: sp, op: ":", targets: []expr{x}, annot: p.expression()}
		if p.accept("=") {
			s.op, s.value = "=", p.assignValue()
		}
		return done(s)
	}
	return done(&exprStmt{span: sp, x: x})
}

func isComparison(op string) bool { return op == "==" || op == "<=" || op == ">=" || op == "!=" }

// assignValue reads the right side of an assignment: expressions, or a
// yield.
func (p *parser) assignValue() expr {
	if p.is("yield") {
		return p.yieldExpr()
	}
	return p.starExprs()
}

func (p *parser) atLineEnd() bool {
	t := p.peek()
	return t.kind == tNewline || t.kind == tEOF || t.kind == tDedent || t.kind == tOp && t.text == ";"
}

func (p *parser) name() string {
	t := p.peek()
	if t.kind != tName || keywords[t.text] {
		p.failf(t, "expected a name, found %q", t.text)
	}
	return p.next().text
}

func (p *parser) dotted() string {
	parts := []string{p.name()}
	for p.accept(".") {
		parts = append(parts, p.name())
	}
	return strings.Join(parts, ".")
}

// block reads the statements of a block after its colon.
func (p *parser) block() []stmt {
	p.expect(":")
	if p.peek().kind != tNewline {
		// A block on the same line: if x: return 1
		var out []stmt
		for {
			out = append(out, p.simple())
			if !p.accept(";") || p.peek().kind == tNewline {
				break
			}
		}
		p.endLine()
		return out
	}
	p.next()
	if p.peek().kind != tIndent {
		p.failf(p.peek(), "expected an indented block")
	}
	p.next()
	var out []stmt
	for p.peek().kind != tDedent && p.peek().kind != tEOF {
		if p.peek().kind == tNewline {
			p.next()
			continue
		}
		out = append(out, p.statement()...)
	}
	if p.peek().kind == tDedent {
		p.next()
	}
	return out
}

func (p *parser) ifStmt() stmt {
	t := p.next() // if or elif
	s := &ifStmt{span: span{line: t.line}, test: p.namedExpr()}
	s.body = p.block()
	switch {
	case p.is("elif"):
		s.els = []stmt{p.ifStmt()}
		s.elif = true
	case p.is("else"):
		p.next()
		s.els = p.block()
	}
	s.end = p.prev().endLine
	return s
}

func (p *parser) forStmt() stmt {
	t := p.next()
	s := &forStmt{span: span{line: t.line}}
	s.vars = p.targetList()
	p.expect("in")
	s.iter = p.starExprs()
	s.body = p.block()
	if p.accept("else") {
		s.els = p.block()
	}
	s.end = p.prev().endLine
	return s
}

// targetList reads the targets of a for: a, b or (a, b).
func (p *parser) targetList() expr {
	return p.tupleRest(p.bitorStar(), func() bool { return p.is("in") }, p.bitorStar)
}

// tupleRest reads the rest of a tuple written without parentheses: after
// first, elements separated by commas, up to a trailing comma before what
// end recognises.
func (p *parser) tupleRest(first expr, end func() bool, elem func() expr) expr {
	if !p.is(",") {
		return first
	}
	tuple := &seqExpr{line: first.pos(), kind: '(', elems: []expr{first}}
	for p.accept(",") {
		if end() {
			tuple.trailing = true
			break
		}
		tuple.elems = append(tuple.elems, elem())
	}
	return tuple
}

// starred reads *x, or what elem reads.
func (p *parser) starred(elem func() expr) expr {
	if p.is("*") {
		t := p.next()
		return &starExpr{line: t.line, x: p.bitor()}
	}
	return elem()
}

func (p *parser) bitorStar() expr { return p.starred(p.bitor) }

func (p *parser) whileStmt() stmt {
	t := p.next()
	s := &whileStmt{span: span{line: t.line}, test: p.namedExpr()}
	s.body = p.block()
	if p.accept("else") {
		s.els = p.block()
	}
	s.end = p.prev().endLine
	return s
}

func (p *parser) tryStmt() stmt {
	t := p.next()
	s := &tryStmt{span: span{line: t.line}}
	s.body = p.block()
	for p.is("except") {
		et := p.next()
		h := handler{line: et.line}
		p.accept("*") // except* (groups)
		if !p.is(":") {
			h.typ = p.expression()
			if p.accept("as") {
				h.name = p.name()
			} else if p.accept(",") { // Python 2: except E, e
				h.name = p.name()
			}
		}
		h.body = p.block()
		s.handlers = append(s.handlers, h)
	}
	if p.accept("else") {
		s.els = p.block()
	}
	if p.accept("finally") {
		s.finally = p.block()
	}
	if len(s.handlers) == 0 && s.finally == nil {
		p.failf(t, "try needs an except or a finally")
	}
	s.end = p.prev().endLine
	return s
}

func (p *parser) withStmt() stmt {
	t := p.next()
	s := &withStmt{span: span{line: t.line}}
	paren := p.is("(") && p.withParens()
	if paren {
		p.next()
	}
	for {
		it := withItem{x: p.expression()}
		if p.accept("as") {
			it.as = p.bitorStar()
		}
		s.items = append(s.items, it)
		if !p.accept(",") || paren && p.is(")") {
			break
		}
	}
	if paren {
		p.expect(")")
	}
	s.body = p.block()
	s.end = p.prev().endLine
	return s
}

// withParens tells `with (a as b, c):` from `with (a).x as b:`: the
// parenthesis closes right before the colon.
func (p *parser) withParens() bool {
	depth := 0
	for j := p.i; j < len(p.toks); j++ {
		t := p.toks[j]
		if t.kind == tOp {
			switch t.text {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
				if depth == 0 {
					return j+1 < len(p.toks) && p.toks[j+1].text == ":"
				}
			}
		}
		if t.kind == tNewline {
			return false
		}
	}
	return false
}

func (p *parser) defStmt(decorators []expr, async bool) stmt {
	t := p.expect("def")
	s := &defStmt{span: span{line: t.line}, name: p.name(), decorators: decorators, async: async}
	if len(decorators) > 0 {
		s.line = decorators[0].pos()
	}
	p.expect("(")
	s.params = p.params(")")
	p.expect(")")
	if p.accept("->") {
		p.expression()
	}
	s.body = p.block()
	s.end = p.prev().endLine
	return s
}

// params reads parameters up to the closing token.
func (p *parser) params(closing string) []param {
	var out []param
	for !p.is(closing) {
		var pr param
		switch {
		case p.accept("/"):
			pr.slash = true
		case p.accept("**"):
			pr.star, pr.name = "**", p.name()
		case p.accept("*"):
			pr.star = "*"
			if p.peek().kind == tName {
				pr.name = p.name()
			}
		default:
			pr.name = p.name()
		}
		if closing == ")" && pr.name != "" && p.accept(":") {
			pr.annot = p.expression()
		}
		if p.accept("=") {
			pr.def = p.expression()
		}
		out = append(out, pr)
		if !p.accept(",") {
			break
		}
	}
	return out
}

func (p *parser) classStmt(decorators []expr) stmt {
	t := p.expect("class")
	s := &classStmt{span: span{line: t.line}, name: p.name(), decorators: decorators}
	if len(decorators) > 0 {
		s.line = decorators[0].pos()
	}
	if p.accept("(") {
		s.bases, _, _ = p.args(")")
		p.expect(")")
	}
	s.body = p.block()
	s.end = p.prev().endLine
	return s
}

// starExprs reads expressions separated by commas, a tuple without
// parentheses when there is a comma.
func (p *parser) starExprs() expr {
	return p.tupleRest(p.starOrNamed(), func() bool {
		t := p.peek()
		return p.atLineEnd() || p.is("=") || p.is(")") || p.is(":") || t.kind == tOp && strings.HasSuffix(t.text, "=") && t.text != "=="
	}, p.starOrNamed)
}

func (p *parser) starOrNamed() expr { return p.starred(p.namedExpr) }

// namedExpr reads an expression that may be name := value.
func (p *parser) namedExpr() expr {
	start := p.peek()
	x := p.expression()
	if p.is(":=") {
		p.next()
		p.expression()
		return &unsupportedExpr{line: start.line, what: "assignment expression (:=)", text: p.src[start.start:p.prev().end]}
	}
	return x
}

func (p *parser) expression() expr {
	p.enter()
	defer p.leave()
	if p.is("lambda") {
		t := p.next()
		l := &lambdaExpr{line: t.line}
		l.params = p.params(":")
		p.expect(":")
		l.body = p.expression()
		return l
	}
	if p.is("yield") {
		return p.yieldExpr()
	}
	x := p.orTest()
	if p.is("if") {
		p.next()
		c := &condExpr{line: x.pos(), then: x, cond: p.orTest()}
		p.expect("else")
		c.els = p.expression()
		return c
	}
	return x
}

func (p *parser) yieldExpr() expr {
	start := p.next()
	for !p.atLineEnd() && !p.is(")") && !p.is("]") && !p.is("}") {
		p.next()
	}
	return &unsupportedExpr{line: start.line, what: "yield", text: p.src[start.start:p.prev().end]}
}

func (p *parser) orTest() expr {
	x := p.andTest()
	for p.is("or") {
		p.next()
		x = &binaryExpr{line: x.pos(), op: "or", x: x, y: p.andTest()}
	}
	return x
}

func (p *parser) andTest() expr {
	x := p.notTest()
	for p.is("and") {
		p.next()
		x = &binaryExpr{line: x.pos(), op: "and", x: x, y: p.notTest()}
	}
	return x
}

func (p *parser) notTest() expr {
	if p.is("not") {
		t := p.next()
		p.enter()
		defer p.leave()
		return &unaryExpr{line: t.line, op: "not", x: p.notTest()}
	}
	return p.comparison()
}

func (p *parser) comparison() expr {
	x := p.bitor()
	var c *compareExpr
	for {
		var op string
		switch {
		case p.peek().kind == tOp && (p.is("<") || p.is(">") || p.is("==") || p.is(">=") || p.is("<=") || p.is("!=")):
			op = p.next().text
		case p.is("in"):
			p.next()
			op = "in"
		case p.is("not") && p.peekAt(1).text == "in":
			p.next()
			p.next()
			op = "not in"
		case p.is("is"):
			p.next()
			op = "is"
			if p.accept("not") {
				op = "is not"
			}
		default:
			if c != nil {
				return c
			}
			return x
		}
		if c == nil {
			c = &compareExpr{line: x.pos(), x: x}
		}
		c.ops = append(c.ops, op)
		c.ys = append(c.ys, p.bitor())
	}
}

// binary operators by precedence, lowest first.
var binaryLevels = [][]string{{"|"}, {"^"}, {"&"}, {"<<", ">>"}, {"+", "-"}, {"*", "/", "//", "%", "@"}}

func (p *parser) bitor() expr { return p.binary(0) }

func (p *parser) binary(level int) expr {
	if level == len(binaryLevels) {
		return p.factor()
	}
	x := p.binary(level + 1)
	for {
		t := p.peek()
		if t.kind != tOp || !contains(binaryLevels[level], t.text) {
			return x
		}
		p.next()
		x = &binaryExpr{line: x.pos(), op: t.text, x: x, y: p.binary(level + 1)}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *parser) factor() expr {
	t := p.peek()
	if t.kind == tOp && (t.text == "-" || t.text == "+" || t.text == "~") {
		p.next()
		p.enter()
		defer p.leave()
		return &unaryExpr{line: t.line, op: t.text, x: p.factor()}
	}
	return p.power()
}

func (p *parser) power() expr {
	if p.is("await") {
		start := p.next()
		p.primary()
		return &unsupportedExpr{line: start.line, what: "await", text: p.src[start.start:p.prev().end]}
	}
	x := p.primary()
	if p.is("**") {
		p.next()
		p.enter()
		defer p.leave()
		return &binaryExpr{line: x.pos(), op: "**", x: x, y: p.factor()}
	}
	return x
}

func (p *parser) primary() expr {
	x := p.atom()
	for {
		switch {
		case p.is("."):
			p.next()
			x = &attrExpr{line: x.pos(), x: x, name: p.name()}
		case p.is("("):
			open := p.next()
			c := &callExpr{line: x.pos(), fn: x}
			c.args, c.multiline, _ = p.args(")")
			closing := p.expect(")")
			c.endLine = closing.line
			c.multiline = c.multiline || closing.line != open.line && len(c.args) > 0
			x = c
		case p.is("["):
			p.next()
			x = &indexExpr{line: x.pos(), x: x, index: p.subscript()}
			p.expect("]")
		default:
			return x
		}
	}
}

// args reads call arguments up to closing; a lone generator expression is
// marked bare.
func (p *parser) args(closing string) (out []arg, multiline, trailing bool) {
	startLine := p.prev().line
	for !p.is(closing) {
		var a arg
		switch {
		case p.accept("**"):
			a.star = "**"
			a.x = p.expression()
		case p.accept("*"):
			a.star = "*"
			a.x = p.expression()
		case p.peek().kind == tName && p.peekAt(1).text == "=" && p.peekAt(1).kind == tOp:
			a.name = p.next().text
			p.next()
			a.x = p.expression()
		default:
			a.x = p.namedExpr()
			if p.is("for") || p.is("async") {
				a.x = p.comprehension('(', a.x, nil, a.x.pos())
				a.x.(*compExpr).bare = true
			}
		}
		out = append(out, a)
		if p.peek().line != startLine {
			multiline = true
		}
		if !p.accept(",") {
			break
		}
		if p.is(closing) {
			trailing = true
		}
	}
	return out, multiline, trailing
}

func (p *parser) subscript() expr {
	var items []expr
	trailing := false
	for {
		items = append(items, p.sliceItem())
		if !p.accept(",") {
			break
		}
		if p.is("]") {
			trailing = true
			break
		}
	}
	if len(items) == 1 && !trailing {
		return items[0]
	}
	return &seqExpr{line: items[0].pos(), kind: '(', elems: items, trailing: trailing}
}

func (p *parser) sliceItem() expr {
	line := p.peek().line
	var lo expr
	if !p.is(":") {
		lo = p.namedExpr()
		if !p.is(":") {
			return lo
		}
	}
	s := &sliceExpr{line: line, lo: lo}
	p.expect(":")
	if !p.is("]") && !p.is(":") && !p.is(",") {
		s.hi = p.expression()
	}
	if p.accept(":") {
		s.hasStep = true
		if !p.is("]") && !p.is(",") {
			s.step = p.expression()
		}
	}
	return s
}

func (p *parser) atom() expr {
	t := p.peek()
	switch t.kind {
	case tName:
		if keywords[t.text] && t.text != "True" && t.text != "False" && t.text != "None" {
			p.failf(t, "unexpected %q", t.text)
		}
		p.next()
		return &nameExpr{line: t.line, id: t.text}
	case tNumber:
		p.next()
		return &numExpr{line: t.line, text: t.text}
	case tString:
		s := &strExpr{line: t.line}
		for p.peek().kind == tString {
			st := p.next()
			s.parts = append(s.parts, splitString(st))
		}
		return s
	case tOp:
		switch t.text {
		case "(":
			return p.parenAtom()
		case "[":
			return p.listAtom()
		case "{":
			return p.braceAtom()
		case "...":
			p.next()
			return &ellipsisExpr{line: t.line}
		}
	}
	what := t.text
	if what == "" {
		what = t.kind.String()
	}
	p.failf(t, "unexpected %q", what)
	return nil
}

// splitString splits a string token into prefix, quote and body.
func splitString(t token) strPart {
	s := t.text
	i := strings.IndexAny(s, `'"`)
	prefix := strings.ToLower(s[:i])
	q := s[i : i+1]
	if strings.HasPrefix(s[i:], q+q+q) && len(s)-i >= 6 {
		q = q + q + q
	}
	return strPart{prefix: prefix, quote: q, body: s[i+len(q) : len(s)-len(q)], line: t.line}
}

func (p *parser) parenAtom() expr {
	open := p.next()
	p.enter()
	defer p.leave()
	if p.is(")") {
		closing := p.next()
		return &seqExpr{line: open.line, kind: '(', paren: true, endLine: closing.line}
	}
	if p.is("yield") {
		x := p.yieldExpr()
		p.expect(")")
		return x
	}
	first := p.starOrNamed()
	if p.is("for") || p.is("async") {
		c := p.comprehension('(', first, nil, open.line)
		p.expect(")")
		return c
	}
	if !p.is(",") {
		p.expect(")")
		return &parenExpr{line: open.line, x: first}
	}
	tuple := &seqExpr{line: open.line, kind: '(', paren: true, elems: []expr{first}}
	for p.accept(",") {
		if p.is(")") {
			tuple.trailing = true
			break
		}
		tuple.elems = append(tuple.elems, p.starOrNamed())
	}
	closing := p.expect(")")
	tuple.endLine = closing.line
	tuple.multiline = closing.line != open.line
	return tuple
}

func (p *parser) listAtom() expr {
	open := p.next()
	p.enter()
	defer p.leave()
	l := &seqExpr{line: open.line, kind: '['}
	if !p.is("]") {
		first := p.starOrNamed()
		if p.is("for") || p.is("async") {
			c := p.comprehension('[', first, nil, open.line)
			p.expect("]")
			return c
		}
		l.elems = append(l.elems, first)
		for p.accept(",") {
			if p.is("]") {
				l.trailing = true
				break
			}
			l.elems = append(l.elems, p.starOrNamed())
		}
	}
	closing := p.expect("]")
	l.endLine = closing.line
	l.multiline = closing.line != open.line && len(l.elems) > 0
	return l
}

func (p *parser) braceAtom() expr {
	open := p.next()
	p.enter()
	defer p.leave()
	if p.is("}") {
		closing := p.next()
		return &dictExpr{line: open.line, endLine: closing.line}
	}
	// A dict (key: value or **x) or a set.
	if p.is("**") {
		return p.dictRest(open, nil)
	}
	first := p.starOrNamed()
	if p.accept(":") {
		val := p.expression()
		if p.is("for") || p.is("async") {
			c := p.comprehension('d', first, val, open.line)
			p.expect("}")
			return c
		}
		return p.dictRest(open, &dictEntry{key: first, val: val})
	}
	if p.is("for") || p.is("async") {
		c := p.comprehension('{', first, nil, open.line)
		p.expect("}")
		return c
	}
	set := &seqExpr{line: open.line, kind: '{', elems: []expr{first}}
	for p.accept(",") {
		if p.is("}") {
			set.trailing = true
			break
		}
		set.elems = append(set.elems, p.starOrNamed())
	}
	closing := p.expect("}")
	set.endLine = closing.line
	set.multiline = closing.line != open.line
	return set
}

func (p *parser) dictRest(open token, first *dictEntry) expr {
	d := &dictExpr{line: open.line}
	if first != nil {
		d.entries = append(d.entries, *first)
		if !p.accept(",") {
			closing := p.expect("}")
			d.endLine = closing.line
			d.multiline = closing.line != open.line
			return d
		}
	}
	for !p.is("}") {
		if p.accept("**") {
			d.entries = append(d.entries, dictEntry{val: p.bitor()})
		} else {
			k := p.expression()
			p.expect(":")
			d.entries = append(d.entries, dictEntry{key: k, val: p.expression()})
		}
		if !p.accept(",") {
			break
		}
		if p.is("}") {
			d.trailing = true
		}
	}
	closing := p.expect("}")
	d.endLine = closing.line
	d.multiline = closing.line != open.line
	return d
}

// comprehension reads the for and if clauses after the element.
func (p *parser) comprehension(kind byte, elt, val expr, line int) expr {
	c := &compExpr{line: line, kind: kind, elt: elt, val: val}
	for {
		switch {
		case p.is("async"):
			p.next()
		case p.is("for"):
			p.next()
			cl := compClause{vars: p.targetList()}
			p.expect("in")
			cl.iter = p.orTest()
			c.clauses = append(c.clauses, cl)
		case p.is("if"):
			p.next()
			c.clauses = append(c.clauses, compClause{cond: p.orTestNoCond()})
		default:
			return c
		}
	}
}

func (p *parser) orTestNoCond() expr { return p.orTest() }

// markBlankLines records which statements follow a blank line.
func markBlankLines(m *module) {
	lines := strings.Split(m.src, "\n")
	blank := func(n int) bool { // line n (1-based) is empty
		return n >= 1 && n <= len(lines) && strings.TrimSpace(lines[n-1]) == ""
	}
	commentAt := map[int]bool{}
	for _, c := range m.comments {
		if c.own {
			commentAt[c.line] = true
		}
	}
	var walk func([]stmt, int)
	walk = func(ss []stmt, after int) {
		for i, s := range ss {
			sp := s.lines()
			sp.prevEnd = after
			if i > 0 {
				sp.prevEnd = ss[i-1].lines().end
			}
			// Walk up over the comments above the statement.
			n := sp.line - 1
			for commentAt[n] {
				n--
			}
			sp.blank = blank(n)
			header := sp.line
			for _, b := range children(s) {
				walk(b, header)
				if len(b) > 0 {
					header = b[len(b)-1].lines().end
				}
			}
		}
	}
	walk(m.body, 0)
}

// children returns the blocks of a statement.
func children(s stmt) [][]stmt {
	switch s := s.(type) {
	case *ifStmt:
		return [][]stmt{s.body, s.els}
	case *forStmt:
		return [][]stmt{s.body, s.els}
	case *whileStmt:
		return [][]stmt{s.body, s.els}
	case *tryStmt:
		out := [][]stmt{s.body}
		for _, h := range s.handlers {
			out = append(out, h.body)
		}
		return append(out, s.els, s.finally)
	case *withStmt:
		return [][]stmt{s.body}
	case *defStmt:
		return [][]stmt{s.body}
	case *classStmt:
		return [][]stmt{s.body}
	}
	return nil
}
