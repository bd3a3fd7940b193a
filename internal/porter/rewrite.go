package porter

import (
	"fmt"
	"maps"
	"math/big"
	"strconv"
	"strings"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/registry"
)

// scope converts the statements and expressions of one function (or of
// the module level, when fn is nil).
type scope struct {
	c   *converter
	svc *serviceInfo
	fn  *defStmt
	// handler is the catch result an except block is in, and the name its
	// exception was bound to.
	result, excName string
	// loop is set inside a loop's body (for break and continue).
	loop bool
	tmp  *int
	// flow is set in the body of a try, which becomes a function.
	flow *tryFlow
	// finally is the converted finally block around an except or else
	// block: a return there runs it first.
	finally []stmt
	// shared maps the variables a try body shares with its function to
	// the dict that holds them while the body runs.
	shared map[string]string
}

func (sc *scope) note(line int, what, advice string) { sc.c.note(line, what, advice) }

func (sc *scope) temp(prefix string) string {
	*sc.tmp++
	return fmt.Sprintf("_%s%d", prefix, *sc.tmp)
}

func name(id string) *nameExpr { return &nameExpr{id: id} }

func call(fn expr, args ...expr) *callExpr {
	c := &callExpr{fn: fn}
	for _, a := range args {
		c.args = append(c.args, arg{x: a})
	}
	if len(args) > 0 {
		c.line = args[0].pos()
	}
	return c
}

func str(s string) *strExpr { return &strExpr{parts: []strPart{{quote: `"`, body: escapeBody(s)}}} }

// dotted returns a.b.c for a chain of names and attributes, or "".
func dotted(e expr) string {
	switch x := e.(type) {
	case *nameExpr:
		return x.id
	case *rawExpr:
		if isDottedName(x.text) {
			return x.text
		}
	case *attrExpr:
		if d := dotted(x.x); d != "" {
			return d + "." + x.name
		}
	}
	return ""
}

func isDottedName(s string) bool {
	for _, part := range strings.Split(s, ".") {
		if part == "" || !isIdentStart(part[0]) {
			return false
		}
		for _, r := range part {
			if !isIdentChar(r) {
				return false
			}
		}
	}
	return true
}

// exprs converts a list of expressions.
func (sc *scope) exprs(es []expr) []expr {
	for i, e := range es {
		es[i] = sc.expr(e)
	}
	return es
}

// expr converts an expression to Starlark.
func (sc *scope) expr(e expr) expr {
	switch x := e.(type) {
	case nil:
		return nil
	case *nameExpr:
		return sc.nameRef(x)
	case *numExpr:
		return sc.number(x)
	case *strExpr:
		return sc.str(x)
	case *attrExpr:
		return sc.attr(x)
	case *indexExpr:
		x.x = sc.expr(x.x)
		x.index = sc.expr(x.index)
		return x
	case *sliceExpr:
		x.lo, x.hi, x.step = sc.expr(x.lo), sc.expr(x.hi), sc.expr(x.step)
		return x
	case *callExpr:
		return sc.call(x)
	case *binaryExpr:
		return sc.binary(x)
	case *unaryExpr:
		x.x = sc.expr(x.x)
		return x
	case *compareExpr:
		return sc.compare(x)
	case *condExpr:
		x.cond, x.then, x.els = sc.expr(x.cond), sc.expr(x.then), sc.expr(x.els)
		return x
	case *lambdaExpr:
		sc.params(x.params, x.line)
		inner := *sc
		x.body = inner.expr(x.body)
		return x
	case *parenExpr:
		x.x = sc.expr(x.x)
		return x
	case *starExpr:
		x.x = sc.expr(x.x)
		return x
	case *seqExpr:
		x.elems = sc.exprs(x.elems)
		for _, el := range x.elems {
			if _, ok := el.(*starExpr); ok && x.kind != '(' {
				sc.note(x.line, "unpacking (*x) in a display", "Starlark has no unpacking in lists: concatenate, as in list(a) + [b]")
			}
		}
		return x
	case *dictExpr:
		return sc.dict(x)
	case *compExpr:
		for i := range x.clauses {
			x.clauses[i].vars = sc.expr(x.clauses[i].vars)
			x.clauses[i].iter = sc.expr(x.clauses[i].iter)
			x.clauses[i].cond = sc.expr(x.clauses[i].cond)
		}
		x.elt, x.val = sc.expr(x.elt), sc.expr(x.val)
		return x
	case *ellipsisExpr:
		return x
	case *unsupportedExpr:
		sc.note(x.line, x.what, "Starlark has no "+x.what+"; the expression fails when reached")
		return x
	case *rawExpr:
		return x
	}
	return e
}

