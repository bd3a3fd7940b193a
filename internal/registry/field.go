package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/redact"
)

// Field describes one field of a kind, from its struct tags.
type Field struct {
	// Name is the JSON/YAML name.
	Name string
	// Doc is the user-facing help text.
	Doc string
	// Enum lists the allowed values of a string field.
	Enum []string
	// Ref is the kind the value refers to, or "service".
	Ref string
	// Secret marks passwords, keys and tokens.
	Secret bool
	// Required marks a field that must not be empty.
	Required bool
	// Type is the Go type.
	Type reflect.Type
	// Sub describes the fields of a struct field, or of the structs of a
	// list or map.
	Sub []Field

	// Form metadata, for the Dashboard's forms and the docs (see the
	// package doc for the tags).

	// Label is the field's short name in a form.
	Label string
	// Group is the section of the form the field is in.
	Group string
	// Advanced fields are folded away until a user asks for them.
	Advanced bool
	// When, if not nil, shows the field only while another field of the
	// same struct holds one of the values it lists.
	When *When
	// Min and Max bound a number (or a duration), as the tags write them;
	// the registry refuses values outside them.
	Min, Max string
	// Unit says what a number counts, such as bytes.
	Unit string
	// Placeholder is an example value shown in an empty input.
	Placeholder string
	// Widget is how a form edits the field, one of Widgets; secrets are
	// "secret" unless they say otherwise.
	Widget string
	// EnumLabels are the labels of the Enum values, in the same order.
	EnumLabels []string

	index []int
	// holdsSecret marks a secret field, or one with secrets in Sub.
	holdsSecret bool
	// min and max are Min and Max parsed (durations in nanoseconds).
	min, max *float64
}

// RefService is the Ref of fields naming a deployed service.
const RefService = "service"

// KindCode is the Kind of problems with deployed source files; they name
// the file in Name and the position in Pos.
const KindCode = "code"

// SecretPlaceholder replaces a set secret wherever objects are shown.
const SecretPlaceholder = "******"

func fieldsOf(t reflect.Type) ([]Field, error) {
	var out []Field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			return nil, fmt.Errorf("field %s has no json name", sf.Name)
		}
		f := Field{
			Name:     name,
			Doc:      sf.Tag.Get("doc"),
			Ref:      sf.Tag.Get("ref"),
			Secret:   sf.Tag.Get("secret") == "true",
			Required: sf.Tag.Get("required") == "true",
			Type:     sf.Type,
			index:    sf.Index,
		}
		if f.Doc == "" {
			return nil, fmt.Errorf("field %q has no doc tag", name)
		}
		if e := sf.Tag.Get("enum"); e != "" {
			f.Enum = strings.Split(e, "|")
		}
		if err := formOf(&f, sf); err != nil {
			return nil, fmt.Errorf("field %q: %w", name, err)
		}
		if f.Secret && !secretType(sf.Type) {
			return nil, fmt.Errorf("field %q: a secret must be a string, a list of strings or a map of strings", name)
		}
		if st := structOf(sf.Type); st != nil {
			sub, err := fieldsOf(st)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", name, err)
			}
			f.Sub = sub
		}
		f.holdsSecret = f.Secret || slices.ContainsFunc(f.Sub, func(s Field) bool { return s.holdsSecret })
		if f.holdsSecret && !f.Secret && !secretPath(sf.Type) {
			return nil, fmt.Errorf("field %q: secrets may be nested in structs, lists of structs and maps of structs with string keys", name)
		}
		out = append(out, f)
	}
	return out, nil
}

// structOf returns the struct type of a struct, pointer-to-struct, list of
// structs or map of structs field, else nil. time.Time and other types
// with their own JSON form are not descended into.
func structOf(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Time]() {
		return nil
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return nil
	}
	return t
}

// secretType reports whether a secret field can have a type: a string,
// a list of strings or a map of strings by string keys.
func secretType(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String:
		return true
	case reflect.Slice:
		return t.Elem().Kind() == reflect.String
	case reflect.Map:
		return t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String
	}
	return false
}

