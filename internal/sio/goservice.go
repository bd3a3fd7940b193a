package sio

import (
	"fmt"
	"reflect"

	"github.com/plexushq/plexus/sdk/service"
)

// Optional methods a Go service declares its I/O with.
type (
	simpleIOer  interface{ SimpleIO() service.SimpleIO }
	schemaer    interface{ Schema() string }
	invokeser   interface{ Invokes() []string }
	namespacer  interface{ Namespace() string }
	contextType = *service.Context
)

var (
	contextRT = reflect.TypeFor[contextType]()
	errorRT   = reflect.TypeFor[error]()
)

// TypedMethod reports whether a method value is a typed handler,
// func(*service.Context, Req) (Resp, error) with Req a struct (or a
// pointer to one), and returns Req and Resp.
func TypedMethod(fn reflect.Value) (req, resp reflect.Type, ok bool) {
	t := fn.Type()
	if t.NumIn() != 2 || t.NumOut() != 2 || t.In(0) != contextRT || t.Out(1) != errorRT {
		return nil, nil, false
	}
	req = t.In(1)
	base := req
	for base.Kind() == reflect.Pointer {
		base = base.Elem()
	}
	if base.Kind() != reflect.Struct {
		return nil, nil, false
	}
	return req, t.Out(0), true
}

// FromGo reads a Go service's declaration: the SimpleIO, Schema, Invokes
// and Namespace methods, and, for a typed handler, the models of its
// request and response types (req and resp are nil otherwise). It returns
// nil when the service declares nothing.
func FromGo(v any, req, resp reflect.Type) (*IO, error) {
	io := &IO{}
	declared := false
	if s, ok := v.(simpleIOer); ok {
		d := s.SimpleIO()
		in, out, _, err := Lists{
			InputRequired: d.InputRequired, InputOptional: d.InputOptional,
			OutputRequired: d.OutputRequired, OutputOptional: d.OutputOptional,
			DefaultValue: d.DefaultValue, HasDefaultValue: d.HasDefaultValue,
		}.Build()
		if err != nil {
			return nil, fmt.Errorf("SimpleIO: %w", err)
		}
		io.Input, io.Output, io.ResponseElem, io.SkipEmpty = in, out, d.ResponseElem, d.SkipEmptyKeys
		if len(d.SkipEmptyKeysFor) > 0 {
			io.SkipEmptyKeys = map[string]bool{}
			for _, k := range d.SkipEmptyKeysFor {
				io.SkipEmptyKeys[k] = true
			}
		}
		declared = true
	}
	if req != nil {
		if io.Input != nil {
			return nil, fmt.Errorf("SimpleIO declares input and the Handle method takes a %s: declare it once", req)
		}
		m, err := ModelOf(req)
		if err != nil {
			return nil, fmt.Errorf("request type: %w", err)
		}
		io.Input, declared = m, true
	}
	if resp != nil {
		base := resp
		for base.Kind() == reflect.Pointer {
			base = base.Elem()
		}
		if base.Kind() == reflect.Struct {
			if io.Output != nil {
				return nil, fmt.Errorf("SimpleIO declares output and the Handle method returns a %s: declare it once", resp)
			}
			m, err := ModelOf(base)
			if err != nil {
				return nil, fmt.Errorf("response type: %w", err)
			}
			io.Output, declared = m, true
		}
	}
	if s, ok := v.(schemaer); ok && s.Schema() != "" {
		io.Schema, declared = s.Schema(), true
	}
	if s, ok := v.(invokeser); ok {
		io.Invokes, declared = s.Invokes(), true
	}
	if s, ok := v.(namespacer); ok {
		io.Namespace, declared = s.Namespace(), true
	}
	if !declared {
		return nil, nil
	}
	return io, nil
}
