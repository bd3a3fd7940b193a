package porter

import (
	"strconv"
	"strings"
)

// starlarkEscapes are the escapes Starlark strings understand; Python
// keeps a backslash before any other character, which Starlark refuses.
const starlarkEscapes = "abfnrtv\\'\"01234567xuU\n"

// convertPart makes a Python string literal (not an f-string) a Starlark
// one: u is dropped, and a backslash Starlark would read as an invalid
// escape is doubled, which keeps the value Python gave it.
func (sc *scope) convertPart(p strPart) strPart {
	p.prefix = strings.ReplaceAll(p.prefix, "u", "")
	if strings.Contains(p.prefix, "r") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p.body); i++ {
		c := p.body[i]
		if c != '\\' || i+1 >= len(p.body) {
			b.WriteByte(c)
			continue
		}
		n := p.body[i+1]
		switch {
		case n == 'N':
			sc.note(p.line, `\N{...} escape`, "Starlark has no named Unicode escapes: write the character itself or \\uXXXX")
			b.WriteString(`\\`)
		case n == 'u' || n == 'U':
			if strings.Contains(p.prefix, "b") {
				b.WriteString(`\\`)
			} else {
				b.WriteByte('\\')
			}
		case strings.IndexByte(starlarkEscapes, n) < 0:
			b.WriteString(`\\`)
		default:
			b.WriteByte('\\')
			b.WriteByte(n)
			i++
			continue
		}
	}
	p.body = b.String()
	return p
}

// fstring converts an f-string to "…{}…".format(…), or "…" when it has no
// fields.
func (sc *scope) fstring(p strPart) expr {
	raw := strings.Contains(p.prefix, "r")
	prefix := strings.NewReplacer("f", "", "u", "").Replace(p.prefix)
	var lit strings.Builder
	var args []arg
	body := p.body
	fields, ok := replacementFields(body)
	if !ok {
		sc.note(p.line, "f-string", "a { is not closed; the string is kept as text")
		fields = nil
		body = strings.NewReplacer("{", "{{", "}", "}}").Replace(strings.NewReplacer("{{", "{", "}}", "}").Replace(body))
	}
	last := 0
	for _, fs := range fields {
		lit.WriteString(body[last:fs.start])
		last = fs.end
		field := fs.field
		text, conv, spec := splitField(field)
		debug := ""
		if t := strings.TrimRight(text, " "); strings.HasSuffix(t, "=") && !strings.HasSuffix(t, "==") && !strings.HasSuffix(t, "!=") && !strings.HasSuffix(t, "<=") && !strings.HasSuffix(t, ">=") {
			debug, text = text, strings.TrimSuffix(t, "=")
			if conv == "" && spec == "" {
				conv = "r"
			}
		}
		x, err := parseExprText(text, p.line)
		if err != nil {
			sc.note(p.line, "f-string field {"+field+"}", "the expression could not be read ("+err.Error()+"); rewrite it with .format()")
			x = &rawExpr{line: p.line, text: quote("{" + field + "}")}
		} else {
			x = sc.expr(x)
		}
		if spec != "" {
			if strings.Contains(spec, "{") {
				sc.note(p.line, "f-string field {"+field+"}", "a format spec with nested fields is not converted; compute the spec first")
			}
			x = formatCall(p.line, x, conv, spec)
			conv = ""
		}
		if debug != "" {
			lit.WriteString(strings.NewReplacer("{", "{{", "}", "}}").Replace(debug))
		}
		lit.WriteString("{")
		if conv == "r" || conv == "a" {
			lit.WriteString("!r")
		}
		lit.WriteString("}")
		args = append(args, arg{x: x})
	}
	lit.WriteString(body[last:])
	text := lit.String()
	if len(args) == 0 {
		text = strings.NewReplacer("{{", "{", "}}", "}").Replace(text)
	}
	part := sc.convertPart(strPart{prefix: prefix, quote: p.quote, body: text, line: p.line})
	if raw {
		part.prefix = prefix
	}
	s := &strExpr{line: p.line, parts: []strPart{part}}
	if len(args) == 0 {
		return s
	}
	return &callExpr{line: p.line, fn: &attrExpr{line: p.line, x: s, name: "format"}, args: args}
}

