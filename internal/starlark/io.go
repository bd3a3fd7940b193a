package starlark

import (
	"fmt"
	"sort"
	"strings"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/sio"
	"github.com/plexushq/plexus/internal/starlark/memlimit"
	"github.com/plexushq/plexus/sdk/service"
)

// elemBuiltins are the typed element builtins, named as Zato names its
// SimpleIO element classes: Int("age"), Bool("-flag"),
// Date("dob", default="2020-01-01").
var elemBuiltins = map[string]service.Type{
	"Text": service.TypeText, "Int": service.TypeInt, "Bool": service.TypeBool,
	"Float": service.TypeFloat, "Decimal": service.TypeDecimal, "Date": service.TypeDate,
	"DateTime": service.TypeDateTime, "UUID": service.TypeUUID, "List": service.TypeList,
	"Dict": service.TypeDict, "AsIs": service.TypeAsIs, "Secret": service.TypeSecret,
	// Zato's aliases.
	"Integer": service.TypeInt, "Boolean": service.TypeBool, "Unicode": service.TypeText, "Opaque": service.TypeAsIs,
}

// builtinOf names each type's builtin, for messages.
var builtinOf = map[service.Type]string{
	service.TypeText: "Text", service.TypeInt: "Int", service.TypeBool: "Bool", service.TypeFloat: "Float",
	service.TypeDecimal: "Decimal", service.TypeDate: "Date", service.TypeDateTime: "DateTime", service.TypeUUID: "UUID",
	service.TypeList: "List", service.TypeDict: "Dict", service.TypeAsIs: "AsIs", service.TypeSecret: "Secret",
}

// pythonTypes are Starlark's own type builtins, accepted as model field
// types: model("Item", sku=str, qty=int).
var pythonTypes = map[string]service.Type{
	"str": service.TypeText, "int": service.TypeInt, "bool": service.TypeBool,
	"float": service.TypeFloat, "list": service.TypeList, "dict": service.TypeDict,
}

// ioBuiltins returns the predeclared names of typed I/O.
func ioBuiltins() sl.StringDict {
	d := sl.StringDict{}
	for name, t := range elemBuiltins {
		d[name] = sl.NewBuiltin(name, func(_ *sl.Thread, b *sl.Builtin, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
			var name string
			var def sl.Value
			if err := sl.UnpackArgs(b.Name(), args, kw, "name?", &name, "default?", &def); err != nil {
				return nil, err
			}
			return &elemValue{name: name, typ: t, def: def}, nil
		})
	}
	d["model"] = sl.NewBuiltin("model", newModel)
	d["list_of"] = sl.NewBuiltin("list_of", func(_ *sl.Thread, b *sl.Builtin, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
		var of sl.Value
		if err := sl.UnpackPositionalArgs(b.Name(), args, kw, 1, &of); err != nil {
			return nil, err
		}
		item, err := fieldElem("", of)
		if err != nil {
			return nil, fmt.Errorf("list_of: %w", err)
		}
		return &elemValue{typ: service.TypeList, items: item}, nil
	})
	d["optional"] = sl.NewBuiltin("optional", func(_ *sl.Thread, b *sl.Builtin, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
		var of, def sl.Value
		if err := sl.UnpackArgs(b.Name(), args, kw, "type", &of, "default?", &def); err != nil {
			return nil, err
		}
		e, err := fieldElem("", of)
		if err != nil {
			return nil, fmt.Errorf("optional: %w", err)
		}
		c := *e
		c.optional = true
		if def != nil {
			c.def = def
		}
		return &c, nil
	})
	return d
}

// elemValue is an element declared in a script: Int("age"), list_of(Item),
// optional(str).
type elemValue struct {
	name     string
	typ      service.Type
	def      sl.Value // nil: no default
	optional bool
	model    *modelValue
	items    *elemValue
}

