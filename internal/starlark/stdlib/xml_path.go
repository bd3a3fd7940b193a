package stdlib

import (
	"fmt"
	"strconv"
	"strings"

	sl "go.starlark.net/starlark"
)

// Axes of a path step.
const (
	axisChild = iota
	axisDescendant
	axisSelf
	axisParent
)

// pathStep is one step of an ElementPath: a.b/c[@id='1'].
type pathStep struct {
	axis  int
	tag   string // for child and descendant steps: a qualified tag or *
	preds []pathPred
}

// pathPred is a [predicate]: an attribute ([@a], [@a='v']), a child
// ([b], [b='text']), the element's own text ([.='text']) or a position
// ([1], [last()], [last()-1]).
type pathPred struct {
	kind   byte // '@' attribute, 'c' child, '.' own text, '#' position
	name   string
	value  *string
	negate bool
	pos    int // 1-based; for last(), 0 minus the offset
	last   bool
}

// parsePath reads the subset of XPath that ElementTree's find takes.
func parsePath(path string, ns map[string]string) ([]pathStep, error) {
	p := strings.TrimSpace(path)
	if p == "" {
		return nil, fmt.Errorf("empty path")
	}
	if strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("cannot use absolute path %q on an element: start it with . or a tag, as in .//item", path)
	}
	var steps []pathStep
	axis := axisChild
	for i := 0; i < len(p); {
		switch {
		case strings.HasPrefix(p[i:], "//"):
			axis = axisDescendant
			i += 2
			continue
		case p[i] == '/':
			i++
			if i == len(p) {
				return nil, fmt.Errorf("path %q ends with /", path)
			}
			continue
		}
		step := pathStep{axis: axis}
		axis = axisChild
		switch {
		case strings.HasPrefix(p[i:], ".."):
			if step.axis == axisDescendant {
				return nil, fmt.Errorf("path %q: // must be followed by a tag or *", path)
			}
			step.axis = axisParent
			i += 2
		case p[i] == '.':
			if step.axis == axisDescendant {
				return nil, fmt.Errorf("path %q: // must be followed by a tag or *", path)
			}
			step.axis = axisSelf
			i++
		default:
			j := i
			if p[j] == '{' {
				end := strings.IndexByte(p[j:], '}')
				if end < 0 {
					return nil, fmt.Errorf("path %q: missing }", path)
				}
				j += end + 1
			}
			for j < len(p) && p[j] != '/' && p[j] != '[' {
				j++
			}
			tag, err := expandName(p[i:j], ns)
			if err != nil {
				return nil, fmt.Errorf("path %q: %w", path, err)
			}
			if tag == "" {
				return nil, fmt.Errorf("path %q: a step has no tag", path)
			}
			step.tag = tag
			i = j
		}
		for i < len(p) && p[i] == '[' {
			end := predicateEnd(p, i)
			if end < 0 {
				return nil, fmt.Errorf("path %q: missing ]", path)
			}
			pred, err := parsePred(p[i+1:end], ns)
			if err != nil {
				return nil, fmt.Errorf("path %q: %w", path, err)
			}
			step.preds = append(step.preds, pred)
			i = end + 1
		}
		if i < len(p) && p[i] != '/' {
			return nil, fmt.Errorf("path %q: unexpected %q", path, p[i:])
		}
		steps = append(steps, step)
	}
	if axis == axisDescendant {
		return nil, fmt.Errorf("path %q ends with //", path)
	}
	return steps, nil
}

// predicateEnd finds the ] closing the predicate opened at i, past quoted
// strings.
func predicateEnd(p string, i int) int {
	var quote byte
	for j := i + 1; j < len(p); j++ {
		switch c := p[j]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == ']':
			return j
		}
	}
	return -1
}

