// Package reply makes and writes replies: a service's response payload
// as bytes, the error envelope every caller sees, {"result": "Error",
// "cid": …, "details": …}, and both written as HTTP responses.
package reply

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/plexushq/plexus/sdk/service"
)

// CIDHeader carries the correlation ID on every response and outgoing
// request.
const CIDHeader = "X-Plexus-CID"

// StatusClientClosed is the status the access log records for a request
// whose client disconnected before the response, as nginx does.
const StatusClientClosed = 499

// GenericError is the details of a 500 caused by an error that is not a
// *service.Error, outside development mode.
const GenericError = "Internal server error"

// JSON writes v as indented JSON with a status: the admin API's answers.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// Envelope writes the error envelope with a status.
func Envelope(w http.ResponseWriter, status int, cid, details string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Encoding")
	h.Del("Content-Length")
	w.WriteHeader(status)
	w.Write(EnvelopeBytes(cid, details))
}

// EnvelopeBytes returns the error envelope as JSON.
func EnvelopeBytes(cid, details string) []byte {
	b := make([]byte, 0, 64+len(details))
	b = append(b, `{"result":"Error","cid":`...)
	b = strconv.AppendQuote(b, cid)
	b = append(b, `,"details":`...)
	d, _ := json.Marshal(details)
	b = append(b, d...)
	return append(b, '}')
}

// Details returns the status and the envelope's details of an error: a
// *service.Error's status and message; for any other error 500 and a
// generic message, or the error's text in development mode.
func Details(err error, dev bool) (status int, details string) {
	var se *service.Error
	if errors.As(err, &se) {
		return se.Status, se.Message
	}
	if dev {
		return http.StatusInternalServerError, err.Error()
	}
	return http.StatusInternalServerError, GenericError
}

// LogError logs a failed invocation: client errors (4xx) at info level,
// server errors with their cause (and stack, for a panic) at error level.
func LogError(log *slog.Logger, err error) {
	status := service.StatusOf(err)
	if status < 500 {
		log.Info("service answered with an error", "status", status, "error", err.Error())
		return
	}
	var p *PanicError
	if errors.As(err, &p) {
		log.Error("service panicked", "panic", fmt.Sprint(p.Value), "stack", string(p.Stack))
		return
	}
	log.Error("service failed", "status", status, "error", err.Error())
}

// PanicError is a recovered panic.
type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// jsonBuffer is a reusable buffer with its encoder.
type jsonBuffer struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var jsonBuffers = sync.Pool{New: func() any {
	j := &jsonBuffer{}
	j.enc = json.NewEncoder(&j.buf)
	j.enc.SetEscapeHTML(false)
	return j
}}

// Encode returns the bytes and default content type of a response
// payload: nil is empty; a string or []byte is verbatim text;
// json.RawMessage is verbatim JSON; anything else is encoded as JSON,
// into a pooled buffer that lives until release (non-nil only then) is
// called.
func Encode(payload any) (body []byte, contentType string, release func(), err error) {
	switch p := payload.(type) {
	case nil:
		return nil, "", nil, nil
	case string:
		return []byte(p), "text/plain; charset=utf-8", nil, nil
	case []byte:
		return p, "text/plain; charset=utf-8", nil, nil
	case json.RawMessage:
		return p, "application/json", nil, nil
	}
	j := jsonBuffers.Get().(*jsonBuffer)
	j.buf.Reset()
	release = func() {
		if j.buf.Cap() <= 64<<10 { // keep large buffers out of the pool
			jsonBuffers.Put(j)
		}
	}
	if err := j.enc.Encode(payload); err != nil {
		release()
		return nil, "", nil, fmt.Errorf("encoding response payload as JSON: %w", err)
	}
	b := j.buf.Bytes()
	return b[:len(b)-1], "application/json", release, nil
}

// Write writes a reply: its status, its body with its content type
// (when the body is not empty) and Content-Length, and its content
// encoding: gzip compresses the body for a client whose Accept-Encoding
// takes it (acceptEncoding is the request's), any other is sent as the
// header with the body as it is. The headers the reply carries besides
// are in w's already. It returns the number of body bytes written.
func Write(w http.ResponseWriter, status int, body []byte, contentType, contentEncoding, acceptEncoding string) (int, error) {
	h := w.Header()
	if contentType != "" && len(body) > 0 {
		h.Set("Content-Type", contentType)
	}
	switch enc := strings.ToLower(contentEncoding); {
	case enc == "gzip" && acceptsGzip(acceptEncoding):
		body = gzipBytes(body)
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	case enc != "" && enc != "gzip":
		h.Set("Content-Encoding", contentEncoding)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	return w.Write(body)
}

// acceptsGzip reports whether a client takes gzip: its Accept-Encoding
// lists gzip or * without q=0. A client that sends no Accept-Encoding (curl
// without --compressed) gets the body uncompressed, so it stays readable.
func acceptsGzip(ae string) bool {
	for part := range strings.SplitSeq(ae, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

var gzipPool = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzipPool.Get().(*gzip.Writer)
	zw.Reset(&buf)
	zw.Write(b)
	zw.Close()
	gzipPool.Put(zw)
	return buf.Bytes()
}
