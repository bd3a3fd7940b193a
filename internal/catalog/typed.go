package catalog

import (
	"reflect"

	"github.com/plexushq/plexus/internal/sio"
	"github.com/plexushq/plexus/sdk/service"
)

// typedHandler runs a typed Handle(*service.Context, Req) (Resp, error)
// method: the Stage has already converted the input, which is assigned
// to a new Req; the Resp returned becomes the response payload.
func typedHandler(fn reflect.Value, req reflect.Type, in *sio.Model) HandlerFunc {
	ptr := req.Kind() == reflect.Pointer
	return func(c *service.Context) error {
		rv, err := in.Assign(c.Request.Input)
		if err != nil {
			return service.BadRequest("%s", err.Error())
		}
		if ptr {
			rv = rv.Addr()
		}
		out := fn.Call([]reflect.Value{reflect.ValueOf(c), rv})
		if e := out[1].Interface(); e != nil {
			return e.(error)
		}
		c.Response.Payload = out[0].Interface()
		return nil
	}
}