func (sc *scope) number(x *numExpr) expr {
	t := strings.ReplaceAll(x.text, "_", "")
	lower := strings.ToLower(t)
	switch {
	case strings.HasSuffix(lower, "j"):
		sc.note(x.line, "complex number "+x.text, "Starlark has no complex numbers")
		return &unsupportedExpr{line: x.line, what: "complex number", text: x.text}
	case strings.HasSuffix(lower, "l") && !strings.HasPrefix(lower, "0x"):
		t = t[:len(t)-1]
	}
	if strings.Trim(t, "0") == "" && t != "" {
		t = "0"
	}
	if n, ok := starlarkNumber(t); ok {
		x.text = n
		return x
	}
	sc.note(x.line, "number "+x.text, "not a number Starlark reads")
	return &unsupportedExpr{line: x.line, what: "number", text: x.text}
}

// starlarkNumber writes a Python number literal as Starlark reads it.
func starlarkNumber(t string) (string, bool) {
	lower := strings.ToLower(t)
	if strings.HasPrefix(lower, "0x") || strings.HasPrefix(lower, "0o") || strings.HasPrefix(lower, "0b") {
		if _, ok := new(big.Int).SetString(lower, 0); ok {
			return lower, true
		}
		return "", false
	}
	if !strings.ContainsAny(lower, ".e") {
		if len(t) > 1 && t[0] == '0' { // Python 2's octal
			t = "0o" + strings.TrimLeft(t, "0")
			if _, ok := new(big.Int).SetString(t, 0); ok {
				return t, true
			}
			return "", false
		}
		if _, ok := new(big.Int).SetString(t, 10); ok {
			return t, true
		}
		return "", false
	}
	if _, err := strconv.ParseFloat(t, 64); err != nil && !strings.Contains(err.Error(), "range") {
		return "", false
	}
	mant, exp, hasExp := strings.Cut(lower, "e")
	if strings.HasPrefix(mant, ".") {
		mant = "0" + mant
	}
	if strings.HasSuffix(mant, ".") {
		mant += "0"
	}
	mant = strings.TrimLeft(mant, "0")
	if mant == "" || mant[0] == '.' {
		mant = "0" + mant
	}
	if hasExp {
		return mant + "e" + exp, true
	}
	return mant, true
}

func (sc *scope) str(x *strExpr) expr {
	var out []expr
	var plain []strPart
	flush := func() {
		if len(plain) > 0 {
			out = append(out, &strExpr{line: plain[0].line, parts: plain})
			plain = nil
		}
	}
	for _, p := range x.parts {
		if strings.Contains(p.prefix, "f") {
			flush()
			out = append(out, sc.fstring(p))
			continue
		}
		plain = append(plain, sc.convertPart(p))
	}
	flush()
	if len(out) == 1 {
		return out[0]
	}
	// Adjacent literals mixing f-strings: joined with +.
	e := out[0]
	for _, o := range out[1:] {
		e = &binaryExpr{line: x.line, op: "+", x: e, y: o}
	}
	return &parenExpr{line: x.line, x: e}
}

// nameRef converts a name: imported names become what they map to.
func (sc *scope) nameRef(x *nameExpr) expr {
	if x.id == "load" { // a keyword of Starlark
		x.id = "load_"
	}
	if state, ok := sc.shared[x.id]; ok {
		return &indexExpr{line: x.line, x: name(state), index: str(x.id)}
	}
	if sc.isLocal(x.id) {
		return x
	}
	if b, ok := sc.c.bindings[x.id]; ok {
		switch b.kind {
		case bindExpr:
			if b.to == "" {
				return x
			}
			return &rawExpr{line: x.line, text: b.to}
		case bindStub:
			sc.c.stub(x.id, b)
		case bindDrop:
			if _, known := zatoErrors[x.id]; !known && x.id != "Service" {
				sc.note(x.line, x.id+" (from "+b.origin+")", "Plexus has no "+x.id+"; the file fails where it is used")
				sc.c.stub(x.id, b)
			}
		case bindSpecial:
			if b.origin == "traceback.format_exc" {
				return x
			}
		}
	}
	switch x.id {
	case "unicode", "basestring":
		return name("str")
	case "long":
		return name("int")
	case "xrange":
		return name("range")
	case "__name__":
		return str(sc.c.service)
	}
	return x
}

// isLocal reports whether a name is a parameter or local of the function
// being converted, which shadows the module's names.
func (sc *scope) isLocal(id string) bool {
	if sc.fn == nil {
		return false
	}
	for _, p := range sc.fn.params {
		if p.name == id {
			return true
		}
	}
	return sc.fn != nil && localNames(sc.fn)[id]
}

