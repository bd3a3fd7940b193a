package starlark

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/internal/registry"
)

// selfDocs documents each attribute of self, by path: the text editors
// show on hover. Stub reads the attributes from self itself, so one that
// is added without a line here is found by the package's tests.
var selfDocs = map[string]string{
	"self":                            "The service's invocation: its request, its response and the platform's API, as Zato spells them.",
	"self.cid":                        "The correlation ID of the request.",
	"self.name":                       "The service's name.",
	"self.request":                    "The request the service answers.",
	"self.request.payload":            "The parsed body: a dict or list for JSON, a dict for forms, a string otherwise (empty body: \"\").",
	"self.request.raw_request":        "The body as bytes (str(self.request.raw_request) for text).",
	"self.request.raw":                "The body as bytes, as raw_request.",
	"self.request.text":               "The body as text.",
	"self.request.input":              "The payload merged with path and query parameters: input.cust_id, input[\"cust_id\"], input.get(\"x\", default). With declared I/O, exactly the declared elements, converted.",
	"self.request.http":               "The HTTP details of the request.",
	"self.request.http.method":        "The HTTP verb.",
	"self.request.http.path":          "The request path.",
	"self.request.http.params":        "The path parameters.",
	"self.request.http.GET":           "The query string: a key given once maps to a string, several times to a list.",
	"self.request.http.POST":          "The form fields: a key given once maps to a string, several times to a list.",
	"self.request.http.headers":       "The request headers; keys are case-insensitive.",
	"self.request.http.user_agent":    "The User-Agent header.",
	"self.request.http.get_form_data": "get_form_data() returns the URL-encoded or multipart form; uploaded files are dicts with filename, content_type and data.",
	"self.response":                   "The response the service gives.",
	"self.response.payload":           "Dict, list, tuple: sent as JSON; string or bytes: sent verbatim. Before it is assigned it takes attributes: self.response.payload.cid = self.cid.",
	"self.response.status_code":       "The HTTP status (default 200).",
	"self.response.content_type":      "The content type of the response.",
	"self.response.content_encoding":  "The content encoding: \"gzip\" compresses for clients that accept it.",
	"self.response.headers":           "Response headers: self.response.headers[\"X-A\"] = \"1\".",
	"self.channel":                    "The channel that carried the call.",
	"self.channel.name":               "The channel's name.",
	"self.channel.type":               "The channel's type: rest, invoke, invoke-async, admin, scheduler, amqp, mqtt, …",
	"self.channel.data_format":        "The channel's data format.",
	"self.channel.message":            "The broker's message that carried the call (id, topic, delivery_count, headers), or None.",
	"self.channel.security":           "The authenticated identity.",
	"self.channel.security.name":      "The security definition that admitted the request.",
	"self.channel.security.type":      "The type of that definition.",
	"self.channel.security.username":  "The authenticated user name.",
	"self.channel.security.to_dict":   "to_dict() returns name, type and username as a dict.",
	"self.logger":                     "The service's logger: every line carries the cid and the service name.",
	"self.logger.debug":               "debug(msg, *args) logs with %-style arguments.",
	"self.logger.info":                "info(msg, *args) logs with %-style arguments.",
	"self.logger.warning":             "warning(msg, *args) logs with %-style arguments.",
	"self.logger.warn":                "warn(msg, *args): warning, as Zato's code spells it.",
	"self.logger.error":               "error(msg, *args) logs with %-style arguments.",
	"self.logger.exception":           "exception(msg, *args) logs at ERROR.",
	"self.invoke":                     "invoke(name, payload=None, verb=None, **kwargs) invokes another service synchronously, with the same cid, and returns its response payload.",
	"self.invoke_async":               "invoke_async(name, payload=None, **kwargs) starts a service in the background and returns its new cid.",
	"self.publish":                    "publish(topic, data, priority=5, expiration=None, correl_id=None, in_reply_to=None, ext_client_id=None) publishes to a pub/sub topic, or a service's name, and returns the message id (docs/pubsub.md).",
	"self.out":                        "Outgoing connections by kind: self.out.rest[\"Name\"].conn.",
	"self.outgoing":                   "Zato's name of self.out.",
	"self.out.plain_http":             "Zato's name of self.out.rest.",
	"self.security":                   "Security helpers of the security kinds.",
	"self.channel.client":             "The WebSocket client whose message invoked the service (id, name, user, remote_addr), or None (docs/websocket.md).",
	"self.wsx":                        "WebSocket channels (docs/websocket.md).",
	"self.kvdb":                       "The server's key-value store, embedded or on Redis (docs/kvdb.md).",
	"self.kvdb.conn":                  "self.kvdb.conn.set(key, value), .get(key) and Redis's other commands (docs/kvdb.md).",
	"self.cache":                      "Built-in caches: self.cache.default, self.cache.get_cache(\"builtin\", name) (docs/cache.md).",
	"self.wsx.channel":                "self.wsx.channel[\"Name\"]: a WebSocket channel, to broadcast to its clients or invoke one (docs/websocket.md).",
	"self.security.jwt":               "self.security.jwt.create(definition) issues a JWT session token for a jwt security definition (docs/security.md).",
}

