package starlark

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"

	sl "go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// PortingDoc is the section of the user guide on porting services from
// Python and Zato, which deploy hints point to.
const PortingDoc = "docs/starlark.md#porting-from-pythonzato"

// pythonOnly says, for Python syntax that Starlark does not have, what to
// write instead. Keys are the parser's tokens.
var pythonOnly = func() map[string]string {
	noImport := "Starlark has no import: Python's everyday modules (json, time, re, hashlib, hmac, base64, uuid, random, decimal, csv, xml, math) are built in under their names, and everything else (connections, other services) comes through self; plexus port converts a Zato module's imports"
	noExceptions := "Starlark has no exceptions: catch(fn, *args) calls fn and returns a result with ok, value, error and status instead of stopping; answer with bad_request(msg), not_found(msg), … or fail(msg)"
	noGenerators := "Starlark has no generators or coroutines: build and return a list"
	noGlobal := "Starlark has no global: module-level values are frozen after load, so keep state in local variables"
	return map[string]string{
		"import": noImport, "from": noImport,
		"class": "Starlark has no classes: a service is the file itself, with name, the I/O declarations (class SimpleIO's attributes) and def handle(self) at the top level",
		"try":   noExceptions, "except": noExceptions, "finally": noExceptions,
		"raise":  "Starlark has no raise: stop the service with bad_request(msg), not_found(msg), … or fail(msg)",
		"with":   "Starlark has no with statement",
		"global": noGlobal, "nonlocal": noGlobal,
		"yield": noGenerators, "async": noGenerators, "await": noGenerators,
		"del":    "Starlark has no del: use d.pop(key) or l.remove(x)",
		"is":     "Starlark has no is: compare with == and != (x == None)",
		"@":      "Starlark has no decorators",
		"assert": "Starlark has no assert: use if not cond: fail(msg)",
		"f":      `Starlark has no f-strings: use "%s" % x or "{}".format(x), and format(x, ".2f") for a spec; plexus port converts them`,
	}
}()

var (
	gotToken = regexp.MustCompile(`^got ([a-z]+), want`)
	fString  = regexp.MustCompile(`(?:^|[^\w])[fF][rR]?["']|(?:^|[^\w])[rR][fF]["']`)
)

// pythonHint returns what to do about a syntax error caused by Python
// syntax that Starlark lacks, or "" when the error is something else.
func pythonHint(src []byte, e syntax.Error) string {
	var line string
	if lines := strings.Split(string(src), "\n"); e.Pos.Line >= 1 && int(e.Pos.Line) <= len(lines) {
		line = lines[e.Pos.Line-1]
	}
	token := ""
	switch m := gotToken.FindStringSubmatch(e.Msg); {
	case m != nil && pythonOnly[m[1]] != "":
		token = m[1]
	case strings.HasPrefix(e.Msg, "unexpected input character '@'"):
		token = "@"
	case strings.HasPrefix(e.Msg, "got string literal") && fString.MatchString(line):
		token = "f"
	case strings.HasPrefix(strings.TrimSpace(line), "assert "):
		token = "assert"
	}
	if token == "" {
		return ""
	}
	return pythonOnly[token] + "; see " + PortingDoc
}

// pythonNames says, for Python names that Starlark does not predeclare,
// what to use instead.
var pythonNames = map[string]string{
	"isinstance": `use type(x) == "dict" (or "list", "string", "int", …)`,
	"open":       "services reach no files: read data through self.out or the request",
	"Service":    "a service is the file itself: put def handle(self) at the top level",
	"Exception":  "Starlark has no exceptions: answer with bad_request(msg), not_found(msg), … or fail(msg), and catch errors with catch(fn, *args)",
}

// namesHint returns what to do about an undefined Python name, or "".
func namesHint(msg string) string {
	name, ok := strings.CutPrefix(msg, "undefined: ")
	if !ok {
		return ""
	}
	hint := pythonNames[name]
	if hint == "" && strings.HasSuffix(name, "Error") {
		hint = pythonNames["Exception"]
	}
	if hint == "" {
		return ""
	}
	return hint + "; see " + PortingDoc
}

// selfInstead says what to use instead of self attributes that Zato
// services use and Plexus does not have, by path.
var selfInstead = map[string]string{
	"self.kvdb":        "this server gives services no key-value store: keep data in a system reached through self.out.rest, or in a service called with self.invoke",
	"self.cache":       "this server gives services no cache: keep data in a system reached through self.out.rest, or in a service called with self.invoke",
	"self.server":      "services have no server object: use self.invoke and self.invoke_async for other services, self.out for connections, self.channel for the channel and self.name for the service's name",
	"self.environ":     "self keeps nothing between requests: use local variables",
	"self.user_config": "put settings in module-level constants",
	"self.config":      "put settings in module-level constants",
	"self.time":        "use the time module: time.now(), time.utcnow(), time.parse(s, fmt)",
}

