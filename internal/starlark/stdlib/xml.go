package stdlib

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	sl "go.starlark.net/starlark"
	"golang.org/x/text/encoding/htmlindex"
)

// MaxXMLDepth is the deepest nesting of elements xml reads and writes.
const MaxXMLDepth = 1000

// xmlModule is xml: Python's xml.etree.ElementTree in brief (fromstring,
// tostring, Element, SubElement, and elements with find, findall,
// findtext, iter, get, text, attrib) and to_dict/from_dict for mapping
// documents to dicts.
func xmlModule() sl.Value {
	return module("xml", fns("xml", map[string]builtinFunc{
		"fromstring": xmlFromString,
		"parse":      xmlFromString,
		"XML":        xmlFromString,
		"tostring":   xmlToString,
		"Element":    xmlElement,
		"SubElement": xmlSubElement,
		"to_dict":    xmlToDict,
		"from_dict":  xmlFromDict,
	}))
}

// Element is an XML element, as Python's xml.etree.ElementTree.Element:
// a tag ("{namespace}name" when it has a namespace), attributes, text
// before its first child, tail after its end, and children.
type Element struct {
	tag      string
	attrib   *sl.Dict
	text     sl.Value // str or None
	tail     sl.Value
	children []*Element
	frozen   bool
}

var (
	_ sl.HasAttrs    = (*Element)(nil)
	_ sl.HasSetField = (*Element)(nil)
	_ sl.Indexable   = (*Element)(nil)
	_ sl.Iterable    = (*Element)(nil)
)

func newElement(tag string) *Element {
	return &Element{tag: tag, attrib: sl.NewDict(0), text: sl.None, tail: sl.None}
}

func (e *Element) String() string        { return fmt.Sprintf("<Element %s>", sl.String(e.tag).String()) }
func (e *Element) Type() string          { return "xml.Element" }
func (e *Element) Truth() sl.Bool        { return sl.True }
func (e *Element) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: xml.Element") }
func (e *Element) Len() int              { return len(e.children) }
func (e *Element) Index(i int) sl.Value  { return e.children[i] }

func (e *Element) Freeze() {
	if e.frozen {
		return
	}
	e.frozen = true
	e.attrib.Freeze()
	for _, c := range e.children {
		c.Freeze()
	}
}

func (e *Element) Iterate() sl.Iterator {
	vs := make([]sl.Value, len(e.children))
	for i, c := range e.children {
		vs[i] = c
	}
	return sl.NewList(vs).Iterate()
}

func (e *Element) checkMutable(what string) error {
	if e.frozen {
		return fmt.Errorf("cannot %s a frozen xml.Element (module-level values are frozen after load)", what)
	}
	return nil
}

func (e *Element) SetField(name string, v sl.Value) error {
	if err := e.checkMutable("change"); err != nil {
		return err
	}
	switch name {
	case "tag":
		s, ok := v.(sl.String)
		if !ok {
			return fmt.Errorf("xml.Element.tag must be a string, not %s", v.Type())
		}
		e.tag = string(s)
	case "text", "tail":
		switch v.(type) {
		case sl.String, sl.NoneType:
		default:
			v = sl.String(v.String())
		}
		if name == "text" {
			e.text = v
		} else {
			e.tail = v
		}
	case "attrib":
		d, ok := v.(*sl.Dict)
		if !ok {
			return fmt.Errorf("xml.Element.attrib must be a dict, not %s", v.Type())
		}
		e.attrib = d
	default:
		return sl.NoSuchAttrError(fmt.Sprintf("xml.Element has no field %q", name))
	}
	return nil
}

var elementAttrs = []string{"append", "attrib", "clear", "extend", "find", "findall", "findtext", "get", "insert", "items", "iter", "itertext", "keys", "remove", "set", "tag", "tail", "text"}

func (e *Element) AttrNames() []string { return elementAttrs }

func (e *Element) Attr(name string) (sl.Value, error) {
	switch name {
	case "tag":
		return sl.String(e.tag), nil
	case "attrib":
		return e.attrib, nil
	case "text":
		return e.text, nil
	case "tail":
		return e.tail, nil
	}
	m, ok := elementMethods[name]
	if !ok {
		return nil, nil
	}
	return sl.NewBuiltin("Element."+name, func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		return m(thread, b.Name(), e, args, kwargs)
	}), nil
}

type elementMethod func(thread *sl.Thread, fn string, e *Element, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error)

var elementMethods map[string]elementMethod

