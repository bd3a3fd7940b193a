// Package sio is typed I/O for services: the declaration of a service's
// input and output (Zato's SimpleIO element lists, or a model: a Go struct
// or a Starlark model with nested models, lists of models and optional
// fields), type inference from element names, the conversion of values to
// the declared types, the building of a service's input (URL parameters
// first, then the body), the filtering of its output, JSON Schema
// validation, and the Stage that runs all of it around every invocation.
//
// Declarations are read once, when a service is registered or deployed, and
// kept on the service as an *IO; nothing here parses a declaration per
// request. An IO and its Models are immutable once built and safe for
// concurrent use.
package sio

import (
	"fmt"
	"slices"
	"strings"

	"github.com/plexushq/plexus/sdk/service"
)

// TypeModel is the type of an element holding a nested model.
const TypeModel service.Type = "model"

// Types lists the element types a declaration may name, in the order the
// docs show them.
var Types = []service.Type{
	service.TypeText, service.TypeInt, service.TypeBool, service.TypeFloat, service.TypeDecimal,
	service.TypeDate, service.TypeDateTime, service.TypeUUID, service.TypeList, service.TypeDict,
	service.TypeAsIs, service.TypeSecret,
}

// ParseType returns the type a name denotes, accepting Zato's aliases
// (Integer, Boolean, Unicode, Opaque, …) in any case.
func ParseType(s string) (service.Type, bool) {
	switch strings.ToLower(strings.ReplaceAll(s, "_", "-")) {
	case "text", "str", "string", "unicode":
		return service.TypeText, true
	case "int", "integer":
		return service.TypeInt, true
	case "bool", "boolean":
		return service.TypeBool, true
	case "float", "number":
		return service.TypeFloat, true
	case "decimal":
		return service.TypeDecimal, true
	case "date":
		return service.TypeDate, true
	case "datetime", "date-time":
		return service.TypeDateTime, true
	case "uuid":
		return service.TypeUUID, true
	case "list":
		return service.TypeList, true
	case "dict", "object":
		return service.TypeDict, true
	case "as-is", "asis", "opaque", "any":
		return service.TypeAsIs, true
	case "secret":
		return service.TypeSecret, true
	}
	return "", false
}

// Name-based inference, as in Zato 3.2's simple-io.conf.
var (
	boolPrefixes = []string{"by_", "has_", "is_", "may_", "needs_", "should_"}
	intExact     = []string{"id"}
	intSuffixes  = []string{"_count", "_id", "_size", "_size_min", "_size_max", "_timeout"}
	secretExact  = []string{"auth_data", "auth_token", "password", "password1", "password2", "secret_key", "tls_pem_passphrase", "token", "api_key", "apiKey", "xApiKey"}
)

// Infer returns the type of an element declared by name alone. Bool is
// checked first, so is_id is a bool.
func Infer(name string) service.Type {
	for _, p := range boolPrefixes {
		if strings.HasPrefix(name, p) {
			return service.TypeBool
		}
	}
	if slices.Contains(intExact, name) {
		return service.TypeInt
	}
	for _, s := range intSuffixes {
		if strings.HasSuffix(name, s) {
			return service.TypeInt
		}
	}
	if slices.Contains(secretExact, name) {
		return service.TypeSecret
	}
	return service.TypeText
}

// Elem is one element of a model: a field of a struct, a key of a JSON
// object.
type Elem struct {
	// Name is the key in the JSON object.
	Name string
	// Type is the element's type; TypeModel for a nested model.
	Type service.Type
	// Required elements must be present (and not null) on input.
	Required bool
	// Default is the value an absent optional input element takes, when
	// HasDefault is set; it is already converted to Type.
	Default    any
	HasDefault bool
	// Model is the nested model of a TypeModel element.
	Model *Model
	// Items is the type of a list's elements, when declared (list_of).
	Items *Elem

	// index is the struct field of a Go model's element.
	index []int
}

// Model is an object with declared elements: a named model (a Go struct,
// a Starlark model) or the anonymous model of a SimpleIO element list.
type Model struct {
	// Name is the model's name ("" for SimpleIO lists).
	Name string
	// Doc describes the model.
	Doc string
	// Elems are the model's elements, in declaration order.
	Elems []*Elem

	byName map[string]*Elem
	// named models report errors as paths (/address/street); SimpleIO
	// lists by bare name (user_id), as Zato does.
	paths bool
	// goType is set for models read from Go structs.
	goType goType
}

// NewModel returns a model of elements. name is empty for a SimpleIO
// list. It refuses duplicate names.
func NewModel(name string, elems []*Elem) (*Model, error) {
	m := &Model{Name: name, Elems: elems, byName: make(map[string]*Elem, len(elems)), paths: name != ""}
	for _, e := range elems {
		if e.Name == "" {
			return nil, fmt.Errorf("an element of %s has no name", m.title())
		}
		if _, dup := m.byName[e.Name]; dup {
			return nil, fmt.Errorf("%s declares element %q twice", m.title(), e.Name)
		}
		m.byName[e.Name] = e
	}
	return m, nil
}

