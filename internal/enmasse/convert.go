package enmasse

import (
	"encoding/json"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/plexushq/plexus/internal/redact"
)

// expansionAllowance bounds what aliases and merge keys may add to the
// values an import visits. A file's own values cannot outnumber its
// bytes, so the budget is the bytes read plus this: a "billion laughs"
// file is a problem found in a fraction of a second, not a hang.
const expansionAllowance = 1 << 18

// spend counts one visited value; past the budget it reports the problem
// once and returns false.
func (p *parser) spend(file string, n *yaml.Node) bool {
	if p.nodes++; p.nodes <= p.bytes+expansionAllowance {
		return true
	}
	if !p.exhausted {
		p.exhausted = true
		p.problem(at(file, n, "", "", "", "too much to read: aliases and merge keys expand to more than %d values", p.bytes+expansionAllowance))
	}
	return false
}

// converter turns the YAML value of one field into a value that encodes
// as the JSON its kind's declaration decodes. It is guided by the field's
// Go type where YAML is looser than JSON, as Zato reads its files: any
// scalar is accepted for a string; for a bool, YAML 1.1's yes/no/on/off,
// 1 and 0, and any of them written as a string ("True", as PyYAML-era
// files have them); for a number, 0x1F or 1_000, written plain or as a
// string ("10"). Anything else keeps its YAML type, so the declaration
// reports a wrong type in its own words.
type converter struct {
	p     *parser
	obj   *object
	field string
}

func (c *converter) problem(n *yaml.Node, format string, args ...any) {
	name := ""
	if c.obj.name != "" || c.field != "name" {
		name = c.obj.name
	}
	c.p.problem(at(c.obj.file, n, c.obj.kind.ID, name, c.field, format, args...))
}

// value converts a node for a field of type t (nil when unknown).
func (c *converter) value(n *yaml.Node, t reflect.Type) any {
	n = deref(n)
	if n == nil {
		return nil
	}
	if !c.p.spend(c.obj.file, n) {
		return nil
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && customJSON(t) {
		t = nil // its own UnmarshalJSON decides
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return c.scalar(n, t)
	case yaml.SequenceNode:
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		out := make([]any, len(n.Content))
		for i, item := range n.Content {
			out[i] = c.value(item, et)
		}
		return out
	case yaml.MappingNode:
		entries := c.p.entries(c.obj.file, n, 0)
		out := make(map[string]any, len(entries))
		for _, e := range entries {
			out[e.key.Value] = c.value(e.value, memberType(t, e.key.Value))
		}
		return out
	}
	return nil
}

// customJSON reports whether t decodes itself from JSON.
func customJSON(t reflect.Type) bool {
	return t == reflect.TypeFor[time.Time]() || reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]())
}

// memberType returns the type of a mapping's member: a map's element type
// or a struct's field by its JSON name.
func memberType(t reflect.Type, key string) reflect.Type {
	if t == nil {
		return nil
	}
	switch t.Kind() {
	case reflect.Map:
		return t.Elem()
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name == key && f.IsExported() {
				return f.Type
			}
		}
	}
	return nil
}

func (c *converter) scalar(n *yaml.Node, t reflect.Type) any {
	v, tag := c.text(n)
	if tag == "!!null" {
		return nil
	}
	if t != nil {
		// A string is read as what it spells; any other tag as itself.
		s := v
		if tag == "!!str" {
			s = strings.TrimSpace(v)
		}
		switch t.Kind() {
		case reflect.String:
			return v
		case reflect.Bool:
			if tag == "!!bool" || tag == "!!str" {
				if b, ok := parseBool(s); ok {
					return b
				}
			}
			if (tag == "!!int" || tag == "!!str") && (s == "0" || s == "1") {
				return s == "1"
			}
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if tag == "!!int" || tag == "!!str" {
				if i, err := parseInt(s); err == nil {
					return json.Number(strconv.FormatInt(i, 10))
				}
			}
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if tag == "!!int" || tag == "!!str" {
				if i, err := parseUint(s); err == nil {
					return json.Number(strconv.FormatUint(i, 10))
				}
			}
		case reflect.Float32, reflect.Float64:
			if tag == "!!int" || tag == "!!float" || tag == "!!str" {
				if f, ok := parseFloat(s); ok {
					return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
				}
			}
		}
	}
	return generic(v, tag)
}