func init() {
	elementMethods = map[string]elementMethod{
		"find":     elemFind,
		"findall":  elemFindall,
		"findtext": elemFindtext,
		"iter":     elemIter,
		"itertext": elemItertext,
		"get": func(_ *sl.Thread, fn string, e *Element, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var key, def sl.Value = nil, sl.None
			if err := sl.UnpackArgs(fn, args, kwargs, "key", &key, "default?", &def); err != nil {
				return nil, err
			}
			v, found, err := e.attrib.Get(key)
			if err != nil || !found {
				return def, err
			}
			return v, nil
		},
		"set": func(_ *sl.Thread, fn string, e *Element, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var key, val sl.Value
			if err := sl.UnpackPositionalArgs(fn, args, kwargs, 2, &key, &val); err != nil {
				return nil, err
			}
			if err := e.checkMutable("change"); err != nil {
				return nil, err
			}
			return sl.None, e.attrib.SetKey(key, val)
		},
		"keys": func(_ *sl.Thread, fn string, e *Element, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
				return nil, err
			}
			return sl.NewList(e.attrib.Keys()), nil
		},
		"items": func(_ *sl.Thread, fn string, e *Element, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
				return nil, err
			}
			var out []sl.Value
			for _, kv := range e.attrib.Items() {
				out = append(out, kv)
			}
			return sl.NewList(out), nil
		},
		"append": func(_ *sl.Thread, fn string, e *Element, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var c *Element
			if err := sl.UnpackPositionalArgs(fn, args, kwargs, 1, &c); err != nil {
				return nil, err
			}
			if err := e.adopt(c); err != nil {
				return nil, err
			}
			e.children = append(e.children, c)
			return sl.None, nil
		},
		"extend": func(_ *sl.Thread, fn string, e *Element, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var it sl.Iterable
			if err := sl.UnpackPositionalArgs(fn, args, kwargs, 1, &it); err != nil {
				return nil, err
			}
			iter := it.Iterate()
			defer iter.Done()
			var x sl.Value
			for iter.Next(&x) {
				c, ok := x.(*Element)
				if !ok {
					return nil, fmt.Errorf("%s: got %s, want xml.Element", fn, x.Type())
				}
				if err := e.adopt(c); err != nil {
					return nil, err
				}
				e.children = append(e.children, c)
			}
			return sl.None, nil
		},
		"insert": func(_ *sl.Thread, fn string, e *Element, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var i int
			var c *Element
			if err := sl.UnpackPositionalArgs(fn, args, kwargs, 2, &i, &c); err != nil {
				return nil, err
			}
			if err := e.adopt(c); err != nil {
				return nil, err
			}
			if i < 0 {
				i += len(e.children)
			}
			i = max(0, min(i, len(e.children)))
			e.children = append(e.children[:i], append([]*Element{c}, e.children[i:]...)...)
			return sl.None, nil
		},
		"remove": func(_ *sl.Thread, fn string, e *Element, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var c *Element
			if err := sl.UnpackPositionalArgs(fn, args, kwargs, 1, &c); err != nil {
				return nil, err
			}
			if err := e.checkMutable("change"); err != nil {
				return nil, err
			}
			for i, x := range e.children {
				if x == c {
					e.children = append(e.children[:i], e.children[i+1:]...)
					return sl.None, nil
				}
			}
			return nil, fmt.Errorf("%s: the element is not a child", fn)
		},
		"clear": func(_ *sl.Thread, fn string, e *Element, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
				return nil, err
			}
			if err := e.checkMutable("change"); err != nil {
				return nil, err
			}
			e.attrib, e.text, e.tail, e.children = sl.NewDict(0), sl.None, sl.None, nil
			return sl.None, nil
		},
	}
}

// adopt checks that c may become a child of e: no cycle, e mutable.
func (e *Element) adopt(c *Element) error {
	if err := e.checkMutable("change"); err != nil {
		return err
	}
	if c == e || c.contains(e, 0) {
		return fmt.Errorf("an element cannot be its own descendant")
	}
	return nil
}

func (e *Element) contains(x *Element, depth int) bool {
	if depth > MaxXMLDepth {
		return true
	}
	for _, c := range e.children {
		if c == x || c.contains(x, depth+1) {
			return true
		}
	}
	return false
}

// walk calls f on e and its descendants in document order.
func (e *Element) walk(f func(*Element) error) error {
	type frame struct {
		e     *Element
		depth int
	}
	stack := []frame{{e, 0}}
	for len(stack) > 0 {
		fr := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if fr.depth > MaxXMLDepth {
			return fmt.Errorf("the document is nested more than %d levels deep", MaxXMLDepth)
		}
		if err := f(fr.e); err != nil {
			return err
		}
		for i := len(fr.e.children) - 1; i >= 0; i-- {
			stack = append(stack, frame{fr.e.children[i], fr.depth + 1})
		}
	}
	return nil
}

