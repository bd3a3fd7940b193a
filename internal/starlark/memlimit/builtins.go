package memlimit

import (
	"errors"
	"strings"

	"go.starlark.net/lib/json"
	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/internal/jsonlimit"
)

// builtinCost estimates what a builtin makes from its arguments.
type builtinCost func(args sl.Tuple, kwargs []sl.Tuple, left int64) (int64, error)

// checked returns a builtin that charges cost, then runs orig.
func checked(orig *sl.Builtin, what string, cost builtinCost) *sl.Builtin {
	return sl.NewBuiltin(orig.Name(), func(thread *sl.Thread, _ *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		a := Of(thread)
		n, err := cost(args, kwargs, a.Left())
		if err != nil {
			return nil, err
		}
		if err := a.Charge(n, what); err != nil {
			return nil, err
		}
		return orig.CallInternal(thread, args, kwargs)
	})
}

// universal returns one of Starlark's own builtins.
func universal(name string) *sl.Builtin { return sl.Universe[name].(*sl.Builtin) }

// firstCount is the number of elements of a builtin's first argument.
func firstCount(args sl.Tuple, left int64, per int64) int64 {
	if len(args) == 0 {
		return 0
	}
	return Count(args[0], left/per+1)
}

// builtins returns the checked replacements of the builtins that make
// values.
func builtins() sl.StringDict {
	seq := func(cost func(n int64) int64) builtinCost {
		return func(args sl.Tuple, _ []sl.Tuple, left int64) (int64, error) {
			return cost(firstCount(args, left, slotSize)), nil
		}
	}
	d := sl.StringDict{
		"list":     checked(universal("list"), "list()", seq(ListCost)),
		"tuple":    checked(universal("tuple"), "tuple()", seq(TupleCost)),
		"sorted":   checked(universal("sorted"), "sorted()", seq(func(n int64) int64 { return satMul(ListCost(n), 2) })),
		"reversed": checked(universal("reversed"), "reversed()", seq(ListCost)),
		"set":      checked(universal("set"), "set()", seq(DictCost)),
		"dict": checked(universal("dict"), "dict()", func(args sl.Tuple, kwargs []sl.Tuple, left int64) (int64, error) {
			return DictCost(sat(firstCount(args, left, dictEntry), int64(len(kwargs)))), nil
		}),
		"enumerate": checked(universal("enumerate"), "enumerate()", func(args sl.Tuple, _ []sl.Tuple, left int64) (int64, error) {
			n := firstCount(args, left, slotSize)
			return sat(ListCost(n), satMul(n, TupleCost(2))), nil
		}),
		"zip": checked(universal("zip"), "zip()", func(args sl.Tuple, _ []sl.Tuple, left int64) (int64, error) {
			if len(args) == 0 {
				return 0, nil
			}
			n := int64(-1)
			for _, a := range args {
				c := Count(a, left/slotSize+1)
				if n < 0 || c < n {
					n = c
				}
			}
			return sat(ListCost(n), satMul(n, TupleCost(int64(len(args))))), nil
		}),
		"str": checked(universal("str"), "str()", func(args sl.Tuple, _ []sl.Tuple, left int64) (int64, error) {
			if len(args) != 1 {
				return 0, nil
			}
			if _, ok := args[0].(sl.String); ok {
				return 0, nil
			}
			n, err := StrSize(args[0], left)
			return StringCost(n), err
		}),
		"repr": checked(universal("repr"), "repr()", func(args sl.Tuple, _ []sl.Tuple, left int64) (int64, error) {
			if len(args) != 1 {
				return 0, nil
			}
			n, err := ReprSize(args[0], left)
			return StringCost(n), err
		}),
		"bytes": checked(universal("bytes"), "bytes()", func(args sl.Tuple, _ []sl.Tuple, left int64) (int64, error) {
			if len(args) != 1 {
				return 0, nil
			}
			switch x := args[0].(type) {
			case sl.String:
				return StringCost(int64(len(x))), nil
			case sl.Bytes:
				return 0, nil
			}
			return StringCost(Count(args[0], left)), nil
		}),
		"int": checked(universal("int"), "int()", func(args sl.Tuple, _ []sl.Tuple, _ int64) (int64, error) {
			if len(args) > 0 {
				if s, ok := args[0].(sl.String); ok && len(s) > 18 {
					return bigIntCost(int64(len(s)) * 4), nil
				}
			}
			return 0, nil
		}),
		"abs": checked(universal("abs"), "abs()", func(args sl.Tuple, _ []sl.Tuple, _ int64) (int64, error) {
			if len(args) == 1 {
				if i, ok := args[0].(sl.Int); ok {
					return IntCost(i), nil
				}
			}
			return 0, nil
		}),
		"print":  checked(universal("print"), "print()", textCost),
		"fail":   checked(universal("fail"), "fail()", textCost),
		"struct": checked(sl.NewBuiltin("struct", starlarkstruct.Make), "struct()", structCost),
		"json":   jsonModule(),
	}
	return d
}