// secretPath reports whether the secret walker can go through a type to
// the structs it holds: pointers, lists, and maps with string keys.
func secretPath(t reflect.Type) bool {
	for {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice:
			t = t.Elem()
		case reflect.Map:
			if t.Key().Kind() != reflect.String {
				return false
			}
			t = t.Elem()
		case reflect.Struct:
			return true
		default:
			return false
		}
	}
}

// Value returns the field's value in obj.
func (f Field) Value(obj Object) reflect.Value {
	return reflect.ValueOf(obj).Elem().FieldByIndex(f.index)
}

// Problem is one thing wrong with a configuration object, a source file
// or an enmasse file, or one warning about it. Its text names the place
// (file:line:column), the kind, the object and the field, so a user can
// find it. File, Line and Column are empty for a problem that has no
// place in a file.
type Problem struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	Kind   string `json:"kind,omitempty"`
	Name   string `json:"name,omitempty"`
	Field  string `json:"field,omitempty"`
	// Message says what is wrong and, where possible, what to do.
	Message string `json:"message"`
}

// Error returns the problem as file:line:column: kind "name": field:
// message, leaving out the parts it lacks. A problem with a source file
// (kind code) and no position starts with the file's name.
func (p *Problem) Error() string {
	var b strings.Builder
	switch {
	case p.File != "":
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", p.Line, p.Column)
		}
		b.WriteString(": ")
	case p.Kind == KindCode && p.Name != "":
		b.WriteString(p.Name + ": ")
	}
	if p.Kind != "" && p.Kind != KindCode {
		b.WriteString(p.Kind)
		if p.Name != "" {
			fmt.Fprintf(&b, " %s", redact.Quote(p.Name))
		}
		b.WriteString(": ")
	}
	// "unknown field "x"; …" already names its field.
	if p.Field != "" && !strings.HasPrefix(p.Message, "unknown field "+redact.Quote(p.Field)) {
		b.WriteString(redact.Short(p.Field))
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// FieldProblem returns a problem with one field.
func FieldProblem(field, format string, args ...any) error {
	return &Problem{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ListedTwice returns a problem with a list field for each name it holds
// more than once.
func ListedTwice(field string, names []string) []error {
	var errs []error
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if seen[n] {
			errs = append(errs, FieldProblem(field, "%s is listed twice", redact.Quote(n)))
		}
		seen[n] = true
	}
	return errs
}

// Locate fills in the kind and name of problems that lack them and returns
// them as *Problem values.
func Locate(kind, name string, errs []error) []*Problem {
	out := make([]*Problem, 0, len(errs))
	for _, err := range errs {
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			out = append(out, Locate(kind, name, joined.Unwrap())...)
			continue
		}
		var p *Problem
		if errors.As(err, &p) {
			cp := *p
			if cp.Kind == "" {
				cp.Kind = kind
			}
			if cp.Name == "" {
				cp.Name = name
			}
			out = append(out, &cp)
			continue
		}
		out = append(out, &Problem{Kind: kind, Name: name, Message: err.Error()})
	}
	return out
}

// Decode makes an object of the kind from a JSON object: the kind's
// defaults, overwritten by the fields present. It reports every unknown
// field (with the nearest known name) and every value of the wrong type.
func (k *Kind) Decode(data []byte) (Object, []error) {
	// Fast path: a valid object decodes in one pass. Only a failure takes
	// the field-by-field path that collects every problem.
	obj := k.New()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err == nil && !dec.More() && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		return obj, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return nil, []error{&Problem{Message: "expected a JSON object with the fields of a " + k.Title}}
	}
	return k.DecodeFields(raw)
}

// DecodeFields is Decode for a map of field names to JSON values.
func (k *Kind) DecodeFields(raw map[string]json.RawMessage) (Object, []error) {
	obj := k.New()
	var errs []error
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		f, ok := k.Field(name)
		if !ok {
			errs = append(errs, k.unknownField(name))
			continue
		}
		if err := decodeValue(raw[name], f.Value(obj)); err != nil {
			p := &Problem{Field: name, Message: err.Error()}
			var ne *nestedError
			if errors.As(err, &ne) {
				p.Field += "." + ne.path
			}
			errs = append(errs, p)
		}
	}
	return obj, errs
}

