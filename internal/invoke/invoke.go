// Package invoke runs services: it builds their contexts, recovers their
// panics, and implements what a service can ask of the platform (Invoke,
// InvokeAsync, its logger, named resources). The request pipeline
// (package dispatch) runs every channel's services through an Invoker, so
// Go and Starlark services, HTTP and non-HTTP channels all behave the
// same.
package invoke

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/jsonlimit"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/sio"
	"github.com/plexushq/plexus/sdk/service"
)

// MaxDepth is how deep Invoke and InvokeAsync calls may nest: a service
// invoked in the background counts as one level below its caller, so a
// service that keeps invoking itself stops here.
const MaxDepth = 32

// Invoker runs services. It is safe for concurrent use.
type Invoker struct {
	// IO is the typed I/O stage every invocation goes through: input
	// validation and conversion before the handler, output filtering after.
	IO *sio.Stage
	// JSON decodes the JSON bodies channels receive, within the server's
	// limits and decode budget.
	JSON *jsonlimit.Decoder

	// MaxAsync is the most background invocations (InvokeAsync) running
	// at once, server-wide; past it InvokeAsync returns an error. New sets
	// it to the default of limits.max_async_invocations; set it before
	// serving.
	MaxAsync int

	rt   *live.Runtime
	log  *slog.Logger
	base context.Context

	// async counts the background invocations running, with asyncClosed
	// set once they are refused; the last one to end after that closes
	// idle.
	async    atomic.Int64
	idle     chan struct{}
	idleOnce sync.Once
}

// asyncClosed is the bit of Invoker.async that refuses background
// invocations.
const asyncClosed = 1 << 62

// New returns an invoker. base bounds background invocations: Shutdown
// waits for them, then cancel base to stop those still running.
func New(base context.Context, rt *live.Runtime, log *slog.Logger) *Invoker {
	return &Invoker{IO: sio.NewStage(nil), JSON: &jsonlimit.Decoder{}, MaxAsync: config.Default().Limits.MaxAsyncInvocations,
		rt: rt, log: log, base: base, idle: make(chan struct{})}
}

// Close refuses background invocations from now on; those running go on.
func (iv *Invoker) Close() {
	if iv.async.Or(asyncClosed) == 0 {
		iv.idleOnce.Do(func() { close(iv.idle) })
	}
}

// Running returns the number of background invocations running.
func (iv *Invoker) Running() int { return int(iv.async.Load() &^ asyncClosed) }

// Shutdown refuses background invocations from now on and waits for those
// running until they end or ctx is done, whichever comes first. It returns
// an error saying how many were still running when ctx ended; cancel the
// invoker's base context to stop them.
func (iv *Invoker) Shutdown(ctx context.Context) error {
	iv.Close()
	select {
	case <-iv.idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for background invocations: %d still running: %w", iv.Running(), ctx.Err())
	}
}

// NewContext returns a context for one invocation of a service.
func (iv *Invoker) NewContext(parent context.Context, id, name string, ch service.Channel) *service.Context {
	c := service.NewContext(parent, iv)
	c.CID, c.Name, c.Channel = id, name, ch
	return c
}

// Run runs a service's handler for a verb, turning a panic into an error
// that answers 500 and keeps its stack for the log. A service that
// declares typed I/O has its input converted before the handler and its
// output filtered after it, whatever the channel.
func (iv *Invoker) Run(c *service.Context, svc *catalog.Service, verb string) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &reply.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	if svc.IO == nil {
		return svc.Run(c, verb)
	}
	if err := iv.IO.Input(c, svc.IO); err != nil {
		return err
	}
	if err := svc.Run(c, verb); err != nil {
		return err
	}
	return iv.IO.Output(c, svc.IO)
}

// Logger implements service.Platform.
func (iv *Invoker) Logger(c *service.Context) *slog.Logger {
	return iv.log.With("cid", c.CID, "service", c.Name)
}

// Resource implements service.Platform: the resolver a kind declares
// (registry.Resolver) gives the resource from the current state.
func (iv *Invoker) Resource(c *service.Context, kind, name string) (any, error) {
	r := registry.Resolver(kind)
	if r == nil {
		return nil, fmt.Errorf("no resources of kind %q are available", kind)
	}
	return r(iv.rt.State(), name)
}

