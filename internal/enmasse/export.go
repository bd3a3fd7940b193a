package enmasse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/internal/registry"
)

// Objects gives an export the objects of each kind, sorted by name.
// *live.State implements it.
type Objects interface {
	Objects(kind string) []registry.Object
}

// ExportOptions configure an export.
type ExportOptions struct {
	// IncludeTypes, when not empty, limits the export to these sections
	// (kind ids or their aliases).
	IncludeTypes []string
}

// Export writes every object of src as an enmasse file: sections in
// dependency order, objects sorted by name, name first and then the
// fields that differ from the kind's defaults in declaration order, and
// each set secret as a ${VAR} reference named by VarName (never its
// value). A configuration with no objects gives an empty file. The same
// objects always give the same bytes.
func Export(src Objects, opts ExportOptions) ([]byte, error) {
	include, err := includeTypes(opts.IncludeTypes)
	if err != nil {
		return nil, err
	}
	// Variable names are given over every kind, whatever is included, so
	// a subset exports each secret under the same name as the whole.
	vars := map[string]bool{}
	var w writer
	for _, k := range registry.All() {
		objs := src.Objects(k.ID)
		if len(objs) == 0 {
			continue
		}
		section := &node{isSeq: true}
		for _, obj := range objs {
			section.items = append(section.items, exportObject(k, obj, vars))
		}
		if include != nil && !include[k.ID] {
			continue
		}
		if w.b.Len() > 0 {
			w.b.WriteByte('\n')
		}
		w.b.WriteString(k.ID)
		w.b.WriteByte(':')
		w.value(section, 0)
	}
	return w.b.Bytes(), nil
}

// includeTypes resolves --include-type names to kind ids; nil means all.
func includeTypes(names []string) (map[string]bool, error) {
	if len(names) == 0 {
		return nil, nil
	}
	out := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		k, ok := registry.Lookup(n)
		if !ok {
			msg := "unknown type " + redact.Quote(n)
			if s := registry.Suggest(n, registry.IDs()); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else {
				msg += "; the types are " + strings.Join(registry.IDs(), ", ")
			}
			return nil, fmt.Errorf("%s", msg)
		}
		out[k.ID] = true
	}
	return out, nil
}

// exportObject builds one object's mapping; each set secret becomes a
// ${VAR} reference.
func exportObject(k *registry.Kind, obj registry.Object, vars map[string]bool) *node {
	name := registry.NameOf(obj)
	obj, _ = k.MapSecrets(obj, func(path, _ string) (string, error) {
		return secretRef(vars, k.ID, name, path), nil
	})
	m := &node{isMap: true}
	m.keys = append(m.keys, "name")
	m.values = append(m.values, stringNode(name))
	defaults := k.New()
	for _, f := range k.Fields()[1:] {
		fv, dv := f.Value(obj), f.Value(defaults)
		if reflect.DeepEqual(fv.Interface(), dv.Interface()) {
			continue
		}
		m.keys = append(m.keys, keyText(f.Name))
		m.values = append(m.values, field(fv, dv, f))
	}
	return m
}

// fieldIndex returns the index of the struct field with a JSON name.
func fieldIndex(t reflect.Type, name string) []int {
	for i := range t.NumField() {
		sf := t.Field(i)
		if n, _, _ := strings.Cut(sf.Tag.Get("json"), ","); n == name {
			return sf.Index
		}
	}
	panic("enmasse: no field " + name)
}

// secretRef returns the ${VAR} reference of a secret at a field path of
// an object, unique within the export (vars holds the names given).
func secretRef(vars map[string]bool, kind, name, path string) string {
	base := VarName(kind, name, path)
	v := base
	for i := 2; vars[v]; i++ {
		v = base + "_" + strconv.Itoa(i)
	}
	vars[v] = true
	return "${" + v + "}"
}

// field builds a field's value; def is its default (invalid when none).
func field(v, def reflect.Value, f registry.Field) *node {
	if f.Secret {
		return secretNode(v)
	}
	if f.Sub != nil {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return scalarNode("null")
			}
			v = v.Elem()
			def = reflect.Value{}
		}
		switch v.Kind() {
		case reflect.Struct:
			return structNode(v, def, f.Sub)
		case reflect.Slice, reflect.Map:
			return collectionNode(v, func(item reflect.Value) *node {
				for item.Kind() == reflect.Pointer && !item.IsNil() {
					item = item.Elem()
				}
				if item.Kind() != reflect.Struct {
					return plainValue(item)
				}
				return structNode(item, reflect.Value{}, f.Sub)
			})
		}
	}
	return plainValue(v)
}

