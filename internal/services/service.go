// Package services describes deployed services, in whatever language they
// are written, and holds the immutable set of them a server runs.
package services

import (
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"github.com/plexushq/plexus/internal/sio"
	"github.com/plexushq/plexus/sdk/service"
)

// Languages of services.
const (
	Go       = "go"
	Starlark = "starlark"
)

// HandlerFunc runs a service for one invocation.
type HandlerFunc func(*service.Context) error

// Service is one deployed service. It is immutable once made and safe for
// concurrent use.
type Service struct {
	// Name is the unique service name.
	Name string
	// Doc is the service's documentation.
	Doc string
	// Language is Go or Starlark.
	Language string
	// Source is the Go type or the Starlark file the service comes from.
	Source string
	// Builtin marks the services that come with Plexus.
	Builtin bool
	// Impl is the service's implementation (the Go value, or the loaded
	// Starlark module), for subsystems that read declarations from it.
	Impl any
	// IO is the service's typed I/O declaration, read once when it is
	// registered or deployed; nil when it declares none.
	IO *sio.IO
	// RawJSON says the service makes its own values from a JSON body, as
	// far as it reads them: channels give it the checked body as a
	// jsonlimit.Raw payload, and its input's values as jsonlimit.Raw too.
	RawJSON bool

	handle HandlerFunc
	verbs  map[string]HandlerFunc
	allow  string
}

// New returns a service. handle answers every verb not in verbs; either may
// be empty but not both.
func New(name, doc, language, source string, handle HandlerFunc, verbs map[string]HandlerFunc) (*Service, error) {
	if handle == nil && len(verbs) == 0 {
		return nil, fmt.Errorf("service %q from %s has no handler: it needs a handle method or a handle method per verb", name, source)
	}
	if name == "" {
		return nil, fmt.Errorf("service from %s has no name", source)
	}
	s := &Service{Name: name, Doc: strings.TrimSpace(doc), Language: language, Source: source, handle: handle, verbs: verbs}
	s.allow = strings.Join(s.Verbs(), ", ")
	return s, nil
}

// Origin describes where the service comes from, for messages.
func (s *Service) Origin() string {
	switch {
	case s.Language != Go:
		return "the file " + s.Source
	case s.Builtin:
		return "the built-in Go service " + s.Source
	}
	return "the Go service " + s.Source
}