func (sc *scope) attr(x *attrExpr) expr {
	// self.… first: it is Zato's API.
	if sc.svc != nil {
		if e, ok := sc.selfAttr(x); ok {
			return e
		}
	}
	if n, ok := x.x.(*nameExpr); ok && sc.result != "" && n.id == sc.excName {
		switch x.name {
		case "message", "msg":
			return n
		case "args":
			return &seqExpr{line: x.line, kind: '(', paren: true, elems: []expr{n}, trailing: true}
		}
	}
	d := dotted(x)
	// Constants of imported Zato modules: SCHEDULER.JOB_TYPE.INTERVAL_BASED.
	if b, ok := sc.c.bindings[rootName(x)]; ok && d != "" && !sc.isLocal(rootName(x)) {
		if e, ok := sc.importedAttr(x, b, d); ok {
			return e
		}
	}
	x.x = sc.expr(x.x)
	if x.name == "load" { // a keyword of Starlark
		return call(name("getattr"), x.x, str("load"))
	}
	// self.outgoing.plain_http["ERP"].post(…): Zato 2's connection
	// wrapper; the verbs are on .conn.
	if ix, ok := x.x.(*indexExpr); ok {
		if r, ok := ix.x.(*rawExpr); ok && r.text == "self.out.rest" && connVerbs[x.name] {
			x.x = &attrExpr{line: x.line, x: ix, name: "conn"}
		}
	}
	switch x.name {
	case "iteritems", "itervalues", "iterkeys":
		x.name = strings.TrimPrefix(x.name, "iter")
	case "value":
		// HTTPStatus.OK.value is HTTPStatus.OK, an int.
		if strings.HasPrefix(dotted(x.x), "HTTPStatus.") || strings.HasPrefix(dotted(x.x), "http_status.") {
			return x.x
		}
	case "phrase":
		if strings.HasPrefix(dotted(x.x), "HTTPStatus.") || strings.HasPrefix(dotted(x.x), "http_status.") {
			return call(&rawExpr{text: "http_status.phrase"}, x.x)
		}
	}
	return x
}

func rootName(e expr) string {
	for {
		switch x := e.(type) {
		case *nameExpr:
			return x.id
		case *attrExpr:
			e = x.x
		case *callExpr:
			e = x.fn
		default:
			return ""
		}
	}
}

// connVerbs are the methods of an outgoing REST connection.
var connVerbs = map[string]bool{"get": true, "post": true, "put": true, "patch": true, "delete": true, "head": true, "options": true, "send": true, "ping": true}

// jobTypes are Zato's SCHEDULER.JOB_TYPE constants.
var jobTypes = map[string]string{"ONE_TIME": "one_time", "INTERVAL_BASED": "interval_based", "CRON_STYLE": "cron_style"}

// importedAttr converts module.attr of imported modules.
func (sc *scope) importedAttr(x *attrExpr, b *binding, d string) (expr, bool) {
	parts := strings.Split(d, ".")
	switch {
	case b.origin == "zato.common.SCHEDULER" || strings.HasSuffix(b.origin, ".SCHEDULER"):
		if len(parts) == 3 && parts[1] == "JOB_TYPE" && jobTypes[parts[2]] != "" {
			return str(jobTypes[parts[2]]), true
		}
	case b.kind == bindExpr && stdModules[b.origin] != "":
		// json.dumps → json.encode; datetime handled by call.
		if to, ok := stdNames[b.origin+"."+strings.Join(parts[1:], ".")]; ok && to != "" {
			return &rawExpr{line: x.line, text: to}, true
		}
		if b.to != parts[0] {
			x.x = replaceRoot(x.x, b.to)
			return x, true
		}
	case b.origin == "http" || b.origin == "http.client" || b.origin == "httplib":
		if len(parts) >= 2 {
			if parts[1] == "HTTPStatus" && len(parts) >= 3 {
				return &rawExpr{line: x.line, text: "HTTPStatus." + strings.Join(parts[2:], ".")}, true
			}
			if strings.ToUpper(parts[1]) == parts[1] {
				return &rawExpr{line: x.line, text: "http_status." + parts[1]}, true
			}
		}
	case b.origin == "datetime" && len(parts) == 2 && parts[1] == "timedelta":
		return &rawExpr{line: x.line, text: "time.timedelta"}, true
	}
	return nil, false
}

// replaceRoot renames the name at the root of a dotted chain.
func replaceRoot(e expr, to string) expr {
	switch x := e.(type) {
	case *nameExpr:
		return &rawExpr{line: x.line, text: to}
	case *attrExpr:
		x.x = replaceRoot(x.x, to)
	}
	return e
}