// expandName turns prefix:local into {uri}local with ns; "" in ns is the
// default namespace of unprefixed names.
func expandName(name string, ns map[string]string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "*" || strings.HasPrefix(name, "{") {
		return name, nil
	}
	if prefix, local, ok := strings.Cut(name, ":"); ok {
		uri, found := ns[prefix]
		if !found {
			return "", fmt.Errorf("prefix %q is not in namespaces", prefix)
		}
		return "{" + uri + "}" + local, nil
	}
	if uri, ok := ns[""]; ok && uri != "" {
		return "{" + uri + "}" + name, nil
	}
	return name, nil
}

func parsePred(s string, ns map[string]string) (pathPred, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 {
			return pathPred{}, fmt.Errorf("position [%d]: positions start at 1", n)
		}
		return pathPred{kind: '#', pos: n}, nil
	}
	if rest, ok := strings.CutPrefix(s, "last()"); ok {
		rest = strings.TrimSpace(rest)
		off := 0
		if rest != "" {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(rest, "-")))
			if err != nil || !strings.HasPrefix(rest, "-") {
				return pathPred{}, fmt.Errorf("unsupported predicate [%s]", s)
			}
			off = n
		}
		return pathPred{kind: '#', last: true, pos: -off}, nil
	}
	pred := pathPred{kind: 'c'}
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		pred.kind, s = '@', rest
	}
	name, value := s, ""
	hasValue := false
	if i := strings.Index(s, "!="); i >= 0 {
		name, value, hasValue, pred.negate = s[:i], s[i+2:], true, true
	} else if i := strings.IndexByte(s, '='); i >= 0 {
		name, value, hasValue = s[:i], s[i+1:], true
	}
	name = strings.TrimSpace(name)
	if hasValue {
		v := strings.TrimSpace(value)
		if len(v) < 2 || (v[0] != '\'' && v[0] != '"') || v[len(v)-1] != v[0] {
			return pathPred{}, fmt.Errorf("predicate [%s]: quote the value, as in [@id='1']", s)
		}
		v = v[1 : len(v)-1]
		pred.value = &v
	}
	if name == "." && pred.kind == 'c' {
		if !hasValue {
			return pathPred{}, fmt.Errorf("unsupported predicate [.]")
		}
		pred.kind = '.'
		return pred, nil
	}
	expanded, err := expandName(name, ns)
	if err != nil {
		return pathPred{}, err
	}
	if pred.kind == '@' && strings.HasPrefix(name, "{") {
		expanded = name
	}
	if expanded == "" {
		return pathPred{}, fmt.Errorf("unsupported predicate [%s]", s)
	}
	pred.name = expanded
	return pred, nil
}

// textOf is the text of an element and its descendants, as
// "".join(e.itertext()).
func textOf(e *Element) string {
	var b strings.Builder
	var rec func(x *Element, depth int)
	rec = func(x *Element, depth int) {
		if depth > MaxXMLDepth {
			return
		}
		if s, ok := x.text.(sl.String); ok {
			b.WriteString(string(s))
		}
		for _, c := range x.children {
			rec(c, depth+1)
			if s, ok := c.tail.(sl.String); ok {
				b.WriteString(string(s))
			}
		}
	}
	rec(e, 0)
	return b.String()
}

// evalPath returns the elements a path selects from e, in document order.
func evalPath(e *Element, steps []pathStep) ([]*Element, error) {
	var parents map[*Element]*Element
	parentOf := func(x *Element) *Element {
		if parents == nil {
			parents = map[*Element]*Element{}
			e.walk(func(p *Element) error {
				for _, c := range p.children {
					parents[c] = p
				}
				return nil
			})
		}
		return parents[x]
	}
	ctx := []*Element{e}
	for _, step := range steps {
		var next []*Element
		seen := map[*Element]bool{}
		add := func(x *Element) {
			if !seen[x] {
				seen[x] = true
				next = append(next, x)
			}
		}
		for _, c := range ctx {
			var cand []*Element
			switch step.axis {
			case axisSelf:
				cand = []*Element{c}
			case axisParent:
				if p := parentOf(c); p != nil {
					cand = []*Element{p}
				}
			case axisChild:
				for _, x := range c.children {
					if matchTag(step.tag, x.tag) {
						cand = append(cand, x)
					}
				}
			case axisDescendant:
				err := c.walk(func(x *Element) error {
					if x != c && matchTag(step.tag, x.tag) {
						cand = append(cand, x)
					}
					return nil
				})
				if err != nil {
					return nil, err
				}
			}
			for _, pred := range step.preds {
				cand = filterPred(cand, pred, parentOf)
			}
			for _, x := range cand {
				add(x)
			}
		}
		ctx = next
	}
	return ctx, nil
}

