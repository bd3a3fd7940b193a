package sio

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"

	"github.com/plexushq/plexus/sdk/service"
)

// Switches are the runtime switches of one service's I/O, changed without
// a redeploy: configuration of kind service_io (package serviceio).
type Switches struct {
	// ValidateSchema turns JSON Schema validation on (the default) or off.
	ValidateSchema bool `json:"validate_schema"`
	// DetailedErrors shows callers what is wrong with an invalid request
	// instead of "Invalid request".
	DetailedErrors bool `json:"detailed_errors"`
}

// DefaultSwitches returns a service's switches until they are changed:
// validation on, details off.
func DefaultSwitches() Switches { return Switches{ValidateSchema: true} }

// InvalidRequest is the details of a 400 for a payload that fails its
// JSON Schema, unless the service's detailed_errors switch is on.
const InvalidRequest = "Invalid request"

// Stage runs typed I/O around an invocation: Input before the handler
// (JSON Schema validation, then input conversion), Output after it. Every
// channel runs services through it, so Go and Starlark services, HTTP and
// invoke behave the same. It is safe for concurrent use.
type Stage struct {
	// Schemas holds the JSON Schema files; nil refuses services that name
	// one.
	Schemas *Schemas
	// Lookup returns a service's switches, when it has some; nil gives
	// every service the defaults. Set it before serving.
	Lookup func(service string) (Switches, bool)
}

// NewStage returns a stage using the schema files of schemas (may be nil).
func NewStage(schemas *Schemas) *Stage { return &Stage{Schemas: schemas} }

// Switches returns a service's switches.
func (st *Stage) Switches(name string) Switches {
	if st.Lookup != nil {
		if sw, ok := st.Lookup(name); ok {
			return sw
		}
	}
	return DefaultSwitches()
}

// Input validates the request's payload against the service's JSON Schema
// and replaces its input with the declared elements, converted. Its errors
// are *service.Error values answering 400, or errors answering 500 when a
// schema cannot be loaded.
func (st *Stage) Input(c *service.Context, io *IO) error {
	if io.Schema != "" {
		if err := st.validate(c, io.Schema); err != nil {
			return err
		}
	}
	if io.Input == nil {
		return nil
	}
	src := c.Request.Input
	if len(src) == 0 {
		src = structInput(c.Request.Payload, src)
	}
	in, err := io.Input.Decode(src)
	if err != nil {
		return service.NewError(http.StatusBadRequest, "%s", err.Error())
	}
	c.Request.Input = in
	return nil
}

// structInput returns the fields of a struct given as the payload of an
// invocation from Go (ctx.Invoke("svc", GetClientRequest{…})) as input,
// through its JSON form; other payloads leave the input as it is.
func structInput(payload any, in service.Input) service.Input {
	if payload == nil {
		return in
	}
	rv := reflect.ValueOf(payload)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return in
	}
	generic, err := jsonForm(payload)
	if m, ok := generic.(map[string]any); err == nil && ok {
		return m
	}
	return in
}

func (st *Stage) validate(c *service.Context, schema string) error {
	sw := st.Switches(c.Name)
	if !sw.ValidateSchema {
		return nil
	}
	if st.Schemas == nil {
		return fmt.Errorf("validating the request against %s: JSON Schemas are not available here", schema)
	}
	err := st.Schemas.Validate(schema, c.Request.Payload)
	var se *SchemaError
	if errors.As(err, &se) {
		c.Logger().Info("request does not validate against its JSON Schema", "schema", schema, "problems", se.Details)
		if sw.DetailedErrors {
			return service.NewError(http.StatusBadRequest, "%s", se.Error())
		}
		return service.NewError(http.StatusBadRequest, "%s", InvalidRequest)
	}
	return err
}

// Output filters a successful response's payload through the declared
// output, leaves out empty keys, and wraps it in response_elem. Payloads
// that are text or bytes, and responses with a status outside 2xx, are
// left as they are. A missing required element is an *OutputError, which
// answers 500 and names the element in the log.
func (st *Stage) Output(c *service.Context, io *IO) error {
	resp := c.Response
	if resp.StatusCode != 0 && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		return nil
	}
	switch resp.Payload.(type) {
	case nil, string, []byte, json.RawMessage:
		return nil
	}
	p := resp.Payload
	if io.Output != nil {
		var dropped []string
		out, err := io.Output.Encode(p, &dropped)
		if err != nil {
			return err
		}
		if len(dropped) > 0 {
			if log := c.Logger(); log.Enabled(c, slog.LevelDebug) {
				log.Debug("dropping undeclared output elements", "elements", dropped)
			}
		}
		p = out
	}
	if io.SkipEmpty || len(io.SkipEmptyKeys) > 0 {
		p = skipEmpty(p, io)
	}
	if io.ResponseElem != "" {
		p = map[string]any{io.ResponseElem: p}
	}
	resp.Payload = p
	return nil
}

func skipEmpty(p any, io *IO) any {
	switch x := p.(type) {
	case map[string]any:
		for k, v := range x {
			if (io.SkipEmpty || io.SkipEmptyKeys[k]) && IsEmpty(v) {
				delete(x, k)
			}
		}
	case service.Input:
		return skipEmpty(map[string]any(x), io)
	case []any:
		for _, item := range x {
			skipEmpty(item, io)
		}
	}
	return p
}