// generic converts a scalar by its YAML type.
func generic(v, tag string) any {
	switch tag {
	case "!!null":
		return nil
	case "!!bool":
		if b, ok := parseBool(v); ok {
			return b
		}
	case "!!int":
		if i, err := parseInt(v); err == nil {
			return json.Number(strconv.FormatInt(i, 10))
		}
		if f, ok := parseFloat(v); ok {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	case "!!float":
		if f, ok := parseFloat(v); ok {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
	}
	return v
}

// text returns a scalar's value with variables substituted, and its tag.
// A whole-value reference written plain takes the type its value reads
// as, so that is_active: ${FLAG} is a bool.
func (c *converter) text(n *yaml.Node) (string, string) {
	v, tag := n.Value, n.Tag
	if n.Style&yaml.TaggedStyle != 0 || tag != "!!str" {
		return v, tag // an explicit tag means: take it literally
	}
	if m := legacyVar.FindStringSubmatch(v); m != nil {
		v = c.variable(n, m[1])
		return v, resolveTag(v)
	}
	if strings.Contains(v, "$") {
		out, whole, err := expand(v, func(name string) string { return c.variable(n, name) })
		if err != nil {
			c.problem(n, "%v", err)
			return v, tag
		}
		if whole && n.Style == 0 {
			return out, resolveTag(out)
		}
		v = out
	}
	if v == zatoNoSecurity {
		return "", "!!null"
	}
	return v, tag
}

// variable returns a variable's value; an unset one is a problem.
func (c *converter) variable(n *yaml.Node, name string) string {
	if v, ok := c.p.lookup(name); ok {
		return v
	}
	c.p.missing[redact.Short(name)] = true
	c.problem(n, "variable %s is not set", redact.Short(name))
	return ""
}

var (
	decimalInt = regexp.MustCompile(`^[-+]?[0-9]+$`)
	yamlFloat  = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
)

// resolveTag returns the YAML type a substituted value reads as: a bool
// (YAML 1.1's yes/no/on/off included, as Zato coerces them), an integer,
// a float or a string. It never reads as null, so an empty or "null"
// password stays a string.
func resolveTag(s string) string {
	if _, ok := parseBool(s); ok {
		return "!!bool"
	}
	if _, err := parseInt(s); err == nil && s != "" {
		return "!!int"
	}
	if yamlFloat.MatchString(s) {
		return "!!float"
	}
	return "!!str"
}

// parseInt reads a YAML integer: decimal (a leading 0 is still decimal),
// 0x, 0o or 0b, with optional _ separators.
func parseInt(s string) (int64, error) {
	if decimalInt.MatchString(s) {
		return strconv.ParseInt(strings.TrimPrefix(s, "+"), 10, 64)
	}
	return strconv.ParseInt(s, 0, 64)
}

func parseUint(s string) (uint64, error) {
	if decimalInt.MatchString(s) {
		return strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, 64)
	}
	return strconv.ParseUint(s, 0, 64)
}

// parseFloat reads a finite YAML number.
func parseFloat(s string) (float64, bool) {
	if i, err := parseInt(s); err == nil {
		return float64(i), true
	}
	if !yamlFloat.MatchString(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// parseBool reads YAML 1.1 and 1.2 booleans, as PyYAML (and so Zato)
// writes them.
func parseBool(s string) (bool, bool) {
	switch s {
	case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON":
		return true, true
	case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF":
		return false, true
	}
	return false, false
}