func elemIter(thread *sl.Thread, fn string, e *Element, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var tag sl.Value = sl.None
	if err := sl.UnpackArgs(fn, args, kwargs, "tag?", &tag); err != nil {
		return nil, err
	}
	want := ""
	if s, ok := tag.(sl.String); ok && s != "*" {
		want = string(s)
	}
	var out []sl.Value
	err := e.walk(func(x *Element) error {
		if want == "" || matchTag(want, x.tag) {
			out = append(out, x)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn, err)
	}
	if err := spend(thread, uint64(len(out))/4+1, fn); err != nil {
		return nil, err
	}
	return sl.NewList(out), charge(thread, listBytes(len(out)), fn)
}

func elemItertext(thread *sl.Thread, fn string, e *Element, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
		return nil, err
	}
	var out []sl.Value
	var rec func(x *Element, depth int) error
	rec = func(x *Element, depth int) error {
		if depth > MaxXMLDepth {
			return fmt.Errorf("%s: the document is nested more than %d levels deep", fn, MaxXMLDepth)
		}
		if s, ok := x.text.(sl.String); ok && s != "" {
			out = append(out, s)
		}
		for _, c := range x.children {
			if err := rec(c, depth+1); err != nil {
				return err
			}
			if s, ok := c.tail.(sl.String); ok && s != "" {
				out = append(out, s)
			}
		}
		return nil
	}
	if err := rec(e, 0); err != nil {
		return nil, err
	}
	return sl.NewList(out), charge(thread, listBytes(len(out)), fn)
}

// fromString parses a document into its root element.
func fromString(thread *sl.Thread, fn, src string) (*Element, error) {
	if err := spendBytes(thread, len(src)*4, fn); err != nil {
		return nil, err
	}
	dec := xml.NewDecoder(strings.NewReader(src))
	dec.Strict = true
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		enc, err := htmlindex.Get(label)
		if err != nil {
			return nil, fmt.Errorf("unknown encoding %q", label)
		}
		return enc.NewDecoder().Reader(in), nil
	}
	var root *Element
	var stack []*Element
	var allocated int64
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s", fn, strings.TrimPrefix(err.Error(), "XML syntax error on "))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= MaxXMLDepth {
				return nil, fmt.Errorf("%s: the document is nested more than %d levels deep", fn, MaxXMLDepth)
			}
			if root != nil && len(stack) == 0 {
				return nil, fmt.Errorf("%s: junk after the document element <%s>", fn, root.tag)
			}
			el := newElement(qualified(t.Name))
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				el.attrib.SetKey(sl.String(qualified(a.Name)), sl.String(a.Value))
			}
			n := objectCost + int64(dictBytes(len(t.Attr))) + int64(len(t.Name.Local))
			allocated += n
			if err := charge(thread, n, fn); err != nil {
				return nil, err
			}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, el)
			} else {
				root = el
			}
			stack = append(stack, el)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, fmt.Errorf("%s: text outside the document element", fn)
				}
				continue
			}
			if err := charge(thread, textBytes(len(t)), fn); err != nil {
				return nil, err
			}
			cur := stack[len(stack)-1]
			if len(cur.children) == 0 {
				cur.text = appendText(cur.text, string(t))
			} else {
				last := cur.children[len(cur.children)-1]
				last.tail = appendText(last.tail, string(t))
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%s: no element found", fn)
	}
	return root, nil
}

func appendText(v sl.Value, s string) sl.Value {
	if old, ok := v.(sl.String); ok {
		return old + sl.String(s)
	}
	return sl.String(s)
}

// qualified writes a name as ElementTree does: {namespace}local.
func qualified(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return "{" + n.Space + "}" + n.Local
}

// splitTag returns the namespace and local name of a qualified tag.
func splitTag(tag string) (space, local string) {
	if strings.HasPrefix(tag, "{") {
		if i := strings.IndexByte(tag, '}'); i > 0 {
			return tag[1:i], tag[i+1:]
		}
	}
	return "", tag
}

