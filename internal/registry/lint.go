package registry

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/plexushq/plexus/internal/config"
)

// Lint reports what a kind's declaration lacks for the admin API, the
// Dashboard's forms and the docs: each field documented in a sentence,
// with a label, a group (top-level fields), labels for its enum values and
// a min for a number; each `when` naming a field and a value it can have;
// each example valid; each secret, nested ones too, found by the walker
// and hidden by Public; each action documented. Every kind Plexus
// registers passes it, and a kind a program declares should too: call it
// from a test.
func (k *Kind) Lint() []error {
	var errs []error
	if len(k.Examples) == 0 {
		errs = append(errs, fmt.Errorf("%s has no examples", k.ID))
	}
	errs = append(errs, lintFields(k.ID, k.fields, true)...)
	for _, ex := range k.Examples {
		obj, problems := k.Decode([]byte(ex))
		if obj != nil {
			problems = append(problems, k.CheckFields(obj)...)
			problems = append(problems, obj.Validate()...)
		}
		for _, p := range problems {
			errs = append(errs, fmt.Errorf("%s example %s: %w", k.ID, ex, p))
		}
	}
	if _, err := json.Marshal(k.Schema()); err != nil {
		errs = append(errs, fmt.Errorf("%s: its JSON Schema: %w", k.ID, err))
	}
	obj := k.New()
	const secret = "s3cr3t-value"
	set := fillSecrets(reflect.ValueOf(obj).Elem(), k.fields, secret)
	if found := len(k.Secrets(obj)); found != set {
		errs = append(errs, fmt.Errorf("%s: %d secrets set, the walker finds %d", k.ID, set, found))
	}
	if pub, _ := json.Marshal(k.Public(obj)); strings.Contains(string(pub), secret) {
		errs = append(errs, fmt.Errorf("%s: Public shows a secret: %s", k.ID, pub))
	}
	for _, a := range k.Actions {
		if !strings.HasSuffix(a.Doc, ".") {
			errs = append(errs, fmt.Errorf("%s action %s: doc %q should be sentences", k.ID, a.Name, a.Doc))
		}
	}
	return errs
}

// lintFields checks the docs and form metadata of fields; top-level fields
// need a group, nested ones are shown in their parent's.
func lintFields(path string, fields []Field, top bool) []error {
	var errs []error
	for _, f := range fields {
		p := path + "." + f.Name
		if len(f.Doc) < 10 || !strings.HasSuffix(f.Doc, ".") {
			errs = append(errs, fmt.Errorf("%s: doc %q should be a sentence", p, f.Doc))
		}
		if f.Label == "" {
			errs = append(errs, fmt.Errorf("%s has no label", p))
		}
		if top && f.Group == "" {
			errs = append(errs, fmt.Errorf("%s has no group", p))
		}
		if len(f.Enum) > 0 && len(f.EnumLabels) != len(f.Enum) {
			errs = append(errs, fmt.Errorf("%s: enum %v has labels %v", p, f.Enum, f.EnumLabels))
		}
		if numeric(f.Type) && f.Type != reflect.TypeFor[config.Duration]() && f.Min == "" {
			errs = append(errs, fmt.Errorf("%s is a number without a min", p))
		}
		if f.When != nil {
			i := slices.IndexFunc(fields, func(o Field) bool { return o.Name == f.When.Field })
			if i < 0 {
				errs = append(errs, fmt.Errorf("%s: when names no field: %s", p, f.When))
			} else {
				for _, v := range f.When.Values {
					o := fields[i]
					if !slices.Contains(o.Enum, v) && !(o.Type.Kind() == reflect.Bool && (v == "true" || v == "false")) {
						errs = append(errs, fmt.Errorf("%s: when names a value %s cannot have: %s", p, o.Name, f.When))
					}
				}
			}
		}
		errs = append(errs, lintFields(p, f.Sub, false)...)
	}
	return errs
}

// fillSecrets sets every secret of the struct v to value, making one
// element of each list and map of structs on the way, and returns how
// many it set.
func fillSecrets(v reflect.Value, fields []Field, value string) int {
	n := 0
	for _, f := range fields {
		fv := v.FieldByIndex(f.index)
		switch {
		case f.Secret && fv.Kind() == reflect.String:
			fv.SetString(value)
			n++
		case f.Secret && fv.Kind() == reflect.Slice:
			fv.Set(reflect.MakeSlice(fv.Type(), 1, 1))
			fv.Index(0).SetString(value)
			n++
		case f.Secret && fv.Kind() == reflect.Map:
			fv.Set(reflect.MakeMap(fv.Type()))
			fv.SetMapIndex(reflect.ValueOf("k").Convert(fv.Type().Key()), reflect.ValueOf(value).Convert(fv.Type().Elem()))
			n++
		case f.holdsSecret:
			n += fillNested(fv, f.Sub, value)
		}
	}
	return n
}

func fillNested(v reflect.Value, sub []Field, value string) int {
	switch v.Kind() {
	case reflect.Struct:
		return fillSecrets(v, sub, value)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		return fillNested(v.Elem(), sub, value)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		return fillNested(v.Index(0), sub, value)
	case reflect.Map:
		e := reflect.New(v.Type().Elem()).Elem()
		n := fillNested(e, sub, value)
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(reflect.ValueOf("k").Convert(v.Type().Key()), e)
		return n
	}
	return 0
}