// selfAttr converts self.…, Zato's API, to Plexus's.
func (sc *scope) selfAttr(x *attrExpr) (expr, bool) {
	var chain []string
	var e expr = x
	for {
		a, ok := e.(*attrExpr)
		if !ok {
			break
		}
		chain = append([]string{a.name}, chain...)
		e = a.x
	}
	root, ok := e.(*nameExpr)
	if !ok || root.id != "self" {
		return nil, false
	}
	path := strings.Join(chain, ".")
	first := chain[0]
	switch {
	case first == "outgoing" || first == "out":
		if len(chain) >= 2 {
			kind := chain[1]
			switch kind {
			case "plain_http", "rest":
				return sc.rebuild(x, "self.out.rest", 2, chain), true
			default:
				if !hasOutSection(kind) {
					sc.note(x.line, "self."+first+"."+kind, "Plexus has no "+kind+" outgoing connections yet: "+connAdvice(kind))
				}
				return sc.rebuild(x, "self.out."+kind, 2, chain), true
			}
		}
		if first == "outgoing" {
			return sc.rebuild(x, "self.out", 1, chain), true
		}
	case first == "logger" && len(chain) == 2 && chain[1] == "warn":
		return &rawExpr{line: x.line, text: "self.logger.warning"}, true
	case first == "response" && len(chain) >= 3 && chain[1] == "payload":
		// Zato's free-form payload: self.response.payload.cid = … is a
		// dict in Plexus.
		sc.svc.payloadAttrs = true
		var out expr = &rawExpr{line: x.line, text: "self.response.payload"}
		for _, n := range chain[2:] {
			out = &indexExpr{line: x.line, x: out, index: str(n)}
		}
		if len(chain) > 3 {
			sc.note(x.line, "self."+path, "nested free-form payload attributes become nested dict keys: create the inner dicts first")
		}
		return out, true
	case first == "server":
		if path == "server.cluster_id" {
			sc.note(x.line, "self.server.cluster_id", "Plexus has one cluster: written as 1 (services that take it ignore it)")
			return &numExpr{line: x.line, text: "1"}, true
		}
		sc.note(x.line, "self."+path, "services have no server object in Plexus: use self.invoke, self.out and self.channel")
	case first == "kvdb" || first == "cache" || first == "redis":
		sc.note(x.line, "self."+first, "Plexus has no key-value store for services yet: keep the data in a system reached through self.out.rest, or in a service called with self.invoke")
	case first == "user_config" || first == "config":
		sc.note(x.line, "self."+first, "put configuration in module-level constants of the file")
	case first == "time":
		sc.note(x.line, "self.time", "use the time module: time.utcnow(), time.now(\"Europe/Warsaw\"), t.isoformat()")
	case first == "environ":
		sc.note(x.line, "self.environ", "Plexus keeps nothing on self between calls: pass values as arguments")
	case first == "patterns":
		sc.note(x.line, "self.patterns", "call the services one by one with self.invoke, or start them with self.invoke_async")
	case first == "request" || first == "response" || first == "cid" || first == "name" || first == "channel" || first == "logger" ||
		first == "invoke" || first == "invoke_async" || first == "publish" || first == "security" || first == "chan" || first == "wsx":
		if first == "chan" {
			return sc.rebuild(x, "self.channel", 1, chain), true
		}
		if path == "request.raw" {
			return &rawExpr{line: x.line, text: "self.request.raw_request"}, true
		}
	default:
		if m, ok := sc.svc.methods[first]; ok {
			target := sc.svc.rename[first]
			if sc.svc.props[first] {
				return sc.rebuild(x, target+"(self)", 1, chain), true
			}
			if len(chain) == 1 {
				// A method passed as a value: bound to self.
				if sc.svc.static[first] || m == nil {
					return &rawExpr{line: x.line, text: target}, true
				}
				return &rawExpr{line: x.line, text: "lambda *args, **kwargs: " + target + "(self, *args, **kwargs)"}, true
			}
		}
		if _, ok := sc.svc.attrs[first]; ok {
			return sc.rebuild(x, sc.svc.attrName(first), 1, chain), true
		}
		if first == "impl_name" {
			return str(sc.c.stem + "." + sc.svc.cls.name), true
		}
		sc.note(x.line, "self."+first, "Plexus services keep no state on self: use local variables, or pass values to functions as arguments")
	}
	return nil, false
}

// hasOutSection reports whether Plexus has outgoing connections of a
// kind under Zato's name: self.out.amqp, self.out.mongodb, ….
func hasOutSection(kind string) bool {
	for _, k := range registry.All() {
		if k.Out != nil && k.Out.Section == kind {
			return true
		}
	}
	return false
}

// connAdvice says what to use for an outgoing connection kind Plexus
// lacks.
func connAdvice(kind string) string {
	switch kind {
	case "ftp", "sftp":
		return "reach files through a service that fronts the server, over self.out.rest"
	case "sql", "odoo", "mongodb", "ldap":
		return "reach the system through a REST API over self.out.rest"
	}
	return "reach the system over self.out.rest"
}

// rebuild replaces the first n names of an attribute chain with text.
func (sc *scope) rebuild(x *attrExpr, text string, n int, chain []string) expr {
	var out expr = &rawExpr{line: x.line, text: text}
	for _, name := range chain[n:] {
		out = &attrExpr{line: x.line, x: out, name: name}
	}
	return out
}

