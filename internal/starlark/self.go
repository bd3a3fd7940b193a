package starlark

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/jsonlimit"
	"github.com/plexushq/plexus/internal/starlark/memlimit"
	"github.com/plexushq/plexus/sdk/service"
)

// object is a read-only Starlark value with named attributes, computed on
// first use and then kept. It is the shape of self, self.request, …
type object struct {
	typ   string
	attrs map[string]func() (sl.Value, error)
	cache map[string]sl.Value
}

func newObject(typ string, attrs map[string]func() (sl.Value, error)) *object {
	return &object{typ: typ, attrs: attrs, cache: map[string]sl.Value{}}
}

func (o *object) String() string        { return "<" + o.typ + ">" }
func (o *object) Type() string          { return o.typ }
func (o *object) Freeze()               {}
func (o *object) Truth() sl.Bool        { return sl.True }
func (o *object) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: %s", o.typ) }

func (o *object) Attr(name string) (sl.Value, error) {
	if v, ok := o.cache[name]; ok {
		return v, nil
	}
	fn, ok := o.attrs[name]
	if !ok {
		return nil, nil // "has no .name field or method"
	}
	v, err := fn()
	if err != nil {
		return nil, err
	}
	o.cache[name] = v
	return v, nil
}

func (o *object) AttrNames() []string {
	names := make([]string, 0, len(o.attrs))
	for n := range o.attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func value(v sl.Value) func() (sl.Value, error) {
	return func() (sl.Value, error) { return v, nil }
}

func converted(a *memlimit.Allowance, v any) func() (sl.Value, error) {
	return func() (sl.Value, error) { return ToStarlark(a, v) }
}

func builtin(name string, fn func(thread *sl.Thread, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error)) func() (sl.Value, error) {
	b := sl.NewBuiltin(name, func(thread *sl.Thread, _ *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		return fn(thread, args, kwargs)
	})
	return value(b)
}

// selfValue is the self of one invocation. Its attributes are made on
// first use: most services touch only request and response.
type selfValue struct {
	comp     *Compiler
	c        *service.Context
	mem      *memlimit.Allowance
	response *responseValue
	request  *requestValue
	cache    map[string]sl.Value
	// deepInput gives nested objects of a model's input attribute access.
	deepInput bool
}

func (s *selfValue) String() string        { return "<self " + s.c.Name + ">" }
func (s *selfValue) Type() string          { return "self" }
func (s *selfValue) Freeze()               {}
func (s *selfValue) Truth() sl.Bool        { return sl.True }
func (s *selfValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: self") }

var selfAttrs = []string{"channel", "cid", "invoke", "invoke_async", "logger", "name", "request", "response"}

func (s *selfValue) AttrNames() []string {
	names := append([]string{}, selfAttrs...)
	for n := range s.comp.attrs.children {
		names = append(names, n)
	}
	if _, ok := s.comp.attrs.children["out"]; ok {
		names = append(names, "outgoing")
	}
	sort.Strings(names)
	return names
}

func (s *selfValue) Attr(name string) (sl.Value, error) {
	if name == "outgoing" { // Zato 2 and 3 code's name for self.out
		name = "out"
	}
	switch name {
	case "cid":
		return sl.String(s.c.CID), nil
	case "name":
		return sl.String(s.c.Name), nil
	case "request":
		if s.request == nil {
			s.request = &requestValue{r: s.c.Request, mem: s.mem, deep: s.deepInput}
		}
		return s.request, nil
	case "response":
		return s.response, nil
	}
	if v, ok := s.cache[name]; ok {
		return v, nil
	}
	var mk func() (sl.Value, error)
	switch name {
	case "channel":
		mk = func() (sl.Value, error) { return newChannel(s.mem, s.c.Channel), nil }
	case "logger":
		mk = func() (sl.Value, error) { return newLogger(s.mem, s.c), nil }
	case "invoke":
		mk = builtin("invoke", func(th *sl.Thread, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
			return callInvoke(s.c, th, args, kw)
		})
	case "invoke_async":
		mk = builtin("invoke_async", func(th *sl.Thread, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
			return invokeAsync(s.c, memlimit.Of(th), args, kw)
		})
	default:
		ns, ok := s.comp.attrs.children[name]
		if !ok {
			return nil, nil // "self has no .name field or method"
		}
		mk = func() (sl.Value, error) { return ns.value(s.c) }
	}
	v, err := mk()
	if err != nil {
		return nil, err
	}
	if s.cache == nil {
		s.cache = map[string]sl.Value{}
	}
	s.cache[name] = v
	return v, nil
}

// requestValue is self.request; payload and input are converted on first
// use, and charged to the invocation's allowance.
type requestValue struct {
	r       *service.Request
	mem     *memlimit.Allowance
	deep    bool // see selfValue.deepInput
	payload sl.Value
	input   sl.Value
	http    sl.Value
}

func (rv *requestValue) String() string        { return "<request>" }
func (rv *requestValue) Type() string          { return "request" }
func (rv *requestValue) Freeze()               {}
func (rv *requestValue) Truth() sl.Bool        { return sl.True }
func (rv *requestValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: request") }
func (rv *requestValue) AttrNames() []string {
	return []string{"http", "input", "payload", "raw", "raw_request", "text"}
}

func (rv *requestValue) Attr(name string) (sl.Value, error) {
	var err error
	switch name {
	case "payload":
		if rv.payload == nil {
			rv.payload, err = ToStarlark(rv.mem, rv.r.Payload)
		}
		return rv.payload, err
	case "raw_request", "raw":
		return sl.Bytes(rv.r.RawRequest), rv.mem.Charge(memlimit.StringCost(int64(len(rv.r.RawRequest))), "self.request.raw_request")
	case "text":
		return sl.String(rv.r.RawRequest), rv.mem.Charge(memlimit.StringCost(int64(len(rv.r.RawRequest))), "self.request.text")
	case "input":
		if rv.input == nil {
			if !rv.deep {
				rv.input = &inputValue{orig: rv.r.Input, mem: rv.mem}
				return rv.input, nil
			}
			d, err := ToStarlark(rv.mem, map[string]any(rv.r.Input))
			if err != nil {
				return nil, err
			}
			rv.input = deepInput(rv.mem, d)
		}
		return rv.input, nil
	case "http":
		if rv.http == nil {
			rv.http = newHTTP(rv.mem, &rv.r.HTTP)
		}
		return rv.http, nil
	}
	return nil, nil
}

func newHTTP(a *memlimit.Allowance, h *service.HTTP) *object {
	return newObject("http", map[string]func() (sl.Value, error){
		"method":     value(sl.String(h.Method)),
		"path":       value(sl.String(h.Path)),
		"params":     converted(a, h.Params),
		"GET":        converted(a, h.GET),
		"POST":       converted(a, h.POST),
		"headers":    value(&headerValue{h: h.Headers}),
		"user_agent": value(sl.String(h.Headers.Get("User-Agent"))),
		"get_form_data": builtin("get_form_data", func(_ *sl.Thread, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
			form, err := h.GetFormData()
			if err != nil {
				return sl.NewDict(0), nil
			}
			d, err := multiDict(a, form.Values)
			if err != nil {
				return nil, err
			}
			for _, field := range sortedKeys(form.Files) {
				var files []sl.Value
				for _, f := range form.Files[field] {
					if err := a.Charge(memlimit.DictCost(3)+memlimit.StringCost(int64(len(f.Data))), "get_form_data"); err != nil {
						return nil, err
					}
					fd := sl.NewDict(3)
					fd.SetKey(sl.String("filename"), sl.String(f.Filename))
					fd.SetKey(sl.String("content_type"), sl.String(f.ContentType))
					fd.SetKey(sl.String("data"), sl.Bytes(f.Data))
					files = append(files, fd)
				}
				if len(files) == 1 {
					d.SetKey(sl.String(field), files[0])
				} else {
					d.SetKey(sl.String(field), sl.NewList(files))
				}
			}
			return d, nil
		}),
	})
}

func newChannel(a *memlimit.Allowance, ch service.Channel) *object {
	sec := ch.Security
	security := newObject("security", map[string]func() (sl.Value, error){
		"name":     value(sl.String(sec.Name)),
		"type":     value(sl.String(sec.Type)),
		"username": value(sl.String(sec.Username)),
		"to_dict": builtin("to_dict", func(*sl.Thread, sl.Tuple, []sl.Tuple) (sl.Value, error) {
			return ToStarlark(a, map[string]any{"name": sec.Name, "type": sec.Type, "username": sec.Username})
		}),
	})
	return newObject("channel", map[string]func() (sl.Value, error){
		"name":        value(sl.String(ch.Name)),
		"type":        value(sl.String(ch.Type)),
		"data_format": value(sl.String(ch.DataFormat)),
		"security":    value(security),
		"message":     func() (sl.Value, error) { return newMessage(a, ch.Message), nil },
		"client":      value(newClient(ch.Client)),
	})
}

// newClient is self.channel.client: the WebSocket client that sent the
// message, or None.
func newClient(cl *service.Client) sl.Value {
	if cl == nil {
		return sl.None
	}
	return newObject("client", map[string]func() (sl.Value, error){
		"id":          value(sl.String(cl.ID)),
		"name":        value(sl.String(cl.Name)),
		"user":        value(sl.String(cl.User)),
		"remote_addr": value(sl.String(cl.RemoteAddr)),
	})
}

// newMessage is self.channel.message: the broker's message that carried
// the invocation, its details as attributes too, or None.
func newMessage(a *memlimit.Allowance, m *service.Message) sl.Value {
	if m == nil {
		return sl.None
	}
	attrs := make(map[string]func() (sl.Value, error), len(m.Details)+4)
	for k, v := range m.Details {
		attrs[k] = converted(a, v)
	}
	attrs["id"] = value(sl.String(m.ID))
	attrs["topic"] = value(sl.String(m.Topic))
	attrs["delivery_count"] = value(sl.MakeInt(m.DeliveryCount))
	attrs["headers"] = converted(a, m.Headers)
	return newObject("message", attrs)
}

func newLogger(a *memlimit.Allowance, c *service.Context) *object {
	level := func(name string, log func(string)) func() (sl.Value, error) {
		return builtin(name, func(_ *sl.Thread, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
			msg, err := format(a, name, args)
			if err != nil {
				return nil, err
			}
			log(msg)
			return sl.None, nil
		})
	}
	l := c.Logger()
	return newObject("logger", map[string]func() (sl.Value, error){
		"debug":     level("debug", func(m string) { l.Debug(m) }),
		"info":      level("info", func(m string) { l.Info(m) }),
		"warning":   level("warning", func(m string) { l.Warn(m) }),
		"warn":      level("warn", func(m string) { l.Warn(m) }),
		"error":     level("error", func(m string) { l.Error(m) }),
		"exception": level("exception", func(m string) { l.Error(m) }),
	})
}

// format applies Python's %-formatting: logger.info("uid:%s", uid). The
// message is charged to the allowance before it is made.
func format(a *memlimit.Allowance, name string, args sl.Tuple) (string, error) {
	if len(args) == 0 {
		return "", fmt.Errorf("%s: missing message", name)
	}
	msg, ok := args[0].(sl.String)
	if !ok {
		return memlimit.Repr(a, args[0])
	}
	if len(args) == 1 {
		return string(msg), nil
	}
	out, err := memlimit.Format(a, string(msg), args[1:])
	if err != nil {
		var ee *memlimit.ExceededError
		if errors.As(err, &ee) {
			return "", err
		}
		return "", fmt.Errorf("%s: formatting %q: %w", name, string(msg), err)
	}
	return out, nil
}

// invokeArgs reads (name, payload=None, verb=None, **kwargs); keyword
// arguments other than verb become the payload when none is given.
func invokeArgs(a *memlimit.Allowance, fn string, args sl.Tuple, kwargs []sl.Tuple) (name string, payload any, opts service.InvokeOptions, err error) {
	if len(args) < 1 || len(args) > 2 {
		return "", nil, opts, fmt.Errorf("%s: want the service name and an optional payload", fn)
	}
	n, ok := args[0].(sl.String)
	if !ok {
		return "", nil, opts, fmt.Errorf("%s: the service name must be a string, not a %s", fn, args[0].Type())
	}
	var pv sl.Value = sl.None
	if len(args) == 2 {
		pv = args[1]
	}
	extra := sl.NewDict(len(kwargs))
	for _, kv := range kwargs {
		k := string(kv[0].(sl.String))
		switch k {
		case "payload":
			pv = kv[1]
		case "verb":
			if s, ok := kv[1].(sl.String); ok {
				opts.Verb = string(s)
			}
		default:
			extra.SetKey(kv[0], kv[1])
		}
	}
	if pv == sl.None && extra.Len() > 0 {
		pv = extra
	}
	payload, err = FromStarlark(a, pv)
	if err != nil {
		return "", nil, opts, fmt.Errorf("%s: payload: %w", fn, err)
	}
	return string(n), payload, opts, nil
}

// callInvoke runs self.invoke. The caller's call stack stays charged to
// the allowance the callee shares while it runs.
func callInvoke(c *service.Context, thread *sl.Thread, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	a := memlimit.Of(thread)
	name, payload, opts, err := invokeArgs(a, "invoke", args, kwargs)
	if err != nil {
		return nil, err
	}
	done, err := a.Nest(thread)
	if err != nil {
		return nil, err
	}
	out, err := c.InvokeWith(name, payload, opts)
	done()
	if err != nil {
		return nil, err
	}
	return ToStarlark(a, out)
}

func invokeAsync(c *service.Context, a *memlimit.Allowance, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	name, payload, _, err := invokeArgs(a, "invoke_async", args, kwargs)
	if err != nil {
		return nil, err
	}
	id, err := c.InvokeAsync(name, payload)
	if err != nil {
		return nil, err
	}
	return sl.String(id), nil
}

// responseValue is self.response: its fields are set by the service and
// read back when it returns.
type responseValue struct {
	payload         sl.Value
	statusCode      sl.Value
	contentType     sl.Value
	contentEncoding sl.Value
	headers         sl.Value
}

func newResponse() *responseValue {
	return &responseValue{payload: sl.None, statusCode: sl.None, contentType: sl.None, contentEncoding: sl.None}
}

func (r *responseValue) String() string        { return "<response>" }
func (r *responseValue) Type() string          { return "response" }
func (r *responseValue) Freeze()               {}
func (r *responseValue) Truth() sl.Bool        { return sl.True }
func (r *responseValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: response") }
func (r *responseValue) AttrNames() []string {
	return []string{"content_encoding", "content_type", "headers", "payload", "status_code"}
}

func (r *responseValue) field(name string) *sl.Value {
	switch name {
	case "payload":
		return &r.payload
	case "status_code":
		return &r.statusCode
	case "content_type":
		return &r.contentType
	case "content_encoding":
		return &r.contentEncoding
	case "headers":
		return &r.headers
	}
	return nil
}

func (r *responseValue) Attr(name string) (sl.Value, error) {
	switch name {
	case "headers":
		if r.headers == nil { // made on first use: most services set none
			r.headers = sl.NewDict(0)
		}
	case "status_code":
		if r.statusCode == sl.None {
			return sl.MakeInt(200), nil
		}
	case "payload":
		if r.payload == sl.None { // so that payload.cid = … works, as in Zato
			r.payload = &payloadValue{d: sl.NewDict(0)}
		}
	}
	if f := r.field(name); f != nil {
		return *f, nil
	}
	return nil, nil
}

func (r *responseValue) SetField(name string, v sl.Value) error {
	f := r.field(name)
	if f == nil {
		return sl.NoSuchAttrError(fmt.Sprintf("response has no field %q; it has %s", name, strings.Join(r.AttrNames(), ", ")))
	}
	*f = v
	return nil
}

// fill copies the response into the service's response.
func (r *responseValue) fill(a *memlimit.Allowance, resp *service.Response) error {
	var err error
	if p, ok := r.payload.(*payloadValue); ok && p.Len() == 0 {
		r.payload = sl.None
	}
	if resp.Payload, err = FromStarlark(a, r.payload); err != nil {
		return fmt.Errorf("self.response.payload: %w", err)
	}
	if r.statusCode != sl.None {
		code, err := sl.AsInt32(r.statusCode)
		if err != nil || code < 100 || code > 999 {
			return fmt.Errorf("self.response.status_code: %s is not an HTTP status", r.statusCode)
		}
		resp.StatusCode = code
	}
	for _, f := range []struct {
		name string
		v    sl.Value
		dst  *string
	}{{"content_type", r.contentType, &resp.ContentType}, {"content_encoding", r.contentEncoding, &resp.ContentEncoding}} {
		switch s := f.v.(type) {
		case sl.NoneType:
		case sl.String:
			*f.dst = string(s)
		default:
			return fmt.Errorf("self.response.%s must be a string, not a %s", f.name, f.v.Type())
		}
	}
	if r.headers == nil {
		return nil
	}
	hd, ok := r.headers.(sl.IterableMapping)
	if !ok {
		return fmt.Errorf("self.response.headers must be a dict, not a %s", r.headers.Type())
	}
	for key, val := range sl.Entries(hd) {
		k, ok1 := key.(sl.String)
		v, ok2 := sl.AsString(val)
		if !ok1 || !ok2 {
			return fmt.Errorf("self.response.headers: %s: %s: names and values must be strings", key, val)
		}
		if resp.Headers == nil {
			resp.Headers = http.Header{}
		}
		resp.Headers.Set(string(k), v)
	}
	return nil
}

// inputValue is self.request.input: a dict whose elements are also
// attributes (input.cust_id), as Zato's Bunch. It converts the Go input
// lazily: an element is converted when first read, and the whole dict only
// when the script iterates or changes it, so a service that passes its
// input on (self.response.payload = self.request.input) converts nothing.
type inputValue struct {
	orig  map[string]any      // the Go input, never changed
	mem   *memlimit.Allowance // charged for what is converted
	cache map[string]sl.Value // elements converted so far
	dict  *sl.Dict            // the whole input, once needed
	// fieldsFirst lets a model's fields named like dict methods (items,
	// keys, values, get) win over the methods.
	fieldsFirst bool
}

var inputMethods = map[string]bool{"get": true, "keys": true, "items": true, "values": true}

// whole returns the input as a dict, converting what is left.
func (in *inputValue) whole() (*sl.Dict, error) {
	if in.dict != nil {
		return in.dict, nil
	}
	d := sl.NewDict(len(in.orig))
	for _, k := range sortedKeys(in.orig) {
		v, ok := in.cache[k]
		if !ok {
			var err error
			if v, err = ToStarlark(in.mem, in.orig[k]); err != nil {
				return nil, err
			}
		}
		d.SetKey(sl.String(k), v)
	}
	in.dict, in.cache = d, nil
	return d, nil
}

// must is whole for the methods that cannot return an error; the input
// came from JSON, so converting it cannot fail.
func (in *inputValue) must() *sl.Dict {
	d, err := in.whole()
	if err != nil {
		return sl.NewDict(0)
	}
	return d
}

// elem returns one element.
func (in *inputValue) elem(name string) (sl.Value, bool, error) {
	if in.dict != nil {
		return in.dict.Get(sl.String(name))
	}
	if v, ok := in.cache[name]; ok {
		return v, true, nil
	}
	g, ok := in.orig[name]
	if !ok {
		return nil, false, nil
	}
	v, err := ToStarlark(in.mem, g)
	if err != nil {
		return nil, false, err
	}
	if in.cache == nil {
		in.cache = map[string]sl.Value{}
	}
	in.cache[name] = v
	return v, true, nil
}

// export returns the input as Go values: the original map when the script
// changed nothing it could reach and it holds no undecoded JSON.
func (in *inputValue) export(e *exporter, depth int) (any, error) {
	if in.dict != nil {
		return e.value(in.dict, depth)
	}
	raw := false
	for _, v := range in.orig {
		if _, raw = v.(jsonlimit.Raw); raw {
			break
		}
	}
	if len(in.cache) == 0 && !raw {
		return in.orig, nil
	}
	if err := e.charge(jsonlimit.MapCost(len(in.orig))); err != nil {
		return nil, err
	}
	out := make(map[string]any, len(in.orig))
	for k, v := range in.orig {
		if sv, ok := in.cache[k]; ok { // read, so perhaps changed in place
			v, err := e.value(sv, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = v
			continue
		}
		if r, ok := v.(jsonlimit.Raw); ok {
			var err error
			if v, err = e.raw(r); err != nil {
				return nil, err
			}
		}
		out[k] = v
	}
	return out, nil
}

func (in *inputValue) String() string        { return in.must().String() }
func (in *inputValue) Type() string          { return "input" }
func (in *inputValue) Freeze()               { in.must().Freeze() }
func (in *inputValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: input") }
func (in *inputValue) Iterate() sl.Iterator  { return in.must().Iterate() }
func (in *inputValue) Items() []sl.Tuple     { return in.must().Items() }

func (in *inputValue) Truth() sl.Bool { return in.Len() > 0 }

func (in *inputValue) Len() int {
	if in.dict != nil {
		return in.dict.Len()
	}
	return len(in.orig)
}

func (in *inputValue) Get(k sl.Value) (sl.Value, bool, error) {
	s, ok := k.(sl.String)
	if !ok {
		return in.must().Get(k)
	}
	return in.elem(string(s))
}

func (in *inputValue) SetKey(k, v sl.Value) error {
	d, err := in.whole()
	if err != nil {
		return err
	}
	return d.SetKey(k, v)
}

func (in *inputValue) Attr(name string) (sl.Value, error) {
	if inputMethods[name] && !in.fieldsFirst {
		return in.method(name)
	}
	v, found, err := in.elem(name)
	if err != nil {
		return nil, err
	}
	if !found && inputMethods[name] {
		return in.method(name)
	}
	if !found {
		return nil, sl.NoSuchAttrError(fmt.Sprintf("input has no element %q", name))
	}
	return v, nil
}

// method returns a dict method; get reads one element without converting
// the rest.
func (in *inputValue) method(name string) (sl.Value, error) {
	if name != "get" || in.dict != nil {
		d, err := in.whole()
		if err != nil {
			return nil, err
		}
		return d.Attr(name)
	}
	return sl.NewBuiltin("get", func(_ *sl.Thread, _ *sl.Builtin, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
		var key sl.Value
		var def sl.Value = sl.None
		if err := sl.UnpackPositionalArgs("get", args, kw, 1, &key, &def); err != nil {
			return nil, err
		}
		v, found, err := in.Get(key)
		if err != nil || !found {
			return def, err
		}
		return v, nil
	}), nil
}

func (in *inputValue) AttrNames() []string {
	var names []string
	for _, k := range in.must().Keys() {
		if s, ok := k.(sl.String); ok {
			names = append(names, string(s))
		}
	}
	return names
}

// headerValue is self.request.http.headers: a read-only mapping whose keys
// are case-insensitive.
type headerValue struct {
	h http.Header
}

func (hv *headerValue) String() string        { return fmt.Sprint(map[string][]string(hv.h)) }
func (hv *headerValue) Type() string          { return "headers" }
func (hv *headerValue) Freeze()               {}
func (hv *headerValue) Truth() sl.Bool        { return len(hv.h) > 0 }
func (hv *headerValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: headers") }
func (hv *headerValue) Len() int              { return len(hv.h) }
func (hv *headerValue) Get(k sl.Value) (sl.Value, bool, error) {
	s, ok := k.(sl.String)
	if !ok {
		return nil, false, fmt.Errorf("header names are strings, not %s", k.Type())
	}
	if vs := hv.h.Values(string(s)); len(vs) > 0 {
		return sl.String(strings.Join(vs, ", ")), true, nil
	}
	return nil, false, nil
}

func (hv *headerValue) Iterate() sl.Iterator {
	keys := make([]sl.Value, 0, len(hv.h))
	for _, k := range sortedKeys(hv.h) {
		keys = append(keys, sl.String(k))
	}
	return sl.NewList(keys).Iterate()
}

func (hv *headerValue) Attr(name string) (sl.Value, error) {
	if name != "get" {
		return nil, nil
	}
	return sl.NewBuiltin("get", func(_ *sl.Thread, _ *sl.Builtin, args sl.Tuple, kw []sl.Tuple) (sl.Value, error) {
		var key sl.Value
		var def sl.Value = sl.None
		if err := sl.UnpackPositionalArgs("get", args, kw, 1, &key, &def); err != nil {
			return nil, err
		}
		v, found, err := hv.Get(key)
		if err != nil || !found {
			return def, err
		}
		return v, nil
	}), nil
}

func (hv *headerValue) AttrNames() []string { return []string{"get"} }

// payloadValue is self.response.payload before the service assigns it:
// a dict whose keys are also attributes, so that Zato's SimpleIO idiom
// self.response.payload.cid = self.cid works beside
// self.response.payload["cid"] = …. Left empty, the response has no body.
type payloadValue struct {
	d *sl.Dict
}

var (
	_ sl.HasSetField = (*payloadValue)(nil)
	_ sl.HasSetKey   = (*payloadValue)(nil)
)

func (p *payloadValue) String() string             { return p.d.String() }
func (p *payloadValue) Type() string               { return "payload" }
func (p *payloadValue) Freeze()                    { p.d.Freeze() }
func (p *payloadValue) Truth() sl.Bool             { return p.d.Truth() }
func (p *payloadValue) Hash() (uint32, error)      { return 0, fmt.Errorf("unhashable: payload") }
func (p *payloadValue) Len() int                   { return p.d.Len() }
func (p *payloadValue) Iterate() sl.Iterator       { return p.d.Iterate() }
func (p *payloadValue) Items() []sl.Tuple          { return p.d.Items() }
func (p *payloadValue) SetKey(k, v sl.Value) error { return p.d.SetKey(k, v) }
func (p *payloadValue) Get(k sl.Value) (sl.Value, bool, error) {
	return p.d.Get(k)
}

func (p *payloadValue) SetField(name string, v sl.Value) error {
	return p.d.SetKey(sl.String(name), v)
}

// Attr returns an element set before, else a dict method (get, keys, …).
func (p *payloadValue) Attr(name string) (sl.Value, error) {
	if v, found, _ := p.d.Get(sl.String(name)); found {
		return v, nil
	}
	m, err := p.d.Attr(name)
	if err != nil || m != nil {
		return m, err
	}
	return nil, sl.NoSuchAttrError(fmt.Sprintf("payload has no element %q", name))
}

func (p *payloadValue) AttrNames() []string {
	names := p.d.AttrNames()
	for _, k := range p.d.Keys() {
		if s, ok := k.(sl.String); ok {
			names = append(names, string(s))
		}
	}
	return names
}
