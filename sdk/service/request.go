package service

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// Request is what the caller sent to a service.
type Request struct {
	// Payload is the parsed body: a map[string]any or []any for JSON
	// channels, a map[string]any of form fields for form channels (a field
	// given once is a string, repeated a []any of strings), and the body as a
	// string otherwise, or when a JSON channel received something that is not
	// an object or array. An empty body is "".
	Payload any

	// RawRequest is the body exactly as received.
	RawRequest []byte

	// Input is the payload merged with the channel's path and query
	// parameters (see Input for the precedence rules). It is never nil.
	Input Input

	// HTTP holds the HTTP details; it is zero for non-HTTP channels.
	HTTP HTTP
}

// Input is the request's input: the payload's keys when it is a JSON object
// or form, merged with path and query parameters. Parameters from the URL win
// over body keys of the same name, and query parameters win over path
// parameters unless the channel says url_params_pri: path-over-qs. A channel
// with merge_url_params_req: false leaves URL parameters out.
type Input map[string]any

// String returns the named element as a string: strings as they are, other
// values formatted with fmt, a missing element as "".
func (in Input) String(name string) string {
	switch v := in[name].(type) {
	case nil:
		return ""
	case string:
		return v
	case SecretString:
		return string(v)
	default:
		return fmt.Sprint(v)
	}
}

// Has reports whether the named element is present.
func (in Input) Has(name string) bool {
	_, ok := in[name]
	return ok
}

// HTTP holds the HTTP details of a request.
type HTTP struct {
	// Method is the HTTP verb, e.g. "GET".
	Method string
	// Path is the request path, percent-decoded.
	Path string
	// Params holds the path parameters matched by the channel's url_path.
	Params map[string]string
	// GET holds the query string; a key may have several values. It is
	// nil when the request has no query string (reading a nil url.Values
	// is fine).
	GET url.Values
	// POST holds the form fields of a form request (URL-encoded or
	// multipart text fields); it is nil for other requests.
	POST url.Values
	// Headers holds the request headers.
	Headers http.Header

	body []byte
}

// Form is a parsed form: its text fields and its uploaded files.
type Form struct {
	Values url.Values
	Files  map[string][]*File
}

// File is one uploaded file of a multipart form.
type File struct {
	Field       string
	Filename    string
	ContentType string
	Data        []byte
}

// ErrNotForm is returned by GetFormData when the request carries no form.
var ErrNotForm = errors.New("request is not a form: Content-Type is neither application/x-www-form-urlencoded nor multipart/form-data")

// SetBody records the raw body GetFormData parses. The platform calls it.
func (h *HTTP) SetBody(body []byte) { h.body = body }

// GetFormData parses the request body as a URL-encoded or multipart form.
func (h *HTTP) GetFormData() (*Form, error) {
	return ParseForm(h.Headers.Get("Content-Type"), h.body)
}

// ParseForm parses a body of a content type as a URL-encoded or
// multipart form; any other content type is ErrNotForm.
func ParseForm(contentType string, body []byte) (*Form, error) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, ErrNotForm
	}
	switch mediaType {
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("parsing form: %w", err)
		}
		return &Form{Values: vals, Files: map[string][]*File{}}, nil
	case "multipart/form-data":
		return parseMultipart(body, params["boundary"])
	}
	return nil, ErrNotForm
}

func parseMultipart(body []byte, boundary string) (*Form, error) {
	if boundary == "" {
		return nil, errors.New("parsing form: multipart/form-data without a boundary")
	}
	form := &Form{Values: url.Values{}, Files: map[string][]*File{}}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := r.NextPart()
		if err == io.EOF {
			return form, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parsing form: %w", err)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, fmt.Errorf("parsing form: %w", err)
		}
		name := part.FormName()
		if part.FileName() == "" {
			form.Values.Add(name, string(data))
			continue
		}
		form.Files[name] = append(form.Files[name], &File{
			Field:       name,
			Filename:    part.FileName(),
			ContentType: part.Header.Get("Content-Type"),
			Data:        data,
		})
	}
}

// IsForm reports whether a Content-Type names a form.
func IsForm(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(strings.ToLower(mt))
	return mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data"
}
