package sio

import (
	"encoding/json"
	"reflect"
	"strconv"

	"github.com/plexushq/plexus/sdk/service"
)

// Problems with input, in the words Zato uses.
const (
	Missing   = "Element missing"
	NotAList  = "Element is not a list"
	NotObject = "Element is not an object"
	Invalid   = "Invalid value for"
)

// InputError is input that does not match a declaration. Its text is
// safe to show the caller: "Element missing: user_id", "Element missing:
// /address/street", "Invalid value for /items[2]/qty: expected an
// integer, got \"x\"".
type InputError struct {
	// Problem is Missing, NotAList, NotObject or Invalid.
	Problem string
	// Path names the element: a bare name for SimpleIO lists, a path
	// (/address/street, /items[2]/sku) for models.
	Path string
	// Err is the conversion error of an Invalid element.
	Err error
}

func (e *InputError) Error() string {
	if e.Problem == Invalid {
		return e.Problem + " " + e.Path + ": " + e.Err.Error()
	}
	return e.Problem + ": " + e.Path
}

// Unwrap returns the conversion error.
func (e *InputError) Unwrap() error { return e.Err }

// OutputError is a response that does not match the declared output. It
// answers 500; its text goes to the log.
type OutputError struct {
	Problem string
	Path    string
	Err     error
}

func (e *OutputError) Error() string {
	msg := "output " + e.Problem + ": " + e.Path
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the conversion error.
func (e *OutputError) Unwrap() error { return e.Err }

// path joins a parent path and an element name.
func (m *Model) path(prefix, name string) string {
	if prefix == "" && !m.paths {
		return name
	}
	return prefix + "/" + name
}

func index(prefix string, i int) string { return prefix + "[" + strconv.Itoa(i) + "]" }

// absent reports whether a value counts as not given: missing, null, or
// an empty string for types other than text and secret (an empty form
// field).
func absent(e *Elem, v any, ok bool) bool {
	if !ok || v == nil {
		return true
	}
	if s, isStr := v.(string); isStr && s == "" {
		return e.Type != service.TypeText && e.Type != service.TypeSecret && e.Type != service.TypeAsIs
	}
	return false
}

// Decode builds a service's input from what the caller sent: for every
// declared element its value, converted; for absent optional elements
// their defaults (see zero). Undeclared keys are left out. The error is
// an *InputError.
func (m *Model) Decode(in map[string]any) (map[string]any, error) {
	return m.decode(in, "")
}

func (m *Model) decode(in map[string]any, prefix string) (map[string]any, error) {
	// When the input holds exactly the declared elements, each already of
	// its type (the common case), it is used as it is: no copy.
	var out map[string]any
	if len(in) != len(m.Elems) {
		out = make(map[string]any, len(m.Elems))
	}
	copyDone := func(i int) {
		out = make(map[string]any, len(m.Elems))
		for _, d := range m.Elems[:i] {
			out[d.Name] = in[d.Name]
		}
	}
	for i, e := range m.Elems {
		v, ok := in[e.Name]
		if absent(e, v, ok) {
			if e.Required {
				return nil, &InputError{Problem: Missing, Path: m.path(prefix, e.Name)}
			}
			if ok && v == nil {
				if out != nil {
					out[e.Name] = nil // an explicit null is kept
				}
				continue
			}
			if out == nil {
				copyDone(i)
			}
			if m.goType.t != nil && !e.HasDefault {
				continue // a Go field keeps its zero value: nil for pointers
			}
			out[e.Name] = defaultOf(e)
			continue
		}
		var cv any
		var err error
		if e.Type == TypeModel || e.Items != nil {
			cv, err = e.decodeValue(v, m.path(prefix, e.Name))
		} else if cv, err = Convert(e, v); err != nil {
			// The path is built only for the error: no cost per element.
			err = &InputError{Problem: Invalid, Path: m.path(prefix, e.Name), Err: err}
		}
		if err != nil {
			return nil, err
		}
		if out == nil && !same(v, cv) {
			copyDone(i)
		}
		if out != nil {
			out[e.Name] = cv
		}
	}
	if out == nil {
		return in, nil
	}
	return out, nil
}

// defaultOf returns the element's default, copied when it is a list or an
// object so that no request changes another's.
func defaultOf(e *Elem) any {
	if !e.HasDefault {
		return zero(e)
	}
	return clone(e.Default)
}

func clone(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = clone(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = clone(e)
		}
		return out
	}
	return v
}

func asMap(v any) (map[string]any, bool) {
	switch x := v.(type) {
	case map[string]any:
		return x, true
	case service.Input:
		return x, true
	}
	return nil, false
}

func (e *Elem) decodeValue(v any, path string) (any, error) {
	switch {
	case e.Type == TypeModel:
		m, ok := asMap(v)
		if !ok {
			return nil, &InputError{Problem: NotObject, Path: path}
		}
		return e.Model.decode(m, path)
	case e.Type == service.TypeList && e.Items != nil:
		var list []any
		switch x := v.(type) {
		case []any:
			list = x
		case string:
			list = []any{x}
		default:
			return nil, &InputError{Problem: NotAList, Path: path}
		}
		out := make([]any, len(list))
		for i, item := range list {
			p := index(path, i)
			if item == nil {
				return nil, &InputError{Problem: Missing, Path: p}
			}
			cv, err := e.Items.decodeValue(item, p)
			if err != nil {
				return nil, err
			}
			out[i] = cv
		}
		return out, nil
	}
	cv, err := Convert(e, v)
	if err != nil {
		return nil, &InputError{Problem: Invalid, Path: path, Err: err}
	}
	return cv, nil
}

