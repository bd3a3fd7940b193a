package registry

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/config"
)

// Widgets a field's widget tag may name; a field without one is a line of
// text, a number, a switch or a list as its type says.
var Widgets = []string{"multiline", "secret", "password", "file", "code"}

// When is the condition under which a form shows a field: another field
// of the same struct holds one of Values.
type When struct {
	Field  string   `json:"field"`
	Values []string `json:"values"`
}

// String returns the condition as its tag spells it: type=basic_auth|jwt.
func (w *When) String() string { return w.Field + "=" + strings.Join(w.Values, "|") }

// formOf reads the form metadata tags of a field into f.
func formOf(f *Field, sf reflect.StructField) error {
	f.Label = sf.Tag.Get("label")
	f.Group = sf.Tag.Get("group")
	f.Unit = sf.Tag.Get("unit")
	f.Placeholder = sf.Tag.Get("placeholder")
	switch a := sf.Tag.Get("advanced"); a {
	case "", "false":
	case "true":
		f.Advanced = true
	default:
		return fmt.Errorf("advanced is %q; write true or leave it out", a)
	}
	if w := sf.Tag.Get("widget"); w != "" {
		if !slices.Contains(Widgets, w) {
			return fmt.Errorf("widget %q is not one of %s", w, strings.Join(Widgets, ", "))
		}
		if sf.Type.Kind() != reflect.String && !(sf.Type.Kind() == reflect.Slice && sf.Type.Elem().Kind() == reflect.String) {
			return fmt.Errorf("widget %q needs a string field", w)
		}
		f.Widget = w
	}
	if f.Widget == "" && f.Secret {
		f.Widget = "secret"
	}
	if l := sf.Tag.Get("enum_labels"); l != "" {
		f.EnumLabels = strings.Split(l, "|")
		if len(f.EnumLabels) != len(f.Enum) {
			return fmt.Errorf("enum_labels has %d labels for %d enum values", len(f.EnumLabels), len(f.Enum))
		}
	}
	if w := sf.Tag.Get("when"); w != "" {
		field, values, ok := strings.Cut(w, "=")
		if !ok || field == "" || values == "" {
			return fmt.Errorf("when is %q; write field=value or field=value1|value2", w)
		}
		f.When = &When{Field: field, Values: strings.Split(values, "|")}
	}
	for _, b := range []struct {
		tag string
		out *string
		num **float64
	}{{"min", &f.Min, &f.min}, {"max", &f.Max, &f.max}} {
		s := sf.Tag.Get(b.tag)
		if s == "" {
			continue
		}
		n, err := parseBound(sf.Type, s)
		if err != nil {
			return fmt.Errorf("%s %q: %w", b.tag, s, err)
		}
		*b.out, *b.num = s, &n
	}
	if f.min != nil && f.max != nil && *f.min > *f.max {
		return fmt.Errorf("min %s is above max %s", f.Min, f.Max)
	}
	return nil
}

// checkWhens checks that the condition of every field names another field
// of the same struct, one with a known set of values (an enum or a
// boolean), and only values it may hold.
func checkWhens(fields []Field) error {
	for _, f := range fields {
		if f.When != nil {
			other := slices.IndexFunc(fields, func(o Field) bool { return o.Name == f.When.Field })
			if other < 0 || f.When.Field == f.Name {
				return fmt.Errorf("field %q: when names %q, which is not another field", f.Name, f.When.Field)
			}
			allowed := fields[other].Enum
			if fields[other].Type.Kind() == reflect.Bool {
				allowed = []string{"true", "false"}
			}
			if allowed == nil {
				return fmt.Errorf("field %q: when names %q, which has no enum of values", f.Name, f.When.Field)
			}
			for _, v := range f.When.Values {
				if !slices.Contains(allowed, v) {
					return fmt.Errorf("field %q: when gives %q a value it cannot have, %q", f.Name, f.When.Field, v)
				}
			}
		}
		if err := checkWhens(f.Sub); err != nil {
			return fmt.Errorf("field %q: %w", f.Name, err)
		}
	}
	return nil
}