func (k *Kind) unknownField(name string) error {
	known := make([]string, len(k.fields))
	for i, f := range k.fields {
		known[i] = f.Name
	}
	msg := "unknown field " + redact.Quote(name)
	if s := Suggest(name, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return &Problem{Field: name, Message: msg}
}

func decodeValue(raw json.RawMessage, v reflect.Value) error {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		v.SetZero()
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v.Addr().Interface())
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" && te.Type != nil {
		return &nestedError{path: te.Field, msg: fmt.Sprintf("expected %s, got %s", typeName(te.Type), redact.Short(te.Value))}
	}
	if errors.As(err, &te) {
		return fmt.Errorf("expected %s, got %s", typeName(v.Type()), redact.Short(te.Value))
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		if uq, err := strconv.Unquote(name); err == nil {
			msg = "unknown field " + redact.Quote(uq)
		}
	}
	return errors.New(msg)
}

// nestedError is a wrong type inside a field's value, at path (such as
// limits.max).
type nestedError struct {
	path, msg string
}

func (e *nestedError) Error() string { return e.msg }

// typeName says what a user must write for a Go type.
func typeName(t reflect.Type) string {
	if t == reflect.TypeFor[config.Duration]() {
		return "a duration such as 30s or 1m"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(typeName(t.Elem()), "a "), "an ") + "s"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return typeName(t.Elem())
	}
	return t.String()
}

// CheckFields checks the field metadata of an object: required fields are
// set, enum fields hold allowed values and numbers are within their min
// and max; a field whose type has a Validate() []error method (a list of
// rate-limiting rules, say) is checked by it. References are checked by
// the caller, which knows the other objects (see Refs).
func (k *Kind) CheckFields(obj Object) []error {
	var errs []error
	if NameOf(obj) == "" {
		errs = append(errs, &Problem{Field: "name", Message: "must not be empty"})
	}
	for _, f := range k.fields[1:] {
		v := f.Value(obj)
		if f.Required && v.IsZero() {
			errs = append(errs, &Problem{Field: f.Name, Message: "must not be empty"})
		}
		if len(f.Enum) > 0 {
			for _, s := range stringsOf(v) {
				if !slices.Contains(f.Enum, s) {
					errs = append(errs, &Problem{Field: f.Name, Message: fmt.Sprintf("%s is not one of %s", redact.Quote(s), strings.Join(f.Enum, ", "))})
				}
			}
		}
		if err := f.checkBounds(v); err != nil {
			errs = append(errs, &Problem{Field: f.Name, Message: err.Error()})
		}
		if val, ok := v.Interface().(interface{ Validate() []error }); ok {
			for _, err := range val.Validate() {
				errs = append(errs, &Problem{Field: f.Name, Message: err.Error()})
			}
		}
	}
	return errs
}

// Ref names one configuration object: as a reference from another
// object, Field is the field of the other object that holds the name.
type Ref struct {
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	Field string `json:"field,omitempty"`
}

// String returns the kind and the quoted name.
func (r Ref) String() string { return fmt.Sprintf("%s %q", r.Kind, r.Name) }

// Refs returns the references an object makes to other objects and
// services.
func (k *Kind) Refs(obj Object) []Ref {
	var out []Ref
	for _, f := range k.fields {
		if f.Ref == "" {
			continue
		}
		for _, s := range stringsOf(f.Value(obj)) {
			if s != "" {
				out = append(out, Ref{Field: f.Name, Kind: f.Ref, Name: s})
			}
		}
	}
	return out
}

func stringsOf(v reflect.Value) []string {
	switch {
	case v.Kind() == reflect.String:
		if v.String() == "" {
			return nil
		}
		return []string{v.String()}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		out := make([]string, v.Len())
		for i := range out {
			out[i] = v.Index(i).String()
		}
		return out
	}
	return nil
}

// Clone returns a deep copy of obj.
func (k *Kind) Clone(obj Object) Object {
	data, err := json.Marshal(obj)
	if err != nil {
		panic(fmt.Sprintf("registry: cloning %s: %v", k.ID, err))
	}
	out := k.New()
	if err := json.Unmarshal(data, out); err != nil {
		panic(fmt.Sprintf("registry: cloning %s: %v", k.ID, err))
	}
	return out
}