func (e *elemValue) String() string {
	switch {
	case e.model != nil:
		return e.model.m.Name
	case e.items != nil:
		return "list_of(" + e.items.String() + ")"
	}
	n := builtinOf[e.typ]
	if e.name != "" {
		return fmt.Sprintf("%s(%q)", n, e.name)
	}
	return n
}
func (e *elemValue) Type() string          { return "element" }
func (e *elemValue) Freeze()               {}
func (e *elemValue) Truth() sl.Bool        { return sl.True }
func (e *elemValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: element") }

// fieldElem turns what a model field or list_of names into an element:
// str, int, …; Int, Date, …; Int(default=1); a model; list_of(…);
// optional(…).
func fieldElem(name string, v sl.Value) (*elemValue, error) {
	switch x := v.(type) {
	case *sl.Builtin:
		if t, ok := elemBuiltins[x.Name()]; ok {
			return &elemValue{name: name, typ: t}, nil
		}
		if t, ok := pythonTypes[x.Name()]; ok {
			return &elemValue{name: name, typ: t}, nil
		}
	case *elemValue:
		c := *x
		if name != "" {
			if c.name != "" && c.name != name {
				return nil, fmt.Errorf("field %s is declared as %s; leave the name out in a model", name, x)
			}
			c.name = name
		}
		return &c, nil
	case *modelValue:
		return &elemValue{name: name, typ: sio.TypeModel, model: x}, nil
	}
	return nil, fmt.Errorf("%s is not a type: use str, int, bool, float, list, dict, Int, Date, DateTime, Decimal, UUID, AsIs, Secret, a model, list_of(...) or optional(...)", v)
}

// toSIO builds the sio element of a declared one.
func (e *elemValue) toSIO(required bool) (*sio.Elem, error) {
	out := &sio.Elem{Name: e.name, Type: e.typ, Required: required && !e.optional && e.def == nil}
	if e.model != nil {
		out.Model = e.model.m
	}
	if e.items != nil {
		item, err := e.items.toSIO(true)
		if err != nil {
			return nil, err
		}
		out.Items = item
	}
	if e.def != nil {
		g, err := FromStarlark(nil, e.def)
		if err != nil {
			return nil, fmt.Errorf("default of %s: %w", e.name, err)
		}
		if g != nil {
			if out.Default, err = sio.Convert(out, g); err != nil {
				return nil, fmt.Errorf("default of %s: %w", e.name, err)
			}
		}
		out.HasDefault = true
	}
	return out, nil
}

// modelValue is a model declared with model(name, field=type, …). Calling
// it makes an instance: GetClientResponse(name="Jane Doe").
type modelValue struct {
	m *sio.Model
}

func newModel(_ *sl.Thread, b *sl.Builtin, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("model: want the model's name and its fields, as in model(\"Item\", sku=str, qty=int)")
	}
	name, ok := args[0].(sl.String)
	if !ok || name == "" {
		return nil, fmt.Errorf("model: the name must be a non-empty string, not %s", args[0])
	}
	var elems []*sio.Elem
	for _, kv := range kw {
		field := string(kv[0].(sl.String))
		ev, err := fieldElem(field, kv[1])
		if err != nil {
			return nil, fmt.Errorf("model %s: field %s: %w", name, field, err)
		}
		e, err := ev.toSIO(true)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", name, err)
		}
		elems = append(elems, e)
	}
	m, err := sio.NewModel(string(name), elems)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return &modelValue{m: m}, nil
}

func (m *modelValue) String() string        { return "<model " + m.m.Name + ">" }
func (m *modelValue) Type() string          { return "model" }
func (m *modelValue) Freeze()               {}
func (m *modelValue) Truth() sl.Bool        { return sl.True }
func (m *modelValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: model") }
func (m *modelValue) Name() string          { return m.m.Name }

// CallInternal makes an instance of the model from keyword arguments.
func (m *modelValue) CallInternal(_ *sl.Thread, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("%s: give the fields by name, as in %s(%s=...)", m.m.Name, m.m.Name, m.firstField())
	}
	inst := &modelInstance{model: m, fields: sl.NewDict(len(kw))}
	for _, kv := range kw {
		if err := inst.SetField(string(kv[0].(sl.String)), kv[1]); err != nil {
			return nil, err
		}
	}
	return inst, nil
}

func (m *modelValue) firstField() string {
	if len(m.m.Elems) == 0 {
		return "field"
	}
	return m.m.Elems[0].Name
}

