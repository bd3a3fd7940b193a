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
	// Sub describes the fields of a struct (or list of structs) field.
	Sub []Field

	index []int
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
		if st := structOf(sf.Type); st != nil {
			sub, err := fieldsOf(st)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", name, err)
			}
			f.Sub = sub
		}
		out = append(out, f)
	}
	return out, nil
}

// structOf returns the struct type of a struct, pointer-to-struct or slice
// of structs field, else nil. time.Time and other types with their own JSON
// form are not descended into.
func structOf(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
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

// Value returns the field's value in obj.
func (f Field) Value(obj Object) reflect.Value {
	return reflect.ValueOf(obj).Elem().FieldByIndex(f.index)
}

// Problem is one thing wrong with a configuration object. Its text names
// the kind, the object and the field, so a user can find it; enmasse adds
// the file position.
type Problem struct {
	Kind  string `json:"kind,omitempty"`
	Name  string `json:"name,omitempty"`
	Field string `json:"field,omitempty"`
	// Pos is the file:line:column the problem is at, when it comes from a
	// file (a service's source, an enmasse file).
	Pos string `json:"pos,omitempty"`
	// Message says what is wrong and, where possible, what to do.
	Message string `json:"message"`
}

func (p *Problem) Error() string {
	var b strings.Builder
	switch {
	case p.Pos != "":
		b.WriteString(p.Pos + ": ")
	case p.Kind == KindCode:
		b.WriteString(p.Name + ": ")
	}
	if p.Kind != "" && p.Kind != KindCode {
		b.WriteString(p.Kind)
		if p.Name != "" {
			fmt.Fprintf(&b, " %s", redact.Quote(p.Name))
		}
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
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
// set and enum fields hold allowed values. References are checked by the
// caller, which knows the other objects (see Refs).
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
	}
	return errs
}

// Ref is one reference from an object to another.
type Ref struct {
	Field string
	Kind  string
	Name  string
}

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

// Public returns a copy of obj whose set secrets read SecretPlaceholder,
// for the admin API and logs.
func (k *Kind) Public(obj Object) Object {
	out, _ := k.MapSecrets(obj, func(string) (string, error) { return SecretPlaceholder, nil })
	return out
}

// MapSecrets returns a copy of obj with fn applied to every secret field
// that is set: sealing for the store, opening on load, masking for display.
func (k *Kind) MapSecrets(obj Object, fn func(string) (string, error)) (Object, error) {
	cp := reflect.New(reflect.TypeOf(obj).Elem())
	cp.Elem().Set(reflect.ValueOf(obj).Elem())
	out := cp.Interface().(Object)
	for _, f := range k.fields {
		if !f.Secret || f.Type.Kind() != reflect.String || f.Value(out).IsZero() {
			continue
		}
		v, err := fn(f.Value(out).String())
		if err != nil {
			return nil, &Problem{Field: f.Name, Message: err.Error()}
		}
		f.Value(out).SetString(v)
	}
	return out, nil
}

// KeepSecrets copies into obj the secrets of prev that obj leaves as the
// placeholder, so an object read from the admin API (secrets masked) and
// written back keeps its secrets.
func (k *Kind) KeepSecrets(obj, prev Object) {
	for _, f := range k.fields {
		if f.Secret && f.Type.Kind() == reflect.String && f.Value(obj).String() == SecretPlaceholder {
			f.Value(obj).SetString(f.Value(prev).String())
		}
	}
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