// Encode filters a service's output through the model: only declared
// elements are kept, converted to their types, and a missing required
// element is an *OutputError. A list is encoded item by item. A value of
// the model's own Go type is returned as is: its fields are the
// declaration. dropped receives the paths of undeclared keys left out.
func (m *Model) Encode(v any, dropped *[]string) (any, error) {
	return m.encode(v, "", dropped)
}

func (m *Model) encode(v any, prefix string, dropped *[]string) (any, error) {
	if mv, ok := asMap(v); ok {
		return m.encodeMap(mv, prefix, dropped)
	}
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			ev, err := m.encode(item, index(prefix, i), dropped)
			if err != nil {
				return nil, err
			}
			out[i] = ev
		}
		return out, nil
	case []map[string]any:
		out := make([]any, len(x))
		for i, item := range x {
			ev, err := m.encodeMap(item, index(prefix, i), dropped)
			if err != nil {
				return nil, err
			}
			out[i] = ev
		}
		return out, nil
	}
	rv := reflect.ValueOf(v)
	if m.goType.t != nil && (rv.Type() == m.goType.t || (rv.Kind() == reflect.Pointer && rv.Type().Elem() == m.goType.t)) {
		return v, nil
	}
	// Other Go values go through their JSON form.
	generic, err := jsonForm(v)
	if err != nil {
		return nil, &OutputError{Problem: "is not an object", Path: pathOrRoot(prefix), Err: err}
	}
	if _, isMap := generic.(map[string]any); !isMap {
		if _, isList := generic.([]any); !isList {
			return nil, &OutputError{Problem: "is not an object", Path: pathOrRoot(prefix)}
		}
	}
	return m.encode(generic, prefix, dropped)
}

func pathOrRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func jsonForm(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var generic any
	if err := json.Unmarshal(data, &generic); err != nil {
		return nil, err
	}
	return generic, nil
}

func (m *Model) encodeMap(in map[string]any, prefix string, dropped *[]string) (map[string]any, error) {
	// As for input: a map holding only declared elements, each of its
	// type, is sent as it is.
	var out map[string]any
	found := 0
	copyDone := func(i int) {
		out = make(map[string]any, len(m.Elems))
		for _, d := range m.Elems[:i] {
			if v, ok := in[d.Name]; ok {
				out[d.Name] = v
			}
		}
	}
	for i, e := range m.Elems {
		v, ok := in[e.Name]
		if ok {
			found++
		}
		if !ok || v == nil {
			if e.Required {
				return nil, &OutputError{Problem: "element missing", Path: m.path(prefix, e.Name)}
			}
			if ok && out == nil {
				copyDone(i) // an optional element set to null is left out
			}
			continue
		}
		var ev any
		var err error
		switch {
		case e.Type == TypeModel || e.Items != nil:
			ev, err = e.encodeValue(v, m.path(prefix, e.Name), dropped)
		case e.Type == service.TypeAsIs:
			ev = v
		default:
			if ev, err = Convert(e, v); err != nil {
				err = &OutputError{Problem: "element has an invalid value", Path: m.path(prefix, e.Name), Err: err}
			}
		}
		if err != nil {
			return nil, err
		}
		if out == nil && !same(v, ev) {
			copyDone(i)
		}
		if out != nil {
			out[e.Name] = ev
		}
	}
	if len(in) > found {
		for k := range in {
			if m.byName[k] == nil {
				*dropped = append(*dropped, m.path(prefix, k))
			}
		}
		if out == nil {
			copyDone(len(m.Elems))
		}
	}
	if out == nil {
		return in, nil
	}
	return out, nil
}

func (e *Elem) encodeValue(v any, path string, dropped *[]string) (any, error) {
	switch {
	case e.Type == TypeModel:
		return e.Model.encode(v, path, dropped)
	case e.Type == service.TypeList && e.Items != nil:
		list, ok := v.([]any)
		if !ok {
			g, err := jsonForm(v)
			if list, ok = g.([]any); err != nil || !ok {
				return nil, &OutputError{Problem: "element is not a list", Path: path}
			}
		}
		out := make([]any, len(list))
		for i, item := range list {
			ev, err := e.Items.encodeValue(item, index(path, i), dropped)
			if err != nil {
				return nil, err
			}
			out[i] = ev
		}
		return out, nil
	case e.Type == service.TypeAsIs:
		return v, nil
	}
	cv, err := Convert(e, v)
	if err != nil {
		return nil, &OutputError{Problem: "element has an invalid value", Path: path, Err: err}
	}
	return cv, nil
}

// IsEmpty reports whether an output value counts as empty for
// skip_empty_keys: null, "", [] or {}.
func IsEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case service.SecretString:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}
