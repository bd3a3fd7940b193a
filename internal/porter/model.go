package porter

import (
	"strings"
)

// fieldTypes map Python annotations to the types a model field takes.
var fieldTypes = map[string]string{
	"int": "int", "str": "str", "bool": "bool", "float": "float", "dict": "dict", "list": "list", "bytes": "str",
	"Decimal": "Decimal", "decimal_": "Decimal", "datetime": "DateTime", "datetime_": "DateTime", "date": "Date", "date_": "Date",
	"UUID": "UUID", "uuid_": "UUID", "Any": "AsIs", "any_": "AsIs", "anydict": "dict", "stranydict": "dict", "strdict": "dict",
	"dictnone": "dict", "anylist": "list", "strlist": "list", "intlist": "list", "dictlist": "list", "object": "AsIs",
	"Dict": "dict", "List": "list", "dict_": "dict", "list_": "list", "str_": "str", "int_": "int", "bool_": "bool", "float_": "float",
	"strnone": "str", "intnone": "int", "boolnone": "bool", "floatnone": "float",
}

// typedDefault is the element builtin that carries a default for a type.
var typedDefault = map[string]string{
	"int": "Int", "str": "Text", "bool": "Bool", "float": "Float", "dict": "Dict", "list": "List",
	"Decimal": "Decimal", "DateTime": "DateTime", "Date": "Date", "UUID": "UUID", "AsIs": "AsIs",
}

// model converts a Model (a dataclass) into model("Name", field = type, …).
func (c *converter) model(s *classStmt, sc *scope) stmt {
	call := &callExpr{line: s.line, fn: name("model"), args: []arg{{x: str(s.name)}}}
	for _, x := range s.body {
		switch x := x.(type) {
		case *assignStmt:
			if len(x.targets) != 1 || x.annot == nil {
				if n, ok := x.targets[0].(*nameExpr); ok && x.annot == nil {
					c.note(x.line, "model attribute "+n.id, "a model holds only annotated fields: it is left out")
				}
				continue
			}
			n, ok := x.targets[0].(*nameExpr)
			if !ok {
				continue
			}
			typ, opt := c.fieldType(x.annot, x.line)
			var def expr
			if x.value != nil {
				def = c.fieldDefault(x.value, sc)
			}
			var v expr = typ
			switch {
			case def != nil && isNone(def):
				v = &callExpr{fn: name("optional"), args: []arg{{x: typ}}}
			case def != nil:
				builtin := typedDefault[dotted(typ)]
				if c, ok := typ.(*callExpr); ok && dotted(c.fn) == "list_of" {
					builtin = "List"
				}
				if builtin == "" {
					if inner, ok := optionalOf(typ); ok {
						builtin = typedDefault[dotted(inner)]
					}
				}
				if builtin == "" {
					c.note(x.line, "default of field "+n.id, "only fields of plain types take defaults in a model: the field is optional instead")
					v = &callExpr{fn: name("optional"), args: []arg{{x: typ}}}
				} else {
					v = &callExpr{fn: name(builtin), args: []arg{{name: "default", x: def}}}
				}
			case opt:
				v = &callExpr{fn: name("optional"), args: []arg{{x: typ}}}
			}
			call.args = append(call.args, arg{name: n.id, x: v})
		case *defStmt:
			c.note(x.line, "method "+x.name+" of model "+s.name, "models hold data only: write it as a function that takes the model instance")
		case *exprStmt, *simpleStmt:
		default:
			c.note(x.lines().line, "statement in model "+s.name, "models hold annotated fields only")
		}
	}
	call.multiline = len(call.args) > 3
	return &assignStmt{span: span{line: s.line, end: s.end, blank: true, prevEnd: s.prevEnd}, op: "=", targets: []expr{name(s.name)}, value: call}
}

func isNone(e expr) bool {
	n, ok := e.(*nameExpr)
	return ok && n.id == "None"
}

func optionalOf(e expr) (expr, bool) {
	if c, ok := e.(*callExpr); ok && dotted(c.fn) == "optional" && len(c.args) == 1 {
		return c.args[0].x, true
	}
	return nil, false
}