// selfWarnings reports the self attributes a file uses that self does
// not have, each once, naming what to use instead.
func (comp *Compiler) selfWarnings(f *syntax.File) []string {
	self := comp.probe()
	seen := map[string]bool{}
	var out []string
	syntax.Walk(f, func(n syntax.Node) bool {
		dot, ok := n.(*syntax.DotExpr)
		if !ok {
			return true
		}
		var chain []*syntax.DotExpr
		var x syntax.Expr = dot
		for d, ok := x.(*syntax.DotExpr); ok; d, ok = x.(*syntax.DotExpr) {
			chain = append(chain, d)
			x = d.X
		}
		if id, ok := x.(*syntax.Ident); !ok || id.Name != "self" {
			return true // self may be deeper, as in self.out.rest["x"].conn
		}
		slices.Reverse(chain)
		names := make([]string, len(chain))
		for i, d := range chain {
			names[i] = d.Name.Name
		}
		bad, have := comp.missing(self, names)
		if bad < 0 {
			return false
		}
		path := "self." + strings.Join(names[:bad+1], ".")
		if seen[path] {
			return false
		}
		seen[path] = true
		advice := selfInstead[path]
		if advice == "" {
			parent := strings.TrimSuffix(path, "."+names[bad])
			advice = fmt.Sprintf("%s has %s", parent, strings.Join(have, ", "))
			if s := registry.Suggest(names[bad], have); s != "" {
				advice = fmt.Sprintf("did you mean %s.%s? %s", parent, s, advice)
			}
		}
		out = append(out, fmt.Sprintf("%s: %s does not exist in Plexus; %s", posString(chain[bad].Name.NamePos), path, advice))
		return false
	})
	return out
}

// missing returns the index in chain of the first attribute that
// self.<chain> lacks, with the attributes there are instead, or -1 when
// each exists or the chain reaches a value whose attributes depend on the
// request (the input, a dict, an attribute a subsystem provides).
func (comp *Compiler) missing(self *selfValue, chain []string) (int, []string) {
	var v sl.Value = self
	var ns *namespace // set once the chain enters a provided attribute
	for i, name := range chain {
		if ns != nil {
			if ns.leaf != nil {
				return -1, nil
			}
			child, ok := ns.children[name]
			if !ok {
				return i, slices.Sorted(maps.Keys(ns.children))
			}
			ns = child
			continue
		}
		obj, ok := v.(sl.HasAttrs)
		if _, isMap := v.(sl.Mapping); !ok || isMap {
			return -1, nil
		}
		names := obj.AttrNames()
		if !slices.Contains(names, name) {
			return i, names
		}
		if name == "outgoing" && i == 0 {
			name = "out"
		}
		if child, ok := comp.attrs.children[name]; ok && i == 0 {
			ns = child
			continue
		}
		next, err := obj.Attr(name)
		if err != nil || next == nil {
			return -1, nil
		}
		v = next
	}
	return -1, nil
}

// probe returns a self over an empty request, whose attributes tell what
// services can use.
func (comp *Compiler) probe() *selfValue {
	return &selfValue{comp: comp, c: service.NewContext(context.Background(), probePlatform{}), response: newResponse()}
}

// probePlatform is the platform of probe: it runs nothing.
type probePlatform struct{}

var errProbe = errors.New("nothing runs while a file is checked")

func (probePlatform) Invoke(*service.Context, string, any, service.InvokeOptions) (any, error) {
	return nil, errProbe
}

func (probePlatform) InvokeAsync(*service.Context, string, any, service.InvokeOptions) (string, error) {
	return "", errProbe
}

func (probePlatform) Logger(*service.Context) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func (probePlatform) Resource(*service.Context, string, string) (any, error) { return nil, errProbe }

// docstring returns the service's documentation: the first string
// statement at the top level, after any assignments (Zato modules often
// set namespace = … before the docstring of their class). Other strings
// at the top level, and the docstring of a handler when the file has
// none, are reported: they are not the documentation.
func docstring(f *syntax.File) (doc string, warnings []string) {
	found, header := false, true
	for _, stmt := range f.Stmts {
		if s, pos, ok := stringStmt(stmt); ok {
			if header && !found {
				doc, found = strings.TrimSpace(s), true
				continue
			}
			warnings = append(warnings, posString(pos)+": this string is not the service's documentation, which is the first string of the file, before any statement but assignments; move it there, or make it a # comment")
			continue
		}
		if _, ok := stmt.(*syntax.AssignStmt); !ok {
			header = false
		}
	}
	if found {
		return doc, warnings
	}
	for _, stmt := range f.Stmts {
		if def, ok := stmt.(*syntax.DefStmt); ok && len(def.Body) > 0 {
			if _, handler := handlerVerb(def.Name.Name); !handler {
				continue
			}
			if _, pos, ok := stringStmt(def.Body[0]); ok {
				warnings = append(warnings, fmt.Sprintf("%s: the docstring of %s is not the service's documentation, which is the first string of the file; move it to the top of the file", posString(pos), def.Name.Name))
			}
		}
	}
	return doc, warnings
}

// stringStmt returns the string of a statement that is only a string.
func stringStmt(stmt syntax.Stmt) (string, syntax.Position, bool) {
	e, ok := stmt.(*syntax.ExprStmt)
	if !ok {
		return "", syntax.Position{}, false
	}
	lit, ok := e.X.(*syntax.Literal)
	if !ok || lit.Token != syntax.STRING {
		return "", syntax.Position{}, false
	}
	s, ok := lit.Value.(string)
	return s, lit.TokenPos, ok
}

// handlerVerb reports whether a global's name is that of a handler, and
// its verb: "" for handle, "GET" for handle_GET.
func handlerVerb(name string) (string, bool) {
	verb, ok := strings.CutPrefix(name, "handle")
	if !ok || verb == "" {
		return "", ok
	}
	if len(verb) < 2 || verb[0] != '_' || strings.ToUpper(verb[1:]) != verb[1:] {
		return "", false
	}
	return verb[1:], true
}

// withHint adds a hint to a message.
func withHint(msg, hint string) string {
	if hint == "" {
		return msg
	}
	return msg + " (" + hint + ")"
}
