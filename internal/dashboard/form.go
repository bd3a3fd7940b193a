package dashboard

import (
	"bytes"
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/registry"
)

// maxPickerOptions is the most objects a reference picker lists as a
// select; a kind with more is picked by typing, with suggestions.
const maxPickerOptions = 500

// input is how a form edits a field.
type input string

const (
	inText     input = "text"
	inNumber   input = "number"
	inSwitch   input = "switch"
	inSelect   input = "select"
	inMulti    input = "multi"    // a list with allowed values: checkboxes
	inLines    input = "lines"    // a list of strings: one a line
	inTextarea input = "textarea" // multiline text and code
	inSecret   input = "secret"
	inJSON     input = "json" // structs, maps, lists of structs
)

// fieldView is one field of a form as a template shows it.
type fieldView struct {
	registry.Field
	Input   input
	Value   string
	Values  []string
	Options []option
	// List names the datalist of a picker with many options.
	List    string
	Problem string
	// Hidden is set when the field's condition does not hold.
	Hidden bool
	// SecretSet says a secret has a value, which is never shown.
	SecretSet bool
	// Sub lists the fields of a JSON-edited struct, for its help.
	Sub []registry.Field
}

// Title is the label of the field.
func (f fieldView) Title() string {
	if f.Label != "" {
		return f.Label
	}
	return strings.ReplaceAll(f.Name, "_", " ")
}

// WhenValues returns the values of the field's condition, joined by |.
func (f fieldView) WhenValues() string {
	if f.When == nil {
		return ""
	}
	return strings.Join(f.When.Values, "|")
}

// option is one choice of a select or a list of checkboxes.
type option struct {
	Value, Label string
	Selected     bool
}

// group is a section of a form.
type group struct {
	Name     string
	Fields   []fieldView
	Advanced []fieldView
}

// inputOf says how a form edits a field.
func inputOf(f registry.Field) input {
	t := f.Type
	switch {
	case f.Secret && t.Kind() == reflect.String:
		return inSecret
	case f.Sub != nil || t.Kind() == reflect.Map || t.Kind() == reflect.Struct && t != reflect.TypeFor[config.Duration]():
		return inJSON
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		if len(f.Enum) > 0 || f.Ref != "" {
			return inMulti
		}
		return inLines
	case t.Kind() == reflect.Slice:
		return inJSON
	case t.Kind() == reflect.Bool:
		return inSwitch
	case len(f.Enum) > 0 || f.Ref != "" && t.Kind() == reflect.String:
		return inSelect
	case t != reflect.TypeFor[config.Duration]() && (t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64):
		return inNumber
	case f.Widget == "multiline" || f.Widget == "code":
		return inTextarea
	}
	return inText
}

// valuesOf returns an object's fields as form values; secrets are left
// out, and reported as set.
func valuesOf(k *registry.Kind, obj registry.Object) (url.Values, map[string]bool) {
	vals, set := url.Values{}, map[string]bool{}
	pub := k.Public(obj)
	for _, f := range k.Fields() {
		v := f.Value(pub)
		in := inputOf(f)
		switch {
		case f.Secret:
			set[f.Name] = !v.IsZero()
			if in == inJSON && !v.IsZero() {
				vals.Set(f.Name, jsonText(v.Interface()))
			}
		case in == inMulti || in == inLines:
			vals[f.Name] = stringsOfValue(v)
		case in == inJSON:
			if !v.IsZero() {
				vals.Set(f.Name, jsonText(v.Interface()))
			}
		default:
			vals.Set(f.Name, scalarText(v.Interface()))
		}
	}
	return vals, set
}

func stringsOfValue(v reflect.Value) []string {
	out := make([]string, v.Len())
	for i := range out {
		out[i] = v.Index(i).String()
	}
	return out
}

// jsonText returns a value as indented JSON.
func jsonText(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// scalarText returns a scalar as a form shows it: its JSON, unquoted.
func scalarText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		return s
	}
	return string(b)
}

// shown reports whether a field's condition holds for the form's values.
func shown(f registry.Field, vals url.Values) bool {
	if f.When == nil {
		return true
	}
	v := vals.Get(f.When.Field)
	if vs := vals[f.When.Field]; len(vs) > 1 {
		v = vs[len(vs)-1] // a switch sends false, then true when on
	}
	return slices.Contains(f.When.Values, v)
}