// textCost estimates the line print or fail writes: its arguments' text.
func textCost(args sl.Tuple, kwargs []sl.Tuple, left int64) (int64, error) {
	var n int64
	for _, a := range args {
		size, err := StrSize(a, left)
		if err != nil {
			return 0, err
		}
		n = sat(n, size+1)
	}
	for _, kv := range kwargs {
		if s, ok := kv[1].(sl.String); ok {
			n = sat(n, satMul(int64(len(s)), int64(len(args))))
		}
	}
	return StringCost(n), nil
}

func structCost(_ sl.Tuple, kwargs []sl.Tuple, _ int64) (int64, error) {
	return 48 + int64(len(kwargs))*2*slotSize, nil
}

// jsonModule is Starlark's json module, checked: encode and indent are
// charged the text they make, decode makes its values itself, charging
// each as it goes.
func jsonModule() *starlarkstruct.Module {
	orig := func(name string) *sl.Builtin { return json.Module.Members[name].(*sl.Builtin) }
	indentOf := func(kwargs []sl.Tuple) int64 {
		n := int64(1)
		for _, kv := range kwargs {
			if s, ok := kv[1].(sl.String); ok {
				n += int64(len(s))
			}
		}
		return n
	}
	return &starlarkstruct.Module{Name: "json", Members: sl.StringDict{
		"encode": checked(orig("encode"), "json.encode", func(args sl.Tuple, _ []sl.Tuple, left int64) (int64, error) {
			if len(args) != 1 {
				return 0, nil
			}
			n, err := JSONSize(args[0], 0, left)
			return StringCost(n), err
		}),
		"encode_indent": checked(orig("encode_indent"), "json.encode_indent", func(args sl.Tuple, kwargs []sl.Tuple, left int64) (int64, error) {
			if len(args) != 1 {
				return 0, nil
			}
			compact, err := JSONSize(args[0], 0, left)
			if err != nil {
				return 0, err
			}
			indented, err := JSONSize(args[0], indentOf(kwargs), left)
			return sat(StringCost(compact), StringCost(indented)), err
		}),
		"indent": checked(orig("indent"), "json.indent", func(args sl.Tuple, kwargs []sl.Tuple, _ int64) (int64, error) {
			if len(args) != 1 {
				return 0, nil
			}
			s, _ := args[0].(sl.String)
			return StringCost(indentedSize(string(s), indentOf(kwargs))), nil
		}),
		"decode": sl.NewBuiltin("json.decode", jsonDecode),
	}}
}

// indentedSize bounds the length of JSON text once indented: each
// element on its own line, indented per level.
func indentedSize(s string, indent int64) int64 {
	n := int64(len(s))
	var depth int64
	inString := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			n = sat(n, 1+indent*depth)
		case c == ',':
			n = sat(n, 1+indent*depth)
		case c == '}' || c == ']':
			depth--
			n = sat(n, 1+indent*max(depth, 0))
		}
	}
	return n
}

// jsonDecode is json.decode(x, default=…): it makes dicts (keys in the
// document's order), lists, strings, ints and floats, charging each.
func jsonDecode(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var s string
	var dflt sl.Value
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "x", &s, "default?", &dflt); err != nil {
		return nil, err
	}
	if len(args) < 1 {
		return nil, errors.New(b.Name() + ": unexpected keyword argument x")
	}
	v, err := DecodeJSON(Of(thread), s, jsonlimit.Limits{MaxDepth: MaxDepth, MaxValues: 1 << 62}, false)
	if err != nil {
		var se *jsonlimit.SyntaxError
		if dflt != nil && (errors.As(err, &se) || errors.Is(err, jsonlimit.ErrTooDeep)) {
			return dflt, nil
		}
		var ee *ExceededError
		if errors.As(err, &ee) {
			return nil, err
		}
		return nil, errors.New(b.Name() + ": " + strings.TrimPrefix(err.Error(), b.Name()+": "))
	}
	return v, nil
}
