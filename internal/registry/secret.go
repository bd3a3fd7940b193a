package registry

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Secrets are string fields tagged secret:"true": a string, a list of
// strings or a map of strings, at the top of a kind's struct or nested in
// its structs, lists of structs and maps of structs. One walker finds
// them for everything that must not show them: the admin API (Public),
// the store (sealed by MapSecrets), the export (a ${VAR} each) and
// KeepSecrets.

// Public returns a copy of obj whose set secrets read SecretPlaceholder,
// for the admin API and logs.
func (k *Kind) Public(obj Object) Object {
	out, _ := k.MapSecrets(obj, func(string, string) (string, error) { return SecretPlaceholder, nil })
	return out
}

// MapSecrets returns a copy of obj with fn applied to every secret that is
// set (sealing for the store, opening on load, masking for display); obj
// itself is not changed. fn gets the secret's path (password,
// limits.token, rules[0].key, headers[Authorization]) and its value. An
// error of fn is a problem naming the path.
func (k *Kind) MapSecrets(obj Object, fn func(path, value string) (string, error)) (Object, error) {
	cp := reflect.New(reflect.TypeOf(obj).Elem())
	cp.Elem().Set(reflect.ValueOf(obj).Elem())
	if err := mapSecrets(cp.Elem(), k.fields, "", fn); err != nil {
		return nil, err
	}
	return cp.Interface().(Object), nil
}

// Secrets returns the secrets set in obj by path.
func (k *Kind) Secrets(obj Object) map[string]string {
	out := map[string]string{}
	k.MapSecrets(obj, func(path, v string) (string, error) {
		out[path] = v
		return v, nil
	})
	return out
}

// KeepSecrets gives the secrets of obj that read SecretPlaceholder the
// value prev has at the same path, so an object read from the admin API
// (secrets masked) and written back keeps its secrets. Lists are matched
// by position, maps by key. It changes obj.
func (k *Kind) KeepSecrets(obj, prev Object) {
	kept := k.Secrets(prev)
	mapSecrets(reflect.ValueOf(obj).Elem(), k.fields, "", func(path, v string) (string, error) {
		if v == SecretPlaceholder {
			return kept[path], nil
		}
		return v, nil
	})
}

// mapSecrets applies fn to the secrets of the struct v, which it changes.
// The lists, maps and pointers it goes through are copied first, so v
// may be a shallow copy of a struct that must not change.
func mapSecrets(v reflect.Value, fields []Field, path string, fn func(path, value string) (string, error)) error {
	for _, f := range fields {
		if !f.holdsSecret {
			continue
		}
		p := f.Name
		if path != "" {
			p = path + "." + f.Name
		}
		fv := v.FieldByIndex(f.index)
		var err error
		if f.Secret {
			err = mapStrings(fv, p, fn)
		} else {
			err = mapNested(fv, f.Sub, p, fn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// mapStrings applies fn to a secret field: a string, or the strings of a
// list or map.
func mapStrings(v reflect.Value, path string, fn func(path, value string) (string, error)) error {
	if v.Kind() == reflect.Slice || v.Kind() == reflect.Map {
		return eachItem(v, path, func(item reflect.Value, p string) error { return mapStrings(item, p, fn) })
	}
	if v.Kind() != reflect.String || v.String() == "" {
		return nil
	}
	out, err := fn(path, v.String())
	if err != nil {
		return &Problem{Field: path, Message: err.Error()}
	}
	v.SetString(out)
	return nil
}

// mapNested applies fn to the secrets of a struct, pointer to struct,
// list of structs or map of structs field, copying what it changes.
func mapNested(v reflect.Value, sub []Field, path string, fn func(path, value string) (string, error)) error {
	switch v.Kind() {
	case reflect.Struct:
		return mapSecrets(v, sub, path, fn)
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		cp := reflect.New(v.Type().Elem())
		cp.Elem().Set(v.Elem())
		if err := mapNested(cp.Elem(), sub, path, fn); err != nil {
			return err
		}
		v.Set(cp)
	case reflect.Slice, reflect.Map:
		return eachItem(v, path, func(item reflect.Value, p string) error { return mapNested(item, sub, p, fn) })
	}
	return nil
}

// eachItem replaces the list or map v by a copy whose items fn has
// changed: fn gets each item, settable, with its path (path[0],
// path[key]); map keys are visited in order.
func eachItem(v reflect.Value, path string, fn func(item reflect.Value, path string) error) error {
	if v.IsNil() {
		return nil
	}
	if v.Kind() == reflect.Slice {
		cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(cp, v)
		for i := range cp.Len() {
			if err := fn(cp.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		v.Set(cp)
		return nil
	}
	cp := reflect.MakeMapWithSize(v.Type(), v.Len())
	for _, k := range sortedKeys(v) {
		item := reflect.New(v.Type().Elem()).Elem()
		item.Set(v.MapIndex(k))
		if err := fn(item, path+"["+k.String()+"]"); err != nil {
			return err
		}
		cp.SetMapIndex(k, item)
	}
	v.Set(cp)
	return nil
}

// sortedKeys returns the keys of a map with string keys, sorted, so that
// secrets are visited in the same order every time.
func sortedKeys(m reflect.Value) []reflect.Value {
	keys := m.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
	return keys
}