// formatCall is format(x, spec), of repr(x) or str(x) for a !r or !s
// conversion.
func formatCall(line int, x expr, conv, spec string) expr {
	if conv != "" {
		x = &callExpr{line: line, fn: &nameExpr{id: map[string]string{"r": "repr", "s": "str", "a": "repr"}[conv]}, args: []arg{{x: x}}}
	}
	return &callExpr{line: line, fn: &nameExpr{id: "format"}, args: []arg{{x: x}, {x: &strExpr{line: line, parts: []strPart{{quote: `"`, body: escapeBody(spec)}}}}}}
}

// fieldSpan is a replacement field of a format string: body[start:end]
// is {field}.
type fieldSpan struct {
	start, end int
	field      string
}

// replacementFields lists the fields of an f-string or format string
// ({{ and }} are literal braces); ok is false when a { is not closed.
func replacementFields(body string) (out []fieldSpan, ok bool) {
	for i := 0; i < len(body); i++ {
		switch {
		case strings.HasPrefix(body[i:], "{{"), strings.HasPrefix(body[i:], "}}"):
			i++
		case body[i] == '{':
			end := fieldEnd(body, i+1)
			if end < 0 {
				return out, false
			}
			out = append(out, fieldSpan{start: i, end: end + 1, field: body[i+1 : end]})
			i = end
		}
	}
	return out, true
}

// scanTop walks s from i, past strings and brackets, and returns the
// first index at the top level where stop says so, or -1.
func scanTop(s string, i int, stop func(j int) bool) int {
	depth := 0
	var q byte
	for j := i; j < len(s); j++ {
		c := s[j]
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '\'' || c == '"':
			q = c
		case c == '(' || c == '[' || c == '{':
			depth++
		case (c == ')' || c == ']' || c == '}') && depth > 0:
			depth--
		case depth == 0 && stop(j):
			return j
		}
	}
	return -1
}

// fieldEnd finds the } closing a replacement field that starts at i.
func fieldEnd(s string, i int) int { return scanTop(s, i, func(j int) bool { return s[j] == '}' }) }

// splitField splits expr!conv:spec at the top level of a field.
func splitField(f string) (text, conv, spec string) {
	j := scanTop(f, 0, func(j int) bool { return f[j] == ':' || f[j] == '!' && (j+1 >= len(f) || f[j+1] != '=') })
	switch {
	case j < 0:
		return f, "", ""
	case f[j] == ':':
		return f[:j], "", f[j+1:]
	}
	conv, spec, _ = strings.Cut(f[j+1:], ":")
	return f[:j], conv, spec
}

// escapeBody writes s as the body of a "…" literal.
func escapeBody(s string) string {
	q := quote(s)
	return q[1 : len(q)-1]
}

// parseExprText parses the text of one expression (an f-string field).
func parseExprText(text string, line int) (expr, error) {
	toks, _, err := tokenize("(" + strings.TrimSpace(text) + ")\n")
	if err != nil {
		return nil, err
	}
	for i := range toks {
		toks[i].line += line - 1
	}
	p := &parser{toks: toks, src: "(" + text + ")\n"}
	var x expr
	err = p.catch(func() {
		x = p.expression()
		if p.peek().kind != tNewline && p.peek().kind != tEOF {
			p.failf(p.peek(), "unexpected %q", p.peek().text)
		}
	})
	if err != nil {
		return nil, err
	}
	if px, ok := x.(*parenExpr); ok {
		return px.x, nil
	}
	return x, nil
}

// printfDirective is one % directive of a format string.
type printfDirective struct {
	start, end int    // in the body
	key        string // %(key)s
	flags      string
	width      string
	prec       string // with its dot
	conv       byte
}

// printfDirectives lists the directives of a %-format body; ok is false
// when one is not understood.
func printfDirectives(body string) (out []printfDirective, ok bool) {
	for i := 0; i < len(body); i++ {
		if body[i] != '%' {
			continue
		}
		d := printfDirective{start: i}
		j := i + 1
		if j < len(body) && body[j] == '%' {
			i = j
			continue
		}
		if j < len(body) && body[j] == '(' {
			end := strings.IndexByte(body[j:], ')')
			if end < 0 {
				return nil, false
			}
			d.key = body[j+1 : j+end]
			j += end + 1
		}
		for j < len(body) && strings.IndexByte("-+ #0", body[j]) >= 0 {
			d.flags += string(body[j])
			j++
		}
		for j < len(body) && (body[j] >= '0' && body[j] <= '9' || body[j] == '*') {
			d.width += string(body[j])
			j++
		}
		if j < len(body) && body[j] == '.' {
			d.prec = "."
			j++
			for j < len(body) && (body[j] >= '0' && body[j] <= '9' || body[j] == '*') {
				d.prec += string(body[j])
				j++
			}
		}
		for j < len(body) && strings.IndexByte("hlL", body[j]) >= 0 {
			j++
		}
		if j >= len(body) {
			return nil, false
		}
		d.conv = body[j]
		d.end = j + 1
		out = append(out, d)
		i = j
	}
	return out, true
}

