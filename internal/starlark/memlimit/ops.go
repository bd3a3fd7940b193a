package memlimit

import (
	"fmt"
	"strings"

	sl "go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

type builtinFunc = func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error)

// Predeclared returns the checked builtins: those the rewritten code
// calls, and the replacements of Starlark's builtins that make values
// (list, dict, str, json, …). Add them to a program's predeclared names,
// after any of the program's own that they replace (struct).
func Predeclared() sl.StringDict {
	d := sl.StringDict{nameNone: sl.None}
	for op := range growing {
		d[prefixBinary+op.String()] = sl.NewBuiltin(op.String(), binary(op))
		d[prefixAug+op.String()] = sl.NewBuiltin(op.String()+"=", inplace(op))
	}
	for _, op := range []syntax.Token{syntax.MINUS, syntax.PLUS, syntax.TILDE} {
		d[prefixUnary+op.String()] = sl.NewBuiltin(op.String(), unary(op))
	}
	for name, fn := range methods {
		d[prefixMethod+name] = sl.NewBuiltin(name, method(name, fn))
	}
	d[nameNew] = sl.NewBuiltin("literal", made)
	d[nameElem] = sl.NewBuiltin("comprehension", elem)
	d[nameEntry] = sl.NewBuiltin("comprehension", entry)
	d[nameSetItem] = sl.NewBuiltin("setitem", setItem)
	d[nameSlice] = sl.NewBuiltin("slice", sliced)
	d[nameSliceAll] = sl.NewBuiltin("slice", slicedAll)
	for name, b := range builtins() {
		d[name] = b
	}
	return d
}

// binary is a binary operator that charges its result first.
func binary(op syntax.Token) builtinFunc {
	return func(thread *sl.Thread, _ *sl.Builtin, args sl.Tuple, _ []sl.Tuple) (sl.Value, error) {
		x, y := args[0], args[1]
		if n := binaryCost(op, x, y); n > 0 {
			if a := Of(thread); !a.take(n) {
				return nil, a.exceeded(n, describeBinary(op, x, y))
			}
		}
		return sl.Binary(op, x, y)
	}
}

// describeBinary says what x op y is, for the error of a refused charge.
func describeBinary(op syntax.Token, x, y sl.Value) string {
	if op == syntax.STAR {
		if n, ok := y.(sl.Int); ok {
			return describeRepeat(x, n)
		}
		if n, ok := x.(sl.Int); ok {
			return describeRepeat(y, n)
		}
	}
	return x.Type() + " " + op.String() + " " + y.Type()
}

func describeRepeat(x sl.Value, n sl.Int) string {
	var length int
	if s, ok := x.(sl.Sequence); ok {
		length = s.Len()
	} else if s, ok := x.(sl.String); ok {
		length = len(s)
	}
	return fmt.Sprintf("a %s of length %d repeated %s times", x.Type(), length, n)
}

// binaryCost estimates the result of x op y.
func binaryCost(op syntax.Token, x, y sl.Value) int64 {
	if xi, ok := x.(sl.Int); ok {
		if yi, ok := y.(sl.Int); ok {
			return intOpCost(op, xi, yi)
		}
	}
	switch op {
	case syntax.PLUS:
		switch x := x.(type) {
		case sl.String:
			if y, ok := y.(sl.String); ok {
				return StringCost(int64(len(x)) + int64(len(y)))
			}
		case sl.Bytes:
			if y, ok := y.(sl.Bytes); ok {
				return StringCost(int64(len(x)) + int64(len(y)))
			}
		case *sl.List:
			if y, ok := y.(*sl.List); ok {
				return ListCost(int64(x.Len()) + int64(y.Len()))
			}
		case sl.Tuple:
			if y, ok := y.(sl.Tuple); ok {
				return TupleCost(int64(len(x)) + int64(len(y)))
			}
		}
	case syntax.STAR:
		if n, ok := y.(sl.Int); ok {
			return repeatCost(x, n)
		}
		if n, ok := x.(sl.Int); ok {
			return repeatCost(y, n)
		}
	case syntax.PERCENT:
		if f, ok := x.(sl.String); ok {
			return formatCost(string(f), y)
		}
	case syntax.PIPE, syntax.AMP, syntax.CIRCUMFLEX, syntax.MINUS:
		if xs, ok := x.(sl.Sequence); ok {
			if ys, ok := y.(sl.Sequence); ok {
				switch x.(type) {
				case *sl.Set, *sl.Dict:
					return DictCost(int64(xs.Len()) + int64(ys.Len()))
				}
			}
		}
	}
	return 0
}

// intOpCost estimates x op y for ints: nothing while both fit in 64 bits
// and the result cannot grow much.
func intOpCost(op syntax.Token, x, y sl.Int) int64 {
	_, xsmall := x.Int64()
	_, ysmall := y.Int64()
	switch op {
	case syntax.STAR:
		if xsmall && ysmall {
			return 0
		}
		// Multiplying large ints takes about twice the result again
		// while it works.
		return 3 * bigIntCost(int64(x.BigInt().BitLen()+y.BigInt().BitLen()))
	case syntax.LTLT:
		shift, ok := y.Int64()
		if !ok || shift < 0 || shift >= 512 {
			return 0 // refused by the operator
		}
		if xsmall && shift < 1 {
			return 0
		}
		return bigIntCost(int64(x.BigInt().BitLen()) + shift)
	}
	if xsmall && ysmall {
		return 0
	}
	return bigIntCost(int64(max(x.BigInt().BitLen(), y.BigInt().BitLen())) + 1)
}

