package rest

import (
	"net/http"
	"sync"

	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/sdk/service"
)

// Handler serves the API listener: it matches each request to a channel
// and hands it to the pipeline, which runs the channel's service. What is
// HTTP's own stays here: routing (404, 405 with Allow), the body, path
// and query parameters, headers and forms of self.request.http, and the
// JWT log-in and log-out paths. It is safe for concurrent use.
type Handler struct {
	Pipeline *dispatch.Pipeline
}

// exchange is one HTTP request going through the pipeline.
type exchange struct {
	dispatch.Exchange
	Transport
	route  *route
	params []string
}

var exchanges = sync.Pool{New: func() any { return new(exchange) }}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := exchanges.Get().(*exchange)
	defer func() {
		*x = exchange{}
		exchanges.Put(x)
	}()
	x.Transport = Transport{W: w, R: r}
	x.Open(&x.Exchange, Kind, x)
	p := h.Pipeline

	if r.URL.Path == HealthPath {
		p.Answer(&x.Exchange, http.StatusOK, "application/json", []byte(`{"status":"ok"}`))
		return
	}
	st := p.Runtime.State()
	if r.URL.Path == LogInPath || r.URL.Path == LogOutPath {
		h.serveJWT(x, st)
		return
	}
	tab := live.Assembled[*Table](st, Kind)
	if tab == nil {
		p.Fail(&x.Exchange, notFound())
		return
	}
	m := tab.routes.Match(r.Method, r.URL.EscapedPath())
	switch m.Status {
	case http.StatusBadRequest:
		p.Fail(&x.Exchange, service.BadRequest("Malformed URL path"))
		return
	case http.StatusNotFound:
		p.Fail(&x.Exchange, notFound())
		return
	case http.StatusMethodNotAllowed:
		p.Fail(&x.Exchange, service.NewError(http.StatusMethodNotAllowed, "Method %s not allowed", r.Method).WithHeader("Allow", m.Allow))
		return
	}
	rt := m.Route.Value.(*route)
	x.Channel = &rt.ch
	if !rt.IsActive {
		p.Fail(&x.Exchange, notFound())
		return
	}
	x.route, x.params = rt, m.Params
	if rt.Security != "" || len(rt.Groups) > 0 {
		x.Credentials = x.Presented()
	}
	p.Serve(&x.Exchange)
}

// Fill sets the HTTP details of the service's request (method, path,
// headers, path and query parameters, form fields) and merges the URL
// parameters into its input.
func (x *exchange) Fill(dx *dispatch.Exchange, req *service.Request) error {
	r, rt := x.R, x.route
	req.HTTP = service.HTTP{
		Method:  r.Method,
		Path:    r.URL.Path,
		Headers: r.Header,
		POST:    dx.Form,
	}
	if r.URL.RawQuery != "" {
		req.HTTP.GET = r.URL.Query()
	}
	req.HTTP.SetBody(req.RawRequest)
	if len(x.params) > 0 {
		req.HTTP.Params = make(map[string]string, len(x.params))
		for i, name := range rt.params {
			req.HTTP.Params[name] = x.params[i]
		}
	}
	req.Input = input(req, rt)
	return nil
}

// input merges the payload's members (the input so far) with the URL
// parameters, which win over body keys of the same name.
func input(req *service.Request, rt *route) service.Input {
	urlParams := rt.MergeURLParamsReq && (len(req.HTTP.Params) > 0 || len(req.HTTP.GET) > 0)
	if !urlParams {
		return req.Input
	}
	in := make(service.Input, len(req.Input)+len(req.HTTP.Params)+len(req.HTTP.GET))
	for k, v := range req.Input {
		in[k] = v
	}
	setPath := func() {
		for k, v := range req.HTTP.Params {
			in[k] = v
		}
	}
	setQuery := func() {
		for k, vs := range req.HTTP.GET {
			in[k] = dispatch.OneOrMany(vs)
		}
	}
	if rt.URLParamsPri == "path-over-qs" {
		setQuery()
		setPath()
	} else {
		setPath()
		setQuery()
	}
	return in
}

// notFound answers a path no channel serves.
func notFound() error { return service.NotFound("URL not found") }
