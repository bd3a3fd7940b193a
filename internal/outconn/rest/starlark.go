package rest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/jsonlimit"
	"github.com/plexushq/plexus/internal/starlark"
	"github.com/plexushq/plexus/internal/starlark/memlimit"
	"github.com/plexushq/plexus/sdk/service"
)

// ProvideStarlark adds self.out.rest to every Starlark service:
// self.out.rest["Billing"].conn.post(self.cid, data, params, headers={…})
// calls the connection through the same code as a Go service's
// s.Out().REST("Billing").Post(…).
func ProvideStarlark(comp *starlark.Compiler) {
	comp.Provide("out.rest", func(c *service.Context) (sl.Value, error) {
		return &restConns{c: c, seen: map[string]*outconnValue{}}, nil
	})
}

// restConns is self.out.rest: a mapping from connection names to
// connections. Indexing a missing or inactive connection is an error that
// names it; `"Billing" in self.out.rest` tells whether one can be used.
type restConns struct {
	c    *service.Context
	seen map[string]*outconnValue
}

var (
	_ sl.Mapping  = (*restConns)(nil)
	_ sl.HasAttrs = (*outconnValue)(nil)
	_ sl.HasAttrs = (*connValue)(nil)
	_ sl.HasAttrs = (*responseValue)(nil)
)

func (r *restConns) String() string        { return "<out.rest>" }
func (r *restConns) Type() string          { return "out.rest" }
func (r *restConns) Freeze()               {}
func (r *restConns) Truth() sl.Bool        { return sl.True }
func (r *restConns) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: out.rest") }

func (r *restConns) Get(k sl.Value) (sl.Value, bool, error) {
	name, ok := k.(sl.String)
	if !ok {
		return nil, false, fmt.Errorf("out.rest: connection names are strings, not %s", k.Type())
	}
	if v, ok := r.seen[string(name)]; ok {
		return v, true, nil
	}
	if _, err := r.c.Platform().Resource(r.c, service.KindOutgoingREST, string(name)); err != nil {
		return nil, false, err
	}
	v := &outconnValue{name: string(name), conn: &connValue{rc: r.c.Out().REST(string(name))}}
	r.seen[string(name)] = v
	return v, true, nil
}

// outconnValue is self.out.rest["Name"]; its conn does the calls.
type outconnValue struct {
	name string
	conn *connValue
}

func (o *outconnValue) String() string        { return fmt.Sprintf("<outgoing REST connection %q>", o.name) }
func (o *outconnValue) Type() string          { return "outgoing_rest" }
func (o *outconnValue) Freeze()               {}
func (o *outconnValue) Truth() sl.Bool        { return sl.True }
func (o *outconnValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: outgoing_rest") }
func (o *outconnValue) AttrNames() []string   { return []string{"conn", "name"} }

func (o *outconnValue) Attr(name string) (sl.Value, error) {
	switch name {
	case "conn":
		return o.conn, nil
	case "name":
		return sl.String(o.name), nil
	}
	return nil, nil
}

// connValue is self.out.rest["Name"].conn, whose methods are the verbs.
type connValue struct {
	rc *service.RESTConn
}

func (cv *connValue) String() string        { return fmt.Sprintf("<conn %q>", cv.rc.Name()) }
func (cv *connValue) Type() string          { return "conn" }
func (cv *connValue) Freeze()               {}
func (cv *connValue) Truth() sl.Bool        { return sl.True }
func (cv *connValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: conn") }

// connMethods maps each method to its verb and whether its second
// positional argument is the data (else the params).
var connMethods = map[string]struct {
	verb     string
	withData bool
}{
	"get":     {http.MethodGet, false},
	"head":    {http.MethodHead, false},
	"options": {http.MethodOptions, false},
	"delete":  {http.MethodDelete, false},
	"post":    {http.MethodPost, true},
	"send":    {http.MethodPost, true},
	"put":     {http.MethodPut, true},
	"patch":   {http.MethodPatch, true},
}

func (cv *connValue) AttrNames() []string {
	names := []string{"ping"}
	for n := range connMethods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (cv *connValue) Attr(name string) (sl.Value, error) {
	if name == "ping" {
		return sl.NewBuiltin("ping", cv.ping), nil
	}
	m, ok := connMethods[name]
	if !ok {
		return nil, nil
	}
	return sl.NewBuiltin(name, func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		return cv.call(memlimit.Of(thread), b.Name(), m.verb, m.withData, args, kwargs)
	}), nil
}

// call runs one verb: get(cid, params=None, headers=None, data=None) for
// the verbs without a body in Zato's seeds, post(cid, data=None,
// params=None, headers=None) for the others. What it converts is charged
// to the invocation's allowance.
func (cv *connValue) call(a *memlimit.Allowance, fn, verb string, withData bool, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var cid, data, params, headers sl.Value = sl.None, sl.None, sl.None, sl.None
	var err error
	if withData {
		err = sl.UnpackArgs(fn, args, kwargs, "cid", &cid, "data?", &data, "params?", &params, "headers?", &headers)
	} else {
		err = sl.UnpackArgs(fn, args, kwargs, "cid", &cid, "params?", &params, "headers?", &headers, "data?", &data)
	}
	if err != nil {
		return nil, err
	}
	id, err := cidArg(cid)
	if err != nil {
		return nil, err
	}
	p, err := paramsArg(a, params)
	if err != nil {
		return nil, err
	}
	h, err := headersArg(headers)
	if err != nil {
		return nil, err
	}
	d, err := starlark.FromStarlark(a, data)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	resp, err := cv.rc.Call(verb, id, d, p, service.Headers(h))
	if err != nil {
		return nil, err
	}
	return &responseValue{r: resp, mem: a}, nil
}

// ping runs ping(cid=None).
func (cv *connValue) ping(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var cid sl.Value = sl.None
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "cid?", &cid); err != nil {
		return nil, err
	}
	id, err := cidArg(cid)
	if err != nil {
		return nil, err
	}
	resp, err := cv.rc.Ping(id)
	if err != nil {
		return nil, err
	}
	return &responseValue{r: resp, mem: memlimit.Of(thread)}, nil
}

func cidArg(v sl.Value) (string, error) {
	switch x := v.(type) {
	case sl.NoneType:
		return "", nil
	case sl.String:
		return string(x), nil
	}
	return "", fmt.Errorf("cid must be a string such as self.cid, not %s", v.Type())
}

func paramsArg(a *memlimit.Allowance, v sl.Value) (map[string]any, error) {
	if v == sl.None {
		return nil, nil
	}
	if _, ok := v.(sl.IterableMapping); !ok {
		return nil, fmt.Errorf("params must be a dict, not %s", v.Type())
	}
	g, err := starlark.FromStarlark(a, v)
	if err != nil {
		return nil, fmt.Errorf("params: %w", err)
	}
	m, ok := g.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("params must be a dict, not %s", v.Type())
	}
	return m, nil
}

