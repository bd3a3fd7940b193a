package memlimit

import (
	"fmt"
	"strings"
	"unicode/utf8"

	sl "go.starlark.net/starlark"
)

// methodCost estimates what recv.name(args, kwargs) makes; left is what
// the allowance has left, to stop counting early.
type methodCost func(recv sl.Value, args sl.Tuple, kwargs []sl.Tuple, left int64) (int64, string)

// methods are the methods that make values as large as their receiver or
// their arguments, called through checked builtins.
var methods = map[string]methodCost{
	"append":               listGrowth(func(sl.Tuple, int64) int64 { return 1 }),
	"insert":               listGrowth(func(sl.Tuple, int64) int64 { return 1 }),
	"extend":               listGrowth(func(args sl.Tuple, left int64) int64 { return countArg(args, 0, left/slotSize+1) }),
	"join":                 joinCost,
	"replace":              replaceCost,
	"format":               formatMethodCost,
	"split":                splitCost,
	"rsplit":               splitCost,
	"splitlines":           splitlinesCost,
	"upper":                caseCost,
	"lower":                caseCost,
	"title":                caseCost,
	"capitalize":           caseCost,
	"items":                itemsCost,
	"keys":                 keysCost,
	"values":               keysCost,
	"setdefault":           setdefaultCost,
	"update":               updateCost,
	"add":                  addCost,
	"union":                setOpCost,
	"difference":           setOpCost,
	"intersection":         setOpCost,
	"symmetric_difference": setOpCost,
}

// method is the checked builtin of a method: method(recv, args…).
func method(name string, cost methodCost) builtinFunc {
	return func(thread *sl.Thread, _ *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		recv, rest := args[0], args[1:]
		a := Of(thread)
		if n, what := cost(recv, rest, kwargs, a.Left()); n > 0 {
			if err := a.Charge(n, what); err != nil {
				return nil, err
			}
		}
		m, err := attr(recv, name)
		if err != nil {
			return nil, err
		}
		if b, ok := m.(*sl.Builtin); ok {
			return b.CallInternal(thread, rest, kwargs)
		}
		return sl.Call(thread, m, rest, kwargs)
	}
}

// attr returns x.name as the interpreter would.
func attr(x sl.Value, name string) (sl.Value, error) {
	if h, ok := x.(sl.HasAttrs); ok {
		v, err := h.Attr(name)
		if err != nil || v != nil {
			return v, err
		}
	}
	return nil, sl.NoSuchAttrError(fmt.Sprintf("%s has no .%s field or method", x.Type(), name))
}

func countArg(args sl.Tuple, i int, limit int64) int64 {
	if i >= len(args) {
		return 0
	}
	return Count(args[i], limit)
}

func listGrowth(elems func(args sl.Tuple, left int64) int64) methodCost {
	return func(recv sl.Value, args sl.Tuple, _ []sl.Tuple, left int64) (int64, string) {
		if _, ok := recv.(*sl.List); !ok {
			return 0, ""
		}
		return satMul(slotSize, elems(args, left)), "growing a list"
	}
}

func joinCost(recv sl.Value, args sl.Tuple, _ []sl.Tuple, left int64) (int64, string) {
	sep, ok := recv.(sl.String)
	if !ok || len(args) != 1 {
		return 0, ""
	}
	it, ok := args[0].(sl.Iterable)
	if !ok {
		return 0, ""
	}
	var total int64
	iter := it.Iterate()
	defer iter.Done()
	var x sl.Value
	for iter.Next(&x) && total <= left {
		if s, ok := x.(sl.String); ok {
			total = sat(total, int64(len(s)))
		}
		total = sat(total, int64(len(sep)))
	}
	return StringCost(total), "join"
}

func replaceCost(recv sl.Value, args sl.Tuple, _ []sl.Tuple, _ int64) (int64, string) {
	s, ok := recv.(sl.String)
	if !ok || len(args) < 2 {
		return 0, ""
	}
	old, ok1 := args[0].(sl.String)
	repl, ok2 := args[1].(sl.String)
	if !ok1 || !ok2 {
		return 0, ""
	}
	occ := int64(strings.Count(string(s), string(old)))
	if len(args) > 2 {
		if c, err := sl.AsInt32(args[2]); err == nil && c >= 0 {
			occ = min(occ, int64(c))
		}
	}
	grow := max(int64(len(repl))-int64(len(old)), 0)
	return StringCost(sat(int64(len(s)), satMul(occ, grow))), "replace"
}

