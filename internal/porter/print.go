package porter

import (
	"fmt"
	"sort"
	"strings"
)

// printer writes Starlark from the (converted) syntax tree, with the
// comments of the source at the statements they were beside.
type printer struct {
	b        strings.Builder
	comments map[int]comment // by line
	printed  map[int]bool
	indent   int
}

func newPrinter(comments []comment) *printer {
	m := make(map[int]comment, len(comments))
	for _, c := range comments {
		m[c.line] = c
	}
	return &printer{comments: m, printed: map[int]bool{}}
}

func (pr *printer) line(s string) {
	if s == "" {
		pr.b.WriteString("\n")
		return
	}
	pr.b.WriteString(strings.Repeat("    ", pr.indent))
	pr.b.WriteString(s)
	pr.b.WriteString("\n")
}

// blankLine writes an empty line unless the output already ends with one
// or is at the start of a block.
func (pr *printer) blankLine() {
	s := pr.b.String()
	if s == "" || strings.HasSuffix(s, "\n\n") || strings.HasSuffix(s, ":\n") {
		return
	}
	pr.b.WriteString("\n")
}

// commentsBetween writes the own-line comments after line from and before
// line to, not yet written.
func (pr *printer) commentsBetween(from, to int) {
	var lines []int
	for l, c := range pr.comments {
		if l > from && l < to && c.own && !pr.printed[l] {
			lines = append(lines, l)
		}
	}
	sort.Ints(lines)
	for _, l := range lines {
		pr.printed[l] = true
		pr.line(pr.comments[l].text)
	}
}

// trailing returns the comment at the end of line l, if not yet written.
func (pr *printer) trailing(l int) string {
	c, ok := pr.comments[l]
	if !ok || c.own || pr.printed[l] {
		return ""
	}
	pr.printed[l] = true
	return "  " + c.text
}

// block writes statements; after is the line of the block's header, so
// that the comments between it and the first statement are written.
func (pr *printer) block(ss []stmt, after int) {
	if len(ss) == 0 {
		pr.line("pass")
		return
	}
	for i, s := range ss {
		if i > 0 && s.lines().blank {
			pr.blankLine()
		}
		pr.stmt(s)
	}
}

func (pr *printer) stmt(s stmt) {
	sp := s.lines()
	tail := ""
	if sp.line > 0 {
		if sp.prevEnd > 0 {
			pr.commentsBetween(sp.prevEnd, sp.line)
		}
		tail = pr.trailing(sp.line)
	}
	switch s := s.(type) {
	case *exprStmt:
		pr.multi(pr.expr(s.x, 0) + tail)
	case *assignStmt:
		var parts []string
		for _, t := range s.targets {
			parts = append(parts, pr.expr(t, 0))
		}
		op := " " + s.op + " "
		pr.multi(strings.Join(parts, " = ") + op + pr.expr(s.value, 0) + tail)
	case *simpleStmt:
		pr.line(s.keyword + tail)
	case *returnStmt:
		if s.x == nil {
			pr.line("return" + tail)
		} else {
			pr.multi("return " + pr.expr(s.x, 0) + tail)
		}
	case *ifStmt:
		pr.line("if " + pr.expr(s.test, 0) + ":" + tail)
		pr.body(s.body, s.line)
		for s.elif {
			next := s.els[0].(*ifStmt)
			pr.commentsBetween(lastLine(s.body), next.line)
			pr.line("elif " + pr.expr(next.test, 0) + ":" + pr.trailing(next.line))
			pr.body(next.body, next.line)
			s = next
		}
		if len(s.els) > 0 {
			pr.line("else:")
			pr.body(s.els, lastLine(s.body))
		}
	case *forStmt:
		pr.line("for " + pr.expr(s.vars, 0) + " in " + pr.expr(s.iter, 0) + ":" + tail)
		pr.body(s.body, s.line)
	case *whileStmt:
		pr.line("while " + pr.expr(s.test, 0) + ":" + tail)
		pr.body(s.body, s.line)
	case *defStmt:
		pr.line("def " + s.name + "(" + pr.params(s.params) + "):" + tail)
		pr.body(s.body, s.line)
	case *rawStmt:
		for _, l := range strings.Split(s.text, "\n") {
			pr.line(l)
		}
	default:
		panic(fmt.Sprintf("porter: cannot print %T", s))
	}
	if sp.line > 0 && sp.end >= sp.line {
		// Comments left inside the statement's lines.
		pr.commentsBetween(sp.line-1, sp.end+1)
	}
}

