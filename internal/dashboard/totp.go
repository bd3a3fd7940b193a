package dashboard

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/ratelimit"
)

// pendingFor is how long the TOTP step of a login may take.
const pendingFor = 5 * time.Minute

// totpSecret returns the enrolled TOTP secret, if any.
func (d *Dashboard) totpSecret(r *http.Request) (string, bool, error) {
	v, ok, err := d.API.Store.Setting(r.Context(), admin.TOTPSetting)
	if err != nil || !ok {
		return "", false, err
	}
	if d.Secrets != nil {
		if v, err = d.Secrets.Open(v); err != nil {
			return "", false, err
		}
	}
	return v, true, nil
}

// totpValid checks a code against a secret, allowing one step of clock
// skew either way.
func (d *Dashboard) totpValid(secret, code string) bool {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	ok, err := totp.ValidateCustom(code, secret, d.Now().UTC(), totp.ValidateOpts{Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	return err == nil && ok
}

// loginTOTP completes a login whose password was right with the code of
// the admin's authenticator. Wrong codes count against the address like
// wrong passwords.
func (d *Dashboard) loginTOTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	c, err := r.Cookie(SessionCookie)
	var s *session
	if err == nil {
		s, _ = d.sessions.get(c.Value)
	}
	if s == nil || !s.pending || d.Now().Sub(s.created) > pendingFor || !checkCSRF(r, s.csrf) {
		d.showLogin(w, r, http.StatusForbidden, "The login had expired; log in again.", false)
		return
	}
	addr, now := ratelimit.ClientAddr(r, d.API.Trusted), time.Now()
	if locked, left := d.API.Failures.Locked(addr, now); locked {
		w.Header().Set("Retry-After", ratelimit.RetryAfter(left))
		d.showLogin(w, r, http.StatusTooManyRequests, "Too many failed logins from this address: try again in "+ratelimit.RetryAfter(left)+" s.", false)
		return
	}
	secret, enrolled, err := d.totpSecret(r)
	if err != nil {
		d.Logger.Error("reading the admin's TOTP secret", "error", err.Error())
	}
	if enrolled && !d.totpValid(secret, r.PostFormValue("code")) {
		ratelimit.Wait(r.Context(), d.API.Failures.Fail(addr, now))
		d.Logger.Warn("Dashboard login failed: wrong TOTP code", "client", r.RemoteAddr)
		d.showTOTP(w, r, s, http.StatusUnauthorized, "Wrong code: type the one your authenticator app shows now.")
		return
	}
	d.sessions.end(c.Value)
	id, _ := d.sessions.start(false)
	setCookie(w, r, SessionCookie, id, 0)
	d.Logger.Info("Dashboard login", "client", r.RemoteAddr, "totp", true)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// showTOTP asks for the code of the second factor.
func (d *Dashboard) showTOTP(w http.ResponseWriter, r *http.Request, s *session, status int, problem string) {
	p := d.page(r, nil, "Log in", loginData{Next: safeNext(r.FormValue("next")), Problem: problem, TOTP: true})
	p.CSRF = s.csrf
	d.render(w, r, status, "login", p)
}

// accountData is the body of the account page.
type accountData struct {
	Enrolled bool
	// Key, URL and QR are a new key being enrolled.
	Key     string
	QR      template.URL
	Notice  string
	Problem string
}

// accountPage shows whether the second factor is on, and the forms to
// enrol or remove it.
func (d *Dashboard) accountPage(w http.ResponseWriter, r *http.Request, s *session) {
	_, enrolled, _ := d.totpSecret(r)
	d.render(w, r, http.StatusOK, "account", d.page(r, s, "Account", &accountData{Enrolled: enrolled, Notice: r.URL.Query().Get("notice")}))
}

// totpStart makes a new TOTP key and shows it as a QR code and as text;
// it is kept in the session until a code from it confirms it.
func (d *Dashboard) totpStart(w http.ResponseWriter, r *http.Request, s *session) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Plexus", AccountName: admin.User + "@" + r.Host})
	if err != nil {
		d.render(w, r, http.StatusInternalServerError, "message", d.page(r, s, "Account", messageData{Message: "A key could not be made: " + err.Error()}))
		return
	}
	s.setEnrol(key.Secret())
	d.showEnrol(w, r, s, http.StatusOK, key.URL(), key.Secret(), "")
}

func (d *Dashboard) showEnrol(w http.ResponseWriter, r *http.Request, s *session, status int, url, secret, problem string) {
	ad := &accountData{Key: secret, Problem: problem}
	if png, err := qrcode.Encode(url, qrcode.Medium, 256); err == nil {
		ad.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	}
	_, ad.Enrolled, _ = d.totpSecret(r)
	d.render(w, r, status, "account", d.page(r, s, "Account", ad))
}

// totpConfirm enrols the key being enrolled once a code from it is
// right.
func (d *Dashboard) totpConfirm(w http.ResponseWriter, r *http.Request, s *session) {
	secret := s.enrolling()
	if secret == "" {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	if !d.totpValid(secret, r.PostFormValue("code")) {
		key, _ := otp.NewKeyFromURL("otpauth://totp/Plexus:" + admin.User + "?secret=" + secret + "&issuer=Plexus")
		d.showEnrol(w, r, s, http.StatusBadRequest, key.URL(), secret, "Wrong code: type the one your authenticator app shows for Plexus now.")
		return
	}
	stored := secret
	if d.Secrets != nil {
		stored = d.Secrets.Seal(secret)
	}
	if err := d.API.Store.SetSetting(r.Context(), admin.TOTPSetting, stored); err != nil {
		d.render(w, r, http.StatusInternalServerError, "message", d.page(r, s, "Account", messageData{Message: "The key could not be saved: " + err.Error()}))
		return
	}
	s.setEnrol("")
	d.Logger.Info("Dashboard: TOTP second factor enrolled", "client", r.RemoteAddr)
	http.Redirect(w, r, "/account?notice="+template.URLQueryEscaper("Two-factor login is on."), http.StatusSeeOther)
}

// totpRemove turns the second factor off, given a current code.
func (d *Dashboard) totpRemove(w http.ResponseWriter, r *http.Request, s *session) {
	secret, enrolled, _ := d.totpSecret(r)
	if !enrolled || !d.totpValid(secret, r.PostFormValue("code")) {
		d.render(w, r, http.StatusBadRequest, "account", d.page(r, s, "Account", &accountData{Enrolled: enrolled, Problem: "Wrong code: two-factor login stays on."}))
		return
	}
	if err := admin.ResetTOTP(r.Context(), d.API.Store); err != nil {
		d.render(w, r, http.StatusInternalServerError, "message", d.page(r, s, "Account", messageData{Message: err.Error()}))
		return
	}
	d.Logger.Info("Dashboard: TOTP second factor removed", "client", r.RemoteAddr)
	http.Redirect(w, r, "/account?notice="+template.URLQueryEscaper("Two-factor login is off."), http.StatusSeeOther)
}