// fieldViews builds the form of a kind from values, with the problems by
// top-level field name.
func fieldViews(st *live.State, k *registry.Kind, vals url.Values, secretSet map[string]bool, problems map[string]string) []group {
	var groups []group
	idx := map[string]int{}
	for _, f := range k.Fields() {
		fv := fieldView{Field: f, Input: inputOf(f), Value: vals.Get(f.Name), Values: vals[f.Name],
			Problem: problems[f.Name], Hidden: !shown(f, vals), SecretSet: secretSet[f.Name], Sub: f.Sub}
		if fv.Input == inSwitch && len(fv.Values) > 0 {
			fv.Value = fv.Values[len(fv.Values)-1]
		}
		if fv.Input == inSelect || fv.Input == inMulti {
			fv.Options, fv.List = options(st, f, fv.Values)
		}
		g, ok := idx[f.Group]
		if !ok {
			g = len(groups)
			idx[f.Group] = g
			groups = append(groups, group{Name: f.Group})
		}
		if f.Advanced && fv.Problem == "" {
			groups[g].Advanced = append(groups[g].Advanced, fv)
		} else {
			groups[g].Fields = append(groups[g].Fields, fv)
		}
	}
	return groups
}

// options returns the choices of an enum or reference field, marking the
// selected ones; a reference to a kind with many objects gets a datalist
// instead (its id is returned).
func options(st *live.State, f registry.Field, selected []string) ([]option, string) {
	var out []option
	if len(f.Enum) > 0 {
		for i, v := range f.Enum {
			label := v
			if i < len(f.EnumLabels) {
				label = f.EnumLabels[i]
			}
			out = append(out, option{Value: v, Label: label, Selected: slices.Contains(selected, v)})
		}
		return out, ""
	}
	var names []string
	if f.Ref == registry.RefService {
		names = st.Services.Names()
	} else {
		names = st.Names(f.Ref)
	}
	if len(names) > maxPickerOptions {
		return nil, "list-" + f.Ref
	}
	for _, n := range names {
		out = append(out, option{Value: n, Label: n, Selected: slices.Contains(selected, n)})
	}
	for _, s := range selected {
		if s != "" && !slices.Contains(names, s) {
			out = append(out, option{Value: s, Label: s + " (missing)", Selected: true})
		}
	}
	return out, ""
}

// formJSON turns a submitted form into the JSON object the admin API
// takes. Fields whose condition does not hold are left out (they keep
// their defaults); an empty secret keeps the object's secret when
// editing. Values that cannot be read are problems by field name.
func formJSON(k *registry.Kind, vals url.Values, editing bool) ([]byte, map[string]string) {
	obj := map[string]json.RawMessage{}
	problems := map[string]string{}
	for _, f := range k.Fields() {
		// A field the form did not send keeps its default; a list of
		// checkboxes sends an empty value besides those checked.
		if !shown(f, vals) || !vals.Has(f.Name) {
			continue
		}
		raw := vals[f.Name]
		last := ""
		if len(raw) > 0 {
			last = raw[len(raw)-1]
		}
		var v any
		switch inputOf(f) {
		case inSwitch:
			if len(raw) == 0 {
				continue
			}
			v = last == "true"
		case inMulti:
			v = nonEmpty(strings.Split(strings.ReplaceAll(strings.Join(raw, "\n"), "\r\n", "\n"), "\n"))
		case inLines:
			v = nonEmpty(strings.Split(strings.ReplaceAll(last, "\r\n", "\n"), "\n"))
		case inNumber:
			last = strings.TrimSpace(last)
			if last == "" {
				continue
			}
			if _, err := strconv.ParseFloat(last, 64); err != nil {
				problems[f.Name] = "expected a number, got " + strconv.Quote(last)
				continue
			}
			obj[f.Name] = json.RawMessage(last)
			continue
		case inJSON:
			if strings.TrimSpace(last) == "" {
				continue
			}
			if !json.Valid([]byte(last)) {
				var x any
				err := json.Unmarshal([]byte(last), &x)
				problems[f.Name] = "is not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
				continue
			}
			obj[f.Name] = json.RawMessage(last)
			continue
		case inSecret:
			if last == "" {
				if !editing {
					continue
				}
				last = registry.SecretPlaceholder
			}
			v = last
		default:
			if f.Type == reflect.TypeFor[config.Duration]() && strings.TrimSpace(last) == "" {
				continue
			}
			v = last
		}
		b, _ := json.Marshal(v)
		obj[f.Name] = b
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(obj)
	return buf.Bytes(), problems
}

func nonEmpty(ss []string) []string {
	out := []string{}
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
