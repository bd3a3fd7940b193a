package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/sdk/service"
)

// resolveCaller is the resolver of kind outgoing_rest: the connection
// with a name in a state, as a service.RESTCaller carrying the
// credentials its security definition has in that same state. A missing
// connection is a configuration error (500, with the name in the log); an
// inactive connection or definition is a 503 naming it.
func resolveCaller(st registry.State, name string) (any, error) {
	return resolve(st, name)
}

func resolve(st registry.State, name string) (*caller, error) {
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

// ping is the action that pings a connection.
var ping = registry.Action{
	Name: "ping",
	Doc: "Sends the connection's ping_method to host + ping_path, with its credentials, and answers whether an answer below 400 arrived, its status and the time taken: " +
		`{"name", "cid", "target", "ok", "status", "time_ms", "error", "method", "url"}; the request carries the cid in X-Plexus-CID.`,
	Aliases: []string{"/" + Kind + "/{name}/ping"},
	Run: func(ctx context.Context, call *registry.Call) (any, error) {
		return Ping(ctx, call.State, call.Name, call.CID)
	},
}

// PingResult is the answer of a ping: the generic answer of a ping with
// the method and URL requested.
type PingResult struct {
	registry.PingResult
	Method string `json:"method"`
	URL    string `json:"url"`
}

// Ping pings a connection of a state: the connection's ping_method on
// host + ping_path, with its credentials. The result says whether an
// answer below 400 arrived, its status and the time taken; it is an error
// only when there is no such connection.
func Ping(ctx context.Context, st registry.State, name, id string) (*PingResult, error) {
	v, ok := st.Running(Kind, name)
	if !ok {
		return nil, fmt.Errorf("no outgoing REST connection named %q", name)
	}
	c := v.(*Conn)
	res := &PingResult{PingResult: registry.PingResult{Name: name, CID: id}, Method: c.cfg.PingMethod, URL: c.base + c.cfg.PingPath}
	res.Target = res.Method + " " + res.URL
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