// repeatCost estimates x * n for a string, bytes, list or tuple x.
func repeatCost(x sl.Value, n sl.Int) int64 {
	times, ok := n.Int64()
	if !ok {
		times = 1 << 62
	}
	if times <= 0 {
		return 0
	}
	switch x := x.(type) {
	case sl.String:
		return StringCost(satMul(int64(len(x)), times))
	case sl.Bytes:
		return StringCost(satMul(int64(len(x)), times))
	case *sl.List:
		return ListCost(satMul(int64(x.Len()), times))
	case sl.Tuple:
		return TupleCost(satMul(int64(len(x)), times))
	}
	return 0
}

// formatCost estimates format % args: each directive at most the text
// of the argument it takes.
func formatCost(format string, args sl.Value) int64 {
	n := int64(len(format))
	if !strings.Contains(format, "%") {
		return StringCost(n)
	}
	positional, _ := args.(sl.Tuple)
	mapping, _ := args.(sl.Mapping)
	single := positional == nil
	next := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 >= len(format) {
			continue
		}
		i++
		var arg sl.Value
		if format[i] == '(' && mapping != nil {
			end := strings.IndexByte(format[i:], ')')
			if end < 0 {
				break
			}
			arg, _, _ = mapping.Get(sl.String(format[i+1 : i+end]))
			i += end + 1
		} else if single && next == 0 {
			arg = args
			next++
		} else if next < len(positional) {
			arg = positional[next]
			next++
		}
		for i < len(format) && strings.IndexByte("#0- +123456789.", format[i]) >= 0 {
			i++
		}
		if arg == nil || i >= len(format) {
			continue
		}
		n = sat(n, textSize(arg, format[i] == 's'))
	}
	return StringCost(n)
}

// textSize is the length of str(v) (or repr(v)), quick for scalars.
func textSize(v sl.Value, str bool) int64 {
	switch x := v.(type) {
	case sl.String:
		if str {
			return int64(len(x))
		}
	case sl.Int:
		if _, ok := x.Int64(); ok {
			return 20
		}
	case sl.Float:
		return 24
	case sl.NoneType, sl.Bool:
		return 5
	}
	size, err := ReprSize(v, maxCost)
	if err != nil {
		return maxCost
	}
	return size
}

// maxCost caps the estimates of text sizes: past it, any allowance is
// exceeded anyway.
const maxCost = 1 << 40

// unary is a unary operator that charges its result first.
func unary(op syntax.Token) builtinFunc {
	return func(thread *sl.Thread, _ *sl.Builtin, args sl.Tuple, _ []sl.Tuple) (sl.Value, error) {
		x := args[0]
		if i, ok := x.(sl.Int); ok {
			if err := Of(thread).Charge(IntCost(i), "an int"); err != nil {
				return nil, err
			}
		}
		return sl.Unary(op, x)
	}
}

// inplace is an augmented assignment: x op= y. For a list x and +, and
// for dicts and |, it changes x in place, as Starlark does.
func inplace(op syntax.Token) builtinFunc {
	plain := binary(op)
	return func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
		x, y := args[0], args[1]
		switch {
		case op == syntax.PLUS:
			if list, ok := x.(*sl.List); ok {
				if it, ok := y.(sl.Iterable); ok {
					return list, extend(thread, list, it, "+=")
				}
			}
		case op == syntax.PIPE:
			if dict, ok := x.(*sl.Dict); ok {
				if other, ok := y.(*sl.Dict); ok {
					if err := Of(thread).Charge(satMul(dictEntry, int64(other.Len())), "dict |= dict"); err != nil {
						return nil, err
					}
					for k, v := range other.Entries() {
						if err := dict.SetKey(k, v); err != nil {
							return nil, fmt.Errorf("cannot apply |= to frozen dict")
						}
					}
					return dict, nil
				}
			}
		}
		return plain(thread, b, args, kw)
	}
}

// extend appends the elements of it to list, charging them first.
func extend(thread *sl.Thread, list *sl.List, it sl.Iterable, what string) error {
	a := Of(thread)
	if err := a.Charge(satMul(slotSize, Count(it, a.Left()/slotSize+1)), what); err != nil {
		return err
	}
	frozen := func() error { return fmt.Errorf("cannot apply %s to frozen list", what) }
	if ix, ok := it.(sl.Indexable); ok {
		n := ix.Len() // before appending: it may be list itself
		for i := range n {
			if err := list.Append(ix.Index(i)); err != nil {
				return frozen()
			}
		}
		return nil
	}
	var elems []sl.Value
	iter := it.Iterate()
	var x sl.Value
	for iter.Next(&x) {
		elems = append(elems, x)
	}
	iter.Done()
	for _, e := range elems {
		if err := list.Append(e); err != nil {
			return frozen()
		}
	}
	return nil
}