// matchTag reports whether a tag matches a path's name: "{*}name" matches
// name in any namespace, "{}name" none.
func matchTag(want, tag string) bool {
	if want == "*" {
		return true
	}
	if local, ok := strings.CutPrefix(want, "{*}"); ok {
		_, l := splitTag(tag)
		return local == "*" || l == local
	}
	if local, ok := strings.CutPrefix(want, "{}"); ok {
		return !strings.HasPrefix(tag, "{") && (local == "*" || tag == local)
	}
	if ns, ok := strings.CutSuffix(want, "}*"); ok {
		space, _ := splitTag(tag)
		return "{"+space == ns
	}
	return want == tag
}

func xmlFromString(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var v sl.Value
	if err := sl.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	s, err := text(b.Name(), v)
	if err != nil {
		return nil, err
	}
	return fromString(thread, b.Name(), s)
}

// attribArgs makes the attributes of Element(tag, attrib, **extra).
func attribArgs(fn string, attrib sl.Value, kwargs []sl.Tuple) (*sl.Dict, error) {
	d := sl.NewDict(len(kwargs))
	if attrib != nil && attrib != sl.None {
		m, ok := attrib.(sl.IterableMapping)
		if !ok {
			return nil, fmt.Errorf("%s: attrib must be a dict, not %s", fn, attrib.Type())
		}
		for _, kv := range m.Items() {
			d.SetKey(kv[0], kv[1])
		}
	}
	for _, kv := range kwargs {
		d.SetKey(kv[0], kv[1])
	}
	return d, nil
}

func xmlElement(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var tag string
	var attrib sl.Value = sl.None
	if err := sl.UnpackPositionalArgs(b.Name(), args, nil, 1, &tag, &attrib); err != nil {
		return nil, err
	}
	d, err := attribArgs(b.Name(), attrib, kwargs)
	if err != nil {
		return nil, err
	}
	if err := charge(thread, objectCost+dictBytes(d.Len()), b.Name()); err != nil {
		return nil, err
	}
	el := newElement(tag)
	el.attrib = d
	return el, nil
}

func xmlSubElement(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var parent *Element
	var tag string
	var attrib sl.Value = sl.None
	if err := sl.UnpackPositionalArgs(b.Name(), args, nil, 2, &parent, &tag, &attrib); err != nil {
		return nil, err
	}
	d, err := attribArgs(b.Name(), attrib, kwargs)
	if err != nil {
		return nil, err
	}
	if err := parent.checkMutable("change"); err != nil {
		return nil, err
	}
	if err := charge(thread, objectCost+dictBytes(d.Len()), b.Name()); err != nil {
		return nil, err
	}
	el := newElement(tag)
	el.attrib = d
	parent.children = append(parent.children, el)
	return el, nil
}

// wellKnown are the prefixes tostring gives namespaces, as ElementTree
// does.
var wellKnown = map[string]string{
	"http://www.w3.org/XML/1998/namespace":      "xml",
	"http://www.w3.org/2001/XMLSchema":          "xs",
	"http://www.w3.org/2001/XMLSchema-instance": "xsi",
	"http://schemas.xmlsoap.org/soap/envelope/": "soapenv",
	"http://www.w3.org/2003/05/soap-envelope":   "soap12",
}

func xmlToString(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var e *Element
	var encoding sl.Value = sl.None
	var namespaces sl.Value = sl.None
	xmlDecl, pretty, short := false, false, true
	defaultNS := ""
	method := "xml"
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "element", &e, "encoding?", &encoding, "method?", &method,
		"xml_declaration?", &xmlDecl, "default_namespace?", &defaultNS, "short_empty_elements?", &short,
		"namespaces?", &namespaces, "pretty?", &pretty); err != nil {
		return nil, err
	}
	if method != "xml" && method != "text" {
		return nil, fmt.Errorf("%s: method must be \"xml\" or \"text\"", b.Name())
	}
	w := &xmlWriter{prefixes: map[string]string{}, short: short, pretty: pretty}
	if namespaces != sl.None {
		m, ok := namespaces.(sl.IterableMapping)
		if !ok {
			return nil, fmt.Errorf("%s: namespaces must be a dict of prefix: uri", b.Name())
		}
		for _, kv := range m.Items() {
			p, ok1 := kv[0].(sl.String)
			u, ok2 := kv[1].(sl.String)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%s: namespaces must be a dict of prefix: uri", b.Name())
			}
			w.prefixes[string(u)] = string(p)
		}
	}
	if defaultNS != "" {
		w.prefixes[defaultNS] = ""
	}
	if method == "text" {
		var sb strings.Builder
		v, err := elemItertext(thread, b.Name(), e, nil, nil)
		if err != nil {
			return nil, err
		}
		for s := range sl.Elements(v.(*sl.List)) {
			sb.WriteString(string(s.(sl.String)))
		}
		return sl.String(sb.String()), nil
	}
	if err := w.collect(e); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if xmlDecl {
		enc := "utf-8"
		if s, ok := encoding.(sl.String); ok && !strings.EqualFold(string(s), "unicode") {
			enc = string(s)
		}
		w.b.WriteString("<?xml version='1.0' encoding='" + enc + "'?>\n")
	}
	if err := w.element(e, 0, true); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if err := spendBytes(thread, w.b.Len(), b.Name()); err != nil {
		return nil, err
	}
	if err := charge(thread, textBytes(w.b.Len()), b.Name()); err != nil {
		return nil, err
	}
	return sl.String(w.b.String()), nil
}

