package stdlib

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"

	sl "go.starlark.net/starlark"
)

// Flags of re, with Python's values.
const (
	reIgnoreCase = 2
	reMultiline  = 8
	reDotAll     = 16
	reASCII      = 256
	reVerbose    = 64
	reUnicode    = 32
)

// reModule is re: Python's regular expressions on Go's RE2 engine, which
// runs in time linear in the input and so has no backreferences and no
// lookaround.
func reModule() sl.Value {
	m := fns("re", map[string]builtinFunc{
		"compile": reCompile,
		"escape":  reEscape,
	})
	for _, name := range []string{"match", "search", "fullmatch", "findall", "finditer", "sub", "subn", "split"} {
		m[name] = sl.NewBuiltin("re."+name, reFunction(name))
	}
	for name, v := range map[string]int{
		"I": reIgnoreCase, "IGNORECASE": reIgnoreCase, "M": reMultiline, "MULTILINE": reMultiline,
		"S": reDotAll, "DOTALL": reDotAll, "A": reASCII, "ASCII": reASCII, "U": reUnicode, "UNICODE": reUnicode,
		"X": reVerbose, "VERBOSE": reVerbose, "NOFLAG": 0,
	} {
		m[name] = sl.MakeInt(v)
	}
	return module("re", m)
}

// Pattern is a compiled regular expression, as Python's re.Pattern.
type Pattern struct {
	source string
	flags  int
	re     *regexp.Regexp
	goSrc  string
	// anchored and full match at the start and the whole of the input,
	// compiled on first use.
	once           sync.Once
	anchored, full *regexp.Regexp
	// cost is the steps per byte of input of one scan.
	cost uint64
}

// anchoredForms returns the patterns of match and fullmatch.
func (p *Pattern) anchoredForms() (anchored, full *regexp.Regexp) {
	p.once.Do(func() {
		p.anchored = regexp.MustCompile(`\A(?:` + p.goSrc + `)`)
		p.full = regexp.MustCompile(`\A(?:` + p.goSrc + `)\z`)
	})
	return p.anchored, p.full
}

