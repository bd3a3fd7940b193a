package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/runtime"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/sdk/service"
)

// Resolve returns the outgoing REST connection with a name in a state, as
// a service.RESTCaller carrying the credentials its security definition
// has in that same state. It is the invoke.Resolver of kind outgoing_rest.
// A missing connection is a configuration error (500, with the name in the
// log); an inactive connection or definition is a 503 naming it.
func Resolve(st *runtime.State, name string) (any, error) {
	return resolve(st, name)
}

func resolve(st *runtime.State, name string) (*caller, error) {
	v, ok := st.Running(Kind, name)
	if !ok {
		msg := fmt.Sprintf("no outgoing REST connection named %q", name)
		if s := registry.Suggest(name, st.Names(Kind)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, errors.New(msg)
	}
	c := v.(*Conn)
	if !c.cfg.IsActive {
		return nil, service.ServiceUnavailable("Outgoing REST connection %q is inactive", name)
	}
	if c.cfg.Security == "" {
		return c.bare, nil
	}
	sv, ok := st.Running(security.Kind, c.cfg.Security)
	if !ok {
		return nil, fmt.Errorf("outgoing REST connection %q: no security definition named %q", name, c.cfg.Security)
	}
	creds := sv.(*security.Credentials)
	if !creds.Active() {
		return nil, service.ServiceUnavailable("Security definition %q of outgoing REST connection %q is inactive", creds.Name(), name)
	}
	return &caller{conn: c, creds: creds}, nil
}

// PingResult is the answer of a ping through the admin API.
type PingResult struct {
	Name   string  `json:"name"`
	CID    string  `json:"cid"`
	Method string  `json:"method"`
	URL    string  `json:"url"`
	OK     bool    `json:"ok"`
	Status int     `json:"status"`
	TimeMS float64 `json:"time_ms"`
	Error  string  `json:"error"`
}

// Ping pings a connection of a state: the connection's
// ping_method on host + ping_path, with its credentials. The result says
// whether an answer below 400 arrived, its status and the time taken; it
// is an error only when there is no such connection.
func Ping(ctx context.Context, st *runtime.State, name, id string) (*PingResult, error) {
	v, ok := st.Running(Kind, name)
	if !ok {
		return nil, fmt.Errorf("no outgoing REST connection named %q", name)
	}
	c := v.(*Conn)
	res := &PingResult{Name: name, CID: id, Method: c.cfg.PingMethod, URL: c.base + c.cfg.PingPath}
	cl, err := resolve(st, name)
	if err != nil {
		res.Error = message(err)
		return res, nil
	}
	start := time.Now()
	resp, err := cl.PingREST(ctx, id)
	res.TimeMS = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		res.Error = message(err)
		return res, nil
	}
	res.Status, res.OK = resp.StatusCode, resp.OK()
	if !res.OK {
		res.Error = fmt.Sprintf("the remote API answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return res, nil
}

// message returns the text of an error for an administrator: the message
// of a *service.Error without its cause, else the whole text.
func message(err error) string {
	var se *service.Error
	if errors.As(err, &se) {
		return se.Message
	}
	return err.Error()
}

// PingHandler serves POST /admin/api/v1/outgoing_rest/{name}/ping: it
// answers 200 with a PingResult, or 404 when there is no such connection.
func PingHandler(rt *runtime.Runtime) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := cid.New()
		w.Header().Set(reply.CIDHeader, id)
		res, err := Ping(r.Context(), rt.State(), r.PathValue("name"), id)
		if err != nil {
			reply.Envelope(w, http.StatusNotFound, id, fmt.Sprintf("No outgoing REST connection named %q", r.PathValue("name")))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(res)
	}
}
