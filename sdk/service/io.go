package service

import (
	"fmt"
	"log/slog"
)

// Type is the type of an I/O element. The empty Type is inferred from the
// element's name, as Zato 3.2 does: by_, has_, is_, may_, needs_ and
// should_ prefixes are booleans; id and names ending _id, _count, _size,
// _size_min, _size_max or _timeout are integers; password, token, api_key
// and other secret-like names are secrets; everything else is text.
type Type string

// Element types. docs/typed-io.md has the conversion table.
const (
	TypeText     Type = "text"
	TypeInt      Type = "int"
	TypeBool     Type = "bool"
	TypeFloat    Type = "float"
	TypeDecimal  Type = "decimal"
	TypeDate     Type = "date"
	TypeDateTime Type = "datetime"
	TypeUUID     Type = "uuid"
	TypeList     Type = "list"
	TypeDict     Type = "dict"
	TypeAsIs     Type = "as-is"
	TypeSecret   Type = "secret"
)

// Elem declares one input or output element: its name, its type and, for
// optional input elements, the default an absent element takes. A name
// starting with "-" is optional wherever a list mixes required and
// optional elements (Zato's input = 'cust_id', '-segment').
type Elem struct {
	// Name is the element's name, the key in the JSON object.
	Name string
	// Type is the element's type; empty infers it from Name.
	Type Type
	// Default is the value an absent optional input element takes, when
	// HasDefault is set; otherwise it takes the default of its type.
	Default any
	// HasDefault marks Default as set (nil is a valid default).
	HasDefault bool
}

// ElemOption changes an element being declared.
type ElemOption func(*Elem)

// Default sets the value an absent optional input element takes. It is
// converted like a value the caller sent, when the service is registered.
func Default(v any) ElemOption {
	return func(e *Elem) { e.Default, e.HasDefault = v, true }
}

func elem(name string, t Type, opts []ElemOption) Elem {
	e := Elem{Name: name, Type: t}
	for _, o := range opts {
		o(&e)
	}
	return e
}

// Names declares elements whose types are inferred from their names.
func Names(names ...string) []Elem {
	out := make([]Elem, len(names))
	for i, n := range names {
		out[i] = Elem{Name: n}
	}
	return out
}

// Text declares a string element.
func Text(name string, opts ...ElemOption) Elem { return elem(name, TypeText, opts) }

// Int declares an integer element (int64).
func Int(name string, opts ...ElemOption) Elem { return elem(name, TypeInt, opts) }

// Bool declares a boolean element.
func Bool(name string, opts ...ElemOption) Elem { return elem(name, TypeBool, opts) }

// Float declares a floating-point element (float64).
func Float(name string, opts ...ElemOption) Elem { return elem(name, TypeFloat, opts) }

// Decimal declares an exact decimal number, kept as a json.Number.
func Decimal(name string, opts ...ElemOption) Elem { return elem(name, TypeDecimal, opts) }

// Date declares a calendar date, normalised to "2006-01-02".
func Date(name string, opts ...ElemOption) Elem { return elem(name, TypeDate, opts) }

// DateTime declares a date and time, normalised to RFC 3339.
func DateTime(name string, opts ...ElemOption) Elem { return elem(name, TypeDateTime, opts) }

// UUID declares a UUID, normalised to its lower-case hyphenated form.
func UUID(name string, opts ...ElemOption) Elem { return elem(name, TypeUUID, opts) }

// List declares a list ([]any); a query parameter given several times is
// one.
func List(name string, opts ...ElemOption) Elem { return elem(name, TypeList, opts) }

// Dict declares a JSON object (map[string]any).
func Dict(name string, opts ...ElemOption) Elem { return elem(name, TypeDict, opts) }

// AsIs declares an element passed through unchanged.
func AsIs(name string, opts ...ElemOption) Elem { return elem(name, TypeAsIs, opts) }

// Secret declares a secret string: its value is a SecretString, which
// prints and logs as ******.
func Secret(name string, opts ...ElemOption) Elem { return elem(name, TypeSecret, opts) }

// SimpleIO declares a service's input and output, as Zato's SimpleIO does.
// A Go service declares it with an optional method:
//
//	func (GetCustomer) SimpleIO() service.SimpleIO {
//		return service.SimpleIO{
//			InputRequired:  service.Names("cust_id"),
//			InputOptional:  []service.Elem{service.Text("segment"), service.Date("since", service.Default("2020-01-01"))},
//			OutputRequired: service.Names("name", "is_active"),
//		}
//	}
//
// With input declared, Request.Input holds exactly the declared elements,
// converted to their types; a missing required element answers 400
// "Element missing: <name>". With output declared, only declared elements
// are sent and a missing required one answers 500. Services with a typed
// Handle(*Context, Req) (Resp, error) method take their input and output
// from Req and Resp instead, and may still declare the other fields.
type SimpleIO struct {
	InputRequired, InputOptional   []Elem
	OutputRequired, OutputOptional []Elem
	// ResponseElem wraps the output in an object under this key, as Zato 3
	// did by default ({"response": {...}}); empty sends the output as is.
	ResponseElem string
	// SkipEmptyKeys leaves out output keys whose value is null, "", [] or
	// {}; SkipEmptyKeysFor does so for the named keys only.
	SkipEmptyKeys    bool
	SkipEmptyKeysFor []string
	// DefaultValue replaces the type's default for absent optional input
	// elements without their own default, when HasDefaultValue is set.
	DefaultValue    any
	HasDefaultValue bool
}

// SecretString is the value of a secret element. It formats and logs as
// ******, so the platform's log lines and fmt never show it; string(v) is
// the secret itself, and it is sent as is in JSON.
type SecretString string

// String returns ******.
func (s SecretString) String() string { return "******" }

// GoString returns ******.
func (s SecretString) GoString() string { return "******" }

// Format prints ****** for every verb.
func (s SecretString) Format(f fmt.State, _ rune) { f.Write([]byte("******")) }

// LogValue hides the secret from slog.
func (s SecretString) LogValue() slog.Value { return slog.StringValue("******") }

// Typed returns a service whose handler takes its input as a Req value and
// returns its output as a Resp value; both are structs whose json tags name
// the elements (see docs/typed-io.md for how fields map to types and which
// are optional). It is the same as registering a type with a method
// Handle(*Context, Req) (Resp, error).
func Typed[Req, Resp any](name, doc string, fn func(*Context, Req) (Resp, error)) any {
	return &typedFunc[Req, Resp]{name: name, doc: doc, fn: fn}
}

type typedFunc[Req, Resp any] struct {
	name, doc string
	fn        func(*Context, Req) (Resp, error)
}

func (t *typedFunc[Req, Resp]) Name() string { return t.name }
func (t *typedFunc[Req, Resp]) Doc() string  { return t.doc }

// Handle calls the function.
func (t *typedFunc[Req, Resp]) Handle(c *Context, req Req) (Resp, error) { return t.fn(c, req) }