// xmlWriter serialises elements as ElementTree does.
type xmlWriter struct {
	b        strings.Builder
	prefixes map[string]string // namespace → prefix
	order    []string          // namespaces in order of first use
	short    bool
	pretty   bool
}

// collect gives every namespace of the tree a prefix: its own, a
// well-known one, or ns0, ns1, …
func (w *xmlWriter) collect(root *Element) error {
	seen := map[string]bool{}
	use := func(name string) {
		space, _ := splitTag(name)
		if space == "" || seen[space] {
			return
		}
		seen[space] = true
		w.order = append(w.order, space)
		if _, ok := w.prefixes[space]; ok {
			return
		}
		if p, ok := wellKnown[space]; ok {
			w.prefixes[space] = p
			return
		}
		w.prefixes[space] = fmt.Sprintf("ns%d", len(w.prefixes))
	}
	return root.walk(func(e *Element) error {
		use(e.tag)
		for _, k := range e.attrib.Keys() {
			s, ok := k.(sl.String)
			if !ok {
				return fmt.Errorf("attribute names must be strings, not %s", k.Type())
			}
			use(string(s))
		}
		return nil
	})
}

func (w *xmlWriter) name(qn string, attr bool) string {
	space, local := splitTag(qn)
	if space == "" {
		return local
	}
	p := w.prefixes[space]
	if p == "" {
		if attr {
			return local
		}
		return local
	}
	return p + ":" + local
}

func (w *xmlWriter) element(e *Element, depth int, root bool) error {
	if depth > MaxXMLDepth {
		return fmt.Errorf("the document is nested more than %d levels deep", MaxXMLDepth)
	}
	if w.pretty && depth > 0 {
		w.b.WriteString("\n" + strings.Repeat("  ", depth))
	}
	w.b.WriteString("<" + w.name(e.tag, false))
	if root {
		for _, space := range sortedSpaces(w.order, w.prefixes) {
			p := w.prefixes[space]
			if p == "xml" {
				continue
			}
			if p == "" {
				w.b.WriteString(` xmlns="` + escapeAttr(space) + `"`)
			} else {
				w.b.WriteString(" xmlns:" + p + `="` + escapeAttr(space) + `"`)
			}
		}
	}
	for _, kv := range e.attrib.Items() {
		k := string(kv[0].(sl.String))
		var v string
		if s, ok := kv[1].(sl.String); ok {
			v = string(s)
		} else {
			v = kv[1].String()
		}
		w.b.WriteString(" " + w.name(k, true) + `="` + escapeAttr(v) + `"`)
	}
	text, _ := e.text.(sl.String)
	if len(e.children) == 0 && text == "" && w.short {
		w.b.WriteString(" />")
	} else {
		w.b.WriteString(">")
		w.b.WriteString(escapeText(string(text)))
		for _, c := range e.children {
			if err := w.element(c, depth+1, false); err != nil {
				return err
			}
		}
		if w.pretty && len(e.children) > 0 {
			w.b.WriteString("\n" + strings.Repeat("  ", depth))
		}
		w.b.WriteString("</" + w.name(e.tag, false) + ">")
	}
	if tail, ok := e.tail.(sl.String); ok && !root {
		w.b.WriteString(escapeText(string(tail)))
	}
	return nil
}

// sortedSpaces orders namespace declarations by prefix, as ElementTree
// writes them.
func sortedSpaces(order []string, prefixes map[string]string) []string {
	out := append([]string{}, order...)
	sort.SliceStable(out, func(i, j int) bool { return prefixes[out[i]] < prefixes[out[j]] })
	return out
}

var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "\n", "&#10;", "\r", "&#13;", "\t", "&#09;")
)

func escapeText(s string) string { return textEscaper.Replace(s) }
func escapeAttr(s string) string { return attrEscaper.Replace(s) }