func formatMethodCost(recv sl.Value, args sl.Tuple, kwargs []sl.Tuple, _ int64) (int64, string) {
	f, ok := recv.(sl.String)
	if !ok {
		return 0, ""
	}
	// Each replacement field takes at most the text of the largest
	// argument.
	var largest int64
	for _, a := range args {
		largest = max(largest, textSize(a, false))
	}
	for _, kv := range kwargs {
		largest = max(largest, textSize(kv[1], false))
	}
	fields := int64(strings.Count(string(f), "{"))
	return StringCost(sat(int64(len(f)), satMul(fields, largest))), "format"
}

func splitCost(recv sl.Value, args sl.Tuple, kwargs []sl.Tuple, _ int64) (int64, string) {
	s, ok := recv.(sl.String)
	if !ok {
		return 0, ""
	}
	pieces := int64(len(strings.Fields(string(s)))) + 1
	if len(args) > 0 {
		if sep, ok := args[0].(sl.String); ok && sep != "" {
			pieces = int64(strings.Count(string(s), string(sep))) + 1
		}
	}
	// Each piece is a string sharing s's memory: its header and its slot.
	return ListCost(satMul(pieces, 2)), "split"
}

func splitlinesCost(recv sl.Value, _ sl.Tuple, _ []sl.Tuple, _ int64) (int64, string) {
	s, ok := recv.(sl.String)
	if !ok {
		return 0, ""
	}
	pieces := int64(strings.Count(string(s), "\n")+strings.Count(string(s), "\r")) + 1
	return ListCost(satMul(pieces, 2)), "splitlines"
}

func caseCost(recv sl.Value, _ sl.Tuple, _ []sl.Tuple, _ int64) (int64, string) {
	s, ok := recv.(sl.String)
	if !ok {
		return 0, ""
	}
	n := int64(len(s))
	if !isASCII(string(s)) {
		n *= 2 // a few runes change length when their case does
	}
	return StringCost(n), "changing case"
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func itemsCost(recv sl.Value, _ sl.Tuple, _ []sl.Tuple, _ int64) (int64, string) {
	s, ok := recv.(sl.Sequence)
	if !ok {
		return 0, ""
	}
	n := int64(s.Len())
	return sat(ListCost(n), satMul(n, TupleCost(2))), "items"
}

func keysCost(recv sl.Value, _ sl.Tuple, _ []sl.Tuple, _ int64) (int64, string) {
	s, ok := recv.(sl.Sequence)
	if !ok {
		return 0, ""
	}
	return ListCost(int64(s.Len())), "listing keys or values"
}

func setdefaultCost(recv sl.Value, args sl.Tuple, _ []sl.Tuple, _ int64) (int64, string) {
	m, ok := recv.(sl.HasSetKey)
	if !ok || len(args) == 0 {
		return 0, ""
	}
	if _, found, err := m.Get(args[0]); err == nil && !found {
		return dictEntry, "setdefault"
	}
	return 0, ""
}

func updateCost(recv sl.Value, args sl.Tuple, kwargs []sl.Tuple, left int64) (int64, string) {
	switch recv.(type) {
	case *sl.Dict, *sl.Set:
	default:
		return 0, ""
	}
	var n int64
	for _, a := range args {
		n = sat(n, Count(a, left/dictEntry+1))
	}
	n = sat(n, int64(len(kwargs)))
	return satMul(dictEntry, n), "update"
}

func addCost(recv sl.Value, args sl.Tuple, _ []sl.Tuple, _ int64) (int64, string) {
	s, ok := recv.(*sl.Set)
	if !ok || len(args) != 1 {
		return 0, ""
	}
	if has, err := s.Has(args[0]); err == nil && !has {
		return dictEntry, "set.add"
	}
	return 0, ""
}

func setOpCost(recv sl.Value, args sl.Tuple, _ []sl.Tuple, left int64) (int64, string) {
	s, ok := recv.(*sl.Set)
	if !ok {
		return 0, ""
	}
	n := int64(s.Len())
	for _, a := range args {
		n = sat(n, Count(a, left/dictEntry+1))
	}
	return DictCost(n), "a set operation"
}
