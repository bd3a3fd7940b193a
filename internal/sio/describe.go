package sio

import (
	"encoding/json"
	"sort"

	"github.com/plexushq/plexus/sdk/service"
)

// ElemSchema returns the JSON Schema (draft 2020-12, as OpenAPI 3.1 uses
// it) of one element. ref returns the schema that refers to a named model,
// so callers can put models in components.
func ElemSchema(e *Elem, ref func(*Model) map[string]any) map[string]any {
	var s map[string]any
	switch e.Type {
	case service.TypeInt:
		s = map[string]any{"type": "integer", "format": "int64"}
	case service.TypeBool:
		s = map[string]any{"type": "boolean"}
	case service.TypeFloat:
		s = map[string]any{"type": "number", "format": "double"}
	case service.TypeDecimal:
		s = map[string]any{"type": "number", "format": "double", "x-plexus-type": "decimal"}
	case service.TypeDate:
		s = map[string]any{"type": "string", "format": "date"}
	case service.TypeDateTime:
		s = map[string]any{"type": "string", "format": "date-time"}
	case service.TypeUUID:
		s = map[string]any{"type": "string", "format": "uuid"}
	case service.TypeSecret:
		s = map[string]any{"type": "string", "format": "password", "writeOnly": true}
	case service.TypeList:
		items := map[string]any{}
		if e.Items != nil {
			items = ElemSchema(e.Items, ref)
		}
		s = map[string]any{"type": "array", "items": items}
	case service.TypeDict:
		s = map[string]any{"type": "object", "additionalProperties": true}
	case TypeModel:
		return ref(e.Model)
	case service.TypeAsIs:
		s = map[string]any{}
	default:
		s = map[string]any{"type": "string"}
	}
	if e.HasDefault && e.Type != service.TypeSecret && e.Default != nil {
		s["default"] = e.Default
	}
	return s
}

// JSONSchema returns the schema of a model's object: its properties and
// the required ones.
func (m *Model) JSONSchema(ref func(*Model) map[string]any) map[string]any {
	props := make(map[string]any, len(m.Elems))
	required := []string{}
	for _, e := range m.Elems {
		props[e.Name] = ElemSchema(e, ref)
		if e.Required {
			required = append(required, e.Name)
		}
	}
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	if m.Name != "" {
		s["title"] = m.Name
	}
	return s
}

// Models returns every named model a model refers to, itself included
// when it is named, each once.
func (m *Model) Models() []*Model {
	var out []*Model
	seen := map[*Model]bool{}
	var walk func(*Model)
	var walkElem func(*Elem)
	walkElem = func(e *Elem) {
		if e.Model != nil {
			walk(e.Model)
		}
		if e.Items != nil {
			walkElem(e.Items)
		}
	}
	walk = func(m *Model) {
		if seen[m] {
			return
		}
		seen[m] = true
		if m.Name != "" {
			out = append(out, m)
		}
		for _, e := range m.Elems {
			walkElem(e)
		}
	}
	walk(m)
	return out
}

// ElemInfo describes an element for the admin API and the API docs.
type ElemInfo struct {
	Name     string     `json:"name"`
	Type     string     `json:"type"`
	Required bool       `json:"required"`
	Default  any        `json:"default,omitempty"`
	Model    string     `json:"model,omitempty"`
	Items    *ElemInfo  `json:"items,omitempty"`
	Elems    []ElemInfo `json:"elements,omitempty"`
}

// ModelInfo describes one side of a service's I/O.
type ModelInfo struct {
	Model string     `json:"model,omitempty"`
	Elems []ElemInfo `json:"elements"`
}

// Info describes a service's I/O declaration.
type Info struct {
	Input         *ModelInfo `json:"input,omitempty"`
	Output        *ModelInfo `json:"output,omitempty"`
	Schema        string     `json:"schema,omitempty"`
	ResponseElem  string     `json:"response_elem,omitempty"`
	SkipEmptyKeys any        `json:"skip_empty_keys,omitempty"`
	Invokes       []string   `json:"invokes,omitempty"`
	Namespace     string     `json:"namespace,omitempty"`
}

// Describe returns what an IO declares, or nil for none.
func Describe(io *IO) *Info {
	if io == nil {
		return nil
	}
	info := &Info{Schema: io.Schema, ResponseElem: io.ResponseElem, Invokes: io.Invokes, Namespace: io.Namespace}
	if io.Input != nil {
		info.Input = describeModel(io.Input)
	}
	if io.Output != nil {
		info.Output = describeModel(io.Output)
	}
	switch {
	case io.SkipEmpty:
		info.SkipEmptyKeys = true
	case len(io.SkipEmptyKeys) > 0:
		keys := make([]string, 0, len(io.SkipEmptyKeys))
		for k := range io.SkipEmptyKeys {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		info.SkipEmptyKeys = keys
	}
	return info
}

func describeModel(m *Model) *ModelInfo {
	return &ModelInfo{Model: m.Name, Elems: describeElems(m, map[*Model]bool{})}
}

func describeElems(m *Model, path map[*Model]bool) []ElemInfo {
	path[m] = true
	defer delete(path, m)
	out := make([]ElemInfo, len(m.Elems))
	for i, e := range m.Elems {
		out[i] = describeElem(e, path)
	}
	return out
}

func describeElem(e *Elem, path map[*Model]bool) ElemInfo {
	ei := ElemInfo{Name: e.Name, Type: string(e.Type), Required: e.Required}
	if e.HasDefault && e.Type != service.TypeSecret {
		ei.Default = e.Default
		if ei.Default == nil {
			ei.Default = json.RawMessage("null")
		}
	}
	if e.Model != nil {
		ei.Model = e.Model.Name
		if !path[e.Model] {
			ei.Elems = describeElems(e.Model, path)
		}
	}
	if e.Items != nil {
		it := describeElem(e.Items, path)
		it.Name = ""
		ei.Items = &it
	}
	return ei
}
