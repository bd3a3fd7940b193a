package sio

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/plexushq/plexus/sdk/service"
)

// goType binds a model to the Go struct it was read from.
type goType struct {
	t reflect.Type
}

var (
	timeType   = reflect.TypeFor[time.Time]()
	numberType = reflect.TypeFor[json.Number]()
	secretType = reflect.TypeFor[service.SecretString]()
)

// ModelOf reads a Go struct type as a model. Fields are named by their
// json tags (as encoding/json names them; embedded structs are flattened);
// a field is optional when it is a pointer, is tagged omitempty, or
// carries a default:"…" tag or sio:"optional". Types map as docs/typed-io.md
// says: strings are text unless tagged sio:"date", "datetime", "uuid",
// "decimal" or "secret"; time.Time is a datetime (sio:"date" for a date);
// structs are nested models; slices are lists, of models for slices of
// structs.
func ModelOf(t reflect.Type) (*Model, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is not a struct", t)
	}
	return modelOf(t, map[reflect.Type]*Model{})
}

func modelOf(t reflect.Type, seen map[reflect.Type]*Model) (*Model, error) {
	if m, ok := seen[t]; ok {
		return m, nil
	}
	m := &Model{Name: t.Name(), paths: true, goType: goType{t: t}, byName: map[string]*Elem{}}
	if m.Name == "" {
		m.Name = "Anonymous"
	}
	seen[t] = m
	if err := addFields(m, t, nil, seen); err != nil {
		return nil, err
	}
	return m, nil
}

func addFields(m *Model, t reflect.Type, parent []int, seen map[reflect.Type]*Model) error {
	for i := range t.NumField() {
		sf := t.Field(i)
		idx := append(append([]int{}, parent...), i)
		tag := sf.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && opts == "" {
			continue
		}
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			if err := addFields(m, sf.Type, idx, seen); err != nil {
				return err
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		sioTag := sf.Tag.Get("sio")
		e, err := goElem(name, sf.Type, sioTag, seen)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", typeLabel(t), sf.Name, err)
		}
		e.index = idx
		e.Required = sf.Type.Kind() != reflect.Pointer && !strings.Contains(","+opts+",", ",omitempty,") &&
			!strings.Contains(","+sioTag+",", ",optional,")
		if d, ok := sf.Tag.Lookup("default"); ok {
			v, err := Convert(e, d)
			if err != nil {
				return fmt.Errorf("%s.%s: default %q: %w", typeLabel(t), sf.Name, d, err)
			}
			e.Default, e.HasDefault, e.Required = v, true, false
		}
		if _, dup := m.byName[name]; dup {
			return fmt.Errorf("%s: two fields are named %q", typeLabel(t), name)
		}
		m.byName[name] = e
		m.Elems = append(m.Elems, e)
	}
	return nil
}

// goElem maps a Go type to an element.
func goElem(name string, t reflect.Type, sioTag string, seen map[reflect.Type]*Model) (*Elem, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	e := &Elem{Name: name}
	override := ""
	for _, o := range strings.Split(sioTag, ",") {
		if o != "" && o != "optional" {
			override = o
		}
	}
	if override != "" {
		pt, ok := ParseType(override)
		if !ok {
			return nil, fmt.Errorf("sio tag: unknown type %q; the types are %s", override, typeList())
		}
		e.Type = pt
		switch {
		case pt == service.TypeAsIs:
		case t == timeType && (pt == service.TypeDate || pt == service.TypeDateTime):
		case t.Kind() == reflect.String && pt != service.TypeList && pt != service.TypeDict:
		default:
			return nil, fmt.Errorf("sio tag %q does not fit a field of type %s", override, t)
		}
		return e, nil
	}
	switch {
	case t == timeType:
		e.Type = service.TypeDateTime
	case t == numberType:
		e.Type = service.TypeDecimal
	case t == secretType:
		e.Type = service.TypeSecret
	}
	if e.Type != "" {
		return e, nil
	}
	switch t.Kind() {
	case reflect.String:
		e.Type = service.TypeText
	case reflect.Bool:
		e.Type = service.TypeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		e.Type = service.TypeInt
	case reflect.Float32, reflect.Float64:
		e.Type = service.TypeFloat
	case reflect.Struct:
		sub, err := modelOf(t, seen)
		if err != nil {
			return nil, err
		}
		e.Type, e.Model = TypeModel, sub
	case reflect.Slice:
		e.Type = service.TypeList
		if t.Elem().Kind() == reflect.Uint8 {
			e.Type = service.TypeAsIs // []byte: base64 in JSON
			break
		}
		if t.Elem().Kind() != reflect.Interface {
			item, err := goElem(name, t.Elem(), "", seen)
			if err != nil {
				return nil, err
			}
			item.Required = true
			e.Items = item
		}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("maps need string keys, not %s", t.Key())
		}
		e.Type = service.TypeDict
	case reflect.Interface:
		e.Type = service.TypeAsIs
	default:
		return nil, fmt.Errorf("a %s cannot be an element", t)
	}
	return e, nil
}

