package stdlib

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"sync"

	sl "go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/plexushq/plexus/internal/starlark/memlimit"
)

// Exporter is a library value that has a JSON form: a decimal is a
// json.Number, a time its ISO 8601 text, a UUID its hyphenated text.
// Payloads holding such values are converted through Export.
type Exporter interface {
	Export() any
}

// checked are memlimit's builtins, which charge what they make.
var checked = sync.OnceValue(memlimit.Predeclared)

// universe calls the builtin name the library's replaces: memlimit's
// checked one, or Starlark's own.
func universe(thread *sl.Thread, name string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	fn, ok := checked()[name]
	if !ok {
		fn = sl.Universe[name]
	}
	return sl.Call(thread, fn, args, kwargs)
}

// convertInt is int, which also truncates decimals toward zero.
func convertInt(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	if len(args) == 1 && len(kwargs) == 0 {
		if d, ok := args[0].(Decimal); ok {
			return sl.MakeBigInt(d.integer()), nil
		}
	}
	return universe(thread, "int", args, kwargs)
}

// convertFloat is float, which also converts decimals.
func convertFloat(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	if len(args) == 1 && len(kwargs) == 0 {
		if d, ok := args[0].(Decimal); ok {
			return sl.Float(d.float()), nil
		}
	}
	return universe(thread, "float", args, kwargs)
}

// absolute is abs, which also takes decimals and durations.
func absolute(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	if len(args) == 1 && len(kwargs) == 0 {
		switch x := args[0].(type) {
		case Decimal:
			return Decimal{coef: new(big.Int).Abs(x.coef), exp: x.exp}, nil
		case Duration:
			if x < 0 {
				return -x, nil
			}
			return x, nil
		}
	}
	return universe(thread, "abs", args, kwargs)
}

// round is Python's round: half to even, to ndigits places (an int
// without them); a decimal is rounded as its quantize does.
func round(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var x sl.Value
	var nd sl.Value = sl.None
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "number", &x, "ndigits?", &nd); err != nil {
		return nil, err
	}
	n := 0
	if nd != sl.None {
		if err := sl.AsInt(nd, &n); err != nil || n < -308 || n > 308 {
			return nil, fmt.Errorf("round: ndigits must be an int in -308..308")
		}
	}
	switch v := x.(type) {
	case sl.Int:
		if n >= 0 {
			return v, nil
		}
		r, err := Decimal{coef: v.BigInt()}.quantize("round", -n, "ROUND_HALF_EVEN")
		if err != nil {
			return nil, err
		}
		return sl.MakeBigInt(r.integer()), nil
	case sl.Float:
		f := float64(v)
		if nd == sl.None {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("round: cannot convert %v to an int", f)
			}
			r := math.RoundToEven(f)
			if math.Abs(r) < 1<<62 {
				return sl.MakeInt64(int64(r)), nil
			}
			bi, _ := new(big.Float).SetFloat64(r).Int(nil)
			return sl.MakeBigInt(bi), nil
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || n < 0 {
			if n < 0 && !math.IsNaN(f) && !math.IsInf(f, 0) {
				p := math.Pow(10, float64(-n))
				return sl.Float(math.RoundToEven(f/p) * p), nil
			}
			return v, nil
		}
		// The exact binary value rounded half to even, as Python does.
		r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', n, 64), 64)
		return sl.Float(r), nil
	case Decimal:
		if nd == sl.None {
			r, err := v.quantize("round", 0, "ROUND_HALF_EVEN")
			if err != nil {
				return nil, err
			}
			return sl.MakeBigInt(r.integer()), nil
		}
		return v.quantize("round", -n, "ROUND_HALF_EVEN")
	}
	return nil, fmt.Errorf("round: got %s, want int, float or decimal", x.Type())
}

// sum is Python's sum of numbers (ints, floats, decimals, durations).
func sum(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var it sl.Iterable
	var start sl.Value = sl.MakeInt(0)
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "iterable", &it, "start?", &start); err != nil {
		return nil, err
	}
	if _, ok := start.(sl.String); ok {
		return nil, fmt.Errorf("sum: cannot add strings: use \"\".join(seq)")
	}
	iter := it.Iterate()
	defer iter.Done()
	total := start
	var x sl.Value
	for i := 0; iter.Next(&x); i++ {
		if i%256 == 255 {
			if err := spend(thread, 256, "sum"); err != nil {
				return nil, err
			}
		}
		switch x.(type) {
		case sl.String, sl.Bytes, *sl.List, sl.Tuple:
			return nil, fmt.Errorf("sum: got %s, want numbers (for lists, use a loop and extend)", x.Type())
		}
		if z, ok := total.(sl.Int); ok && i == 0 && z.Sign() == 0 {
			if _, isDur := x.(Duration); isDur {
				total = Duration(0)
			}
		}
		var err error
		if total, err = sl.Binary(syntax.PLUS, total, x); err != nil {
			return nil, fmt.Errorf("sum: %w", err)
		}
	}
	return total, nil
}
