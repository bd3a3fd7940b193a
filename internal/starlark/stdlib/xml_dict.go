package stdlib

import (
	"fmt"
	"strings"

	sl "go.starlark.net/starlark"
)

// dictOptions say how to_dict and from_dict name attributes and text.
type dictOptions struct {
	attrPrefix, textKey string
	namespaces          bool
}

// xmlToDict is xml.to_dict(doc, attr_prefix="@", text_key="#text",
// namespaces=False): the document as dicts, the way xmltodict makes them.
// An element with only text is its text, an empty one None, repeated
// children a list; tags lose their namespaces unless namespaces=True.
func xmlToDict(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var doc sl.Value
	opts := dictOptions{attrPrefix: "@", textKey: "#text"}
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "doc", &doc, "attr_prefix?", &opts.attrPrefix, "text_key?", &opts.textKey, "namespaces?", &opts.namespaces); err != nil {
		return nil, err
	}
	var root *Element
	switch x := doc.(type) {
	case *Element:
		root = x
	case sl.String, sl.Bytes:
		s, _ := text(b.Name(), x)
		var err error
		if root, err = fromString(thread, b.Name(), s); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s: got %s, want XML text or an xml.Element", b.Name(), doc.Type())
	}
	var cost int64
	v, err := elementValue(root, opts, 0, &cost)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if err := charge(thread, cost, b.Name()); err != nil {
		return nil, err
	}
	d := sl.NewDict(1)
	d.SetKey(sl.String(opts.key(root.tag)), v)
	return d, nil
}

func (o dictOptions) key(tag string) string {
	if o.namespaces {
		return tag
	}
	_, local := splitTag(tag)
	return local
}

func elementValue(e *Element, opts dictOptions, depth int, cost *int64) (sl.Value, error) {
	if depth > MaxXMLDepth {
		return nil, fmt.Errorf("the document is nested more than %d levels deep", MaxXMLDepth)
	}
	var text strings.Builder
	if s, ok := e.text.(sl.String); ok {
		text.WriteString(string(s))
	}
	d := sl.NewDict(e.attrib.Len() + len(e.children))
	for _, kv := range e.attrib.Items() {
		k, _ := kv[0].(sl.String)
		d.SetKey(sl.String(opts.attrPrefix+opts.key(string(k))), kv[1])
	}
	for _, c := range e.children {
		v, err := elementValue(c, opts, depth+1, cost)
		if err != nil {
			return nil, err
		}
		k := sl.String(opts.key(c.tag))
		switch old, found, _ := d.Get(k); {
		case !found:
			d.SetKey(k, v)
		default:
			if l, ok := old.(*sl.List); ok && repeated(l) {
				l.Append(v)
			} else {
				d.SetKey(k, newRepeated(old, v))
			}
		}
		if s, ok := c.tail.(sl.String); ok {
			text.WriteString(string(s))
		}
	}
	t := strings.TrimSpace(text.String())
	*cost += dictBytes(d.Len()) + int64(len(t))
	switch {
	case d.Len() == 0 && t == "":
		return sl.None, nil
	case d.Len() == 0:
		return sl.String(t), nil
	case t != "":
		d.SetKey(sl.String(opts.textKey), sl.String(t))
	}
	for _, kv := range d.Items() { // lists made for repeated children become plain lists
		if l, ok := kv[1].(*sl.List); ok && repeated(l) {
			d.SetKey(kv[0], sl.NewList(listElems(l)[1:]))
		}
	}
	return d, nil
}

// repeatedMark starts the lists elementValue makes for repeated children,
// so that a child's own list value is not mistaken for one.
var repeatedMark = sl.String("\x00repeated")

func newRepeated(a, b sl.Value) *sl.List { return sl.NewList([]sl.Value{repeatedMark, a, b}) }

func repeated(l *sl.List) bool { return l.Len() > 0 && l.Index(0) == repeatedMark }

func listElems(l *sl.List) []sl.Value {
	out := make([]sl.Value, l.Len())
	for i := range out {
		out[i] = l.Index(i)
	}
	return out
}

// xmlFromDict is xml.from_dict(d, attr_prefix="@", text_key="#text"): the
// element a dict of one key (the root's tag) describes, in to_dict's
// shape; xml.tostring writes it.
func xmlFromDict(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var d *sl.Dict
	opts := dictOptions{attrPrefix: "@", textKey: "#text"}
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "d", &d, "attr_prefix?", &opts.attrPrefix, "text_key?", &opts.textKey); err != nil {
		return nil, err
	}
	if d.Len() != 1 {
		return nil, fmt.Errorf("%s: want a dict with one key, the root element's tag, as in {\"order\": {...}}; got %d keys", b.Name(), d.Len())
	}
	kv := d.Items()[0]
	tag, ok := kv[0].(sl.String)
	if !ok {
		return nil, fmt.Errorf("%s: tags are strings, not %s", b.Name(), kv[0].Type())
	}
	if _, isList := kv[1].(*sl.List); isList {
		return nil, fmt.Errorf("%s: the root element %q cannot be a list: a document has one root", b.Name(), string(tag))
	}
	var cost int64
	el, err := buildElement(string(tag), kv[1], opts, 0, &cost)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return el, charge(thread, cost, b.Name())
}

func buildElement(tag string, v sl.Value, opts dictOptions, depth int, cost *int64) (*Element, error) {
	if depth > MaxXMLDepth {
		return nil, fmt.Errorf("the dict is nested more than %d levels deep", MaxXMLDepth)
	}
	el := newElement(tag)
	*cost += objectCost
	switch x := v.(type) {
	case sl.NoneType:
	case sl.IterableMapping:
		for _, kv := range x.Items() {
			k, ok := kv[0].(sl.String)
			if !ok {
				return nil, fmt.Errorf("<%s>: keys are strings, not %s", tag, kv[0].Type())
			}
			key := string(k)
			switch {
			case key == opts.textKey:
				el.text = sl.String(scalarText(kv[1]))
			case opts.attrPrefix != "" && strings.HasPrefix(key, opts.attrPrefix):
				el.attrib.SetKey(sl.String(key[len(opts.attrPrefix):]), sl.String(scalarText(kv[1])))
			default:
				items := []sl.Value{kv[1]}
				if l, ok := kv[1].(*sl.List); ok {
					items = listElems(l)
				} else if t, ok := kv[1].(sl.Tuple); ok {
					items = t
				}
				for _, item := range items {
					c, err := buildElement(key, item, opts, depth+1, cost)
					if err != nil {
						return nil, err
					}
					el.children = append(el.children, c)
				}
			}
		}
	case *sl.List, sl.Tuple:
		return nil, fmt.Errorf("<%s>: a list must be the value of a key, which names each element", tag)
	default:
		el.text = sl.String(scalarText(x))
		*cost += int64(len(el.text.(sl.String)))
	}
	return el, nil
}

// scalarText writes a value as element text: booleans as XML writes
// them, None as nothing.
func scalarText(v sl.Value) string {
	switch x := v.(type) {
	case sl.String:
		return string(x)
	case sl.NoneType:
		return ""
	case sl.Bool:
		if x {
			return "true"
		}
		return "false"
	}
	return v.String()
}
