package memlimit

import (
	"fmt"
	"math"
	"unicode"
	"unicode/utf8"

	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// Sizes of Starlark values, realistic for go.starlark.net on 64-bit
// machines: a string's header, a list's and a tuple's, one element slot,
// a dict (or set) with its first bucket of eight entries, and each entry
// of a larger one (its buckets, less than full, double as it grows).
const (
	stringHeader = 16
	listHeader   = 32
	tupleHeader  = 24
	slotSize     = 16
	dictBase     = 512
	dictBucket   = 8
	dictEntry    = 112
	bigIntHeader = 32
)

// MaxDepth is the deepest nesting of values whose size is estimated;
// converting a deeper value to a string or to JSON is refused, so that
// neither overflows the stack.
const MaxDepth = 1000

// ErrTooDeep is returned for a value nested deeper than MaxDepth.
var ErrTooDeep = fmt.Errorf("value is nested more than %d levels deep", MaxDepth)

// Cost functions of the values above; n may be any size.
func StringCost(n int64) int64 { return sat(stringHeader, n) }
func ListCost(n int64) int64   { return sat(listHeader, satMul(slotSize, n)) }
func TupleCost(n int64) int64  { return sat(tupleHeader, satMul(slotSize, n)) }
func DictCost(n int64) int64 {
	if n <= dictBucket {
		return dictBase
	}
	return sat(dictBase, satMul(dictEntry, n))
}

// IntCost is what an int takes: nothing for one that fits in 32 bits,
// which Starlark keeps without allocating.
func IntCost(x sl.Int) int64 {
	if i, ok := x.Int64(); ok && i == int64(int32(i)) {
		return 0
	}
	return bigIntCost(int64(x.BigInt().BitLen()))
}

func bigIntCost(bits int64) int64 { return sat(bigIntHeader, bits/8+8) }

// sat adds without overflowing.
func sat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// satMul multiplies non-negative numbers without overflowing.
func satMul(a, b int64) int64 {
	if a < 0 || b < 0 {
		return 0
	}
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

// ReprValues is implemented by values of other packages whose repr shows
// other values (a model instance its fields), so that the size of their
// repr can be estimated without making it.
type ReprValues interface {
	ReprValues() []sl.Value
}

// sizer estimates the length of the text of values: str, repr, %
// formatting and JSON. It stops adding once past limit.
type sizer struct {
	n, limit int64
	err      error
	json     bool // JSON escapes
	indent   int64
	path     []sl.Value // containers being visited, to spot cycles
}

// ReprSize returns about how many bytes repr(v) takes, or a number past
// limit as soon as it is known to be past it.
func ReprSize(v sl.Value, limit int64) (int64, error) {
	s := sizer{limit: limit}
	s.value(v, 0, true)
	return s.n, s.err
}

// StrSize is ReprSize for str(v): a string is its own text.
func StrSize(v sl.Value, limit int64) (int64, error) {
	if s, ok := v.(sl.String); ok {
		return int64(len(s)), nil
	}
	return ReprSize(v, limit)
}

// JSONSize returns about how many bytes json.encode(v) takes, with indent
// bytes of indentation per level (0: none).
func JSONSize(v sl.Value, indent, limit int64) (int64, error) {
	s := sizer{limit: limit, json: true, indent: indent}
	s.value(v, 0, true)
	return s.n, s.err
}

func (s *sizer) add(n int64) { s.n = sat(s.n, n) }

func (s *sizer) value(v sl.Value, depth int, quote bool) {
	if s.err != nil || s.n > s.limit {
		return
	}
	if depth > MaxDepth {
		s.err = ErrTooDeep
		return
	}
	switch x := v.(type) {
	case sl.String:
		if quote {
			s.add(s.quoted(string(x)))
		} else {
			s.add(int64(len(x)))
		}
	case sl.Bytes:
		s.add(1 + s.quoted(string(x)))
	case sl.Int:
		if _, ok := x.Int64(); ok {
			s.add(20)
		} else {
			s.add(int64(x.BigInt().BitLen())*3/10 + 2)
		}
	case sl.Float:
		s.add(24)
	case sl.NoneType, sl.Bool:
		s.add(5)
	case *sl.List:
		s.seq(x, x.Len(), x.Index, depth, 2)
	case sl.Tuple:
		s.seq(nil, len(x), x.Index, depth, 3)
	case *sl.Set:
		if !s.enter(x) {
			return
		}
		s.add(7)
		for e := range sl.Elements(x) {
			if s.n > s.limit || s.err != nil {
				break
			}
			s.elem(e, depth)
		}
		s.leave()
	case *starlarkstruct.Struct:
		s.add(8)
		for _, name := range x.AttrNames() {
			av, _ := x.Attr(name)
			s.add(int64(len(name)) + 3)
			s.elem(av, depth)
		}
	case sl.IterableMapping:
		if !s.enter(x) {
			return
		}
		s.add(2)
		for _, kv := range x.Items() {
			s.elem(kv[0], depth)
			s.add(2)
			s.elem(kv[1], depth)
		}
		s.leave()
	case ReprValues:
		if !s.enter(v) {
			return
		}
		s.add(int64(len(v.Type())) + 2)
		for _, e := range x.ReprValues() {
			s.add(16)
			s.elem(e, depth)
		}
		s.leave()
	default:
		s.add(64) // <function f>, <response>, …
	}
}

// elem adds one element of a container, with its separator and, when
// indenting, its line.
func (s *sizer) elem(v sl.Value, depth int) {
	s.add(2)
	if s.indent > 0 {
		s.add(1 + s.indent*int64(depth+1))
	}
	s.value(v, depth+1, true)
}

// seq adds a list (c) or a tuple (c nil: tuples cannot hold themselves)
// of n elements.
func (s *sizer) seq(c sl.Value, n int, index func(int) sl.Value, depth int, overhead int64) {
	if c != nil && !s.enter(c) {
		return
	}
	s.add(overhead)
	for i := range n {
		if s.n > s.limit || s.err != nil {
			break
		}
		s.elem(index(i), depth)
	}
	if c != nil {
		s.leave()
	}
}

// enter records a container being visited; a container already on the
// path (a list that holds itself) is written [...], as Starlark does.
func (s *sizer) enter(c sl.Value) bool {
	for _, p := range s.path {
		if p == c {
			s.add(5)
			return false
		}
	}
	s.path = append(s.path, c)
	return true
}

func (s *sizer) leave() { s.path = s.path[:len(s.path)-1] }

// quoted returns the length of a string literal with its escapes: \x01
// or \u0001 for a control character, \u2028 for an unprintable rune,
// \xff or \ufffd for an invalid byte.
func (s *sizer) quoted(str string) int64 {
	n := int64(2)
	esc := int64(4)
	if s.json {
		esc = 6
	}
	for i := 0; i < len(str); {
		c := str[i]
		switch {
		case c == '"' || c == '\\':
			n += 2
			i++
		case c < 0x20 || c == 0x7f:
			n += esc
			i++
		case c < utf8.RuneSelf:
			n++
			i++
		default:
			r, size := utf8.DecodeRuneInString(str[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				n += esc
			case s.json || unicode.IsPrint(r):
				n += int64(size)
			default:
				n += 10
			}
			i += size
		}
	}
	return n
}

// Count returns how many elements iterating v gives, stopping past limit;
// a Sequence says it at once.
func Count(v sl.Value, limit int64) int64 {
	if s, ok := v.(sl.Sequence); ok {
		return int64(s.Len())
	}
	it, ok := v.(sl.Iterable)
	if !ok {
		return 0
	}
	iter := it.Iterate()
	defer iter.Done()
	var n int64
	var x sl.Value
	for iter.Next(&x) {
		if n++; n > limit {
			break
		}
	}
	return n
}