// made charges a list or dict literal just made.
func made(thread *sl.Thread, _ *sl.Builtin, args sl.Tuple, _ []sl.Tuple) (sl.Value, error) {
	v := args[0]
	switch x := v.(type) {
	case *sl.List:
		return v, Of(thread).Charge(ListCost(int64(x.Len())), "a list literal")
	case *sl.Dict:
		return v, Of(thread).Charge(DictCost(int64(x.Len())), "a dict literal")
	}
	return v, nil
}

// elem charges an element a list comprehension is about to append.
func elem(thread *sl.Thread, _ *sl.Builtin, args sl.Tuple, _ []sl.Tuple) (sl.Value, error) {
	return args[0], Of(thread).Charge(slotSize, "a list comprehension")
}

// entry charges an entry a dict comprehension is about to add.
func entry(thread *sl.Thread, _ *sl.Builtin, args sl.Tuple, _ []sl.Tuple) (sl.Value, error) {
	return args[0], Of(thread).Charge(dictEntry, "a dict comprehension")
}

// setItem charges x[k] = v, called as setitem(v, x, k) before the
// assignment: an entry when k is a new key of a dict.
func setItem(thread *sl.Thread, _ *sl.Builtin, args sl.Tuple, _ []sl.Tuple) (sl.Value, error) {
	v, x, k := args[0], args[1], args[2]
	if m, ok := x.(sl.HasSetKey); ok {
		if _, found, err := m.Get(k); err == nil && !found {
			return v, Of(thread).Charge(dictEntry, "adding a key")
		}
	}
	return v, nil
}

// sliced charges x[lo:hi:step], called as slice(x, lo, hi, step) before
// the slicing, and returns x.
func sliced(thread *sl.Thread, _ *sl.Builtin, args sl.Tuple, _ []sl.Tuple) (sl.Value, error) {
	x := args[0]
	s, ok := x.(sl.Sliceable)
	if !ok {
		return x, nil
	}
	n := sliceLen(s.Len(), args[1], args[2], args[3])
	return x, Of(thread).Charge(sliceCost(x, n), "slicing")
}

// slicedAll charges the largest slice of x, its bounds unknown.
func slicedAll(thread *sl.Thread, _ *sl.Builtin, args sl.Tuple, _ []sl.Tuple) (sl.Value, error) {
	x := args[0]
	if s, ok := x.(sl.Sliceable); ok {
		return x, Of(thread).Charge(sliceCost(x, int64(s.Len())), "slicing")
	}
	return x, nil
}

// sliceCost is what a slice of n elements of x takes: a string or bytes
// slice with step 1 shares x's memory, but that cannot be told here.
func sliceCost(x sl.Value, n int64) int64 {
	switch x.(type) {
	case sl.String, sl.Bytes:
		return StringCost(n)
	case sl.Tuple:
		return TupleCost(n)
	}
	return ListCost(n)
}

// sliceLen returns the length of x[lo:hi:step] for a sequence of n
// elements, as Python defines it; bounds that are not ints count as
// the whole sequence (the slicing itself reports them).
func sliceLen(n int, lo, hi, stepV sl.Value) int64 {
	step := 1
	if stepV != sl.None {
		s, err := sl.AsInt32(stepV)
		if err != nil || s == 0 {
			return int64(n)
		}
		step = s
	}
	bound := func(v sl.Value, dflt int) (int, bool) {
		if v == sl.None {
			return dflt, true
		}
		i, err := sl.AsInt32(v)
		if err != nil {
			return 0, false
		}
		if i < 0 {
			i += n
		}
		return i, true
	}
	if step > 0 {
		start, ok1 := bound(lo, 0)
		end, ok2 := bound(hi, n)
		if !ok1 || !ok2 {
			return int64(n)
		}
		start, end = min(max(start, 0), n), min(max(end, 0), n)
		if end <= start {
			return 0
		}
		return int64((end - start + step - 1) / step)
	}
	start, ok1 := bound(lo, n-1)
	end, ok2 := bound(hi, -1)
	if !ok1 || !ok2 {
		return int64(n)
	}
	if lo != sl.None {
		start = min(start, n-1)
	}
	if hi != sl.None {
		end = max(end, -1)
	}
	if start <= end {
		return 0
	}
	return int64((start - end - step - 1) / -step)
}

// Repr returns repr(v), charged to a first.
func Repr(a *Allowance, v sl.Value) (string, error) {
	n, err := ReprSize(v, a.Left())
	if err != nil {
		return "", err
	}
	if err := a.Charge(StringCost(n), "repr()"); err != nil {
		return "", err
	}
	return v.String(), nil
}

// Format returns format % args, charged to a first.
func Format(a *Allowance, format string, args sl.Value) (string, error) {
	if err := a.Charge(formatCost(format, args), "string % args"); err != nil {
		return "", err
	}
	out, err := sl.Binary(syntax.PERCENT, sl.String(format), args)
	if err != nil {
		return "", err
	}
	return string(out.(sl.String)), nil
}