// Stub returns a Python type stub (a __builtins__.pyi) of what services
// see: every predeclared name, with the modules' members, and the class
// Self with every attribute of self, documented, for editors' completion
// and hover help.
func (comp *Compiler) Stub() string {
	var b strings.Builder
	b.WriteString(`# Plexus Starlark services: the names every .star file sees, and self.
# Written by plexus init-vscode; do not edit (it is rewritten as Plexus
# changes). Annotate a handler to get completion on self:
#     def handle(self):  # type: (Self) -> None
from typing import Any, Callable

`)
	comp.selfStub(&b)
	names := predeclared.Keys()
	sort.Strings(names)
	for _, name := range names {
		if identifier.MatchString(name) {
			stubValue(&b, name, predeclared[name], "", 0)
		}
	}
	return b.String()
}

// identifier matches the names Python can declare; the interpreter's
// own hooks ($%) are left out.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// SelfPaths returns the path of every attribute of self that Stub
// documents, in order: self.cid, self.request.payload, ….
func (comp *Compiler) SelfPaths() []string {
	var out []string
	comp.walkSelf(func(path string, _ sl.Value, _ bool) { out = append(out, path) })
	return out
}

// walkSelf calls fn for self and each of its attributes, depth first;
// group says the attribute has attributes of its own.
func (comp *Compiler) walkSelf(fn func(path string, v sl.Value, group bool)) {
	self := comp.probe()
	var walk func(path string, v sl.Value, ns *namespace, depth int)
	walk = func(path string, v sl.Value, ns *namespace, depth int) {
		if ns != nil {
			fn(path, nil, ns.leaf == nil)
			if ns.leaf != nil {
				return
			}
			for _, name := range sortedKeys(ns.children) {
				walk(path+"."+name, nil, ns.children[name], depth+1)
			}
			return
		}
		obj, _ := v.(sl.HasAttrs)
		group := false
		switch v.(type) {
		case *selfValue, *object, *requestValue, *responseValue:
			group = depth < 4
		}
		fn(path, v, group)
		if !group {
			return
		}
		names := obj.AttrNames()
		sort.Strings(names)
		for _, name := range names {
			if path == "self" && name == "outgoing" {
				fn("self.outgoing", nil, false)
				continue
			}
			if path == "self" {
				if child, ok := comp.attrs.children[name]; ok {
					walk("self."+name, nil, child, depth+1)
					continue
				}
			}
			child, err := obj.Attr(name)
			if err != nil || child == nil {
				child = sl.None
			}
			walk(path+"."+name, child, nil, depth+1)
		}
	}
	walk("self", self, nil, 0)
}

