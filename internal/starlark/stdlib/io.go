package stdlib

import (
	"fmt"
	"strings"

	sl "go.starlark.net/starlark"
)

// ioModule is io: io.StringIO, the in-memory text file that csv writers
// write to and readers read from, as in Python.
func ioModule() sl.Value {
	return module("io", fns("io", map[string]builtinFunc{
		"StringIO": func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			initial := ""
			if err := sl.UnpackArgs(b.Name(), args, kwargs, "initial_value?", &initial); err != nil {
				return nil, err
			}
			buf := &StringIO{}
			buf.b.WriteString(initial)
			return buf, nil
		},
	}))
}

// StringIO is an in-memory text file: write appends, read and iteration
// read from the start (or where the last read stopped).
type StringIO struct {
	b   strings.Builder
	pos int
}

var (
	_ sl.HasAttrs = (*StringIO)(nil)
	_ sl.Iterable = (*StringIO)(nil)
)

func (s *StringIO) String() string        { return "<io.StringIO>" }
func (s *StringIO) Type() string          { return "io.StringIO" }
func (s *StringIO) Freeze()               {}
func (s *StringIO) Truth() sl.Bool        { return sl.True }
func (s *StringIO) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: io.StringIO") }
func (s *StringIO) AttrNames() []string {
	return []string{"getvalue", "read", "readline", "readlines", "write", "writelines"}
}

// write appends text, charging for it.
func (s *StringIO) write(thread *sl.Thread, fn, text string) error {
	if err := charge(thread, int64(len(text)), fn); err != nil {
		return err
	}
	s.b.WriteString(text)
	return nil
}

// Iterate reads the rest line by line, each with its newline.
func (s *StringIO) Iterate() sl.Iterator {
	rest := s.b.String()[s.pos:]
	s.pos = s.b.Len()
	var lines []sl.Value
	for rest != "" {
		i := strings.IndexByte(rest, '\n')
		if i < 0 {
			lines = append(lines, sl.String(rest))
			break
		}
		lines = append(lines, sl.String(rest[:i+1]))
		rest = rest[i+1:]
	}
	return sl.NewList(lines).Iterate()
}

func (s *StringIO) Attr(name string) (sl.Value, error) {
	var f func(thread *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error)
	switch name {
	case "write":
		f = func(thread *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var text string
			if err := sl.UnpackPositionalArgs(fn, args, kwargs, 1, &text); err != nil {
				return nil, err
			}
			return sl.MakeInt(len(text)), s.write(thread, fn, text)
		}
	case "writelines":
		f = func(thread *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var it sl.Iterable
			if err := sl.UnpackPositionalArgs(fn, args, kwargs, 1, &it); err != nil {
				return nil, err
			}
			iter := it.Iterate()
			defer iter.Done()
			var x sl.Value
			for iter.Next(&x) {
				text, ok := x.(sl.String)
				if !ok {
					return nil, fmt.Errorf("%s: got %s, want str", fn, x.Type())
				}
				if err := s.write(thread, fn, string(text)); err != nil {
					return nil, err
				}
			}
			return sl.None, nil
		}
	case "getvalue":
		f = func(_ *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
				return nil, err
			}
			return sl.String(s.b.String()), nil
		}
	case "read":
		f = func(_ *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
				return nil, err
			}
			rest := s.b.String()[s.pos:]
			s.pos = s.b.Len()
			return sl.String(rest), nil
		}
	case "readline":
		f = func(_ *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
				return nil, err
			}
			rest := s.b.String()[s.pos:]
			if i := strings.IndexByte(rest, '\n'); i >= 0 {
				rest = rest[:i+1]
			}
			s.pos += len(rest)
			return sl.String(rest), nil
		}
	case "readlines":
		f = func(_ *sl.Thread, fn string, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(fn, args, kwargs); err != nil {
				return nil, err
			}
			var lines []sl.Value
			it := s.Iterate()
			var x sl.Value
			for it.Next(&x) {
				lines = append(lines, x)
			}
			return sl.NewList(lines), nil
		}
	default:
		return nil, nil
	}
	return sl.NewBuiltin("StringIO."+name, func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		return f(thread, b.Name(), args, kwargs)
	}), nil
}