func (sc *scope) dict(x *dictExpr) expr {
	spread := false
	for i := range x.entries {
		x.entries[i].key = sc.expr(x.entries[i].key)
		x.entries[i].val = sc.expr(x.entries[i].val)
		if x.entries[i].key == nil {
			spread = true
		}
	}
	if !spread {
		return x
	}
	// {**a, "k": v} → dict(list(a.items()) + [("k", v)])
	var parts []expr
	var pending []expr
	flush := func() {
		if len(pending) > 0 {
			parts = append(parts, &seqExpr{line: x.line, kind: '[', elems: pending})
			pending = nil
		}
	}
	for _, en := range x.entries {
		if en.key == nil {
			flush()
			parts = append(parts, call(name("list"), call(&attrExpr{x: en.val, name: "items"})))
			continue
		}
		pending = append(pending, &seqExpr{line: x.line, kind: '(', paren: true, elems: []expr{en.key, en.val}})
	}
	flush()
	sum := parts[0]
	for _, p := range parts[1:] {
		sum = &binaryExpr{line: x.line, op: "+", x: sum, y: p}
	}
	return call(name("dict"), sum)
}

func (sc *scope) binary(x *binaryExpr) expr {
	x.x, x.y = sc.expr(x.x), sc.expr(x.y)
	switch x.op {
	case "**":
		sc.note(x.line, "** (power)", "written as math.pow(x, y), which gives a float: wrap it in int() where an int is needed")
		return call(&rawExpr{text: "math.pow"}, x.x, x.y)
	case "@":
		sc.note(x.line, "@ (matrix product)", "Starlark has no @ operator")
		return &unsupportedExpr{line: x.line, what: "@ operator", text: "@"}
	case "%":
		if s, ok := x.x.(*strExpr); ok && len(s.parts) == 1 {
			return sc.percent(x, s)
		}
	}
	return x
}

// percent converts "fmt" % args whose directives Starlark lacks.
func (sc *scope) percent(x *binaryExpr, s *strExpr) expr {
	var args []expr
	tuple, isTuple := x.y.(*seqExpr)
	if isTuple && tuple.kind == '(' {
		args = tuple.elems
	} else if _, isDict := x.y.(*dictExpr); !isDict {
		args = []expr{x.y}
	}
	ds, ok := printfDirectives(s.parts[0].body)
	if !ok {
		return x
	}
	needs := false
	for _, d := range ds {
		if !d.plain() {
			needs = true
		}
	}
	if !needs {
		return x
	}
	body, out, ok := sc.printf(x.line, s.parts[0].body, args)
	if !ok {
		sc.note(x.line, "% format "+s.parts[0].quote+s.parts[0].body+s.parts[0].quote, "Starlark's % takes no widths or precisions: use format(value, spec) for each value")
		return x
	}
	s.parts[0].body = body
	if body == "%s" && len(out) == 1 {
		if c, ok := out[0].(*callExpr); ok && (dotted(c.fn) == "format" || dotted(c.fn) == "str") {
			return c // '%.2f' % x is format(x, ".2f")
		}
	}
	if isTuple && tuple.kind == '(' {
		tuple.elems = out
		return x
	}
	x.y = out[0]
	return x
}

func (sc *scope) compare(x *compareExpr) expr {
	x.x = sc.expr(x.x)
	x.ys = sc.exprs(x.ys)
	for i, op := range x.ops {
		switch op {
		case "is":
			x.ops[i] = "=="
		case "is not":
			x.ops[i] = "!="
		}
	}
	if len(x.ops) == 1 {
		return x
	}
	// a < b < c → a < b and b < c
	var out expr
	left := x.x
	for i, op := range x.ops {
		c := &compareExpr{line: x.line, x: left, ops: []string{op}, ys: []expr{x.ys[i]}}
		if out == nil {
			out = c
		} else {
			out = &binaryExpr{line: x.line, op: "and", x: out, y: c}
		}
		left = x.ys[i]
	}
	return &parenExpr{line: x.line, x: out}
}

// pythonTypeNames are what type(x) returns in Starlark for Python's types.
var pythonTypeNames = map[string][]string{
	"dict": {"dict"}, "list": {"list"}, "tuple": {"tuple"}, "str": {"string"}, "unicode": {"string"}, "basestring": {"string"},
	"bytes": {"bytes"}, "int": {"int"}, "float": {"float"}, "bool": {"bool"}, "set": {"set"}, "NoneType": {"NoneType"},
	"Decimal": {"decimal"}, "datetime": {"time"}, "date": {"time"},
}