// compilePattern translates a Python pattern and compiles it.
func compilePattern(thread *sl.Thread, fn, pattern string, flags int) (*Pattern, error) {
	max := limitsOf(thread).MaxPattern
	if max <= 0 {
		max = DefaultMaxPattern
	}
	if len(pattern) > max {
		return nil, &LimitError{Setting: PatternSetting, Msg: fmt.Sprintf("%s: the pattern is %d bytes long, longer than %d", fn, len(pattern), max)}
	}
	if err := spendBytes(thread, len(pattern)*16, fn); err != nil {
		return nil, err
	}
	if flags&^(reIgnoreCase|reMultiline|reDotAll|reASCII|reUnicode|reVerbose) != 0 {
		return nil, fmt.Errorf("%s: unknown flags %d: use re.I, re.M, re.S, re.A, re.X or re.U, joined with |", fn, flags)
	}
	src := pattern
	if flags&reVerbose != 0 {
		src = stripVerbose(src)
	}
	goSrc, err := translatePattern(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	prefix := ""
	if flags&reIgnoreCase != 0 {
		prefix += "i"
	}
	if flags&reMultiline != 0 {
		prefix += "m"
	}
	if flags&reDotAll != 0 {
		prefix += "s"
	}
	if prefix != "" {
		goSrc = "(?" + prefix + ")" + goSrc
	}
	parsed, err := syntax.Parse(goSrc, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", fn, explainSyntax(err))
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return nil, fmt.Errorf("%s: %s", fn, explainSyntax(err))
	}
	if err := charge(thread, int64(len(prog.Inst))*64*3, fn); err != nil {
		return nil, err
	}
	p := &Pattern{source: pattern, flags: flags, goSrc: goSrc, cost: uint64(len(prog.Inst))/8 + 1}
	if p.re, err = regexp.Compile(goSrc); err != nil {
		return nil, fmt.Errorf("%s: %s", fn, explainSyntax(err))
	}
	return p, nil
}

// translatePattern turns Python's syntax into Go's where they differ, and
// explains what RE2 lacks.
func translatePattern(p string) (string, error) {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			n := p[i+1]
			switch {
			case n >= '1' && n <= '9' && !inClass:
				return "", fmt.Errorf("backreference \\%c at position %d: Plexus matches with RE2, which has no backreferences; match the groups and compare them in code", n, i)
			case n == 'Z':
				b.WriteString(`\z`)
				i++
				continue
			case n == 'g' && !inClass:
				return "", fmt.Errorf("\\g at position %d belongs in the replacement of re.sub, not in a pattern", i)
			}
			b.WriteByte(c)
			b.WriteByte(n)
			i++
			continue
		case c == '[' && !inClass:
			inClass = true
			b.WriteByte(c)
			// A ] right after [ or [^ is a literal.
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteString(`\]`)
				i++
			}
			continue
		case c == ']' && inClass:
			inClass = false
		case c == '(' && !inClass && i+2 < len(p) && p[i+1] == '?':
			rest := p[i+2:]
			switch {
			case strings.HasPrefix(rest, "="), strings.HasPrefix(rest, "!"):
				return "", fmt.Errorf("lookahead (?%c at position %d: Plexus matches with RE2, which has no lookaround; match more and check the text in code", rest[0], i)
			case strings.HasPrefix(rest, "<=") || strings.HasPrefix(rest, "<!"):
				return "", fmt.Errorf("lookbehind (?%s at position %d: Plexus matches with RE2, which has no lookaround; match more and check the text in code", rest[:2], i)
			case strings.HasPrefix(rest, "P="):
				return "", fmt.Errorf("named backreference (?P= at position %d: Plexus matches with RE2, which has no backreferences", i)
			case strings.HasPrefix(rest, "#"):
				end := strings.IndexByte(rest, ')')
				if end < 0 {
					return "", fmt.Errorf("missing ), unterminated comment at position %d", i)
				}
				i += 2 + end
				continue
			case strings.HasPrefix(rest, "("):
				return "", fmt.Errorf("conditional group (?( at position %d is not supported by RE2", i)
			case strings.HasPrefix(rest, ">"):
				return "", fmt.Errorf("atomic group (?> at position %d is not supported by RE2", i)
			}
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// stripVerbose removes the whitespace and # comments of a re.VERBOSE
// pattern, outside classes and escapes.
func stripVerbose(p string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p):
			b.WriteByte(c)
			b.WriteByte(p[i+1])
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
			b.WriteByte(c)
		case c == '[':
			inClass = true
			b.WriteByte(c)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
		case c == '#':
			for i < len(p) && p[i] != '\n' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// explainSyntax makes Go's regexp errors say what to do.
func explainSyntax(err error) string {
	msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
	if se, ok := err.(*syntax.Error); ok {
		switch se.Code {
		case syntax.ErrInvalidRepeatSize:
			return msg + " (a repeat count is at most 1000)"
		case syntax.ErrInvalidPerlOp:
			return msg + " (RE2 has no lookaround, backreferences, atomic or conditional groups)"
		}
	}
	return msg
}

// scan counts the steps of matching over s.
func (p *Pattern) scan(thread *sl.Thread, fn string, s string) error {
	return spend(thread, (uint64(len(s))+1)*p.cost/stepBytes+1, fn)
}

func (p *Pattern) String() string        { return fmt.Sprintf("re.compile(%s)", sl.String(p.source).String()) }
func (p *Pattern) Type() string          { return "re.Pattern" }
func (p *Pattern) Freeze()               {}
func (p *Pattern) Truth() sl.Bool        { return sl.True }
func (p *Pattern) Hash() (uint32, error) { return sl.String(p.source).Hash() }

var patternAttrs = []string{"findall", "finditer", "flags", "fullmatch", "groupindex", "groups", "match", "pattern", "search", "split", "sub", "subn"}

func (p *Pattern) AttrNames() []string { return patternAttrs }

func (p *Pattern) Attr(name string) (sl.Value, error) {
	switch name {
	case "pattern":
		return sl.String(p.source), nil
	case "flags":
		return sl.MakeInt(p.flags), nil
	case "groups":
		return sl.MakeInt(p.re.NumSubexp()), nil
	case "groupindex":
		d := sl.NewDict(0)
		for i, n := range p.re.SubexpNames() {
			if n != "" {
				d.SetKey(sl.String(n), sl.MakeInt(i))
			}
		}
		return d, nil
	}
	op, ok := reOps[name]
	if !ok {
		return nil, nil
	}
	return sl.NewBuiltin("Pattern."+name, func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		return op(thread, b.Name(), p, args, kwargs)
	}), nil
}

