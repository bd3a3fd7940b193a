package dashboard

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Cookie names.
const (
	// SessionCookie holds a session's id.
	SessionCookie = "plexus_session"
	// loginCookie holds the CSRF token of the login form.
	loginCookie = "plexus_login"
	// CSRFField is the form field, and CSRFHeader the header htmx sends,
	// that carry a session's CSRF token on every state-changing request.
	CSRFField  = "csrf"
	CSRFHeader = "X-CSRF-Token"
)

// session is one logged-in administrator's session, kept on the server;
// the browser holds only its random id.
type session struct {
	csrf     string
	created  time.Time
	lastSeen time.Time
	// pending marks a session that has the password right and waits for
	// the TOTP code: it opens only the TOTP step of the login.
	pending bool

	mu sync.Mutex
	// enrol is the TOTP key being enrolled, until a code confirms it.
	enrol string
}

func (s *session) setEnrol(key string) {
	s.mu.Lock()
	s.enrol = key
	s.mu.Unlock()
}

func (s *session) enrolling() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enrol
}

// sessions holds the server-side sessions, by the SHA-256 of their ids,
// so the ids are not kept; it is safe for concurrent use.
type sessions struct {
	idle, maxAge time.Duration
	max          int
	now          func() time.Time

	mu   sync.Mutex
	byID map[[32]byte]*session
}

func newSessions(idle, maxAge time.Duration, max int, now func() time.Time) *sessions {
	return &sessions{idle: idle, maxAge: maxAge, max: max, now: now, byID: map[[32]byte]*session{}}
}

// token returns 32 random bytes, URL-safe.
func token() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// start begins a session and returns its id. When the sessions are at
// their limit, expired ones are dropped, then the least recently used.
func (s *sessions) start(pending bool) (string, *session) {
	id, now := token(), s.now()
	ses := &session{csrf: token(), created: now, lastSeen: now, pending: pending}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= s.max {
		var oldest [32]byte
		var oldestSeen time.Time
		for k, v := range s.byID {
			if s.expired(v, now) {
				delete(s.byID, k)
				continue
			}
			if oldestSeen.IsZero() || v.lastSeen.Before(oldestSeen) {
				oldest, oldestSeen = k, v.lastSeen
			}
		}
		if len(s.byID) >= s.max {
			delete(s.byID, oldest)
		}
	}
	s.byID[sha256.Sum256([]byte(id))] = ses
	return id, ses
}

func (s *sessions) expired(ses *session, now time.Time) bool {
	return now.Sub(ses.lastSeen) >= s.idle || now.Sub(ses.created) >= s.maxAge
}

// get returns the live session with an id and marks it used; an expired
// one is ended.
func (s *sessions) get(id string) (*session, bool) {
	if id == "" {
		return nil, false
	}
	key, now := sha256.Sum256([]byte(id)), s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ses, ok := s.byID[key]
	if !ok {
		return nil, false
	}
	if s.expired(ses, now) {
		delete(s.byID, key)
		return nil, false
	}
	ses.lastSeen = now
	return ses, true
}

// end ends a session.
func (s *sessions) end(id string) {
	s.mu.Lock()
	delete(s.byID, sha256.Sum256([]byte(id)))
	s.mu.Unlock()
}

// endAll ends every session, as a change of the second factor does.
func (s *sessions) endAll() {
	s.mu.Lock()
	clear(s.byID)
	s.mu.Unlock()
}

// setCookie sets a cookie the way every Dashboard cookie is set: HttpOnly
// and SameSite=Strict, for the whole listener, and Secure whenever the
// browser reached the listener over HTTPS (directly, or through a proxy
// that says so with X-Forwarded-Proto). Browsers drop Secure cookies
// set over plain HTTP, which the default loopback admin listener uses.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	secure := r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode}
	if maxAge < 0 {
		c.MaxAge = -1
	} else if maxAge > 0 {
		c.MaxAge = int(maxAge.Seconds())
	}
	http.SetCookie(w, c)
}

// sameOrigin refuses a state-changing request another site sent: when
// the browser names the request's origin (Origin, or Sec-Fetch-Site), it
// must be this listener.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" && r.Header.Get("Sec-Fetch-Site") == "" {
		return origin == ""
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// checkCSRF reports whether a state-changing request carries the
// session's CSRF token (form field or header) and comes from this site.
func checkCSRF(r *http.Request, want string) bool {
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		got = r.PostFormValue(CSRFField)
	}
	return sameOrigin(r) && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
