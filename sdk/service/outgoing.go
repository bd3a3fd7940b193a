package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// KindOutgoingREST is the kind of outgoing REST connections, as
// Platform.Resource knows them.
const KindOutgoingREST = "outgoing_rest"

// Out gives a service its outgoing connections, by name. Connections are
// configured once (admin API, enmasse, CLI) and reused by every
// service; code names them and never holds their addresses or credentials.
type Out struct {
	c *Context
}

// Out returns the service's outgoing connections: s.Out().REST("Billing")
// is Zato's self.out.rest['Billing'].conn.
func (c *Context) Out() Out { return Out{c: c} }

// REST returns the outgoing REST connection with a name. The name is
// looked up on each call, in the configuration current at that moment, so
// a connection changed by an administrator is used from the next call on;
// a missing or inactive connection is the error of that call.
func (o Out) REST(name string) *RESTConn { return &RESTConn{c: o.c, name: name} }

// RESTConn is an outgoing REST connection as a service calls it. Each
// method sends one request (retried as the connection says) and returns the
// response, whatever its status: check StatusCode or OK. An error means no
// usable response: a timeout (*Error 504), a connection failure (*Error
// 502), a missing path parameter (*Error 400), or the connection is
// missing or inactive. Returned from the service unhandled, it answers the
// original caller with its status.
//
// params fills the {placeholders} of the connection's url_path, each value
// percent-encoded to stay within its path segment; the other params make
// the query string, lists as repeated keys. params is only read. data is
// sent as the connection's data format says: a map, slice or struct as
// JSON (or a URL-encoded form), a string or []byte as it is.
type RESTConn struct {
	c    *Context
	name string
}

// Name returns the connection's name.
func (r *RESTConn) Name() string { return r.name }

// Get sends GET with params.
func (r *RESTConn) Get(cid string, params map[string]any, opts ...CallOption) (*RESTResponse, error) {
	return r.Call(http.MethodGet, cid, nil, params, opts...)
}

// Head sends HEAD with params.
func (r *RESTConn) Head(cid string, params map[string]any, opts ...CallOption) (*RESTResponse, error) {
	return r.Call(http.MethodHead, cid, nil, params, opts...)
}

// Options sends OPTIONS with params.
func (r *RESTConn) Options(cid string, params map[string]any, opts ...CallOption) (*RESTResponse, error) {
	return r.Call(http.MethodOptions, cid, nil, params, opts...)
}

// Delete sends DELETE with params. For a DELETE with a body, use Call.
func (r *RESTConn) Delete(cid string, params map[string]any, opts ...CallOption) (*RESTResponse, error) {
	return r.Call(http.MethodDelete, cid, nil, params, opts...)
}

// Post sends POST with data and params.
func (r *RESTConn) Post(cid string, data any, params map[string]any, opts ...CallOption) (*RESTResponse, error) {
	return r.Call(http.MethodPost, cid, data, params, opts...)
}

// Send is Post, as in Zato.
func (r *RESTConn) Send(cid string, data any, params map[string]any, opts ...CallOption) (*RESTResponse, error) {
	return r.Call(http.MethodPost, cid, data, params, opts...)
}

// Put sends PUT with data and params.
func (r *RESTConn) Put(cid string, data any, params map[string]any, opts ...CallOption) (*RESTResponse, error) {
	return r.Call(http.MethodPut, cid, data, params, opts...)
}

// Patch sends PATCH with data and params.
func (r *RESTConn) Patch(cid string, data any, params map[string]any, opts ...CallOption) (*RESTResponse, error) {
	return r.Call(http.MethodPatch, cid, data, params, opts...)
}

// Call sends a request with any verb; data nil sends no body. An empty cid
// sends the service's own.
func (r *RESTConn) Call(method, cid string, data any, params map[string]any, opts ...CallOption) (*RESTResponse, error) {
	req := &RESTRequest{Method: method, CID: cid, Params: params, Data: data}
	for _, o := range opts {
		o(req)
	}
	if req.CID == "" {
		req.CID = r.c.CID
	}
	caller, err := r.caller()
	if err != nil {
		return nil, err
	}
	return caller.CallREST(r.ctx(), req)
}

