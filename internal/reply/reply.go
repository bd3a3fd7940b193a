// Package reply writes HTTP responses: a service's response, and the error
// envelope every caller sees, {"result": "Error", "cid": …, "details": …}.
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

// Error writes the envelope for an error returned by a service or the
// platform: a *service.Error with its status, message and headers; any
// other error as 500 with a generic message, or with the error's text in
// development mode. It returns the status written.
func Error(w http.ResponseWriter, cid string, err error, dev bool) int {
	var se *service.Error
	if errors.As(err, &se) {
		for k, vs := range se.Header {
			w.Header()[k] = vs
		}
		Envelope(w, se.Status, cid, se.Message)
		return se.Status
	}
	details := GenericError
	if dev {
		details = err.Error()
	}
	Envelope(w, http.StatusInternalServerError, cid, details)
	return http.StatusInternalServerError
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

// Body returns the bytes and default content type of a response payload:
// nil is empty; a string or []byte is verbatim text; json.RawMessage is
// verbatim JSON; anything else is encoded as JSON.
func Body(payload any) (body []byte, contentType string, err error) {
	body, contentType, release, err := encode(payload)
	if release != nil {
		body = bytes.Clone(body)
		release()
	}
	return body, contentType, err
}

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

// encode is Body without the copy: a JSON body lives in a pooled buffer
// until release (non-nil only then) is called.
func encode(payload any) (body []byte, contentType string, release func(), err error) {
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

// Response writes a service's response. defaultType is the channel's
// content type, used when the service sets none. acceptEncoding is the
// request's Accept-Encoding, which decides whether a gzip response is
// compressed. It returns the status and the number of body bytes written.
func Response(w http.ResponseWriter, resp *service.Response, defaultType, acceptEncoding string) (status, n int, err error) {
	body, ctype, release, err := encode(resp.Payload)
	if err != nil {
		return 0, 0, err
	}
	if release != nil {
		defer release()
	}
	h := w.Header()
	for k, vs := range resp.Headers {
		h[k] = vs
	}
	switch {
	case resp.ContentType != "":
		ctype = resp.ContentType
	case defaultType != "":
		ctype = defaultType
	}
	if ctype != "" && len(body) > 0 {
		h.Set("Content-Type", ctype)
	}
	switch enc := strings.ToLower(resp.ContentEncoding); {
	case enc == "gzip" && acceptsGzip(acceptEncoding):
		body = gzipBytes(body)
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
	case enc != "" && enc != "gzip":
		h.Set("Content-Encoding", resp.ContentEncoding)
	}
	status = resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	n, err = w.Write(body)
	return status, n, err
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