func (sc *scope) call(x *callExpr) expr {
	fnName := dotted(x.fn)
	// Calls handled before their parts are converted.
	switch {
	case fnName == "isinstance" && len(x.args) == 2:
		return sc.isinstance(x)
	case fnName == "format_exc" || fnName == "traceback.format_exc":
		if sc.result != "" {
			return &rawExpr{line: x.line, text: sc.result + ".traceback"}
		}
		sc.note(x.line, "format_exc()", "outside except there is no error to describe")
		return str("")
	case fnName == "super" || strings.HasPrefix(fnName, "super."):
		sc.note(x.line, "super()", "a service's bases are merged into it in Plexus: call the function directly")
	}
	if sc.svc != nil && strings.HasPrefix(fnName, "self.") && strings.Count(fnName, ".") == 1 {
		method := strings.TrimPrefix(fnName, "self.")
		if _, ok := sc.svc.methods[method]; ok && !sc.svc.props[method] {
			// self.helper(x) → helper(self, x)
			x.fn = &rawExpr{line: x.line, text: sc.svc.rename[method]}
			if !sc.svc.static[method] {
				x.args = append([]arg{{x: name("self")}}, x.args...)
			}
			sc.args(x)
			return x
		}
	}
	if e, ok := sc.datetimeCall(x, fnName); ok {
		return e
	}
	x.fn = sc.expr(x.fn)
	sc.args(x)
	fn := dotted(x.fn)
	if r, ok := x.fn.(*rawExpr); ok {
		fn = r.text
	}
	if a, ok := x.fn.(*attrExpr); ok && fn == "" {
		fn = "." + a.name // a method of a value that is not a name
	}
	switch {
	case fn == "json.encode":
		return sc.jsonEncode(x)
	case fn == "json.decode":
		x.args = keepArgs(x.args, "s", 1)
	case fn == "map" && len(x.args) == 2:
		v := name("_x")
		return &compExpr{line: x.line, kind: '[', elt: &callExpr{line: x.line, fn: x.args[0].x, args: []arg{{x: v}}}, clauses: []compClause{{vars: v, iter: x.args[1].x}}}
	case fn == "filter" && len(x.args) == 2:
		v := name("_x")
		var cond expr = &callExpr{line: x.line, fn: x.args[0].x, args: []arg{{x: v}}}
		if n, ok := x.args[0].x.(*nameExpr); ok && n.id == "None" {
			cond = v
		}
		return &compExpr{line: x.line, kind: '[', elt: v, clauses: []compClause{{vars: v, iter: x.args[1].x}, {cond: cond}}}
	case fn == "print":
		for i, a := range x.args {
			if a.name == "end" || a.name == "file" || a.name == "flush" {
				sc.note(x.line, "print("+a.name+"=…)", "Starlark's print takes only sep: the argument is dropped")
				x.args = append(x.args[:i], x.args[i+1:]...)
				break
			}
		}
	case fn == "xml.tostring":
		for i, a := range x.args {
			if a.name == "encoding" {
				x.args = append(x.args[:i], x.args[i+1:]...)
				break
			}
		}
	case fn == "open" || fn == "eval" || fn == "exec" || fn == "input" || fn == "globals" || fn == "locals" || fn == "vars" || fn == "iter" || fn == "next" || fn == "id":
		sc.note(x.line, fn+"()", "not available to Starlark services: "+map[bool]string{true: "services reach no files; read data through self.out or the request", false: "rewrite without it"}[fn == "open"])
	case fn == "time.sleep":
		sc.note(x.line, "time.sleep()", "services do not sleep in Plexus: schedule the rest with a scheduler job, or retry from the caller")
	case fn == "time.strftime":
		x.fn = &attrExpr{line: x.line, x: call(&rawExpr{text: "time.now"}), name: "strftime"}
		x.args = x.args[:min(len(x.args), 1)]
	case fn == "_xml_unparse":
		x.fn = &rawExpr{line: x.line, text: "xml.tostring"}
		x.args = []arg{{x: &callExpr{line: x.line, fn: &rawExpr{text: "xml.from_dict"}, args: x.args[:min(len(x.args), 1)]}}}
	case fn == "xmltodict.parse":
		x.fn = &rawExpr{line: x.line, text: "xml.to_dict"}
		x.args = x.args[:min(len(x.args), 1)]
	case strings.HasSuffix(fn, ".encode") && len(x.args) <= 1:
		// s.encode("utf-8") → bytes(s): Starlark strings are UTF-8.
		if a, ok := x.fn.(*attrExpr); ok && (len(x.args) == 0 || isUTF8Arg(x.args)) {
			return call(name("bytes"), a.x)
		}
	case strings.HasSuffix(fn, ".decode") && len(x.args) <= 1 && fn != "json.decode":
		if a, ok := x.fn.(*attrExpr); ok && (len(x.args) == 0 || isUTF8Arg(x.args)) {
			return call(name("str"), a.x)
		}
	case strings.HasSuffix(fn, ".format"):
		if a, ok := x.fn.(*attrExpr); ok {
			if s, ok := a.x.(*strExpr); ok && len(s.parts) == 1 && !strings.Contains(s.parts[0].prefix, "r") {
				body, args, ok := sc.formatFields(x.line, s.parts[0].body, x)
				if !ok {
					sc.note(x.line, ".format() with a format spec", "Starlark's format takes plain {} fields: use format(value, spec) for each value")
				} else {
					s.parts[0].body, x.args = body, args
				}
			}
		}
	case fn == "self.invoke" || fn == "self.invoke_async" || fn == "self.publish":
		sc.invokeTarget(x)
	case strings.HasPrefix(fn, "self.logger.") && len(x.args) >= 2:
		if s, ok := x.args[0].x.(*strExpr); ok && len(s.parts) == 1 {
			vals := make([]expr, 0, len(x.args)-1)
			for _, a := range x.args[1:] {
				vals = append(vals, a.x)
			}
			body, out, ok := sc.printf(x.line, s.parts[0].body, vals)
			if ok {
				s.parts[0].body = body
				for i := range out {
					x.args[i+1].x = out[i]
				}
			}
		}
	}
	if n, ok := x.fn.(*nameExpr); ok {
		if _, isErr := zatoErrors[n.id]; isErr || isPythonError(n.id) {
			sc.note(x.line, n.id+"(…)", "Starlark has no exception objects: raise it with fail(msg) or bad_request(msg), not_found(msg), …")
		}
	}
	return x
}

