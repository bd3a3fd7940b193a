package starlark

import (
	"net/http"

	sl "go.starlark.net/starlark"
)

// NewHeaders returns HTTP headers as a read-only Starlark mapping whose
// keys are case-insensitive, as self.request.http.headers is. Subsystems
// use it for the headers of what they return to scripts.
func NewHeaders(h http.Header) sl.Value { return &headerValue{h: h} }
