package registry

import (
	"reflect"
	"time"

	"github.com/plexushq/plexus/internal/config"
)

// Schema returns the kind's JSON Schema (draft 2020-12), with each field's
// doc as its description and the kind's defaults.
func (k *Kind) Schema() map[string]any {
	s := objectSchema(k.fields, reflect.ValueOf(k.New()).Elem())
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["title"] = k.Title
	s["description"] = k.Summary
	return s
}

func objectSchema(fields []Field, defaults reflect.Value) map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, f := range fields {
		p := typeSchema(f.Type)
		p["description"] = f.Doc
		if f.Label != "" {
			p["title"] = f.Label
		}
		if numeric(f.Type) {
			if f.min != nil {
				p["minimum"] = *f.min
			}
			if f.max != nil {
				p["maximum"] = *f.max
			}
		}
		if len(f.Enum) > 0 {
			if f.Type.Kind() == reflect.Slice {
				p["items"] = map[string]any{"type": "string", "enum": f.Enum}
			} else {
				p["enum"] = f.Enum
			}
		}
		if f.Ref != "" {
			p["x-plexus-ref"] = f.Ref
		}
		if f.Secret {
			p["writeOnly"] = true
		}
		if f.Sub != nil {
			sub := objectSchema(f.Sub, reflect.New(structOf(f.Type)).Elem())
			switch f.Type.Kind() {
			case reflect.Slice:
				p["items"] = sub
			case reflect.Map:
				p["additionalProperties"] = sub
			default:
				p = mergeInto(sub, p)
			}
		}
		if defaults.IsValid() {
			if v := defaults.FieldByIndex(f.index); !v.IsZero() {
				p["default"] = v.Interface()
			}
		}
		if f.Required || f.Name == "name" {
			required = append(required, f.Name)
		}
		props[f.Name] = p
	}
	return map[string]any{
		"type":                 "object",
		"properties":           props,
		"required":             required,
		"additionalProperties": false,
	}
}

func mergeInto(dst, src map[string]any) map[string]any {
	for k, v := range src {
		if k != "type" {
			dst[k] = v
		}
	}
	return dst
}

func typeSchema(t reflect.Type) map[string]any {
	switch {
	case t == reflect.TypeFor[config.Duration]():
		return map[string]any{"type": []string{"string", "number"}}
	case t == reflect.TypeFor[time.Time]():
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": typeSchema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": typeSchema(t.Elem())}
	case reflect.Pointer:
		return typeSchema(t.Elem())
	case reflect.Interface:
		return map[string]any{}
	}
	return map[string]any{"type": "object"}
}
