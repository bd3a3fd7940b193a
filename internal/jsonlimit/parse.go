// Package jsonlimit decodes JSON that comes from outside the server at a
// cost bounded by the size of what arrived, whatever its shape: documents
// nested deeper than a limit or holding more values than a limit are
// refused while they are read, the memory their values will take is known
// before it is taken, and a server-wide Budget bounds the memory the
// decoded bodies of all requests in flight take at once. Every channel
// kind decodes its JSON through a Decoder.
package jsonlimit

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Defaults of Limits.
const (
	DefaultMaxDepth  = 1000
	DefaultMaxValues = 1_000_000
)

// Limits bound one document. The zero value takes the defaults.
type Limits struct {
	// MaxDepth is the deepest nesting of arrays and objects accepted.
	MaxDepth int
	// MaxValues is the most values (objects, arrays, strings, numbers,
	// booleans and nulls; object keys are not counted) accepted.
	MaxValues int
}

func (l Limits) maxDepth() int {
	if l.MaxDepth > 0 {
		return l.MaxDepth
	}
	return DefaultMaxDepth
}

func (l Limits) maxValues() int {
	if l.MaxValues > 0 {
		return l.MaxValues
	}
	return DefaultMaxValues
}

// ErrTooDeep is returned for a document nested deeper than its limit.
var ErrTooDeep = errors.New("nested too deeply")

// TooManyValuesError is returned for a document holding more values than
// its limit.
type TooManyValuesError struct{ Limit int }

func (e *TooManyValuesError) Error() string {
	return fmt.Sprintf("more than %d values", e.Limit)
}

// SyntaxError is a malformed document. Its text is encoding/json's for
// the same mistake.
type SyntaxError struct {
	Msg    string
	Offset int // byte offset of the mistake
}

func (e *SyntaxError) Error() string { return e.Msg }

// errTrailing is the SyntaxError message for data after the value.
const errTrailing = "unexpected data after the JSON value"

// Builder makes the values of one representation (Go values, Starlark
// values, a cost estimate) as Parse reads a document, innermost first.
// An error stops the parse and is returned by it.
type Builder[V any] interface {
	Null() (V, error)
	Bool(b bool) (V, error)
	// Number receives the number's literal text.
	Number(lit string) (V, error)
	// String receives the decoded text; it is a substring of the parsed
	// source unless the literal held escapes.
	String(s string) (V, error)
	// Array receives the elements in a scratch slice: copy what is kept.
	Array(elems []V) (V, error)
	// Object receives the members in document order (a key may repeat; the
	// last one wins) in scratch slices: copy what is kept.
	Object(keys []string, vals []V) (V, error)
}

// Parse reads one JSON document from src within the limits, building its
// value with b. Nothing but white space may follow the value.
func Parse[V any](src string, lim Limits, b Builder[V]) (V, error) {
	p := parser[V]{src: src, maxDepth: lim.maxDepth(), maxValues: lim.maxValues(), b: b}
	return p.document()
}

// parser reads one document. Strings without escapes are substrings of
// src; the elements of open containers wait on one shared stack, so
// reading allocates nothing but what the builder keeps.
type parser[V any] struct {
	src       string
	pos       int
	depth     int
	values    int
	maxDepth  int
	maxValues int
	b         Builder[V]
	// raw passes strings to the builder undecoded (an upper bound of their
	// length): the cost estimate needs no copy of them.
	raw bool
	// copied counts the bytes of strings that had to be decoded.
	copied int
	// peakElems and peakKeys are the most values and keys that waited in
	// open containers at once.
	peakElems, peakKeys int
	elems               []V
	keys                []string
	buf                 []byte
}

func (p *parser[V]) document() (V, error) {
	v, err := p.value()
	if err != nil {
		var zero V
		return zero, err
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		var zero V
		return zero, p.fail(errTrailing)
	}
	return v, nil
}

func (p *parser[V]) fail(msg string) error { return &SyntaxError{Msg: msg, Offset: p.pos} }

