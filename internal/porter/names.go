package porter

import "strings"

// What an imported name becomes in Starlark.
const (
	// bindDrop: nothing (zato.server.service's Service, typing's names,
	// dataclasses): used only where the porter reads them.
	bindDrop = iota
	// bindExpr: a Starlark expression (json.dumps → json.encode).
	bindExpr
	// bindStub: no equivalent; a stub that fails when called is written.
	bindStub
	// bindSpecial: handled where it is used (format_exc, datetime, …).
	bindSpecial
)

// binding is what a name imported by the module refers to.
type binding struct {
	kind   int
	to     string // for bindExpr: the Starlark expression
	origin string // the Python name, module.name
	line   int
}

// stdModules are the Python modules that are Starlark modules of the same
// or another name.
var stdModules = map[string]string{
	"json": "json", "re": "re", "math": "math", "hashlib": "hashlib", "hmac": "hmac", "base64": "base64",
	"uuid": "uuid", "random": "random", "secrets": "secrets", "decimal": "decimal", "csv": "csv",
	"xml.etree.ElementTree": "xml", "xml.etree.cElementTree": "xml", "lxml.etree": "xml",
	"zato.common.json_internal": "json", "simplejson": "json", "ujson": "json", "orjson": "json", "io": "io",
}

// stdNames map the names imported from Python modules to Starlark.
var stdNames = map[string]string{
	"json.dumps": "json.encode", "json.loads": "json.decode",
	"zato.common.json_internal.dumps": "json.encode", "zato.common.json_internal.loads": "json.decode",
	"uuid.uuid4": "uuid.uuid4", "uuid.uuid1": "uuid.uuid7", "uuid.uuid3": "uuid.uuid3", "uuid.uuid5": "uuid.uuid5", "uuid.uuid7": "uuid.uuid7",
	"uuid.UUID": "uuid.UUID", "uuid.NAMESPACE_DNS": "uuid.NAMESPACE_DNS", "uuid.NAMESPACE_URL": "uuid.NAMESPACE_URL",
	"decimal.Decimal":     "decimal.Decimal",
	"hmac.compare_digest": "hmac.compare_digest", "hmac.new": "hmac.new", "secrets.compare_digest": "hmac.compare_digest",
	"http.HTTPStatus": "HTTPStatus", "http.client.responses": "", "time.time": "time.time",
	"zato.common.util.fs_safe_now": "time.fs_safe_now", "zato.common.util.api.fs_safe_now": "time.fs_safe_now",
	"zato.common.util.file_system.fs_safe_now": "time.fs_safe_now",
	"datetime.timedelta":                       "time.timedelta", "datetime.timezone.utc": `"UTC"`,
	"xml.etree.ElementTree.fromstring": "xml.fromstring", "xml.etree.ElementTree.tostring": "xml.tostring",
	"xml.etree.ElementTree.Element": "xml.Element", "xml.etree.ElementTree.SubElement": "xml.SubElement",
	"xmltodict.parse": "xml.to_dict", "xmltodict.unparse": "_xml_unparse",
	"math.pi": "math.pi", "math.floor": "math.floor", "math.ceil": "math.ceil", "math.sqrt": "math.sqrt",
	"csv.reader": "csv.reader", "csv.writer": "csv.writer", "csv.DictReader": "csv.DictReader", "csv.DictWriter": "csv.DictWriter",
}

// stdPrefixes map names imported from a module to the same name in a
// Starlark module (from hashlib import sha256 → hashlib.sha256).
var stdPrefixes = map[string]string{
	"hashlib": "hashlib", "base64": "base64", "random": "random", "secrets": "secrets", "re": "re", "math": "math",
	"decimal": "decimal", "csv": "csv", "hmac": "hmac", "uuid": "uuid", "io": "io",
}

// zatoElements are SimpleIO's typed elements, as Plexus names them.
var zatoElements = map[string]string{
	"Integer": "Integer", "Int": "Int", "Float": "Float", "Bool": "Bool", "Boolean": "Boolean", "Text": "Text",
	"Unicode": "Unicode", "Date": "Date", "DateTime": "DateTime", "UTC": "DateTime", "Decimal": "Decimal",
	"UUID": "UUID", "List": "List", "ListOfDicts": "List", "DictList": "List", "CSV": "List", "Dict": "Dict",
	"AsIs": "AsIs", "Opaque": "Opaque", "Secret": "Secret", "SecretStr": "Secret",
}

// zatoErrors are the exceptions of zato.common.exception (also in
// zato.server.service) and the builtin that raises each.
var zatoErrors = map[string]struct {
	builtin string
	status  int
}{
	"BadRequest": {"bad_request", 400}, "Unauthorized": {"unauthorized", 401}, "Forbidden": {"forbidden", 403},
	"NotFound": {"not_found", 404}, "Conflict": {"conflict", 409}, "TooManyRequests": {"too_many_requests", 429},
	"ServiceUnavailable": {"service_unavailable", 503},
	"MethodNotAllowed":   {"", 405}, "InternalServerError": {"", 500}, "Reportable": {"", 500},
}

// droppedModules are modules whose names the porter drops: typing,
// dataclasses, Zato's service module, __future__, logging helpers.
func droppedModule(mod string) bool {
	for _, p := range []string{"__future__", "typing", "dataclasses", "zato.server.service", "zato.common.typing_", "zato.common.exception",
		"zato.common.api", "zato.common", "zato.common.util", "zato.common.util.api", "zato.common.ext.dataclasses", "contextlib",
		"traceback", "http", "http.client", "httplib", "datetime", "logging", "bunch", "six", "builtins", "past.builtins", "future.builtins"} {
		if mod == p {
			return true
		}
	}
	return false
}

// bind records what one imported name refers to.
func (c *converter) bind(local, module, name string, line int) {
	full := module
	if name != "" {
		full = module + "." + name
	}
	b := &binding{origin: full, line: line}
	switch {
	case name == "" && stdModules[module] != "":
		b.kind, b.to = bindExpr, stdModules[module]
	case name == "" && (module == "time" || module == "datetime" || module == "http" || module == "http.client" || module == "httplib" || module == "traceback"):
		b.kind = bindSpecial
	case name != "" && stdNames[full] != "":
		b.kind, b.to = bindExpr, stdNames[full]
	case name != "" && stdPrefixes[module] != "":
		b.kind, b.to = bindExpr, stdPrefixes[module]+"."+name
	case name != "" && (module == "http.client" || module == "httplib") && strings.ToUpper(name) == name:
		b.kind, b.to = bindExpr, "http_status."+name
	case name != "" && (module == "datetime" || module == "traceback" || module == "time" || strings.HasPrefix(module, "zato.common") && name == "SCHEDULER"):
		b.kind = bindSpecial
	case name != "" && (strings.HasPrefix(module, "zato.server.service") || strings.HasPrefix(module, "zato.common.exception")) && zatoElements[name] != "":
		b.kind, b.to = bindExpr, zatoElements[name]
	case droppedModule(module) || strings.HasPrefix(module, "zato.") || strings.HasPrefix(module, "typing"):
		b.kind = bindDrop
	default:
		b.kind = bindStub
	}
	c.bindings[local] = b
}
