package stdlib

import (
	"fmt"

	sl "go.starlark.net/starlark"
)

// httpStatuses are Python's HTTPStatus members, with the names Python
// 3.13 added for RFC 9110's.
var httpStatuses = []struct {
	name   string
	code   int
	phrase string
}{
	{"CONTINUE", 100, "Continue"},
	{"SWITCHING_PROTOCOLS", 101, "Switching Protocols"},
	{"PROCESSING", 102, "Processing"},
	{"EARLY_HINTS", 103, "Early Hints"},
	{"OK", 200, "OK"},
	{"CREATED", 201, "Created"},
	{"ACCEPTED", 202, "Accepted"},
	{"NON_AUTHORITATIVE_INFORMATION", 203, "Non-Authoritative Information"},
	{"NO_CONTENT", 204, "No Content"},
	{"RESET_CONTENT", 205, "Reset Content"},
	{"PARTIAL_CONTENT", 206, "Partial Content"},
	{"MULTI_STATUS", 207, "Multi-Status"},
	{"ALREADY_REPORTED", 208, "Already Reported"},
	{"IM_USED", 226, "IM Used"},
	{"MULTIPLE_CHOICES", 300, "Multiple Choices"},
	{"MOVED_PERMANENTLY", 301, "Moved Permanently"},
	{"FOUND", 302, "Found"},
	{"SEE_OTHER", 303, "See Other"},
	{"NOT_MODIFIED", 304, "Not Modified"},
	{"USE_PROXY", 305, "Use Proxy"},
	{"TEMPORARY_REDIRECT", 307, "Temporary Redirect"},
	{"PERMANENT_REDIRECT", 308, "Permanent Redirect"},
	{"BAD_REQUEST", 400, "Bad Request"},
	{"UNAUTHORIZED", 401, "Unauthorized"},
	{"PAYMENT_REQUIRED", 402, "Payment Required"},
	{"FORBIDDEN", 403, "Forbidden"},
	{"NOT_FOUND", 404, "Not Found"},
	{"METHOD_NOT_ALLOWED", 405, "Method Not Allowed"},
	{"NOT_ACCEPTABLE", 406, "Not Acceptable"},
	{"PROXY_AUTHENTICATION_REQUIRED", 407, "Proxy Authentication Required"},
	{"REQUEST_TIMEOUT", 408, "Request Timeout"},
	{"CONFLICT", 409, "Conflict"},
	{"GONE", 410, "Gone"},
	{"LENGTH_REQUIRED", 411, "Length Required"},
	{"PRECONDITION_FAILED", 412, "Precondition Failed"},
	{"REQUEST_ENTITY_TOO_LARGE", 413, "Request Entity Too Large"},
	{"REQUEST_URI_TOO_LONG", 414, "Request-URI Too Long"},
	{"UNSUPPORTED_MEDIA_TYPE", 415, "Unsupported Media Type"},
	{"REQUESTED_RANGE_NOT_SATISFIABLE", 416, "Requested Range Not Satisfiable"},
	{"EXPECTATION_FAILED", 417, "Expectation Failed"},
	{"IM_A_TEAPOT", 418, "I'm a Teapot"},
	{"MISDIRECTED_REQUEST", 421, "Misdirected Request"},
	{"UNPROCESSABLE_ENTITY", 422, "Unprocessable Entity"},
	{"LOCKED", 423, "Locked"},
	{"FAILED_DEPENDENCY", 424, "Failed Dependency"},
	{"TOO_EARLY", 425, "Too Early"},
	{"UPGRADE_REQUIRED", 426, "Upgrade Required"},
	{"PRECONDITION_REQUIRED", 428, "Precondition Required"},
	{"TOO_MANY_REQUESTS", 429, "Too Many Requests"},
	{"REQUEST_HEADER_FIELDS_TOO_LARGE", 431, "Request Header Fields Too Large"},
	{"UNAVAILABLE_FOR_LEGAL_REASONS", 451, "Unavailable For Legal Reasons"},
	{"INTERNAL_SERVER_ERROR", 500, "Internal Server Error"},
	{"NOT_IMPLEMENTED", 501, "Not Implemented"},
	{"BAD_GATEWAY", 502, "Bad Gateway"},
	{"SERVICE_UNAVAILABLE", 503, "Service Unavailable"},
	{"GATEWAY_TIMEOUT", 504, "Gateway Timeout"},
	{"HTTP_VERSION_NOT_SUPPORTED", 505, "HTTP Version Not Supported"},
	{"VARIANT_ALSO_NEGOTIATES", 506, "Variant Also Negotiates"},
	{"INSUFFICIENT_STORAGE", 507, "Insufficient Storage"},
	{"LOOP_DETECTED", 508, "Loop Detected"},
	{"NOT_EXTENDED", 510, "Not Extended"},
	{"NETWORK_AUTHENTICATION_REQUIRED", 511, "Network Authentication Required"},
	{"CONTENT_TOO_LARGE", 413, "Content Too Large"},
	{"URI_TOO_LONG", 414, "URI Too Long"},
	{"RANGE_NOT_SATISFIABLE", 416, "Range Not Satisfiable"},
	{"UNPROCESSABLE_CONTENT", 422, "Unprocessable Content"},
}

// httpStatusModule is http_status (also named HTTPStatus): the statuses as
// ints, so that HTTPStatus.OK == 200 and self.response.status_code =
// HTTPStatus.NOT_FOUND work as in Python, and phrase(code) for the text.
func httpStatusModule() sl.Value {
	m := sl.StringDict{}
	phrases := map[int]string{}
	for _, s := range httpStatuses {
		m[s.name] = sl.MakeInt(s.code)
		if _, ok := phrases[s.code]; !ok {
			phrases[s.code] = s.phrase
		}
	}
	m["phrase"] = sl.NewBuiltin("http_status.phrase", func(_ *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var code int
		if err := sl.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &code); err != nil {
			return nil, err
		}
		p, ok := phrases[code]
		if !ok {
			return nil, fmt.Errorf("%s: %d is not an HTTP status", b.Name(), code)
		}
		return sl.String(p), nil
	})
	return module("http_status", m)
}