func reCompile(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var pattern sl.Value
	flags := 0
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern, "flags?", &flags); err != nil {
		return nil, err
	}
	if p, ok := pattern.(*Pattern); ok {
		return p, nil
	}
	s, ok := pattern.(sl.String)
	if !ok {
		return nil, fmt.Errorf("%s: pattern: got %s, want str", b.Name(), pattern.Type())
	}
	return compilePattern(thread, b.Name(), string(s), flags)
}

func reEscape(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var s string
	if err := sl.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &s); err != nil {
		return nil, err
	}
	if err := spendBytes(thread, len(s), b.Name()); err != nil {
		return nil, err
	}
	if err := charge(thread, textBytes(2*len(s)), b.Name()); err != nil {
		return nil, err
	}
	return sl.String(regexp.QuoteMeta(s)), nil
}

// reFunction is re.name(pattern, ...): the Pattern method on a pattern
// compiled for the call.
func reFunction(name string) builtinFunc {
	return func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		if len(args) == 0 {
			return nil, fmt.Errorf("%s: missing the pattern", b.Name())
		}
		flags := 0
		var rest []sl.Tuple
		for _, kv := range kwargs {
			if string(kv[0].(sl.String)) == "flags" {
				if err := sl.AsInt(kv[1], &flags); err != nil {
					return nil, fmt.Errorf("%s: flags: %w", b.Name(), err)
				}
				continue
			}
			rest = append(rest, kv)
		}
		// Python's order: the flags follow the arguments of the method.
		if n := map[string]int{"sub": 4, "subn": 4, "split": 3}[name]; n > 0 && len(args) > n {
			if err := sl.AsInt(args[n], &flags); err != nil {
				return nil, fmt.Errorf("%s: flags: %w", b.Name(), err)
			}
			args = args[:n]
		} else if n == 0 && len(args) > 2 {
			if err := sl.AsInt(args[2], &flags); err != nil {
				return nil, fmt.Errorf("%s: flags: %w", b.Name(), err)
			}
			args = args[:2]
		}
		var p *Pattern
		switch x := args[0].(type) {
		case *Pattern:
			p = x
		case sl.String:
			var err error
			if p, err = compilePattern(thread, b.Name(), string(x), flags); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%s: pattern: got %s, want str", b.Name(), args[0].Type())
		}
		return reOps[name](thread, b.Name(), p, args[1:], rest)
	}
}

type reOp func(thread *sl.Thread, fn string, p *Pattern, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error)

var reOps map[string]reOp

func init() {
	reOps = map[string]reOp{
		"match": func(th *sl.Thread, fn string, p *Pattern, a sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
			anchored, _ := p.anchoredForms()
			return reMatch(th, fn, p, anchored, a, kw)
		},
		"fullmatch": func(th *sl.Thread, fn string, p *Pattern, a sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
			_, full := p.anchoredForms()
			return reMatch(th, fn, p, full, a, kw)
		},
		"search": func(th *sl.Thread, fn string, p *Pattern, a sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
			return reMatch(th, fn, p, p.re, a, kw)
		},
		"findall":  reFindall,
		"finditer": reFinditer,
		"sub": func(th *sl.Thread, fn string, p *Pattern, a sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
			return reSub(th, fn, p, a, kw, false)
		},
		"subn": func(th *sl.Thread, fn string, p *Pattern, a sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
			return reSub(th, fn, p, a, kw, true)
		},
		"split": reSplit,
	}
}

func reMatch(thread *sl.Thread, fn string, p *Pattern, re *regexp.Regexp, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var s string
	if err := sl.UnpackArgs(fn, args, kwargs, "string", &s); err != nil {
		return nil, err
	}
	if err := p.scan(thread, fn, s); err != nil {
		return nil, err
	}
	loc := re.FindStringSubmatchIndex(s)
	if loc == nil {
		return sl.None, nil
	}
	if err := charge(thread, objectCost+int64(len(loc))*8, fn); err != nil {
		return nil, err
	}
	return &Match{p: p, s: s, loc: loc}, nil
}

