package rest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/invoke"
	"github.com/plexushq/plexus/internal/logging"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/runtime"
	"github.com/plexushq/plexus/sdk/service"
)

// Handler serves the API listener: it matches each request to a channel
// and runs the channel's service. It is safe for concurrent use.
type Handler struct {
	Runtime  *runtime.Runtime
	Invoker  *invoke.Invoker
	Logger   *slog.Logger
	Settings *config.Settings
	// Access writes the access log when settings.log.access is on.
	Access *logging.Access
	// Guard is shared by the security stages (guard.go); nil believes no
	// proxy, slows nobody down and refuses session tokens.
	Guard *Guard
}

// exchange is one request being served, for the access log and metrics.
type exchange struct {
	cid     string
	start   time.Time
	route   *route
	service string
	status  int
	bytes   int
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := exchange{cid: cid.New(), start: time.Now()}
	w.Header()[reply.CIDHeader] = []string{x.cid}
	defer h.finish(r, &x)

	if r.URL.Path == HealthPath {
		x.status = http.StatusOK
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok"}`)
		return
	}
	st := h.Runtime.State()
	if r.URL.Path == LogInPath || r.URL.Path == LogOutPath {
		h.serveJWT(w, r, &x, st)
		return
	}
	tab := runtime.Assembled[*Table](st, Kind)
	if tab == nil {
		x.status = http.StatusNotFound
		reply.Envelope(w, x.status, x.cid, "URL not found")
		return
	}
	m := tab.routes.Match(r.Method, r.URL.EscapedPath())
	switch m.Status {
	case http.StatusBadRequest:
		x.status = m.Status
		reply.Envelope(w, x.status, x.cid, "Malformed URL path")
		return
	case http.StatusNotFound:
		x.status = m.Status
		reply.Envelope(w, x.status, x.cid, "URL not found")
		return
	case http.StatusMethodNotAllowed:
		x.status = m.Status
		w.Header().Set("Allow", m.Allow)
		reply.Envelope(w, x.status, x.cid, fmt.Sprintf("Method %s not allowed", r.Method))
		return
	}
	rt := m.Route.Value.(*route)
	x.route = rt
	x.service = rt.Service
	if !rt.IsActive {
		x.status = http.StatusNotFound
		reply.Envelope(w, x.status, x.cid, "URL not found")
		return
	}
	sec, ok := h.guard(w, r, &x, st, rt)
	if !ok {
		return
	}
	svc := st.Services.Get(rt.Service)
	if svc == nil {
		x.status = http.StatusServiceUnavailable
		h.Logger.Warn("channel's service is not deployed", "cid", x.cid, "channel", rt.Name, "service", rt.Service)
		reply.Envelope(w, x.status, x.cid, "Service unavailable")
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		x.status = reply.Error(w, x.cid, err, false)
		h.Logger.Info("request refused", "cid", x.cid, "channel", rt.Name, "status", x.status, "error", err.Error())
		return
	}
	c := h.Invoker.NewContext(r.Context(), x.cid, svc.Name, service.Channel{Name: rt.Name, Type: service.ChannelREST, DataFormat: rt.DataFormat, Security: sec})
	release, err := h.fillRequest(c.Request, r, rt, m.Params, body, svc.RawJSON)
	if err != nil {
		x.status = reply.Error(w, x.cid, err, false)
		c.Logger().Info("request refused", "channel", rt.Name, "status", x.status, "error", err.Error())
		return
	}
	defer release()
	if err := h.Invoker.Run(c, svc, r.Method); err != nil {
		if r.Context().Err() != nil {
			// The client closed its connection, which cancelled the
			// service: nobody is left to answer.
			x.status = reply.StatusClientClosed
			c.Logger().Info("client disconnected before the response", "channel", rt.Name, "status", x.status, "error", err.Error())
			return
		}
		reply.LogError(c.Logger(), err)
		for k, vs := range c.Response.Headers {
			w.Header()[k] = vs
		}
		x.status = reply.Error(w, x.cid, err, h.Settings.Development)
		return
	}
	status, n, err := reply.Response(w, c.Response, rt.ContentType, r.Header.Get("Accept-Encoding"))
	if err != nil && status == 0 {
		c.Logger().Error("writing response", "error", err.Error())
		x.status = reply.Error(w, x.cid, err, h.Settings.Development)
		return
	}
	x.status, x.bytes = status, n
}