func headersArg(v sl.Value) (map[string]string, error) {
	if v == sl.None {
		return nil, nil
	}
	d, ok := v.(sl.IterableMapping)
	if !ok {
		return nil, fmt.Errorf("headers must be a dict, not %s", v.Type())
	}
	items := d.Items()
	out := make(map[string]string, len(items))
	for _, kv := range items {
		k, ok := kv[0].(sl.String)
		if !ok {
			return nil, fmt.Errorf("header names are strings, not %s", kv[0].Type())
		}
		switch x := kv[1].(type) {
		case sl.NoneType:
		case sl.String:
			out[string(k)] = string(x)
		case sl.Int, sl.Float, sl.Bool:
			out[string(k)] = x.String()
		default:
			return nil, fmt.Errorf("header %s must be a string, not %s", k, kv[1].Type())
		}
	}
	return out, nil
}

// responseValue is what a call returns: status_code, headers (case-
// insensitive), text, data (parsed JSON when the connection's data format
// is json or the Content-Type says JSON, else the text), ok and time_ms.
// text and data are charged to the invocation's allowance; data is made
// from the body directly, as far as the allowance goes.
type responseValue struct {
	r    *service.RESTResponse
	mem  *memlimit.Allowance
	data sl.Value
}

func (rv *responseValue) String() string {
	return fmt.Sprintf("<response [%d]>", rv.r.StatusCode)
}
func (rv *responseValue) Type() string          { return "response" }
func (rv *responseValue) Freeze()               {}
func (rv *responseValue) Truth() sl.Bool        { return sl.Bool(rv.r.OK()) }
func (rv *responseValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: response") }
func (rv *responseValue) AttrNames() []string {
	return []string{"data", "headers", "ok", "status_code", "text", "time_ms"}
}

func (rv *responseValue) Attr(name string) (sl.Value, error) {
	switch name {
	case "status_code":
		return sl.MakeInt(rv.r.StatusCode), nil
	case "headers":
		return starlark.NewHeaders(rv.r.Header), nil
	case "text":
		return sl.String(rv.r.Body), rv.mem.Charge(memlimit.StringCost(int64(len(rv.r.Body))), "the text of a response")
	case "ok":
		return sl.Bool(rv.r.OK()), nil
	case "time_ms":
		return sl.Float(float64(rv.r.Elapsed.Microseconds()) / 1000), nil
	case "data":
		if rv.data == nil {
			d, err := rv.decode()
			if err != nil {
				return nil, err
			}
			rv.data = d
		}
		return rv.data, nil
	}
	return nil, nil
}

// decode makes data as service.RESTResponse.Data decides it: the JSON
// body's value, "" for an empty one, the text of a body that is not JSON.
func (rv *responseValue) decode() (sl.Value, error) {
	r := rv.r
	switch {
	case !r.JSON:
		return sl.String(r.Body), rv.mem.Charge(memlimit.StringCost(int64(len(r.Body))), "the data of a response")
	case len(bytes.TrimSpace(r.Body)) == 0:
		return sl.String(""), nil
	}
	v, err := memlimit.DecodeJSON(rv.mem, string(r.Body), jsonlimit.Limits{MaxValues: math.MaxInt}, true)
	var ee *memlimit.ExceededError
	if err != nil && !errors.As(err, &ee) {
		return nil, r.ParseError(err)
	}
	return v, err
}