// modelInstance is one value of a model. Fields are set by keyword when it
// is made or by assignment later; a declared field not set reads None.
type modelInstance struct {
	model  *modelValue
	fields *sl.Dict
}

func (i *modelInstance) String() string {
	var parts []string
	for _, item := range i.fields.Items() {
		parts = append(parts, fmt.Sprintf("%s=%s", item[0].(sl.String).GoString(), item[1]))
	}
	return i.model.m.Name + "(" + strings.Join(parts, ", ") + ")"
}
func (i *modelInstance) Type() string   { return i.model.m.Name }
func (i *modelInstance) Freeze()        { i.fields.Freeze() }
func (i *modelInstance) Truth() sl.Bool { return sl.True }
func (i *modelInstance) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable: %s", i.model.m.Name)
}

func (i *modelInstance) Attr(name string) (sl.Value, error) {
	if i.model.m.Elem(name) == nil {
		return nil, nil
	}
	v, found, err := i.fields.Get(sl.String(name))
	if err != nil || !found {
		return sl.None, err
	}
	return v, nil
}

func (i *modelInstance) AttrNames() []string {
	names := make([]string, len(i.model.m.Elems))
	for j, e := range i.model.m.Elems {
		names[j] = e.Name
	}
	sort.Strings(names)
	return names
}

func (i *modelInstance) SetField(name string, v sl.Value) error {
	if i.model.m.Elem(name) == nil {
		return sl.NoSuchAttrError(fmt.Sprintf("%s has no field %q; its fields are %s", i.model.m.Name, name, strings.Join(i.AttrNames(), ", ")))
	}
	return i.fields.SetKey(sl.String(name), v)
}

// ReprValues returns the fields' values, for estimating the size of the
// instance's text.
func (i *modelInstance) ReprValues() []sl.Value {
	var out []sl.Value
	for _, item := range i.fields.Items() {
		out = append(out, item[1])
	}
	return out
}

// declaration reads a module's typed I/O: input_required, input_optional,
// output_required, output_optional, input, output (lists, or a model),
// response_elem, skip_empty_keys, default_value, schema, invokes and
// namespace. A problem names the global it comes from.
func declaration(globals sl.StringDict) (io *sio.IO, warnings []string, global string, err error) {
	var lists sio.Lists
	io = &sio.IO{}
	declared := false
	var inModel, outModel *sio.Model
	for _, g := range []struct {
		name  string
		dst   *[]service.Elem
		model **sio.Model
	}{
		{"input_required", &lists.InputRequired, nil}, {"input_optional", &lists.InputOptional, nil},
		{"output_required", &lists.OutputRequired, nil}, {"output_optional", &lists.OutputOptional, nil},
		{"input", &lists.Input, &inModel}, {"output", &lists.Output, &outModel},
	} {
		v, ok := globals[g.name]
		if !ok {
			continue
		}
		declared = true
		if mv, isModel := v.(*modelValue); isModel && g.model != nil {
			*g.model = mv.m
			continue
		}
		elems, err := elemList(v)
		if err != nil {
			return nil, nil, g.name, err
		}
		*g.dst = elems
	}
	if v, ok := globals["default_value"]; ok {
		g, err := FromStarlark(nil, v)
		if err != nil {
			return nil, nil, "default_value", err
		}
		lists.DefaultValue, lists.HasDefaultValue = g, true
	}
	in, out, warnings, err := lists.Build()
	if err != nil {
		return nil, nil, firstDeclared(globals, "input_required", "input_optional", "input", "output_required", "output_optional", "output"), err
	}
	io.Input, io.Output = in, out
	if inModel != nil {
		if in != nil {
			return nil, nil, "input", fmt.Errorf("input is a model, so input_required and input_optional cannot be used too")
		}
		io.Input = inModel
	}
	if outModel != nil {
		if out != nil {
			return nil, nil, "output", fmt.Errorf("output is a model, so output_required and output_optional cannot be used too")
		}
		io.Output = outModel
	}
	for _, s := range []struct {
		name string
		dst  *string
	}{{"response_elem", &io.ResponseElem}, {"schema", &io.Schema}, {"namespace", &io.Namespace}} {
		v, ok := globals[s.name]
		if !ok || v == sl.None {
			continue
		}
		str, isStr := v.(sl.String)
		if !isStr {
			return nil, nil, s.name, fmt.Errorf("%s must be a string, not a %s", s.name, v.Type())
		}
		*s.dst, declared = string(str), true
	}
	if v, ok := globals["skip_empty_keys"]; ok {
		declared = true
		switch x := v.(type) {
		case sl.Bool:
			io.SkipEmpty = bool(x)
		default:
			names, err := stringList(v)
			if err != nil {
				return nil, nil, "skip_empty_keys", fmt.Errorf("skip_empty_keys must be True, False or a list of names: %w", err)
			}
			io.SkipEmptyKeys = map[string]bool{}
			for _, n := range names {
				io.SkipEmptyKeys[n] = true
			}
		}
	}
	if v, ok := globals["invokes"]; ok {
		names, err := stringList(v)
		if err != nil {
			return nil, nil, "invokes", fmt.Errorf("invokes must be a list of service names: %w", err)
		}
		io.Invokes, declared = names, true
	}
	if !declared && !lists.HasDefaultValue {
		return nil, warnings, "", nil
	}
	return io, warnings, "", nil
}