func (p *parser[V]) unexpected(context string) error {
	if p.pos >= len(p.src) {
		return p.fail("unexpected end of JSON input")
	}
	return p.fail("invalid character " + quoteChar(p.src[p.pos]) + " " + context)
}

// quoteChar formats a byte as encoding/json does in its messages.
func quoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

func (p *parser[V]) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser[V]) value() (V, error) {
	var zero V
	p.skipSpace()
	if p.pos >= len(p.src) {
		return zero, p.unexpected("")
	}
	if p.values++; p.values > p.maxValues {
		return zero, &TooManyValuesError{Limit: p.maxValues}
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		s, err := p.str()
		if err != nil {
			return zero, err
		}
		return p.b.String(s)
	case c == 't':
		if err := p.literal("true"); err != nil {
			return zero, err
		}
		return p.b.Bool(true)
	case c == 'f':
		if err := p.literal("false"); err != nil {
			return zero, err
		}
		return p.b.Bool(false)
	case c == 'n':
		if err := p.literal("null"); err != nil {
			return zero, err
		}
		return p.b.Null()
	case c == '-' || c >= '0' && c <= '9':
		lit, err := p.number()
		if err != nil {
			return zero, err
		}
		return p.b.Number(lit)
	}
	return zero, p.unexpected("looking for beginning of value")
}

func (p *parser[V]) literal(word string) error {
	for i := 1; i < len(word); i++ {
		p.pos++
		if p.pos >= len(p.src) || p.src[p.pos] != word[i] {
			return p.unexpected(fmt.Sprintf("in literal %s (expecting %s)", word, quoteChar(word[i])))
		}
	}
	p.pos++
	return nil
}

func (p *parser[V]) enter() error {
	if p.depth++; p.depth > p.maxDepth {
		return ErrTooDeep
	}
	p.pos++
	return nil
}

func (p *parser[V]) array() (V, error) {
	var zero V
	if err := p.enter(); err != nil {
		return zero, err
	}
	base := len(p.elems)
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
	} else {
		for {
			v, err := p.value()
			if err != nil {
				return zero, err
			}
			p.elems = push(p.elems, v)
			p.peakElems = max(p.peakElems, len(p.elems))
			p.skipSpace()
			if p.pos < len(p.src) && p.src[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.pos < len(p.src) && p.src[p.pos] == ']' {
				p.pos++
				break
			}
			return zero, p.unexpected("after array element")
		}
	}
	p.depth--
	v, err := p.b.Array(p.elems[base:])
	clear(p.elems[base:])
	p.elems = p.elems[:base]
	return v, err
}

func (p *parser[V]) object() (V, error) {
	var zero V
	if err := p.enter(); err != nil {
		return zero, err
	}
	base := len(p.elems)
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
	} else {
		for {
			p.skipSpace()
			if p.pos >= len(p.src) || p.src[p.pos] != '"' {
				return zero, p.unexpected("looking for beginning of object key string")
			}
			k, err := p.str()
			if err != nil {
				return zero, err
			}
			p.skipSpace()
			if p.pos >= len(p.src) || p.src[p.pos] != ':' {
				return zero, p.unexpected("after object key")
			}
			p.pos++
			v, err := p.value()
			if err != nil {
				return zero, err
			}
			p.keys = push(p.keys, k)
			p.elems = push(p.elems, v)
			p.peakElems = max(p.peakElems, len(p.elems))
			p.peakKeys = max(p.peakKeys, len(p.keys))
			p.peakElems = max(p.peakElems, len(p.elems))
			p.skipSpace()
			if p.pos < len(p.src) && p.src[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.pos < len(p.src) && p.src[p.pos] == '}' {
				p.pos++
				break
			}
			return zero, p.unexpected("after object key:value pair")
		}
	}
	p.depth--
	n := len(p.elems) - base
	kbase := len(p.keys) - n
	v, err := p.b.Object(p.keys[kbase:], p.elems[base:])
	clear(p.elems[base:])
	clear(p.keys[kbase:])
	p.elems, p.keys = p.elems[:base], p.keys[:kbase]
	return v, err
}