// plain reports whether Starlark's % understands the directive as it is.
func (d printfDirective) plain() bool {
	return d.flags == "" && d.width == "" && d.prec == "" && strings.IndexByte("sdirxXoeEfFgGc", d.conv) >= 0 && d.conv != 'i'
}

// spec returns the format() spec of a directive, and the function its
// argument goes through first ("str" for %s, "repr" for %r).
func (d printfDirective) spec() (spec, through string, ok bool) {
	if strings.Contains(d.width+d.prec, "*") {
		return "", "", false
	}
	var b strings.Builder
	if strings.Contains(d.flags, "-") {
		b.WriteByte('<')
	} else if d.conv == 's' || d.conv == 'r' {
		b.WriteByte('>')
	}
	if strings.Contains(d.flags, "+") {
		b.WriteByte('+')
	} else if strings.Contains(d.flags, " ") {
		b.WriteByte(' ')
	}
	if strings.Contains(d.flags, "#") {
		b.WriteByte('#')
	}
	if strings.Contains(d.flags, "0") && !strings.Contains(d.flags, "-") && d.conv != 's' && d.conv != 'r' {
		b.WriteByte('0')
	}
	b.WriteString(d.width + d.prec)
	switch d.conv {
	case 'd', 'i', 'u':
		b.WriteByte('d')
	case 's':
		through = "str"
	case 'r', 'a':
		through = "repr"
	case 'f', 'F', 'e', 'E', 'g', 'G', 'x', 'X', 'o', 'c':
		b.WriteByte(d.conv)
	default:
		return "", "", false
	}
	spec = b.String()
	if spec == ">" {
		spec = ""
	}
	return spec, through, true
}

// printf converts a %-format whose directives Starlark does not take
// (widths, precisions, flags): each becomes %s of format(arg, spec).
// args are the values, in order; the new body and values are returned.
func (sc *scope) printf(line int, body string, args []expr) (string, []expr, bool) {
	ds, ok := printfDirectives(body)
	if !ok {
		return body, args, false
	}
	changed := false
	for _, d := range ds {
		if !d.plain() {
			changed = true
		}
	}
	if !changed {
		return body, args, true
	}
	positional := 0
	for _, d := range ds {
		if d.key == "" {
			positional++
		}
	}
	if positional != len(ds) || positional != len(args) {
		return body, args, false
	}
	var b strings.Builder
	last := 0
	out := make([]expr, len(args))
	copy(out, args)
	for i, d := range ds {
		b.WriteString(body[last:d.start])
		last = d.end
		if d.plain() {
			if d.conv == 'i' {
				b.WriteString("%d")
			} else {
				b.WriteString(body[d.start:d.end])
			}
			continue
		}
		spec, through, ok := d.spec()
		if !ok {
			return body, args, false
		}
		x := out[i]
		if through != "" {
			x = &callExpr{line: line, fn: &nameExpr{id: through}, args: []arg{{x: x}}}
		}
		if spec != "" {
			x = formatCall(line, x, "", spec)
		}
		out[i] = x
		b.WriteString("%s")
	}
	b.WriteString(body[last:])
	return b.String(), out, true
}