// selfStub writes the classes of self and its attribute groups.
func (comp *Compiler) selfStub(b *strings.Builder) {
	type member struct {
		name, path string
		v          sl.Value
		group      bool
	}
	groups := map[string][]member{}
	var order []string
	comp.walkSelf(func(path string, v sl.Value, group bool) {
		if group {
			order = append(order, path)
		}
		if i := strings.LastIndexByte(path, '.'); i >= 0 {
			parent := path[:i]
			groups[parent] = append(groups[parent], member{name: path[i+1:], path: path, v: v, group: group})
		}
	})
	slices.Reverse(order) // the innermost classes first
	for _, path := range order {
		fmt.Fprintf(b, "class %s:\n", className(path))
		fmt.Fprintf(b, "    %s\n", docString(comp.SelfDoc(path), 4))
		for _, m := range groups[path] {
			doc := docString(comp.SelfDoc(m.path), 8)
			switch {
			case m.path == "self.outgoing":
				fmt.Fprintf(b, "    %s: %s\n    %s\n", m.name, className("self.out"), docString(comp.SelfDoc(m.path), 4))
			case m.group:
				fmt.Fprintf(b, "    %s: %s\n    %s\n", m.name, className(m.path), docString(comp.SelfDoc(m.path), 4))
			case isCallable(m.v):
				fmt.Fprintf(b, "    def %s(self, *args: Any, **kwargs: Any) -> Any:\n        %s\n", m.name, doc)
			case m.v == nil:
				fmt.Fprintf(b, "    %s: dict[str, Any]\n    %s\n", m.name, docString(comp.SelfDoc(m.path), 4))
			default:
				fmt.Fprintf(b, "    %s: %s\n    %s\n", m.name, pyType(m.v), docString(comp.SelfDoc(m.path), 4))
			}
		}
		b.WriteString("\n")
	}
}

// className is the stub's class of a group of self's attributes:
// self.request.http is Self_request_http, self is Self.
func className(path string) string {
	if path == "self" {
		return "Self"
	}
	return "Self_" + strings.ReplaceAll(strings.TrimPrefix(path, "self."), ".", "_")
}

func isCallable(v sl.Value) bool {
	_, ok := v.(sl.Callable)
	return ok
}

func pyType(v sl.Value) string {
	switch v.(type) {
	case sl.String:
		return "str"
	case sl.Int:
		return "int"
	case sl.Float:
		return "float"
	case sl.Bool:
		return "bool"
	case sl.Bytes:
		return "bytes"
	case *sl.List:
		return "list[Any]"
	case *sl.Dict:
		return "dict[str, Any]"
	}
	return "Any"
}