// GoType returns the Go struct type a model was read from, or nil.
func (m *Model) GoType() reflect.Type { return m.goType.t }

// Assign sets a new value of the model's Go type from decoded input (the
// result of Decode) and returns it.
func (m *Model) Assign(in map[string]any) (reflect.Value, error) {
	rv := reflect.New(m.goType.t).Elem()
	err := m.assign(rv, in, "")
	return rv, err
}

func (m *Model) assign(rv reflect.Value, in map[string]any, prefix string) error {
	for _, e := range m.Elems {
		v, ok := in[e.Name]
		if !ok || v == nil {
			continue
		}
		if err := e.set(rv.FieldByIndex(e.index), v, m.path(prefix, e.Name)); err != nil {
			return err
		}
	}
	return nil
}

func (e *Elem) set(fv reflect.Value, v any, path string) error {
	if v == nil {
		return nil
	}
	if fv.Kind() == reflect.Pointer {
		p := reflect.New(fv.Type().Elem())
		if err := e.set(p.Elem(), v, path); err != nil {
			return err
		}
		fv.Set(p)
		return nil
	}
	if n, isNum := v.(json.Number); isNum && fv.Kind() != reflect.String && fv.Kind() != reflect.Interface {
		// as-is values inside lists and dicts keep JSON numbers exact.
		if i, err := n.Int64(); err == nil {
			v = i
		} else if f, err := n.Float64(); err == nil {
			v = f
		}
	}
	bad := func() error {
		return &InputError{Problem: Invalid, Path: path, Err: &ConvError{Want: want(e.Type) + " that fits a Go " + fv.Type().String(), Got: describe(v)}}
	}
	if fv.Type() == timeType {
		s, _ := v.(string)
		t, ok := ParseDateTime(s)
		if !ok {
			return bad()
		}
		fv.Set(reflect.ValueOf(t))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		switch x := v.(type) {
		case string:
			fv.SetString(x)
		case service.SecretString:
			fv.SetString(string(x))
		case json.Number:
			fv.SetString(string(x))
		default:
			return bad()
		}
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return bad()
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok := v.(int64)
		if !ok || fv.OverflowInt(i) {
			return bad()
		}
		fv.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, ok := v.(int64)
		if !ok || i < 0 || fv.OverflowUint(uint64(i)) {
			return bad()
		}
		fv.SetUint(uint64(i))
	case reflect.Float32, reflect.Float64:
		if i, isInt := v.(int64); isInt {
			v = float64(i)
		}
		f, ok := v.(float64)
		if !ok || (fv.Kind() == reflect.Float32 && math.Abs(f) > math.MaxFloat32) {
			return bad()
		}
		fv.SetFloat(f)
	case reflect.Struct:
		mv, ok := v.(map[string]any)
		if !ok || e.Model == nil {
			return bad()
		}
		return e.Model.assign(fv, mv, path)
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return bad()
		}
		out := reflect.MakeSlice(fv.Type(), len(list), len(list))
		item := e.Items
		if item == nil {
			item = &Elem{Type: service.TypeAsIs}
		}
		for i, x := range list {
			if err := item.set(out.Index(i), x, index(path, i)); err != nil {
				return err
			}
		}
		fv.Set(out)
	case reflect.Map:
		mv, ok := v.(map[string]any)
		if !ok {
			return bad()
		}
		if fv.Type() == reflect.TypeOf(mv) {
			fv.Set(reflect.ValueOf(mv))
			return nil
		}
		out := reflect.MakeMapWithSize(fv.Type(), len(mv))
		item := &Elem{Type: service.TypeAsIs}
		for k, x := range mv {
			ev := reflect.New(fv.Type().Elem()).Elem()
			if err := item.set(ev, x, path+"/"+k); err != nil {
				return err
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(fv.Type().Key()), ev)
		}
		fv.Set(out)
	case reflect.Interface:
		xv := reflect.ValueOf(v)
		if !xv.Type().AssignableTo(fv.Type()) {
			return bad()
		}
		fv.Set(xv)
	default:
		return bad()
	}
	return nil
}

// typeLabel names a struct type in messages; anonymous structs by their
// shape.
func typeLabel(t reflect.Type) string {
	if t.Name() != "" {
		return t.Name()
	}
	return "struct"
}