func (h *Handler) finish(r *http.Request, x *exchange) {
	end := time.Now()
	elapsed := end.Sub(x.start)
	channel := ""
	if x.route != nil {
		channel = x.route.Name
		x.route.observe(x.status, elapsed)
	}
	if h.Settings.Log.Access {
		h.Access.Log(end,
			logging.String("cid", x.cid),
			logging.String("channel", channel),
			logging.String("service", x.service),
			logging.String("method", r.Method),
			logging.String("path", r.URL.Path),
			logging.Int("status", int64(x.status)),
			logging.Float("duration_ms", float64(elapsed.Microseconds())/1000),
			logging.Int("bytes", int64(x.bytes)),
			logging.String("remote", r.RemoteAddr),
		)
	}
}

// errTooLarge answers 413.
func errTooLarge(limit int64) error {
	return service.NewError(http.StatusRequestEntityTooLarge, "Request body is larger than %d bytes", limit)
}

// readBody reads the whole body, refusing one larger than the limit.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := int64(h.Settings.Limits.MaxBodySize)
	if r.ContentLength > limit {
		return nil, errTooLarge(limit)
	}
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	var buf []byte
	var err error
	if r.ContentLength > 0 {
		buf = make([]byte, r.ContentLength)
		_, err = io.ReadFull(body, buf)
	} else {
		buf, err = io.ReadAll(body)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, errTooLarge(limit)
	}
	if err != nil {
		return nil, service.BadRequest("Could not read the request body")
	}
	return buf, nil
}

// fillRequest sets the payload, input and HTTP details of a request. A
// JSON body is decoded within the limits and decode budget (a service that
// decodes its own gets it checked, as a jsonlimit.Raw); release gives its
// memory back once the request is answered.
func (h *Handler) fillRequest(req *service.Request, r *http.Request, rt *route, params []string, body []byte, rawJSON bool) (release func(), err error) {
	req.RawRequest = body
	req.HTTP = service.HTTP{
		Method:  r.Method,
		Path:    r.URL.Path,
		Headers: r.Header,
	}
	if r.URL.RawQuery != "" {
		req.HTTP.GET = r.URL.Query()
	}
	req.HTTP.SetBody(body)
	if len(params) > 0 {
		req.HTTP.Params = make(map[string]string, len(params))
		for i, name := range rt.params {
			req.HTTP.Params[name] = params[i]
		}
	}
	// As in Zato, POST holds form fields only where the channel treats the
	// body as a form: a form channel, or a raw one receiving a form.
	isForm := rt.DataFormat != "json" && service.IsForm(r.Header.Get("Content-Type"))
	if isForm && len(body) > 0 {
		form, err := req.HTTP.GetFormData()
		if err != nil {
			return nil, service.BadRequest("Malformed form: %v", err)
		}
		req.HTTP.POST = form.Values
	}
	release = func() {}
	var members map[string]any
	switch {
	case len(body) == 0:
		req.Payload = ""
	case rt.DataFormat == "json" && rawJSON:
		if req.Payload, members, release, err = h.Invoker.JSON.Raw(r.Context(), body); err != nil {
			return nil, err
		}
	case rt.DataFormat == "json":
		if req.Payload, release, err = h.Invoker.JSON.Decode(r.Context(), body); err != nil {
			return nil, err
		}
		members, _ = req.Payload.(map[string]any)
	case rt.DataFormat == "form" && isForm:
		members = valuesToMap(req.HTTP.POST)
		req.Payload = members
	default:
		req.Payload = string(body)
	}
	req.Input = input(req, rt, members)
	return release, nil
}

// input merges the payload's members with the URL parameters, which win
// over body keys of the same name.
func input(req *service.Request, rt *route, m map[string]any) service.Input {
	urlParams := rt.MergeURLParamsReq && (len(req.HTTP.Params) > 0 || len(req.HTTP.GET) > 0)
	if !urlParams {
		if m == nil {
			return service.Input{}
		}
		return service.Input(m)
	}
	in := make(service.Input, len(m)+len(req.HTTP.Params)+len(req.HTTP.GET))
	for k, v := range m {
		in[k] = v
	}
	setPath := func() {
		for k, v := range req.HTTP.Params {
			in[k] = v
		}
	}
	setQuery := func() {
		for k, vs := range req.HTTP.GET {
			in[k] = oneOrMany(vs)
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

func oneOrMany(vs []string) any {
	if len(vs) == 1 {
		return vs[0]
	}
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

func valuesToMap(v url.Values) map[string]any {
	m := make(map[string]any, len(v))
	for k, vs := range v {
		m[k] = oneOrMany(vs)
	}
	return m
}