// parseBound reads a min or max tag: a number, or a duration for duration
// fields (as nanoseconds).
func parseBound(t reflect.Type, s string) (float64, error) {
	if t == reflect.TypeFor[config.Duration]() {
		d, err := time.ParseDuration(s)
		return float64(d), err
	}
	if !numeric(t) {
		return 0, fmt.Errorf("only numbers and durations have bounds")
	}
	return strconv.ParseFloat(s, 64)
}

// numeric reports whether t is an integer or floating-point type.
func numeric(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// checkBounds checks a number or duration against the field's min and max.
func (f Field) checkBounds(v reflect.Value) error {
	if f.min == nil && f.max == nil {
		return nil
	}
	var n float64
	var shown string
	switch {
	case v.Type() == reflect.TypeFor[config.Duration]():
		n, shown = float64(v.Int()), time.Duration(v.Int()).String()
	case v.CanInt():
		n, shown = float64(v.Int()), strconv.FormatInt(v.Int(), 10)
	case v.CanUint():
		n, shown = float64(v.Uint()), strconv.FormatUint(v.Uint(), 10)
	case v.CanFloat():
		n, shown = v.Float(), strconv.FormatFloat(v.Float(), 'g', -1, 64)
	default:
		return nil
	}
	low := f.min != nil && n < *f.min
	high := f.max != nil && n > *f.max
	switch {
	case !low && !high:
		return nil
	case f.min != nil && f.max != nil:
		return fmt.Errorf("%s is not between %s and %s", shown, f.Min, f.Max)
	case low && *f.min == 0:
		return fmt.Errorf("must not be negative")
	case low:
		return fmt.Errorf("must be at least %s", f.Min)
	}
	return fmt.Errorf("must be at most %s", f.Max)
}

// FieldInfo is a field as the admin API's list of kinds describes it, with
// what a form needs.
type FieldInfo struct {
	Name        string            `json:"name"`
	Doc         string            `json:"doc"`
	Label       string            `json:"label,omitempty"`
	Group       string            `json:"group,omitempty"`
	Advanced    bool              `json:"advanced,omitempty"`
	When        *When             `json:"when,omitempty"`
	Enum        []string          `json:"enum,omitempty"`
	EnumLabels  map[string]string `json:"enum_labels,omitempty"`
	Ref         string            `json:"ref,omitempty"`
	Secret      bool              `json:"secret,omitempty"`
	Required    bool              `json:"required,omitempty"`
	Min         any               `json:"min,omitempty"`
	Max         any               `json:"max,omitempty"`
	Unit        string            `json:"unit,omitempty"`
	Placeholder string            `json:"placeholder,omitempty"`
	Widget      string            `json:"widget,omitempty"`
	// Fields are the fields of a struct, or of the structs of a list or
	// map.
	Fields []FieldInfo `json:"fields,omitempty"`
}

// Info describes the field and its nested fields.
func (f Field) Info() FieldInfo {
	fi := FieldInfo{Name: f.Name, Doc: f.Doc, Label: f.Label, Group: f.Group, Advanced: f.Advanced, When: f.When,
		Enum: f.Enum, Ref: f.Ref, Secret: f.Secret, Required: f.Required || f.Name == "name",
		Min: bound(f.Min, f.min, f.Type), Max: bound(f.Max, f.max, f.Type), Unit: f.Unit, Placeholder: f.Placeholder, Widget: f.Widget}
	if len(f.EnumLabels) > 0 {
		fi.EnumLabels = make(map[string]string, len(f.Enum))
		for i, v := range f.Enum {
			fi.EnumLabels[v] = f.EnumLabels[i]
		}
	}
	for _, s := range f.Sub {
		fi.Fields = append(fi.Fields, s.Info())
	}
	return fi
}

// bound is a min or max as JSON shows it: a number, or a duration's text.
func bound(text string, n *float64, t reflect.Type) any {
	switch {
	case n == nil:
		return nil
	case t == reflect.TypeFor[config.Duration]():
		return text
	}
	return *n
}