func filterPred(cand []*Element, pred pathPred, parentOf func(*Element) *Element) []*Element {
	var out []*Element
	for _, x := range cand {
		keep := false
		switch pred.kind {
		case '@':
			v, found, _ := x.attrib.Get(sl.String(pred.name))
			switch {
			case pred.value == nil:
				keep = found
			case pred.negate:
				keep = found && v != sl.String(*pred.value)
			default:
				keep = found && v == sl.String(*pred.value)
			}
		case '.':
			keep = (textOf(x) == *pred.value) != pred.negate
		case 'c':
			for _, c := range x.children {
				if !matchTag(pred.name, c.tag) {
					continue
				}
				if pred.value == nil || (textOf(c) == *pred.value) != pred.negate {
					keep = true
					break
				}
			}
		case '#':
			p := parentOf(x)
			if p == nil {
				break
			}
			var same []*Element
			for _, c := range p.children {
				if c.tag == x.tag {
					same = append(same, c)
				}
			}
			i := pred.pos - 1
			if pred.last {
				i = len(same) - 1 + pred.pos
			}
			keep = i >= 0 && i < len(same) && same[i] == x
		}
		if keep {
			out = append(out, x)
		}
	}
	return out
}

// pathArgs reads (path, namespaces=None) and evaluates the path.
func pathArgs(thread *sl.Thread, fn string, e *Element, args sl.Tuple, kwargs []sl.Tuple, extra ...any) ([]*Element, error) {
	var path string
	var namespaces sl.Value = sl.None
	pairs := append([]any{"path", &path}, extra...)
	pairs = append(pairs, "namespaces?", &namespaces)
	if err := sl.UnpackArgs(fn, args, kwargs, pairs...); err != nil {
		return nil, err
	}
	ns := map[string]string{}
	if namespaces != sl.None {
		m, ok := namespaces.(sl.IterableMapping)
		if !ok {
			return nil, fmt.Errorf("%s: namespaces must be a dict of prefix: uri", fn)
		}
		for _, kv := range m.Items() {
			p, ok1 := kv[0].(sl.String)
			u, ok2 := kv[1].(sl.String)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%s: namespaces must be a dict of prefix: uri", fn)
			}
			ns[string(p)] = string(u)
		}
	}
	steps, err := parsePath(path, ns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	found, err := evalPath(e, steps)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	if err := spend(thread, uint64(len(found)*len(steps))+1, fn); err != nil {
		return nil, err
	}
	return found, nil
}

func elemFind(thread *sl.Thread, fn string, e *Element, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	found, err := pathArgs(thread, fn, e, args, kwargs)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return sl.None, nil
	}
	return found[0], nil
}

func elemFindall(thread *sl.Thread, fn string, e *Element, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	found, err := pathArgs(thread, fn, e, args, kwargs)
	if err != nil {
		return nil, err
	}
	out := make([]sl.Value, len(found))
	for i, x := range found {
		out[i] = x
	}
	return sl.NewList(out), charge(thread, listBytes(len(out)), fn)
}

func elemFindtext(thread *sl.Thread, fn string, e *Element, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var def sl.Value = sl.None
	found, err := pathArgs(thread, fn, e, args, kwargs, "default?", &def)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return def, nil
	}
	if s, ok := found[0].text.(sl.String); ok {
		return s, nil
	}
	return sl.String(""), nil
}
