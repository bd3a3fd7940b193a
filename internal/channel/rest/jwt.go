package rest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/ratelimit"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/sdk/service"
)

// Built-in paths of the API listener for the sessions of jwt security
// definitions (Zato's /zato/jwt/log-in and /zato/jwt/log-out).
const (
	LogInPath  = "/plexus/jwt/log-in"
	LogOutPath = "/plexus/jwt/log-out"
)

// maxLogInBody bounds a log-in request.
const maxLogInBody = 64 << 10

// serveJWT answers the log-in and log-out paths.
func (h *Handler) serveJWT(x *exchange, st *live.State) {
	p := h.Pipeline
	if x.R.Method != http.MethodPost {
		p.Fail(&x.Exchange, service.NewError(http.StatusMethodNotAllowed, "Method %s not allowed", x.R.Method).WithHeader("Allow", http.MethodPost))
		return
	}
	if x.R.URL.Path == LogInPath {
		x.Service = "plexus.security.jwt.log-in"
		h.logIn(x, st)
		return
	}
	x.Service = "plexus.security.jwt.log-out"
	h.logOut(x)
}

// logIn exchanges a jwt definition's username and password, as JSON
// {"username", "password"} or a form, for a session token, answered as
// {"token", "expires"} and in the Authorization header. Every failure is
// the same 401; failures count towards the address's lock-out.
func (h *Handler) logIn(x *exchange, st *live.State) {
	p, r := h.Pipeline, x.R
	g := p.Guard
	if g.Sessions == nil {
		p.Fail(&x.Exchange, notFound())
		return
	}
	now := time.Now()
	addr := ratelimit.ClientAddr(r, g.Trusted)
	if locked, left := g.Failures.Locked(addr, now); locked {
		p.Refuse(&x.Exchange, dispatch.Refusal(http.StatusTooManyRequests, dispatch.DetailsTooMany, dispatch.ErrLockedOut).
			WithHeader("Retry-After", ratelimit.RetryAfter(left)))
		return
	}
	user, password, ok := logInCredentials(r)
	if !ok {
		p.Fail(&x.Exchange, service.BadRequest(`Expected {"username": …, "password": …}`))
		return
	}
	token, expires, ok, err := security.LogIn(r.Context(), st, g.Sessions, user, password)
	if err != nil {
		p.Logger.Error("creating session", "cid", x.CID, "error", err.Error())
		p.Fail(&x.Exchange, err)
		return
	}
	if !ok {
		ratelimit.Wait(r.Context(), g.Failures.Fail(addr, now))
		p.Refuse(&x.Exchange, dispatch.Refusal(http.StatusUnauthorized, dispatch.DetailsUnauthorized, errLogInFailed).WithHeader("WWW-Authenticate", "Bearer"))
		return
	}
	p.Logger.Info("session created", "cid", x.CID, "username", user, "expires", expires.UTC().Format(time.RFC3339))
	hd := x.W.Header()
	hd.Set("Authorization", "Bearer "+token)
	hd.Set("Cache-Control", "no-store")
	body, _ := json.Marshal(map[string]any{"token": token, "expires": expires.UTC().Format(time.RFC3339)})
	p.Answer(&x.Exchange, http.StatusOK, "application/json", body)
}

// Why the session paths refuse requests: logged, never shown.
var (
	errLogInFailed = errors.New("log-in failed")
	errLogOutToken = errors.New("log-out with an invalid token")
)

// logInCredentials reads the username and password of a log-in, from a
// JSON object or a form. A body that is a JSON object is read as JSON
// whatever its content type says, as JSON channels do, so curl -d with a
// JSON body (sent as a form) works.
func logInCredentials(r *http.Request) (user, password string, ok bool) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxLogInBody))
	if err != nil {
		return "", "", false
	}
	isJSON := strings.HasPrefix(strings.TrimLeft(string(data), " \t\r\n"), "{")
	if !isJSON && service.IsForm(r.Header.Get("Content-Type")) {
		v, err := url.ParseQuery(string(data))
		if err != nil {
			return "", "", false
		}
		return v.Get("username"), v.Get("password"), v.Get("username") != ""
	}
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if json.Unmarshal(data, &in) != nil || in.Username == "" {
		return "", "", false
	}
	return in.Username, in.Password, true
}

// logOut revokes the session of the Authorization: Bearer token: 200
// {"result": "OK"} for a token of this server (revoked now or before), 400
// without a token and 401 for anything else.
func (h *Handler) logOut(x *exchange) {
	p := h.Pipeline
	g := p.Guard
	token := x.Presented().Token
	if token == "" {
		p.Fail(&x.Exchange, service.BadRequest("No JWT found"))
		return
	}
	if g.Sessions == nil {
		p.Fail(&x.Exchange, service.Unauthorized(dispatch.DetailsUnauthorized))
		return
	}
	_, err := g.Sessions.Revoke(x.R.Context(), token)
	if err != nil && !errors.Is(err, security.ErrBadToken) {
		p.Logger.Error("revoking session", "cid", x.CID, "error", err.Error())
		p.Fail(&x.Exchange, err)
		return
	}
	if err != nil {
		p.Refuse(&x.Exchange, dispatch.Refusal(http.StatusUnauthorized, dispatch.DetailsUnauthorized, errLogOutToken).WithHeader("WWW-Authenticate", "Bearer"))
		return
	}
	p.Logger.Info("session revoked", "cid", x.CID)
	p.Answer(&x.Exchange, http.StatusOK, "application/json", []byte(`{"result":"OK"}`))
}