// Invoke implements service.Platform: it runs a service synchronously on
// behalf of another and returns its response payload.
func (iv *Invoker) Invoke(c *service.Context, name string, payload any, opts service.InvokeOptions) (any, error) {
	if name == c.Name {
		return nil, fmt.Errorf("service %s cannot invoke itself", name)
	}
	if c.Depth >= MaxDepth {
		return nil, fmt.Errorf("invoking %s: services invoke each other more than %d levels deep", name, MaxDepth)
	}
	svc := iv.rt.State().Services.Get(name)
	if svc == nil {
		return nil, fmt.Errorf("invoking %s: no such service is deployed", name)
	}
	id := opts.CID
	if id == "" {
		id = c.CID
	}
	child := iv.NewContext(c, id, name, service.Channel{Type: service.ChannelInvoke})
	child.Depth = c.Depth + 1
	SetPayload(child.Request, payload)
	if err := iv.Run(child, svc, opts.Verb); err != nil {
		return nil, err
	}
	return child.Response.Payload, nil
}

// InvokeAsync implements service.Platform: it starts the service in the
// background under a new CID and returns the CID at once. The callee runs
// one level deeper than its caller, so it counts towards MaxDepth. It is
// refused with a 503 error while MaxAsync background invocations are
// running and once the server is shutting down.
func (iv *Invoker) InvokeAsync(c *service.Context, name string, payload any, opts service.InvokeOptions) (string, error) {
	if c.Depth >= MaxDepth {
		return "", fmt.Errorf("invoking %s in the background: services invoke each other more than %d levels deep", name, MaxDepth)
	}
	svc := iv.rt.State().Services.Get(name)
	if svc == nil {
		return "", fmt.Errorf("invoking %s: no such service is deployed", name)
	}
	if err := iv.startAsync(name); err != nil {
		return "", err
	}
	id := opts.CID
	if id == "" {
		id = cid.New()
	}
	child := iv.NewContext(iv.base, id, name, service.Channel{Type: service.ChannelInvokeAsync})
	child.Depth = c.Depth + 1
	SetPayload(child.Request, payload)
	go func() {
		defer iv.endAsync()
		if err := iv.Run(child, svc, opts.Verb); err != nil {
			reply.LogError(child.Logger(), err)
		}
	}()
	return id, nil
}

// startAsync counts a background invocation in, or says why it may not
// start.
func (iv *Invoker) startAsync(name string) error {
	for {
		n := iv.async.Load()
		switch {
		case n&asyncClosed != 0:
			return &service.Error{Status: http.StatusServiceUnavailable, Message: "The server is shutting down",
				Cause: fmt.Errorf("invoking %s in the background: the server is shutting down", name)}
		case n >= int64(iv.MaxAsync):
			return &service.Error{Status: http.StatusServiceUnavailable, Message: "Too much background work is running; try again later",
				Cause: fmt.Errorf("invoking %s in the background: %d background invocations are running, the most limits.max_async_invocations allows", name, iv.MaxAsync)}
		}
		if iv.async.CompareAndSwap(n, n+1) {
			return nil
		}
	}
}

// endAsync counts a background invocation out.
func (iv *Invoker) endAsync() {
	if iv.async.Add(-1) == asyncClosed {
		iv.idleOnce.Do(func() { close(iv.idle) })
	}
}

// SetPayload fills a request from a payload given in code: the payload
// itself, its bytes, and its input when it is a map.
func SetPayload(req *service.Request, payload any) {
	req.Payload = payload
	switch p := payload.(type) {
	case nil:
		req.Payload = ""
	case string:
		req.RawRequest = []byte(p)
	case []byte:
		req.RawRequest = p
		req.Payload = string(p)
	default:
		req.RawRequest, _ = json.Marshal(p)
	}
	req.Input = service.Input{}
	if m, ok := payload.(map[string]any); ok {
		for k, v := range m {
			req.Input[k] = v
		}
	}
}

// DecodeJSON parses one JSON value within the default limits, keeping
// numbers exact as json.Number, and refuses trailing data.
func DecodeJSON(body []byte) (any, error) {
	return jsonlimit.Decode(body, jsonlimit.Limits{})
}