// Verbs returns the verbs with their own handler, sorted.
func (s *Service) Verbs() []string {
	out := make([]string, 0, len(s.verbs))
	for v := range s.verbs {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// AnswersAll reports whether the service has a handler for every verb.
func (s *Service) AnswersAll() bool { return s.handle != nil }

// Run invokes the service's handler for a verb: the verb's own handler,
// else the generic one. An empty verb (non-HTTP channels) calls the generic
// handler. When neither exists it answers 405 with an Allow header.
func (s *Service) Run(c *service.Context, verb string) error {
	if h, ok := s.verbs[verb]; ok {
		return h(c)
	}
	if s.handle != nil {
		return s.handle(c)
	}
	msg := fmt.Sprintf("Method %s not allowed", verb)
	if verb == "" {
		msg = fmt.Sprintf("Service %s answers only %s; name a verb to invoke it", s.Name, s.allow)
	}
	return service.NewError(http.StatusMethodNotAllowed, "%s", msg).WithHeader("Allow", s.allow)
}

// funcType is the type of services made by service.Func.
var funcType = reflect.TypeOf(service.Func("", "", nil))

// FromGo describes a Go service value: its Handle and HandleVERB methods,
// and its optional Name and Doc methods.
func FromGo(v any) (*Service, error) {
	if v == nil {
		return nil, fmt.Errorf("registering a nil service")
	}
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	typeName := rt.String()
	if rt == funcType {
		typeName = "function"
	}
	var handle HandlerFunc
	var typed reflect.Value
	var req, resp reflect.Type
	verbs := map[string]HandlerFunc{}
	for i := range rt.NumMethod() {
		m := rt.Method(i)
		verb, ok := strings.CutPrefix(m.Name, "Handle")
		if !ok || (verb != "" && strings.ToUpper(verb) != verb) {
			continue
		}
		fn := direct(v, verb)
		if fn == nil {
			// A method without a direct binding is called through reflection.
			fn, ok = rv.Method(i).Interface().(func(*service.Context) error)
		}
		if fn == nil && verb == "" {
			if req, resp, ok = sio.TypedMethod(rv.Method(i)); ok {
				typed = rv.Method(i)
				continue
			}
		}
		if fn == nil {
			return nil, fmt.Errorf("service %s: method %s must be func(*service.Context) error, or, for Handle, func(*service.Context, Req) (Resp, error) with Req a struct", typeName, m.Name)
		}
		if verb == "" {
			handle = fn
		} else {
			verbs[verb] = fn
		}
	}
	name := GoName(rt)
	if n, ok := v.(interface{ Name() string }); ok {
		name = n.Name()
	}
	var doc string
	if d, ok := v.(interface{ Doc() string }); ok {
		doc = d.Doc()
	}
	io, err := sio.FromGo(v, req, resp)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", name, err)
	}
	if typed.IsValid() {
		handle = typedHandler(typed, req, io.Input)
	}
	s, err := New(name, doc, Go, typeName, handle, verbs)
	if err != nil {
		return nil, err
	}
	s.Impl, s.IO = v, io
	return s, nil
}

// direct returns the method for a verb bound without reflection, which
// makes the call several times cheaper, or nil.
func direct(v any, verb string) HandlerFunc {
	switch verb {
	case "":
		if h, ok := v.(service.Handler); ok {
			return h.Handle
		}
	case "GET":
		if h, ok := v.(interface{ HandleGET(*service.Context) error }); ok {
			return h.HandleGET
		}
	case "POST":
		if h, ok := v.(interface{ HandlePOST(*service.Context) error }); ok {
			return h.HandlePOST
		}
	case "PUT":
		if h, ok := v.(interface{ HandlePUT(*service.Context) error }); ok {
			return h.HandlePUT
		}
	case "PATCH":
		if h, ok := v.(interface{ HandlePATCH(*service.Context) error }); ok {
			return h.HandlePATCH
		}
	case "DELETE":
		if h, ok := v.(interface{ HandleDELETE(*service.Context) error }); ok {
			return h.HandleDELETE
		}
	case "HEAD":
		if h, ok := v.(interface{ HandleHEAD(*service.Context) error }); ok {
			return h.HandleHEAD
		}
	case "OPTIONS":
		if h, ok := v.(interface{ HandleOPTIONS(*service.Context) error }); ok {
			return h.HandleOPTIONS
		}
	}
	return nil
}

// GoName derives a service name from a Go type as Zato does from a Python
// class: the package name and the type name, uncamelified
// (billing.GetCustomer → billing.get-customer). Types in package main get
// the type name alone.
func GoName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pkg := t.PkgPath()
	pkg = pkg[strings.LastIndex(pkg, "/")+1:]
	typ := Uncamelify(t.Name())
	if pkg == "" || pkg == "main" {
		return typ
	}
	return strings.ReplaceAll(pkg, "_", "-") + "." + typ
}

// Uncamelify turns CamelCase into lower-case words joined by "-":
// LogInputData → log-input-data, HTTPGetter → http-getter,
// GetClientV2 → get-client-v2, Get_Customer → get_customer.
func Uncamelify(s string) string {
	var b strings.Builder
	r := []rune(s)
	for i, c := range r {
		if isUpper(c) && i > 0 {
			prev := r[i-1]
			next := rune(0)
			if i+1 < len(r) {
				next = r[i+1]
			}
			if isLower(prev) || isDigit(prev) || (isUpper(prev) && isLower(next)) {
				b.WriteByte('-')
			}
		}
		b.WriteString(strings.ToLower(string(c)))
	}
	return b.String()
}

func isUpper(c rune) bool { return c >= 'A' && c <= 'Z' }
func isLower(c rune) bool { return c >= 'a' && c <= 'z' }
func isDigit(c rune) bool { return c >= '0' && c <= '9' }
