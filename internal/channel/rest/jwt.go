package rest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/ratelimit"
	"github.com/plexushq/plexus/internal/reply"
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
func (h *Handler) serveJWT(w http.ResponseWriter, r *http.Request, x *exchange, st *live.State) {
	if r.Method != http.MethodPost {
		x.status = http.StatusMethodNotAllowed
		w.Header().Set("Allow", http.MethodPost)
		reply.Envelope(w, x.status, x.cid, "Method "+r.Method+" not allowed")
		return
	}
	x.service = "plexus.security.jwt.log-out"
	if r.URL.Path == LogInPath {
		x.service = "plexus.security.jwt.log-in"
		h.logIn(w, r, x, st)
		return
	}
	h.logOut(w, r, x)
}

// logIn exchanges a jwt definition's username and password, as JSON
// {"username", "password"} or a form, for a session token, answered as
// {"token", "expires"} and in the Authorization header. Every failure is
// the same 401; failures count towards the address's lock-out.
func (h *Handler) logIn(w http.ResponseWriter, r *http.Request, x *exchange, st *live.State) {
	g := h.Guard
	if g == nil || g.Sessions == nil {
		x.status = http.StatusNotFound
		reply.Envelope(w, x.status, x.cid, "URL not found")
		return
	}
	now := time.Now()
	addr := ratelimit.ClientAddr(r, g.Trusted)
	if locked, left := g.Failures.Locked(addr, now); locked {
		w.Header().Set("Retry-After", ratelimit.RetryAfter(left))
		h.refuse(w, x, nil, http.StatusTooManyRequests, detailsTooMany, "address locked out after failed authentications", addr)
		return
	}
	user, password, ok := logInCredentials(r)
	if !ok {
		x.status = http.StatusBadRequest
		reply.Envelope(w, x.status, x.cid, `Expected {"username": …, "password": …}`)
		return
	}
	token, expires, ok, err := security.LogIn(r.Context(), st, g.Sessions, user, password)
	if err != nil {
		h.Logger.Error("creating session", "cid", x.cid, "error", err.Error())
		x.status = reply.Error(w, x.cid, err, false)
		return
	}
	if !ok {
		ratelimit.Wait(r.Context(), g.Failures.Fail(addr, now))
		w.Header().Set("WWW-Authenticate", "Bearer")
		h.refuse(w, x, nil, http.StatusUnauthorized, detailsUnauthorized, "log-in failed", addr)
		return
	}
	h.Logger.Info("session created", "cid", x.cid, "username", user, "expires", expires.UTC().Format(time.RFC3339))
	w.Header().Set("Authorization", "Bearer "+token)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	x.status = http.StatusOK
	body, _ := json.Marshal(map[string]any{"token": token, "expires": expires.UTC().Format(time.RFC3339)})
	x.bytes, _ = w.Write(body)
}

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
func (h *Handler) logOut(w http.ResponseWriter, r *http.Request, x *exchange) {
	g := h.Guard
	auth := r.Header.Get("Authorization")
	token := ""
	if len(auth) > 7 && strings.EqualFold(auth[:7], "Bearer ") {
		token = strings.TrimSpace(auth[7:])
	}
	if token == "" {
		x.status = http.StatusBadRequest
		reply.Envelope(w, x.status, x.cid, "No JWT found")
		return
	}
	if g == nil || g.Sessions == nil {
		x.status = http.StatusUnauthorized
		reply.Envelope(w, x.status, x.cid, detailsUnauthorized)
		return
	}
	_, err := g.Sessions.Revoke(r.Context(), token)
	if err != nil && !errors.Is(err, security.ErrBadToken) {
		h.Logger.Error("revoking session", "cid", x.cid, "error", err.Error())
		x.status = reply.Error(w, x.cid, err, false)
		return
	}
	if err != nil {
		addr := ratelimit.ClientAddr(r, g.Trusted)
		w.Header().Set("WWW-Authenticate", "Bearer")
		h.refuse(w, x, nil, http.StatusUnauthorized, detailsUnauthorized, "log-out with an invalid token", addr)
		return
	}
	h.Logger.Info("session revoked", "cid", x.cid)
	w.Header().Set("Content-Type", "application/json")
	x.status = http.StatusOK
	x.bytes, _ = w.Write([]byte(`{"result":"OK"}`))
}
