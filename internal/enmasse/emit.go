package enmasse

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// node is a value to write: a scalar (already rendered), a sequence or a
// mapping. Export builds nodes and writes them with fixed rules, so the
// same objects always give the same bytes.
type node struct {
	scalar string // rendered text, for a scalar
	block  string // the content of a literal block scalar (|, |-)
	items  []*node
	keys   []string // rendered keys, for a mapping
	values []*node
	isSeq  bool
	isMap  bool
}

func scalarNode(text string) *node { return &node{scalar: text} }

// stringNode renders a string as Zato writes its files: plain when YAML
// (1.1 and 1.2) reads it back as the same string, else single-quoted, a
// literal block for readable multi-line text, or double-quoted when it
// holds what only escapes can write. Literal ${ are escaped as $${.
func stringNode(s string) *node {
	if legacyVar.MatchString(s) || s == zatoNoSecurity {
		// Values import reads specially (Zato's legacy reference syntax,
		// Zato's "no security"): an explicit tag keeps them literal.
		return scalarNode("!!str " + quote(s))
	}
	s = escapeVars(s)
	if plainSafe(s) {
		return scalarNode(s)
	}
	if blockSafe(s) {
		return &node{block: s}
	}
	return scalarNode(quote(s))
}

// keyText renders a mapping key.
func keyText(s string) string {
	if plainSafe(s) {
		return s
	}
	return quote(s)
}

// quote writes s single-quoted (a ' doubled) when every character of it
// may appear in a single-quoted scalar, else double-quoted.
func quote(s string) string {
	for _, r := range s {
		if r == '\t' || r == '\n' || r == '\r' || !printable(r) {
			return doubleQuote(s)
		}
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// plainSafe reports whether s can be written unquoted and read back as the
// same string by YAML 1.2 and by YAML 1.1 readers such as Zato's.
func plainSafe(s string) bool {
	if s == "" || s != strings.TrimSpace(s) {
		return false
	}
	if strings.ContainsRune("-?:,[]{}#&*!|>'\"%@`", rune(s[0])) {
		return false
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") {
		return false
	}
	for _, r := range s {
		if r == '\t' || !printable(r) {
			return false
		}
	}
	// Not something a resolver reads as another type: numbers, dates and
	// times all start with a digit, a sign or a dot.
	c0 := s[0]
	if c0 >= '0' && c0 <= '9' {
		return false
	}
	if (c0 == '+' || c0 == '-' || c0 == '.') && len(s) > 1 && (s[1] >= '0' && s[1] <= '9' || s[1] == '.') {
		return false
	}
	switch strings.ToLower(strings.TrimLeft(s, "+-")) {
	case "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~", ".inf", ".nan", "<<", "=":
		return false
	}
	return true
}

// printable reports whether r may appear as is in a YAML scalar. YAML 1.1
// treats NEL, LS and PS as line breaks and a BOM as a marker.
func printable(r rune) bool {
	switch r {
	case 0x85, 0x2028, 0x2029, 0xFEFF, utf8.RuneError:
		return false
	}
	return unicode.IsPrint(r)
}

// blockSafe reports whether s reads back exactly from a literal block:
// printable lines with no trailing spaces, the first not indented, and at
// most one final newline.
func blockSafe(s string) bool {
	body := strings.TrimSuffix(s, "\n")
	if !strings.Contains(body, "\n") || strings.HasSuffix(body, "\n") {
		return false
	}
	lines := strings.Split(body, "\n")
	if lines[0] == "" || lines[0][0] == ' ' {
		return false
	}
	for _, line := range lines {
		if strings.HasSuffix(line, " ") {
			return false
		}
		for _, r := range line {
			if r == '\t' || !printable(r) {
				return false
			}
		}
	}
	return true
}

// doubleQuote writes s double-quoted, escaping what YAML requires.
func doubleQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7F:
			fmt.Fprintf(&b, `\x%02X`, r)
		case r == utf8.RuneError || !printable(r) && r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04X`, r)
		case !printable(r):
			fmt.Fprintf(&b, `\U%08X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// writer writes nodes as block YAML with two-space indentation, lists
// indented under their key.
type writer struct {
	b bytes.Buffer
}

func (w *writer) indent(n int) {
	for range n {
		w.b.WriteByte(' ')
	}
}

// value writes what follows a key's colon or a list item's dash.
func (w *writer) value(n *node, indent int) {
	switch {
	case n.isSeq && len(n.items) == 0:
		w.b.WriteString(" []\n")
	case n.isMap && len(n.keys) == 0:
		w.b.WriteString(" {}\n")
	case n.isSeq:
		w.b.WriteByte('\n')
		w.seq(n, indent+2, false)
	case n.isMap:
		w.b.WriteByte('\n')
		w.mapping(n, indent+2, false)
	case n.block != "":
		w.blockScalar(n.block, indent+2)
	default:
		w.b.WriteByte(' ')
		w.b.WriteString(n.scalar)
		w.b.WriteByte('\n')
	}
}

func (w *writer) blockScalar(s string, indent int) {
	if strings.HasSuffix(s, "\n") {
		w.b.WriteString(" |\n")
		s = strings.TrimSuffix(s, "\n")
	} else {
		w.b.WriteString(" |-\n")
	}
	for line := range strings.SplitSeq(s, "\n") {
		if line != "" {
			w.indent(indent)
			w.b.WriteString(line)
		}
		w.b.WriteByte('\n')
	}
}

// seq writes a sequence's items at indent; inline means the first item
// continues a line already started (a list inside a list).
func (w *writer) seq(n *node, indent int, inline bool) {
	for i, item := range n.items {
		if i > 0 || !inline {
			w.indent(indent)
		}
		w.b.WriteString("-")
		switch {
		case item.isMap && len(item.keys) > 0:
			w.b.WriteByte(' ')
			w.mapping(item, indent+2, true)
		case item.isSeq && len(item.items) > 0:
			w.b.WriteByte(' ')
			w.seq(item, indent+2, true)
		default:
			w.value(item, indent)
		}
	}
}

// mapping writes a mapping's entries at indent; inline means the first
// entry continues a line already started (an object in a list).
func (w *writer) mapping(n *node, indent int, inline bool) {
	for i, k := range n.keys {
		if i > 0 || !inline {
			w.indent(indent)
		}
		w.b.WriteString(k)
		w.b.WriteByte(':')
		w.value(n.values[i], indent)
	}
}