// fieldType converts an annotation: the type, and whether it allows None.
func (c *converter) fieldType(a expr, line int) (expr, bool) {
	switch x := a.(type) {
	case *strExpr: // a forward reference: 'Item'
		if v, ok := stringValue(x); ok {
			t, err := parseExprText(v, line)
			if err == nil {
				return c.fieldType(t, line)
			}
		}
	case *nameExpr, *attrExpr:
		n := dotted(x)
		short := n[strings.LastIndex(n, ".")+1:]
		if t, ok := fieldTypes[short]; ok {
			return name(t), strings.HasSuffix(short, "none")
		}
		if g, ok := c.globals[short]; ok && g.model {
			return name(short), false
		}
		if cls, ok := c.classes[short]; ok && c.isModel(cls) {
			return name(short), false
		}
		c.note(line, "field type "+n, "not a type a model field takes: it is AsIs (any JSON value)")
		return name("AsIs"), false
	case *indexExpr:
		outer := dotted(x.x)
		outer = outer[strings.LastIndex(outer, ".")+1:]
		var params []expr
		if t, ok := x.index.(*seqExpr); ok {
			params = t.elems
		} else {
			params = []expr{x.index}
		}
		switch outer {
		case "list_", "List", "list", "Sequence", "tuple", "Tuple", "set", "Set":
			inner, _ := c.fieldType(params[0], line)
			return &callExpr{fn: name("list_of"), args: []arg{{x: inner}}}, false
		case "optional", "Optional":
			inner, _ := c.fieldType(params[0], line)
			return inner, true
		case "Union":
			var kept []expr
			none := false
			for _, p := range params {
				if isNone(p) {
					none = true
					continue
				}
				kept = append(kept, p)
			}
			if len(kept) == 1 {
				inner, _ := c.fieldType(kept[0], line)
				return inner, none
			}
			return name("AsIs"), none
		case "dict_", "Dict", "dict", "Mapping":
			return name("dict"), false
		}
	case *binaryExpr:
		if x.op == "|" { // X | None
			if isNone(x.y) {
				inner, _ := c.fieldType(x.x, line)
				return inner, true
			}
			if isNone(x.x) {
				inner, _ := c.fieldType(x.y, line)
				return inner, true
			}
		}
	}
	c.note(line, "field type", "not a type a model field takes: it is AsIs (any JSON value)")
	return name("AsIs"), false
}

// fieldDefault converts a field's default: field(default=…) and
// default_factory=list/dict too.
func (c *converter) fieldDefault(v expr, sc *scope) expr {
	if call, ok := v.(*callExpr); ok && (dotted(call.fn) == "field" || dotted(call.fn) == "dataclasses.field") {
		for _, a := range call.args {
			switch a.name {
			case "default":
				return sc.expr(a.x)
			case "default_factory":
				switch dotted(a.x) {
				case "list", "list_":
					return &seqExpr{kind: '['}
				case "dict", "dict_":
					return &dictExpr{}
				}
			}
		}
		return nil
	}
	return sc.expr(v)
}

// sortModels orders definitions so that a model comes after the models
// its fields name (Starlark runs the top level in order).
func sortModels(gs []*global) []*global {
	index := map[string]*global{}
	for _, g := range gs {
		index[g.name] = g
	}
	var out []*global
	done := map[string]bool{}
	var visit func(g *global, depth int)
	visit = func(g *global, depth int) {
		if done[g.name] || depth > 50 {
			return
		}
		done[g.name] = true
		if g.model {
			refs := map[string]bool{}
			if cls, ok := g.stmt.(*classStmt); ok {
				for _, x := range cls.body {
					if a, ok := x.(*assignStmt); ok && a.annot != nil {
						walkExpr(a.annot, func(e expr) {
							switch v := e.(type) {
							case *nameExpr:
								refs[v.id] = true
							case *strExpr:
								if s, ok := stringValue(v); ok {
									refs[s] = true
								}
							}
						})
					}
				}
			}
			for r := range refs {
				if dep, ok := index[r]; ok && dep != g {
					visit(dep, depth+1)
				}
			}
		}
		out = append(out, g)
	}
	for _, g := range gs {
		visit(g, 0)
	}
	return out
}