func isUTF8Arg(args []arg) bool {
	if len(args) != 1 {
		return false
	}
	s, ok := args[0].x.(*strExpr)
	if !ok {
		return false
	}
	v, _ := stringValue(s)
	v = strings.ToLower(strings.ReplaceAll(v, "-", ""))
	return v == "utf8" || v == "ascii"
}

func isPythonError(n string) bool {
	return strings.HasSuffix(n, "Error") || n == "Exception" || n == "BaseException" || strings.HasSuffix(n, "Exception")
}

// keepArgs keeps the first n positional arguments of a call.
func keepArgs(args []arg, _ string, n int) []arg {
	var out []arg
	for _, a := range args {
		if a.name == "" && a.star == "" && len(out) < n {
			out = append(out, a)
		}
	}
	return out
}

func (sc *scope) args(x *callExpr) {
	for i := range x.args {
		x.args[i].x = sc.expr(x.args[i].x)
	}
}

// jsonEncode converts json.dumps(x, indent=…, sort_keys=…, default=…).
func (sc *scope) jsonEncode(x *callExpr) expr {
	var indent expr
	var pos []arg
	for _, a := range x.args {
		switch a.name {
		case "":
			pos = append(pos, a)
		case "indent":
			indent = a.x
		case "sort_keys":
			sc.note(x.line, "json.dumps(sort_keys=…)", "json.encode writes dict keys in the dict's order: build the dict sorted, or leave it")
		case "default", "cls", "ensure_ascii", "separators":
			sc.note(x.line, "json.dumps("+a.name+"=…)", "json.encode has no "+a.name+": convert the values first")
		}
	}
	x.args = pos[:min(len(pos), 1)]
	if indent == nil {
		return x
	}
	width := indent
	if n, ok := indent.(*numExpr); ok {
		width = str(strings.Repeat(" ", atoi(n.text)))
	} else {
		width = &binaryExpr{op: "*", x: str(" "), y: indent}
	}
	return &callExpr{line: x.line, fn: &rawExpr{text: "json.indent"}, args: []arg{{x: x}, {name: "indent", x: width}}}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return n
		}
		n = n*10 + int(c-'0')
	}
	return min(n, 16)
}

// builtinServices are Zato's services that Plexus has under its own name
// (Plexus answers to Zato's too, but ported code says what runs).
var builtinServices = func() map[string]string {
	m := map[string]string{"demo.ping": "plexus.ping"}
	maps.Copy(m, catalog.ZatoNames)
	return m
}()

// invokeTarget converts the service a call invokes: a class of the module
// becomes its name, a Zato built-in Plexus's.
func (sc *scope) invokeTarget(x *callExpr) {
	if len(x.args) == 0 {
		return
	}
	switch t := x.args[0].x.(type) {
	case *nameExpr:
		if cls, ok := sc.c.classes[t.id]; ok {
			n, _ := sc.c.serviceName(cls)
			x.args[0].x = str(n)
		}
	case *strExpr:
		v, ok := stringValue(t)
		if !ok {
			return
		}
		if to, ok := builtinServices[v]; ok {
			x.args[0].x = str(to)
			if strings.HasPrefix(to, "plexus.scheduler.") && len(x.args) > 1 {
				if d, ok := x.args[1].x.(*dictExpr); ok {
					for i, en := range d.entries {
						if k, ok := en.key.(*strExpr); ok {
							if kv, _ := stringValue(k); kv == "service" {
								if s, ok := en.val.(*strExpr); ok {
									if sv, _ := stringValue(s); builtinServices[sv] != "" {
										d.entries[i].val = str(builtinServices[sv])
									}
								}
							}
						}
					}
				}
			}
		} else if strings.HasPrefix(v, "zato.") || strings.HasPrefix(v, "pub.zato.") {
			sc.note(x.line, "invoking "+v, "Plexus has no built-in service of this name: see the plexus.* services listed by the admin API")
		}
	}
}