// push appends to a scratch stack, doubling it when full: what reading
// allocates stays within twice the largest stack.
func push[T any](s []T, v T) []T {
	if len(s) == cap(s) {
		grown := make([]T, len(s), max(16, 2*cap(s)))
		copy(grown, s)
		s = grown
	}
	return append(s, v)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number reads a number as JSON spells it and returns its literal.
func (p *parser[V]) number() (string, error) {
	start := p.pos
	digits := func() bool {
		n := 0
		for p.pos < len(p.src) && isDigit(p.src[p.pos]) {
			p.pos++
			n++
		}
		return n > 0
	}
	if p.src[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(p.src) && p.src[p.pos] == '0':
		p.pos++
	case !digits():
		return "", p.unexpected("in numeric literal")
	}
	if p.pos < len(p.src) && p.src[p.pos] == '.' {
		p.pos++
		if !digits() {
			return "", p.unexpected("after decimal point in numeric literal")
		}
	}
	if p.pos < len(p.src) && (p.src[p.pos] == 'e' || p.src[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.src) && (p.src[p.pos] == '+' || p.src[p.pos] == '-') {
			p.pos++
		}
		if !digits() {
			return "", p.unexpected("in exponent of numeric literal")
		}
	}
	return p.src[start:p.pos], nil
}

// str reads a string literal. Without escapes or invalid UTF-8 its text
// is a substring of the source; otherwise it is decoded as encoding/json
// decodes it (invalid bytes and lone surrogates become U+FFFD).
func (p *parser[V]) str() (string, error) {
	start := p.pos + 1
	i := start
	for i < len(p.src) {
		c := p.src[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return p.src[start:i], nil
		case c == '\\':
			return p.escaped(start, i)
		case c < 0x20:
			p.pos = i
			return "", p.unexpected("in string literal")
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRuneInString(p.src[i:])
			if r == utf8.RuneError && size == 1 {
				return p.escaped(start, i)
			}
			i += size
		}
	}
	p.pos = i
	return "", p.unexpected("")
}

// escaped decodes a string literal from start whose first escape or
// invalid byte is at i.
func (p *parser[V]) escaped(start, i int) (string, error) {
	buf := append(p.buf[:0], p.src[start:i]...)
	for i < len(p.src) {
		c := p.src[i]
		switch {
		case c == '"':
			p.pos = i + 1
			p.buf = buf
			p.copied += len(buf)
			if p.raw {
				return p.src[start:i], nil
			}
			return string(buf), nil
		case c < 0x20:
			p.pos = i
			return "", p.unexpected("in string literal")
		case c == '\\':
			i++
			if i >= len(p.src) {
				p.pos = i
				return "", p.unexpected("")
			}
			switch e := p.src[i]; e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, err := p.hex4(i + 1)
				if err != nil {
					return "", err
				}
				i += 4
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+6 < len(p.src) && p.src[i+1] == '\\' && p.src[i+2] == 'u' {
						if h, err := p.hex4(i + 3); err == nil {
							r2 = h
						}
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				buf = utf8.AppendRune(buf, r)
			default:
				p.pos = i
				return "", p.unexpected("in string escape code")
			}
			i++
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(p.src[i:])
			if r == utf8.RuneError && size == 1 {
				buf = utf8.AppendRune(buf, utf8.RuneError)
			} else {
				buf = append(buf, p.src[i:i+size]...)
			}
			i += size
		}
	}
	p.pos = i
	return "", p.unexpected("")
}

// hex4 reads the four hex digits of a \u escape at i.
func (p *parser[V]) hex4(i int) (rune, error) {
	var r rune
	for j := range 4 {
		if i+j >= len(p.src) {
			p.pos = i + j
			return 0, p.unexpected("")
		}
		c := p.src[i+j]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			p.pos = i + j
			return 0, p.unexpected("in \\u hexadecimal character escape")
		}
		r = r<<4 | rune(c)
	}
	return r, nil
}