// all returns every match's submatch indexes, up to n (all when n < 0),
// charging for them.
func (p *Pattern) all(thread *sl.Thread, fn, s string, n int) ([][]int, error) {
	if err := p.scan(thread, fn, s); err != nil {
		return nil, err
	}
	locs := p.re.FindAllStringSubmatchIndex(s, n)
	if err := charge(thread, int64(len(locs))*(objectCost+int64(2*(p.re.NumSubexp()+1))*8), fn); err != nil {
		return nil, err
	}
	return locs, nil
}

// allOf reads (string) and returns every match in it.
func (p *Pattern) allOf(thread *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (string, [][]int, error) {
	var s string
	if err := sl.UnpackArgs(fn, args, kwargs, "string", &s); err != nil {
		return "", nil, err
	}
	locs, err := p.all(thread, fn, s, -1)
	return s, locs, err
}

func reFindall(thread *sl.Thread, fn string, p *Pattern, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	s, locs, err := p.allOf(thread, fn, args, kwargs)
	if err != nil {
		return nil, err
	}
	groups := p.re.NumSubexp()
	per := int64(stringCost)
	if groups > 1 {
		per = int64(groups)*(stringCost+slotCost) + 24
	}
	if err := charge(thread, listBytes(len(locs))+int64(len(locs))*per, fn); err != nil {
		return nil, err
	}
	out := make([]sl.Value, len(locs))
	for i, loc := range locs {
		switch groups {
		case 0:
			out[i] = sl.String(s[loc[0]:loc[1]])
		case 1:
			out[i] = groupText(s, loc, 1, sl.String(""))
		default:
			t := make(sl.Tuple, groups)
			for g := 1; g <= groups; g++ {
				t[g-1] = groupText(s, loc, g, sl.String(""))
			}
			out[i] = t
		}
	}
	return sl.NewList(out), nil
}

func reFinditer(thread *sl.Thread, fn string, p *Pattern, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	s, locs, err := p.allOf(thread, fn, args, kwargs)
	if err != nil {
		return nil, err
	}
	if err := charge(thread, listBytes(len(locs)), fn); err != nil {
		return nil, err
	}
	out := make([]sl.Value, len(locs))
	for i, loc := range locs {
		out[i] = &Match{p: p, s: s, loc: loc}
	}
	return sl.NewList(out), nil
}

func reSplit(thread *sl.Thread, fn string, p *Pattern, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var s string
	maxsplit := 0
	if err := sl.UnpackArgs(fn, args, kwargs, "string", &s, "maxsplit?", &maxsplit); err != nil {
		return nil, err
	}
	n := -1
	if maxsplit > 0 {
		n = maxsplit
	}
	locs, err := p.all(thread, fn, s, n)
	if err != nil {
		return nil, err
	}
	groups := p.re.NumSubexp()
	if err := charge(thread, listBytes((len(locs)+1)*(groups+1))+int64((len(locs)+1)*(groups+1))*stringCost, fn); err != nil {
		return nil, err
	}
	var out []sl.Value
	last := 0
	for _, loc := range locs {
		out = append(out, sl.String(s[last:loc[0]]))
		for g := 1; g <= groups; g++ {
			out = append(out, groupText(s, loc, g, sl.None))
		}
		last = loc[1]
	}
	out = append(out, sl.String(s[last:]))
	return sl.NewList(out), nil
}

func reSub(thread *sl.Thread, fn string, p *Pattern, args sl.Tuple, kwargs []sl.Tuple, withCount bool) (sl.Value, error) {
	var repl sl.Value
	var s string
	count := 0
	if err := sl.UnpackArgs(fn, args, kwargs, "repl", &repl, "string", &s, "count?", &count); err != nil {
		return nil, err
	}
	n := -1
	if count > 0 {
		n = count
	}
	var tmpl []replPart
	callable, isFunc := repl.(sl.Callable)
	if !isFunc {
		r, ok := repl.(sl.String)
		if !ok {
			return nil, fmt.Errorf("%s: repl: got %s, want str or a function", fn, repl.Type())
		}
		var err error
		if tmpl, err = parseRepl(string(r), p.re); err != nil {
			return nil, fmt.Errorf("%s: %w", fn, err)
		}
	}
	locs, err := p.all(thread, fn, s, n)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	last := 0
	for _, loc := range locs {
		b.WriteString(s[last:loc[0]])
		if isFunc {
			v, err := sl.Call(thread, callable, sl.Tuple{&Match{p: p, s: s, loc: loc}}, nil)
			if err != nil {
				return nil, err
			}
			r, ok := v.(sl.String)
			if !ok {
				return nil, fmt.Errorf("%s: the replacement function returned %s, want str", fn, v.Type())
			}
			b.WriteString(string(r))
		} else {
			for _, part := range tmpl {
				if part.group < 0 {
					b.WriteString(part.text)
				} else if loc[2*part.group] >= 0 {
					b.WriteString(s[loc[2*part.group]:loc[2*part.group+1]])
				}
			}
		}
		if err := charge(thread, int64(b.Len()-last), fn); err != nil {
			return nil, err
		}
		if err := spendBytes(thread, b.Len()-last, fn); err != nil {
			return nil, err
		}
		last = loc[1]
	}
	b.WriteString(s[last:])
	if err := charge(thread, textBytes(len(s)-last), fn); err != nil {
		return nil, err
	}
	if withCount {
		return sl.Tuple{sl.String(b.String()), sl.MakeInt(len(locs))}, nil
	}
	return sl.String(b.String()), nil
}

// replPart is literal text (group < 0) or a group of a replacement.
type replPart struct {
	text  string
	group int
}

// parseRepl reads a Python replacement template: \1, \g<1>, \g<name>
// and the escapes \n, \t, \\ and so on.
func parseRepl(r string, re *regexp.Regexp) ([]replPart, error) {
	var parts []replPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, replPart{text: lit.String(), group: -1})
			lit.Reset()
		}
	}
	group := func(g int, ref string) error {
		if g > re.NumSubexp() {
			return fmt.Errorf("invalid group reference %s in the replacement: the pattern has %s", ref, plural(re.NumSubexp(), "group"))
		}
		flush()
		parts = append(parts, replPart{group: g})
		return nil
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if c != '\\' || i+1 >= len(r) {
			lit.WriteByte(c)
			continue
		}
		i++
		switch n := r[i]; {
		case n >= '0' && n <= '9':
			j := i + 1
			if j < len(r) && r[j] >= '0' && r[j] <= '9' {
				j++
			}
			g, _ := strconv.Atoi(r[i:j])
			if err := group(g, `\`+r[i:j]); err != nil {
				return nil, err
			}
			i = j - 1
		case n == 'g':
			end := strings.IndexByte(r[i:], '>')
			if i+1 >= len(r) || r[i+1] != '<' || end < 0 {
				return nil, fmt.Errorf(`missing < or > in \g<...> of the replacement`)
			}
			ref := r[i+2 : i+end]
			g, err := strconv.Atoi(ref)
			if err != nil {
				g = re.SubexpIndex(ref)
				if g < 0 {
					return nil, fmt.Errorf("unknown group name %q in the replacement", ref)
				}
			}
			if err := group(g, `\g<`+ref+`>`); err != nil {
				return nil, err
			}
			i += end
		default:
			if e, ok := map[byte]string{'n': "\n", 't': "\t", 'r': "\r", 'f': "\f", 'v': "\v", 'a': "\a", 'b': "\b", '\\': `\`}[n]; ok {
				lit.WriteString(e)
			} else {
				lit.WriteByte('\\')
				lit.WriteByte(n)
			}
		}
	}
	flush()
	return parts, nil
}

// groupText returns group g of a match, or none when it did not take
// part.
func groupText(s string, loc []int, g int, none sl.Value) sl.Value {
	if loc[2*g] < 0 {
		return none
	}
	return sl.String(s[loc[2*g]:loc[2*g+1]])
}

// Match is one match, as Python's re.Match.
type Match struct {
	p   *Pattern
	s   string
	loc []int
}

var (
	_ sl.HasAttrs = (*Match)(nil)
	_ sl.Mapping  = (*Match)(nil)
)

func (m *Match) String() string {
	return fmt.Sprintf("<re.Match object; span=(%d, %d), match=%s>", m.loc[0], m.loc[1], sl.String(m.s[m.loc[0]:m.loc[1]]).String())
}
func (m *Match) Type() string          { return "re.Match" }
func (m *Match) Freeze()               {}
func (m *Match) Truth() sl.Bool        { return sl.True }
func (m *Match) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: re.Match") }

// Get is m[g]: m[0] is the whole match, m[1] or m["name"] a group.
func (m *Match) Get(k sl.Value) (sl.Value, bool, error) {
	g, err := m.index(k)
	if err != nil {
		return nil, false, err
	}
	return groupText(m.s, m.loc, g, sl.None), true, nil
}

func (m *Match) index(k sl.Value) (int, error) {
	switch x := k.(type) {
	case sl.String:
		g := m.p.re.SubexpIndex(string(x))
		if g < 0 {
			return 0, fmt.Errorf("no such group %q", string(x))
		}
		return g, nil
	case sl.Int:
		g, ok := x.Int64()
		if !ok || g < 0 || int(g) > m.p.re.NumSubexp() {
			return 0, fmt.Errorf("no such group %s: the pattern has %s", x, plural(m.p.re.NumSubexp(), "group"))
		}
		return int(g), nil
	}
	return 0, fmt.Errorf("group: got %s, want an int or a group name", k.Type())
}

var matchAttrs = []string{"end", "group", "groupdict", "groups", "lastgroup", "lastindex", "pos", "re", "span", "start", "string"}

func (m *Match) AttrNames() []string { return matchAttrs }

func (m *Match) Attr(name string) (sl.Value, error) {
	switch name {
	case "string":
		return sl.String(m.s), nil
	case "re":
		return m.p, nil
	case "pos":
		return sl.MakeInt(0), nil
	case "lastindex", "lastgroup":
		last := -1
		for g := 1; g <= m.p.re.NumSubexp(); g++ {
			if m.loc[2*g+1] >= 0 && (last < 0 || m.loc[2*g+1] >= m.loc[2*last+1]) {
				last = g
			}
		}
		if last < 0 {
			return sl.None, nil
		}
		if name == "lastindex" {
			return sl.MakeInt(last), nil
		}
		if n := m.p.re.SubexpNames()[last]; n != "" {
			return sl.String(n), nil
		}
		return sl.None, nil
	}
	var f func(args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error)
	switch name {
	case "group":
		f = func(args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if len(kwargs) > 0 {
				return nil, fmt.Errorf("group: takes no keyword arguments")
			}
			if len(args) == 0 {
				return sl.String(m.s[m.loc[0]:m.loc[1]]), nil
			}
			out := make(sl.Tuple, len(args))
			for i, a := range args {
				v, _, err := m.Get(a)
				if err != nil {
					return nil, fmt.Errorf("group: %w", err)
				}
				out[i] = v
			}
			if len(out) == 1 {
				return out[0], nil
			}
			return out, nil
		}
	case "groups":
		f = func(args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var def sl.Value = sl.None
			if err := sl.UnpackArgs("groups", args, kwargs, "default?", &def); err != nil {
				return nil, err
			}
			out := make(sl.Tuple, m.p.re.NumSubexp())
			for g := range out {
				out[g] = groupText(m.s, m.loc, g+1, def)
			}
			return out, nil
		}
	case "groupdict":
		f = func(args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var def sl.Value = sl.None
			if err := sl.UnpackArgs("groupdict", args, kwargs, "default?", &def); err != nil {
				return nil, err
			}
			d := sl.NewDict(0)
			for g, n := range m.p.re.SubexpNames() {
				if n != "" {
					d.SetKey(sl.String(n), groupText(m.s, m.loc, g, def))
				}
			}
			return d, nil
		}
	case "start", "end", "span":
		f = func(args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var k sl.Value = sl.MakeInt(0)
			if err := sl.UnpackArgs(name, args, kwargs, "group?", &k); err != nil {
				return nil, err
			}
			g, err := m.index(k)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			start, end := sl.MakeInt(m.loc[2*g]), sl.MakeInt(m.loc[2*g+1])
			switch name {
			case "start":
				return start, nil
			case "end":
				return end, nil
			}
			return sl.Tuple{start, end}, nil
		}
	default:
		return nil, nil
	}
	return sl.NewBuiltin("Match."+name, func(_ *sl.Thread, _ *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		return f(args, kwargs)
	}), nil
}
