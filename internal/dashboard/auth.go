package dashboard

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/ratelimit"
)

// maxForm bounds the body of a Dashboard form, uploads included.
const maxForm = 64 << 20

// loginData is the body of the login page.
type loginData struct {
	Next    string
	Problem string
	// TOTP asks for the code of the second factor, the password being
	// right.
	TOTP bool
}

// loginPage shows the login form, with a fresh CSRF token in a cookie
// that the form must echo.
func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	d.showLogin(w, r, http.StatusOK, "", false)
}

func (d *Dashboard) showLogin(w http.ResponseWriter, r *http.Request, status int, problem string, totp bool) {
	// A login form open in another tab stays valid: the token is kept
	// while its cookie lives.
	csrf := token()
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) == len(csrf) {
		csrf = c.Value
	}
	setCookie(w, r, loginCookie, csrf, 10*time.Minute)
	p := d.page(r, nil, "Log in", loginData{Next: safeNext(r.FormValue("next")), Problem: problem, TOTP: totp})
	p.CSRF = csrf
	d.render(w, r, status, "login", p)
}

// safeNext returns a local path to go to after logging in, or "/".
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

// login checks the admin password (and the TOTP code, when enrolled)
// with the admin API's check and lock-out, and starts a session.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue(CSRFField))) != 1 {
		d.showLogin(w, r, http.StatusForbidden, "The form had expired; log in again.", false)
		return
	}
	ok, refused, wait := d.API.Login(r, r.PostFormValue("password"))
	if refused {
		w.Header().Set("Retry-After", ratelimit.RetryAfter(wait))
		d.Logger.Warn("Dashboard login refused", "client", r.RemoteAddr, "reason", "address locked out or too many password checks at once")
		d.showLogin(w, r, http.StatusTooManyRequests, "Too many failed logins from this address: try again in "+ratelimit.RetryAfter(wait)+" s.", false)
		return
	}
	if !ok {
		ratelimit.Wait(r.Context(), wait)
		d.Logger.Warn("Dashboard login failed", "client", r.RemoteAddr)
		d.showLogin(w, r, http.StatusUnauthorized, "Wrong password.", false)
		return
	}
	_, enrolled, err := d.totpSecret(r)
	if err != nil {
		d.Logger.Error("reading the admin's TOTP secret; the second factor is asked for anyway", "error", err.Error())
		enrolled = true
	}
	if enrolled {
		// The password is right: a pending session opens only the step
		// that asks for the code.
		id, s := d.sessions.start(true)
		setCookie(w, r, SessionCookie, id, pendingFor)
		setCookie(w, r, loginCookie, "", -1)
		d.showTOTP(w, r, s, http.StatusOK, "")
		return
	}
	id, _ := d.sessions.start(false)
	setCookie(w, r, SessionCookie, id, 0)
	setCookie(w, r, loginCookie, "", -1)
	d.Logger.Info("Dashboard login", "client", r.RemoteAddr)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// logout ends the session.
func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		d.sessions.end(c.Value)
	}
	setCookie(w, r, SessionCookie, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// require admits requests of a live session; others are sent to the
// login page (htmx requests are told to go there). A state-changing
// request must carry the session's CSRF token: without it, 403.
func (d *Dashboard) require(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s *session
		if c, err := r.Cookie(SessionCookie); err == nil {
			s, _ = d.sessions.get(c.Value)
		}
		if s == nil || s.pending {
			to := "/login?next=" + url.QueryEscape(r.URL.RequestURI())
			if r.Method != http.MethodGet {
				to = "/login"
			}
			if r.Header.Get("HX-Request") == "true" {
				w.Header().Set("HX-Redirect", to)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
				r.ParseMultipartForm(1 << 20)
			} else {
				r.ParseForm()
			}
			if !checkCSRF(r, s.csrf) {
				d.Logger.Warn("Dashboard request refused: missing or wrong CSRF token", "client", r.RemoteAddr, "path", r.URL.Path)
				d.render(w, r, http.StatusForbidden, "message", d.page(r, s, "Refused", messageData{Message: "The request did not carry this session's form token, so it was refused. Reload the page and try again."}))
				return
			}
		}
		h(w, r, s)
	}
}