// datetimeCall converts datetime's API to the time module.
func (sc *scope) datetimeCall(x *callExpr, fn string) (expr, bool) {
	parts := strings.Split(fn, ".")
	if len(parts) == 0 || parts[0] == "" {
		return nil, false
	}
	b, ok := sc.c.bindings[parts[0]]
	if !ok || sc.isLocal(parts[0]) {
		return nil, false
	}
	var cls, method string
	switch {
	case b.origin == "datetime" && len(parts) == 3: // import datetime; datetime.datetime.utcnow()
		cls, method = parts[1], parts[2]
	case b.origin == "datetime" && len(parts) == 2 && (parts[1] == "datetime" || parts[1] == "date" || parts[1] == "timedelta"):
		cls = parts[1]
	case (b.origin == "datetime.datetime" || b.origin == "datetime.date") && len(parts) == 2:
		cls, method = strings.TrimPrefix(b.origin, "datetime."), parts[1]
	case (b.origin == "datetime.datetime" || b.origin == "datetime.date" || b.origin == "datetime.timedelta") && len(parts) == 1:
		cls = strings.TrimPrefix(b.origin, "datetime.")
	case b.origin == "time" && len(parts) == 2:
		switch parts[1] {
		case "time":
			return &callExpr{line: x.line, fn: &rawExpr{text: "time.time"}}, true
		case "strftime", "sleep":
			return nil, false
		}
		return nil, false
	default:
		return nil, false
	}
	sc.args(x)
	var to string
	switch cls + "." + method {
	case "datetime.utcnow":
		to = "time.utcnow"
	case "datetime.now":
		to = "time.now"
	case "datetime.today", "date.today":
		if cls == "date" {
			return &callExpr{line: x.line, fn: &attrExpr{x: call(&rawExpr{text: "time.now"}), name: "date"}}, true
		}
		to = "time.now"
	case "datetime.strptime":
		to = "time.parse"
	case "datetime.fromisoformat", "date.fromisoformat":
		to = "time.parse"
	case "datetime.fromtimestamp", "datetime.utcfromtimestamp":
		to = "time.from_timestamp"
	case "datetime.", "date.":
		to = "time.datetime"
	case "timedelta.":
		to = "time.timedelta"
	default:
		sc.note(x.line, fn+"()", "the time module has no such function: see time.* in docs/starlark.md")
		return nil, false
	}
	if to == "time.now" && len(x.args) == 1 {
		if r, ok := x.args[0].x.(*rawExpr); ok && r.text == `"UTC"` {
			x.args = nil
			to = "time.utcnow"
		} else {
			sc.note(x.line, fn+"(tz)", "time.now takes the zone's name, as in time.now(\"Europe/Warsaw\")")
		}
	}
	x.fn = &rawExpr{line: x.line, text: to}
	return x, true
}

// isinstance(x, dict) → type(x) == "dict"; a tuple of types → in.
func (sc *scope) isinstance(x *callExpr) expr {
	v := sc.expr(x.args[0].x)
	var names []string
	var types []expr
	if t, ok := x.args[1].x.(*seqExpr); ok && t.kind == '(' {
		types = t.elems
	} else {
		types = []expr{x.args[1].x}
	}
	for _, t := range types {
		n := dotted(t)
		if i := strings.LastIndex(n, "."); i >= 0 {
			n = n[i+1:]
		}
		got, ok := pythonTypeNames[n]
		if !ok {
			sc.note(x.line, "isinstance(…, "+dotted(t)+")", "Starlark values have no classes: compare type(x) with a type name such as \"dict\"")
			got = []string{n}
		}
		names = append(names, got...)
	}
	typ := call(name("type"), v)
	if len(names) == 1 {
		return &parenExpr{line: x.line, x: &compareExpr{line: x.line, x: typ, ops: []string{"=="}, ys: []expr{str(names[0])}}}
	}
	var elems []expr
	for _, n := range names {
		elems = append(elems, str(n))
	}
	return &parenExpr{line: x.line, x: &compareExpr{line: x.line, x: typ, ops: []string{"in"}, ys: []expr{&seqExpr{kind: '(', paren: true, elems: elems}}}}
}

func (sc *scope) params(ps []param, line int) {
	for i := range ps {
		if ps[i].name == "load" {
			ps[i].name = "load_"
		}
		ps[i].def = sc.expr(ps[i].def)
		ps[i].annot = nil
		if ps[i].slash {
			sc.note(line, "positional-only parameters (/)", "Starlark has none: the / is dropped")
		}
	}
}