// Ping sends the connection's ping request (ping_method on ping_path) and
// returns the response; Elapsed says how long it took.
func (r *RESTConn) Ping(cid string) (*RESTResponse, error) {
	if cid == "" {
		cid = r.c.CID
	}
	caller, err := r.caller()
	if err != nil {
		return nil, err
	}
	return caller.PingREST(r.ctx(), cid)
}

func (r *RESTConn) caller() (RESTCaller, error) {
	v, err := r.c.platform.Resource(r.c, KindOutgoingREST, r.name)
	if err != nil {
		return nil, err
	}
	caller, ok := v.(RESTCaller)
	if !ok {
		return nil, fmt.Errorf("outgoing REST connection %q: the platform returned a %T", r.name, v)
	}
	return caller, nil
}

func (r *RESTConn) ctx() context.Context {
	if r.c.Context == nil {
		return context.Background()
	}
	return r.c
}

// CallOption adds to one call.
type CallOption func(*RESTRequest)

// Headers adds request headers to a call. They replace the connection's
// own (Content-Type, X-Plexus-CID) but never its credentials.
func Headers(h map[string]string) CallOption {
	return func(r *RESTRequest) {
		if r.Headers == nil {
			r.Headers = make(map[string]string, len(h))
		}
		for k, v := range h {
			r.Headers[k] = v
		}
	}
}

// RESTRequest is one call through an outgoing REST connection, as the
// platform receives it.
type RESTRequest struct {
	// Method is the HTTP verb.
	Method string
	// CID is sent in the X-Plexus-CID header.
	CID string
	// Params fill the url_path's placeholders; the rest is the query string.
	Params map[string]any
	// Data is the body; nil sends none.
	Data any
	// Headers are added to the request.
	Headers map[string]string
}

// RESTCaller is what the platform returns for an outgoing REST connection.
// Services use RESTConn; tests of services may implement it in their own
// Platform.
type RESTCaller interface {
	CallREST(ctx context.Context, req *RESTRequest) (*RESTResponse, error)
	PingREST(ctx context.Context, cid string) (*RESTResponse, error)
}

// RESTResponse is the answer of an outgoing REST call. A status of 400 or
// more is a response like any other, not an error.
type RESTResponse struct {
	// Connection is the name of the connection that was called.
	Connection string
	// StatusCode is the HTTP status.
	StatusCode int
	// Header holds the response headers.
	Header http.Header
	// Body is the response body.
	Body []byte
	// Elapsed is how long the call took, retries included.
	Elapsed time.Duration
	// JSON says whether Data parses the body as JSON: the connection's data
	// format is json, or the response's Content-Type says JSON.
	JSON bool

	data    any
	dataErr error
	parsed  bool
}

// OK reports whether the status is below 400, as Python's requests does.
func (r *RESTResponse) OK() bool { return r.StatusCode < 400 }

// Text returns the body as a string.
func (r *RESTResponse) Text() string { return string(r.Body) }

// Data returns the body parsed: when JSON is set, the JSON value (objects
// as map[string]any, numbers as json.Number; an empty body is ""), else
// the body as a string. A body that is not valid JSON is an *Error 502
// naming the connection.
func (r *RESTResponse) Data() (any, error) {
	if r.parsed {
		return r.data, r.dataErr
	}
	r.parsed = true
	switch {
	case !r.JSON:
		r.data = string(r.Body)
	case len(bytes.TrimSpace(r.Body)) == 0:
		r.data = ""
	default:
		v, err := decodeJSON(r.Body)
		if err != nil {
			r.dataErr = r.ParseError(err)
		}
		r.data = v
	}
	return r.data, r.dataErr
}

// Decode parses a JSON body into v, such as a pointer to a struct.
func (r *RESTResponse) Decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return r.ParseError(err)
	}
	return nil
}

// ParseError is the error of a body that could not be parsed as JSON: a
// 502 naming the connection, with err as its cause.
func (r *RESTResponse) ParseError(err error) *Error {
	return &Error{Status: http.StatusBadGateway, Message: fmt.Sprintf("Could not parse the JSON response of outgoing REST connection %q", r.Connection), Cause: err}
}

// IsJSON reports whether a Content-Type names JSON: application/json or a
// +json type such as application/problem+json.
func IsJSON(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "application/json") || len(mt) > len("+json") && strings.EqualFold(mt[len(mt)-len("+json"):], "+json")
}

// decodeJSON parses one JSON value, numbers as json.Number, and refuses
// trailing data.
func decodeJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}
