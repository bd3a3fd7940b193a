package service

import "net/http"

// Response is what a service returns to its caller.
type Response struct {
	// Payload is the response body. A map, slice or struct is sent as JSON
	// (Content-Type: application/json unless ContentType says otherwise); a
	// string or []byte is sent verbatim with ContentType; nil sends an empty
	// body.
	Payload any

	// StatusCode is the HTTP status; 0 means 200.
	StatusCode int

	// ContentType is the Content-Type header. Empty means application/json
	// for JSON payloads and text/plain; charset=utf-8 for strings and bytes.
	ContentType string

	// ContentEncoding set to "gzip" compresses the body and sets the
	// Content-Encoding header; other values are sent as the header as is.
	ContentEncoding string

	// Headers are added to the HTTP response, also when the service returns
	// an error.
	Headers http.Header
}

// SetHeader sets one response header, creating the map when needed.
func (r *Response) SetHeader(name, value string) {
	if r.Headers == nil {
		r.Headers = http.Header{}
	}
	r.Headers.Set(name, value)
}