// multi writes text that may span lines, indenting its later lines.
func (pr *printer) multi(text string) {
	for _, l := range strings.Split(text, "\n") {
		pr.line(l)
	}
}

func (pr *printer) body(ss []stmt, after int) {
	pr.indent++
	pr.block(ss, after)
	pr.indent--
}

// rawStmt is Starlark text made by a conversion, with its own lines.
type rawStmt struct {
	span
	text string
}

func lastLine(ss []stmt) int {
	if len(ss) == 0 {
		return 0
	}
	return ss[len(ss)-1].lines().end
}

func (pr *printer) params(ps []param) string {
	var out []string
	for _, p := range ps {
		s := p.star + p.name
		if p.def != nil {
			s += " = " + pr.expr(p.def, 0)
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

// Precedence of Starlark operators, lowest first.
func precedence(e expr) int {
	switch e := e.(type) {
	case *lambdaExpr:
		return 1
	case *condExpr:
		return 2
	case *binaryExpr:
		switch e.op {
		case "or":
			return 3
		case "and":
			return 4
		case "|":
			return 7
		case "^":
			return 8
		case "&":
			return 9
		case "<<", ">>":
			return 10
		case "+", "-":
			return 11
		case "*", "/", "//", "%":
			return 12
		}
	case *unaryExpr:
		if e.op == "not" {
			return 5
		}
		return 13
	case *compareExpr:
		return 6
	}
	return 20
}

// expr writes an expression; min is the precedence its context needs.
func (pr *printer) expr(e expr, min int) string {
	s := pr.exprText(e)
	if precedence(e) < min {
		return "(" + s + ")"
	}
	return s
}

func (pr *printer) exprText(e expr) string {
	switch e := e.(type) {
	case *nameExpr:
		return e.id
	case *numExpr:
		return e.text
	case *strExpr:
		var parts []string
		for _, p := range e.parts {
			parts = append(parts, p.prefix+p.quote+p.body+p.quote)
		}
		if len(parts) == 1 {
			return parts[0]
		}
		// Starlark does not join adjacent literals.
		return "(" + strings.Join(parts, " + ") + ")"
	case *rawExpr:
		return e.text
	case *attrExpr:
		return pr.expr(e.x, 14) + "." + e.name
	case *indexExpr:
		return pr.expr(e.x, 14) + "[" + pr.subscript(e.index) + "]"
	case *sliceExpr:
		return pr.subscript(e)
	case *callExpr:
		return pr.expr(e.fn, 14) + "(" + pr.callArgs(e) + ")"
	case *binaryExpr:
		p := precedence(e)
		return pr.expr(e.x, p) + " " + e.op + " " + pr.expr(e.y, p+1)
	case *unaryExpr:
		p := precedence(e)
		if e.op == "not" {
			return "not " + pr.expr(e.x, p)
		}
		return e.op + pr.expr(e.x, p)
	case *compareExpr:
		s := pr.expr(e.x, 7)
		for i, op := range e.ops {
			s += " " + op + " " + pr.expr(e.ys[i], 7)
		}
		return s
	case *condExpr:
		return pr.expr(e.then, 3) + " if " + pr.expr(e.cond, 3) + " else " + pr.expr(e.els, 2)
	case *lambdaExpr:
		ps := pr.params(e.params)
		if ps != "" {
			ps = " " + ps
		}
		return "lambda" + ps + ": " + pr.expr(e.body, 1)
	case *parenExpr:
		return "(" + pr.expr(e.x, 0) + ")"
	case *starExpr:
		return "*" + pr.expr(e.x, 14)
	case *seqExpr:
		return pr.seq(e)
	case *dictExpr:
		return pr.dict(e)
	case *compExpr:
		return pr.comp(e)
	case *ellipsisExpr:
		return "None"
	case *unsupportedExpr:
		return "fail(" + quote("not converted: "+e.text) + ")"
	}
	panic(fmt.Sprintf("porter: cannot print %T", e))
}

func (pr *printer) subscript(e expr) string {
	if s, ok := e.(*sliceExpr); ok {
		out := ""
		if s.lo != nil {
			out += pr.expr(s.lo, 0)
		}
		out += ":"
		if s.hi != nil {
			out += pr.expr(s.hi, 0)
		}
		if s.hasStep {
			out += ":"
			if s.step != nil {
				out += pr.expr(s.step, 0)
			}
		}
		return out
	}
	if t, ok := e.(*seqExpr); ok && t.kind == '(' && !t.paren {
		return pr.items(t.elems, false, t.trailing || len(t.elems) == 1, 0)
	}
	return pr.expr(e, 0)
}

// items writes a list of elements, one per line when multiline.
func (pr *printer) items(elems []expr, multiline, trailing bool, endLine int) string {
	strs := make([]string, len(elems))
	for i, e := range elems {
		strs[i] = pr.expr(e, 2)
	}
	return pr.join(strs, lines(elems), multiline, trailing, endLine)
}

func lines(elems []expr) []int {
	out := make([]int, len(elems))
	for i, e := range elems {
		out[i] = e.pos()
	}
	return out
}

// join joins written elements; on several lines, each element carries the
// comments written above and beside it in the source.
func (pr *printer) join(strs []string, at []int, multiline, trailing bool, endLine int) string {
	if !multiline || len(strs) == 0 {
		s := strings.Join(strs, ", ")
		if trailing && len(strs) == 1 {
			s += ","
		}
		return s
	}
	var b strings.Builder
	b.WriteString("\n")
	prev := 0
	if len(at) > 0 {
		prev = at[0] - 1
	}
	for i, s := range strs {
		if at[i] > 0 {
			for l := prev + 1; l < at[i]; l++ {
				if c, ok := pr.comments[l]; ok && c.own && !pr.printed[l] {
					pr.printed[l] = true
					b.WriteString("    " + c.text + "\n")
				}
			}
			prev = at[i]
		}
		b.WriteString("    " + indentLines(s) + ",")
		if at[i] > 0 {
			next := endLine
			if i+1 < len(at) {
				next = at[i+1]
			}
			if next == at[i] || next == 0 {
				next = at[i] + 1
			}
			// The comment at the end of the element's last line.
			for l := at[i]; l < next; l++ {
				if t := pr.trailing(l); t != "" {
					b.WriteString(t)
					break
				}
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// indentLines indents the later lines of a multi-line element.
func indentLines(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

func (pr *printer) seq(e *seqExpr) string {
	switch e.kind {
	case '[':
		return "[" + pr.items(e.elems, e.multiline, e.trailing, e.endLine) + "]"
	case '{':
		return "set([" + pr.items(e.elems, e.multiline, e.trailing, e.endLine) + "])"
	}
	inner := pr.items(e.elems, e.multiline, e.trailing || len(e.elems) == 1, e.endLine)
	if e.paren || len(e.elems) <= 1 || e.trailing {
		return "(" + inner + ")"
	}
	return inner
}

func (pr *printer) dict(e *dictExpr) string {
	strs := make([]string, len(e.entries))
	at := make([]int, len(e.entries))
	for i, en := range e.entries {
		strs[i] = pr.expr(en.key, 2) + ": " + pr.expr(en.val, 2)
		at[i] = en.key.pos()
	}
	return "{" + pr.join(strs, at, e.multiline, e.trailing, e.endLine) + "}"
}

func (pr *printer) comp(e *compExpr) string {
	var b strings.Builder
	if e.kind == 'd' {
		b.WriteString(pr.expr(e.elt, 2) + ": " + pr.expr(e.val, 2))
	} else {
		b.WriteString(pr.expr(e.elt, 2))
	}
	for _, c := range e.clauses {
		if c.cond != nil {
			b.WriteString(" if " + pr.expr(c.cond, 3))
		} else {
			b.WriteString(" for " + pr.expr(c.vars, 7) + " in " + pr.expr(c.iter, 3))
		}
	}
	switch e.kind {
	case 'd':
		return "{" + b.String() + "}"
	case '{':
		return "set([" + b.String() + "])"
	}
	return "[" + b.String() + "]"
}

func (pr *printer) callArgs(c *callExpr) string {
	strs := make([]string, len(c.args))
	at := make([]int, len(c.args))
	for i, a := range c.args {
		v := pr.expr(a.x, 2)
		switch {
		case a.star != "":
			v = a.star + v
		case a.name != "":
			v = a.name + " = " + v
		}
		strs[i] = v
		at[i] = a.x.pos()
	}
	return pr.join(strs, at, c.multiline, false, c.endLine)
}

// quote writes s as a Starlark string literal.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