// collectionNode builds the node of a list, or of a map with string keys
// (sorted), from the node of each item; nil is null.
func collectionNode(v reflect.Value, item func(reflect.Value) *node) *node {
	if v.IsNil() {
		return scalarNode("null")
	}
	if v.Kind() == reflect.Slice {
		seq := &node{isSeq: true}
		for i := range v.Len() {
			seq.items = append(seq.items, item(v.Index(i)))
		}
		return seq
	}
	m := &node{isMap: true}
	for _, k := range mapKeys(v) {
		m.keys = append(m.keys, keyText(k))
		m.values = append(m.values, item(v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key()))))
	}
	return m
}

// mapKeys returns the keys of a map with string keys, sorted.
func mapKeys(v reflect.Value) []string {
	keys := make([]string, 0, v.Len())
	for _, k := range v.MapKeys() {
		keys = append(keys, k.String())
	}
	slices.Sort(keys)
	return keys
}

// secretNode builds the node of a secret field whose set values are
// ${VAR} references: they are written as they are, for import to read as
// references, and unset ones as empty strings.
func secretNode(v reflect.Value) *node {
	one := func(v reflect.Value) *node {
		if v.String() == "" {
			return stringNode("")
		}
		return scalarNode(v.String())
	}
	if v.Kind() == reflect.Slice || v.Kind() == reflect.Map {
		return collectionNode(v, one)
	}
	return one(v)
}

// structNode builds a struct's mapping: the fields that differ from def
// (or from the zero value).
func structNode(v, def reflect.Value, fields []registry.Field) *node {
	if !def.IsValid() || def.Kind() != reflect.Struct {
		def = reflect.New(v.Type()).Elem()
	}
	m := &node{isMap: true}
	for _, f := range fields {
		idx := fieldIndex(v.Type(), f.Name)
		fv, dv := v.FieldByIndex(idx), def.FieldByIndex(idx)
		if reflect.DeepEqual(fv.Interface(), dv.Interface()) {
			continue
		}
		m.keys = append(m.keys, keyText(f.Name))
		m.values = append(m.values, field(fv, dv, f))
	}
	return m
}

// plainValue builds the node of a value with no field metadata: by its Go
// type, or by its JSON form for types that encode themselves.
func plainValue(v reflect.Value) *node {
	if !v.IsValid() {
		return scalarNode("null")
	}
	t := v.Type()
	if t == reflect.TypeFor[config.Duration]() {
		// Zato's form, a number of seconds, when it is exact.
		if d := time.Duration(v.Int()); d%time.Second == 0 {
			return scalarNode(strconv.FormatInt(int64(d/time.Second), 10))
		}
	}
	if t == reflect.TypeFor[time.Time]() || t.Implements(reflect.TypeFor[json.Marshaler]()) {
		return jsonValue(v.Interface())
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Marshaler]()) && v.CanAddr() {
		return jsonValue(v.Addr().Interface())
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return scalarNode("null")
		}
		return plainValue(v.Elem())
	case reflect.String:
		return stringNode(v.String())
	case reflect.Bool:
		return scalarNode(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return scalarNode(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return scalarNode(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32:
		return scalarNode(strconv.FormatFloat(v.Float(), 'g', -1, 32))
	case reflect.Float64:
		return scalarNode(strconv.FormatFloat(v.Float(), 'g', -1, 64))
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return scalarNode("null")
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return jsonValue(v.Interface()) // base64, as JSON has it
		}
		seq := &node{isSeq: true}
		for i := range v.Len() {
			seq.items = append(seq.items, plainValue(v.Index(i)))
		}
		return seq
	case reflect.Map:
		if v.IsNil() {
			return scalarNode("null")
		}
		if t.Key().Kind() != reflect.String {
			return jsonValue(v.Interface())
		}
		m := &node{isMap: true}
		for _, k := range mapKeys(v) {
			m.keys = append(m.keys, keyText(k))
			m.values = append(m.values, plainValue(v.MapIndex(reflect.ValueOf(k).Convert(t.Key()))))
		}
		return m
	case reflect.Struct:
		return jsonValue(v.Interface())
	}
	return jsonValue(v.Interface())
}

// jsonValue builds the node of a value's JSON form.
func jsonValue(x any) *node {
	data, err := json.Marshal(x)
	if err != nil {
		return scalarNode("null")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return scalarNode("null")
	}
	return anyValue(v)
}

func anyValue(v any) *node {
	switch v := v.(type) {
	case nil:
		return scalarNode("null")
	case bool:
		return scalarNode(strconv.FormatBool(v))
	case json.Number:
		return scalarNode(v.String())
	case string:
		return stringNode(v)
	case []any:
		seq := &node{isSeq: true}
		for _, item := range v {
			seq.items = append(seq.items, anyValue(item))
		}
		return seq
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		m := &node{isMap: true}
		for _, k := range keys {
			m.keys = append(m.keys, keyText(k))
			m.values = append(m.values, anyValue(v[k]))
		}
		return m
	}
	return scalarNode("null")
}