func docString(doc string, indent int) string {
	if doc == "" {
		return `""""""`
	}
	return `"""` + strings.ReplaceAll(strings.ReplaceAll(doc, `\`, `\\`), `"""`, `\"\"\"`) + `"""`
}

// libDocs document the predeclared names that are not self's.
var libDocs = map[string]string{
	"time":        "Dates and times with time zones, durations, parsing and formatting (docs/starlark.md#time).",
	"re":          "Regular expressions with RE2 semantics (docs/starlark.md#re).",
	"hashlib":     "Hashes: md5, sha1, sha256, sha512, sha3_* (docs/starlark.md#hashlib-hmac-base64).",
	"hmac":        "HMACs and compare_digest (docs/starlark.md#hashlib-hmac-base64).",
	"base64":      "Base64, Base32 and Base16 (docs/starlark.md#hashlib-hmac-base64).",
	"uuid":        "UUIDs: uuid4(), uuid7(), uuid3(), uuid5(), UUID(text) (docs/starlark.md#uuid-random-secrets).",
	"random":      "Random numbers from the operating system's secure generator (docs/starlark.md#uuid-random-secrets).",
	"secrets":     "Secure tokens (docs/starlark.md#uuid-random-secrets).",
	"decimal":     "Exact decimal numbers for money (docs/starlark.md#decimal).",
	"csv":         "Reading and writing CSV (docs/starlark.md#csv-and-io).",
	"io":          "io.StringIO, as csv uses it (docs/starlark.md#csv-and-io).",
	"xml":         "XML as element trees or dicts (docs/starlark.md#xml).",
	"http_status": "HTTP statuses by name: http_status.NOT_FOUND == 404.",
	"HTTPStatus":  "HTTP statuses by name: HTTPStatus.NOT_FOUND == 404.",
	"json":        "json.encode(x), json.decode(s), json.indent(s).",
	"math":        "Mathematical functions and constants.",
	"catch":       "catch(fn, *args, **kwargs) calls fn and returns a result with ok, value, error, status, traceback and reraise() instead of stopping the service (docs/starlark.md#handling-errors-catch).",
	"service":     "service(name=, doc=, handle=, handle_GET=, …, input_required=, …) declares one of several services of a module (docs/starlark.md#several-services-in-one-module).",
	"SCHEDULER":   "Zato's constants of scheduler jobs: SCHEDULER.JOB_TYPE.ONE_TIME, INTERVAL_BASED, CRON_STYLE.",
	"struct":      "struct(**kwargs) makes a value with those attributes.",
	"model":       "model(name, **fields) declares a typed I/O model (docs/typed-io.md).",
	"list_of":     "list_of(type) is a list of elements of a type, in a model (docs/typed-io.md).",
	"optional":    "optional(type, default=None) is an optional model field (docs/typed-io.md).",
}

// stubValue writes one predeclared name: a module as a class and an
// instance, a function as a def, anything else as a typed name.
func stubValue(b *strings.Builder, name string, v sl.Value, indent string, depth int) {
	stubMember(b, "", name, v, indent, depth)
}

// docLink finds the reference to the guide in a doc, as "(docs/…)".
var docLink = regexp.MustCompile(`\(docs/[^)]*\)`)

func stubMember(b *strings.Builder, parent, name string, v sl.Value, indent string, depth int) {
	doc := libDocs[name]
	if depth == 0 && doc == "" {
		doc = predeclaredDoc(name, v)
	}
	if depth > 0 {
		doc = parent + "." + name
		if link := docLink.FindString(libDocs[strings.SplitN(parent, ".", 2)[0]]); link != "" {
			doc += " " + link
		}
	}
	switch x := v.(type) {
	case *starlarkstruct.Module, *starlarkstruct.Struct:
		if depth > 2 {
			break
		}
		members := x.(sl.HasAttrs).AttrNames()
		sort.Strings(members)
		cls := "_" + name
		fmt.Fprintf(b, "%sclass %s:\n%s    %s\n", indent, cls, indent, docString(doc, 4))
		for _, m := range members {
			mv, _ := x.(sl.HasAttrs).Attr(m)
			path := name
			if parent != "" {
				path = parent + "." + name
			}
			stubMember(b, path, m, mv, indent+"    ", depth+1)
		}
		fmt.Fprintf(b, "%s%s: %s\n\n", indent, name, cls)
		return
	case sl.Callable:
		if depth > 0 {
			fmt.Fprintf(b, "%s@staticmethod\n", indent)
		}
		fmt.Fprintf(b, "%sdef %s(*args: Any, **kwargs: Any) -> Any:\n%s    %s\n", indent, name, indent, docString(doc, 4))
		if depth == 0 {
			b.WriteString("\n")
		}
		return
	}
	fmt.Fprintf(b, "%s%s: %s\n", indent, name, pyType(v))
	if doc != "" {
		fmt.Fprintf(b, "%s%s\n", indent, docString(doc, 0))
	}
	if depth == 0 {
		b.WriteString("\n")
	}
}

// predeclaredDoc documents the builtins that are not modules: the error
// helpers and the typed elements.
func predeclaredDoc(name string, v sl.Value) string {
	if b, ok := v.(*sl.Builtin); ok && errorBuiltinNames[b.Name()] {
		return name + "(msg) stops the service with that HTTP status and message."
	}
	if _, ok := elemBuiltins[name]; ok {
		return name + "(name, default=None) declares a typed element of SimpleIO (docs/typed-io.md)."
	}
	return ""
}

// errorBuiltinNames are the predeclared functions that stop the service
// with a typed error.
var errorBuiltinNames = map[string]bool{
	"bad_request": true, "unauthorized": true, "forbidden": true, "not_found": true,
	"conflict": true, "too_many_requests": true, "service_unavailable": true,
}

// SelfDoc returns the documentation of an attribute of self, by path;
// that of a section of self.out comes from its kind's declaration.
func (comp *Compiler) SelfDoc(path string) string {
	if doc := selfDocs[path]; doc != "" {
		return doc
	}
	if section, ok := strings.CutPrefix(path, "self.out."); ok {
		for _, k := range registry.All() {
			if k.Out != nil && k.Out.Section == section {
				return fmt.Sprintf("self.out.%s[\"Name\"]: the %s named Name. %s", section, k.Title, k.Summary)
			}
		}
	}
	return ""
}