func (m *Model) title() string {
	if m.Name == "" {
		return "the element list"
	}
	return "model " + m.Name
}

// Elem returns the element with a name, or nil.
func (m *Model) Elem(name string) *Elem { return m.byName[name] }

// IO is everything a service declares about its input and output.
type IO struct {
	// Input and Output are nil when not declared.
	Input, Output *Model
	// ResponseElem wraps the output: {ResponseElem: output}.
	ResponseElem string
	// SkipEmpty leaves out every empty output key; SkipEmptyKeys only the
	// named ones.
	SkipEmpty     bool
	SkipEmptyKeys map[string]bool
	// Schema names a JSON Schema file that validates the request payload.
	Schema string
	// Invokes lists the services this one declares it invokes.
	Invokes []string
	// Namespace groups the service in the API docs; empty derives it from
	// the name.
	Namespace string
}

// Empty reports whether the IO declares nothing the Stage acts on.
func (io *IO) Empty() bool {
	return io == nil || (io.Input == nil && io.Output == nil && io.ResponseElem == "" && io.Schema == "" && !io.SkipEmpty && len(io.SkipEmptyKeys) == 0)
}

// Lists is a SimpleIO declaration as element lists, the shape both Go's
// service.SimpleIO and Starlark's module-level names take.
type Lists struct {
	InputRequired, InputOptional   []service.Elem
	OutputRequired, OutputOptional []service.Elem
	// Input and Output mix required and optional elements; "-name" is
	// optional (Zato 3.2+'s input = 'cust_id', '-segment').
	Input, Output []service.Elem
	// DefaultValue replaces the types' defaults for absent optional input
	// elements, when HasDefaultValue is set.
	DefaultValue    any
	HasDefaultValue bool
}

// Build turns element lists into input and output models (nil when a side
// declares nothing). A name both required and optional is required;
// warnings say so.
func (l Lists) Build() (in, out *Model, warnings []string, err error) {
	in, w1, err := buildSide("input", l.InputRequired, l.InputOptional, l.Input, l.DefaultValue, l.HasDefaultValue)
	if err != nil {
		return nil, nil, nil, err
	}
	out, w2, err := buildSide("output", l.OutputRequired, l.OutputOptional, l.Output, nil, false)
	if err != nil {
		return nil, nil, nil, err
	}
	return in, out, append(w1, w2...), nil
}

func buildSide(side string, required, optional, mixed []service.Elem, defVal any, hasDefVal bool) (*Model, []string, error) {
	if required == nil && optional == nil && mixed == nil {
		return nil, nil, nil
	}
	var elems []*Elem
	var warnings []string
	seen := map[string]*Elem{}
	add := func(d service.Elem, req bool, list string) error {
		name := d.Name
		if strings.HasPrefix(name, "-") {
			if list != side {
				return fmt.Errorf("%s_%s: %q: a leading - marks an optional element only in %s; list it in %s_optional instead", side, list, name, side, side)
			}
			name, req = name[1:], false
		}
		if name == "" {
			return fmt.Errorf("%s: an element has no name", side)
		}
		if prev, dup := seen[name]; dup {
			if prev.Required != req {
				warnings = append(warnings, fmt.Sprintf("%s element %q is declared both required and optional; it is required", side, name))
				prev.Required = true
				return nil
			}
			return fmt.Errorf("%s element %q is declared twice", side, name)
		}
		e, err := FromDecl(name, d, req)
		if err != nil {
			return fmt.Errorf("%s element %q: %w", side, name, err)
		}
		if !req && !e.HasDefault && hasDefVal && defVal != nil {
			if e.Default, err = Convert(e, defVal); err != nil {
				return fmt.Errorf("default_value for %s element %q: %w", side, name, err)
			}
			e.HasDefault = true
		} else if !req && !e.HasDefault && hasDefVal {
			e.HasDefault = true // default_value = None
		}
		seen[name] = e
		elems = append(elems, e)
		return nil
	}
	for _, group := range []struct {
		list  []service.Elem
		req   bool
		label string
	}{{required, true, "required"}, {optional, false, "optional"}, {mixed, true, side}} {
		for _, d := range group.list {
			if err := add(d, group.req, group.label); err != nil {
				return nil, nil, err
			}
		}
	}
	m, err := NewModel("", elems)
	return m, warnings, err
}

// FromDecl builds an element from a declaration: its type (inferred when
// empty) and its default, converted to that type.
func FromDecl(name string, d service.Elem, required bool) (*Elem, error) {
	t := d.Type
	if t == "" {
		t = Infer(name)
	} else if pt, ok := ParseType(string(t)); ok {
		t = pt
	} else {
		return nil, fmt.Errorf("unknown type %q; the types are %s", t, typeList())
	}
	e := &Elem{Name: name, Type: t, Required: required}
	if d.HasDefault && d.Default == nil {
		e.HasDefault = true
	} else if d.HasDefault {
		v, err := Convert(e, d.Default)
		if err != nil {
			return nil, fmt.Errorf("default: %w", err)
		}
		e.Default, e.HasDefault = v, true
	}
	return e, nil
}

func typeList() string {
	s := make([]string, len(Types))
	for i, t := range Types {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}