func firstDeclared(globals sl.StringDict, names ...string) string {
	for _, n := range names {
		if _, ok := globals[n]; ok {
			return n
		}
	}
	return names[0]
}

// elemList reads a SimpleIO list: names and typed elements, in a list or
// a tuple; a single name is a list of one.
func elemList(v sl.Value) ([]service.Elem, error) {
	if s, ok := v.(sl.String); ok {
		return []service.Elem{{Name: string(s)}}, nil
	}
	it, ok := v.(sl.Indexable)
	if !ok {
		return nil, fmt.Errorf("want a list of element names, not a %s", v.Type())
	}
	out := make([]service.Elem, 0, it.Len())
	for i := range it.Len() {
		switch x := it.Index(i).(type) {
		case sl.String:
			out = append(out, service.Elem{Name: string(x)})
		case *elemValue:
			if x.model != nil || x.items != nil {
				return nil, fmt.Errorf("%s: models and list_of(...) go in a model; declare input = MyModel", x)
			}
			if x.name == "" {
				return nil, fmt.Errorf("%s needs a name here, as in %s(\"age\")", x, x)
			}
			e := service.Elem{Name: x.name, Type: x.typ}
			if x.def != nil {
				g, err := FromStarlark(nil, x.def)
				if err != nil {
					return nil, fmt.Errorf("default of %s: %w", x.name, err)
				}
				e.Default, e.HasDefault = g, true
			}
			out = append(out, e)
		default:
			return nil, fmt.Errorf("element %d is a %s; want a name or a typed element such as Int(\"age\")", i, x.Type())
		}
	}
	return out, nil
}

func stringList(v sl.Value) ([]string, error) {
	if s, ok := v.(sl.String); ok {
		return []string{string(s)}, nil
	}
	it, ok := v.(sl.Indexable)
	if !ok {
		return nil, fmt.Errorf("got a %s", v.Type())
	}
	out := make([]string, 0, it.Len())
	for i := range it.Len() {
		s, ok := it.Index(i).(sl.String)
		if !ok {
			return nil, fmt.Errorf("element %d is a %s, not a string", i, it.Index(i).Type())
		}
		out = append(out, string(s))
	}
	return out, nil
}

// deepInput wraps the dicts of a model's input so that nested fields are
// attributes too: self.request.input.address.street.
func deepInput(a *memlimit.Allowance, v sl.Value) sl.Value {
	switch x := v.(type) {
	case *sl.Dict:
		for _, item := range x.Items() {
			x.SetKey(item[0], deepInput(a, item[1]))
		}
		return &inputValue{dict: x, mem: a, fieldsFirst: true}
	case *sl.List:
		for i := range x.Len() {
			x.SetIndex(i, deepInput(a, x.Index(i)))
		}
	}
	return v
}
