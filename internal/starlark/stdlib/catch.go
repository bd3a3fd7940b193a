package stdlib

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/sdk/service"
)

// catch calls fn(*args, **kwargs) and returns what happened as a result
// instead of stopping the service: Starlark's try/except. Errors that
// stop the invocation — its step and memory limits, its cancellation —
// are not caught.
func catch(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("catch: want a function to call, as in catch(fn, arg1, arg2, key=value)")
	}
	fn, ok := args[0].(sl.Callable)
	if !ok {
		return nil, fmt.Errorf("catch: got %s, want a function; write catch(fn, x), not catch(fn(x))", args[0].Type())
	}
	v, err := sl.Call(thread, fn, args[1:], kwargs)
	if err == nil {
		return &Result{ok: true, value: v}, nil
	}
	if IsLimit(err) {
		return nil, err
	}
	return failed(err), nil
}

// failed describes an error caught by catch.
func failed(err error) *Result {
	r := &Result{value: sl.None, err: err, status: http.StatusInternalServerError}
	var se *service.Error
	if errors.As(err, &se) {
		r.status, r.msg = se.Status, se.Message
	} else {
		r.msg = err.Error()
		var ee *sl.EvalError
		if errors.As(err, &ee) {
			r.msg = ee.Msg
		}
		r.msg = strings.TrimPrefix(r.msg, "fail: ")
	}
	var ee *sl.EvalError
	if errors.As(err, &ee) {
		r.trace = ee.Backtrace()
	} else {
		r.trace = err.Error()
	}
	return r
}

// Result is what catch returns: ok and the value the function returned,
// or the error it failed with, its message and its HTTP status.
type Result struct {
	ok     bool
	value  sl.Value
	err    error
	msg    string
	status int
	trace  string
}

var _ sl.HasAttrs = (*Result)(nil)

func (r *Result) String() string {
	if r.ok {
		return fmt.Sprintf("<result ok value=%s>", r.value)
	}
	return fmt.Sprintf("<result error status=%d %q>", r.status, r.msg)
}
func (r *Result) Type() string          { return "result" }
func (r *Result) Freeze()               { r.value.Freeze() }
func (r *Result) Truth() sl.Bool        { return sl.Bool(r.ok) }
func (r *Result) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: result") }
func (r *Result) AttrNames() []string {
	return []string{"error", "ok", "reraise", "status", "traceback", "value"}
}

func (r *Result) Attr(name string) (sl.Value, error) {
	switch name {
	case "ok":
		return sl.Bool(r.ok), nil
	case "value":
		return r.value, nil
	case "error":
		if r.ok {
			return sl.None, nil
		}
		return sl.String(r.msg), nil
	case "status":
		if r.ok {
			return sl.None, nil
		}
		return sl.MakeInt(r.status), nil
	case "traceback":
		if r.ok {
			return sl.None, nil
		}
		return sl.String(r.trace), nil
	case "reraise":
		return sl.NewBuiltin("reraise", func(*sl.Thread, *sl.Builtin, sl.Tuple, []sl.Tuple) (sl.Value, error) {
			if r.ok {
				return sl.None, nil
			}
			var se *service.Error
			if errors.As(r.err, &se) {
				return nil, se
			}
			return nil, errors.New(r.msg)
		}), nil
	}
	return nil, nil
}