// formatFields converts "…".format(…) whose fields Starlark does not take
// (format specs, attribute or index access) into auto-numbered {} fields
// with the values computed in the arguments.
func (sc *scope) formatFields(line int, body string, c *callExpr) (string, []arg, bool) {
	type field struct {
		start, end       int
		name, conv, spec string
		access           string // .attr or [key] after the name
	}
	var fields []field
	needed := false
	spans, ok := replacementFields(body)
	if !ok {
		return body, c.args, false
	}
	for _, fs := range spans {
		text, conv, spec := splitField(fs.field)
		f := field{start: fs.start, end: fs.end, conv: conv, spec: spec}
		j := strings.IndexAny(text, ".[")
		if j >= 0 {
			f.name, f.access = text[:j], text[j:]
		} else {
			f.name = text
		}
		if spec != "" || f.access != "" {
			needed = true
		}
		fields = append(fields, f)
	}
	if !needed {
		return body, c.args, true
	}
	var positional []expr
	named := map[string]expr{}
	for _, a := range c.args {
		switch {
		case a.star != "":
			return body, c.args, false
		case a.name != "":
			named[a.name] = a.x
		default:
			positional = append(positional, a.x)
		}
	}
	var b strings.Builder
	var out []arg
	last, auto := 0, 0
	for _, f := range fields {
		b.WriteString(body[last:f.start])
		last = f.end
		var x expr
		switch {
		case f.name == "":
			if auto >= len(positional) {
				return body, c.args, false
			}
			x = positional[auto]
			auto++
		case f.name[0] >= '0' && f.name[0] <= '9':
			n, err := strconv.Atoi(f.name)
			if err != nil || n >= len(positional) {
				return body, c.args, false
			}
			x = positional[n]
		default:
			v, ok := named[f.name]
			if !ok {
				return body, c.args, false
			}
			x = v
		}
		if f.access != "" {
			acc, err := parseExprText("_v"+accessText(f.access), line)
			if err != nil {
				return body, c.args, false
			}
			x = replaceName(acc, "_v", x)
		}
		if f.spec != "" {
			x = formatCall(line, x, f.conv, f.spec)
			b.WriteString("{}")
		} else if f.conv == "r" || f.conv == "a" {
			b.WriteString("{!r}")
		} else {
			b.WriteString("{}")
		}
		out = append(out, arg{x: x})
	}
	b.WriteString(body[last:])
	return b.String(), out, true
}

// accessText turns format-field access (.attr, [key], [0]) into
// expression text.
func accessText(acc string) string {
	var b strings.Builder
	for i := 0; i < len(acc); i++ {
		if acc[i] != '[' {
			b.WriteByte(acc[i])
			continue
		}
		end := strings.IndexByte(acc[i:], ']')
		if end < 0 {
			b.WriteString(acc[i:])
			break
		}
		key := acc[i+1 : i+end]
		if _, err := strconv.Atoi(key); err == nil {
			b.WriteString("[" + key + "]")
		} else {
			b.WriteString("[" + quote(key) + "]")
		}
		i += end
	}
	return b.String()
}

// replaceName returns e with the name old replaced by x.
func replaceName(e expr, old string, x expr) expr {
	switch e := e.(type) {
	case *nameExpr:
		if e.id == old {
			return x
		}
	case *attrExpr:
		e.x = replaceName(e.x, old, x)
	case *indexExpr:
		e.x = replaceName(e.x, old, x)
	}
	return e
}

// stringValue returns the value of a plain string literal (no f, no
// bytes), as Python reads it.
func stringValue(s *strExpr) (string, bool) {
	var b strings.Builder
	for _, p := range s.parts {
		if strings.ContainsAny(p.prefix, "fb") {
			return "", false
		}
		if strings.Contains(p.prefix, "r") {
			b.WriteString(p.body)
			continue
		}
		b.WriteString(unescape(p.body))
	}
	return b.String(), true
}

// unescape reads the escapes of a Python string body.
func unescape(body string) string {
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' || i+1 >= len(body) {
			b.WriteByte(c)
			continue
		}
		i++
		switch n := body[i]; n {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '\\', '\'', '"':
			b.WriteByte(n)
		case '\n':
		case 'x', 'u', 'U':
			size := map[byte]int{'x': 2, 'u': 4, 'U': 8}[n]
			if i+size < len(body)+0 && i+1+size <= len(body) {
				if v, err := strconv.ParseUint(body[i+1:i+1+size], 16, 32); err == nil {
					b.WriteRune(rune(v))
					i += size
					continue
				}
			}
			b.WriteByte('\\')
			b.WriteByte(n)
		default:
			if n >= '0' && n <= '7' {
				j := i
				for j < len(body) && j < i+3 && body[j] >= '0' && body[j] <= '7' {
					j++
				}
				v, _ := strconv.ParseUint(body[i:j], 8, 32)
				b.WriteRune(rune(v))
				i = j - 1
				continue
			}
			b.WriteByte('\\')
			b.WriteByte(n)
		}
	}
	return b.String()
}
