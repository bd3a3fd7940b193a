// Package dashboard serves the Dashboard, the web admin on the admin
// listener: server-rendered pages (html/template, with htmx and Pico CSS
// embedded) where an administrator logs in, manages the objects of every
// kind from forms derived from the kind registry, reads and invokes
// services, deploys code, runs the scheduler and imports enmasse files.
//
// The Dashboard reads the live state directly and makes every change
// through the admin API, called in-process: the one change path, the same
// problems, the same lock-out.
package dashboard

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/feed"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/logging"
	"github.com/plexushq/plexus/internal/metrics"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/secret"
)

//go:embed static templates
var files embed.FS

// Defaults of the session limits.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxAge      = 12 * time.Hour
	DefaultMaxSessions = 256
)

// Dashboard is the web admin. Its zero limits take the defaults; it is
// safe for concurrent use once Handler has been called.
type Dashboard struct {
	// API is the admin API the Dashboard makes its changes through, and
	// whose password check and lock-out its login uses; API.Handler must
	// have been called, and API.CLIToken be set (the Dashboard's calls
	// carry it).
	API *admin.API
	// Admin is API's handler: the admin API, /metrics and /health.
	Admin  http.Handler
	Logger *slog.Logger
	// IdleTimeout ends a session not used for that long (default 30m);
	// MaxAge ends any session that old (default 12h). MaxSessions bounds
	// the sessions kept: a login beyond it ends the least recently used
	// one (default 256).
	IdleTimeout time.Duration
	MaxAge      time.Duration
	MaxSessions int
	// Logs has the last lines of the log, shown by cid after an invocation
	// (FlushLogs, when set, writes those still buffered first).
	Logs      *logging.Recent
	FlushLogs func() error
	// Secrets seals the TOTP secret in the store (nil stores it as it is).
	Secrets *secret.Box
	// Metrics are the server's metrics, which the overview charts.
	Metrics *metrics.Metrics
	// Cluster returns the nodes sharing the server's store, which the
	// overview lists (nil: none are shown).
	Cluster func(ctx context.Context) (*feed.Cluster, error)
	// Now is the clock (default time.Now).
	Now func() time.Time

	sessions *sessions
	samples  *sampler
	pages    map[string]*template.Template
	mux      *http.ServeMux
}

// Handler returns the admin listener's handler: the Dashboard's pages,
// with the admin API, /metrics and /health served by Admin.
func (d *Dashboard) Handler() http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.API.CLIToken == "" {
		panic("dashboard: the admin API has no CLI token for the Dashboard's calls")
	}
	d.sessions = newSessions(cmpOr(d.IdleTimeout, DefaultIdleTimeout), cmpOr(d.MaxAge, DefaultMaxAge), cmpOr(d.MaxSessions, DefaultMaxSessions), d.Now)
	d.pages = parsePages()
	d.samples = &sampler{m: d.Metrics}
	d.mux = http.NewServeMux()
	d.mux.Handle(admin.Prefix+"/", d.Admin)
	d.mux.Handle("/metrics", d.Admin)
	d.mux.Handle("/health", d.Admin)
	static, _ := fs.Sub(files, "static")
	d.mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(http.FileServerFS(static))))
	d.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/static/favicon.svg", http.StatusMovedPermanently)
	})
	d.mux.HandleFunc("GET /login", d.loginPage)
	d.mux.HandleFunc("POST /login", d.login)
	d.mux.HandleFunc("POST /login/totp", d.loginTOTP)
	d.mux.HandleFunc("POST /logout", d.require(d.logout))
	d.routes()
	d.mux.HandleFunc("/", d.require(func(w http.ResponseWriter, r *http.Request, s *session) {
		d.notFound(w, r, s, "No such page.")
	}))
	return headers(d.mux)
}

// Run samples the metrics the overview charts, every SampleEvery until
// ctx is done. Handler must have been called.
func (d *Dashboard) Run(ctx context.Context) {
	if d.Metrics != nil {
		d.samples.run(ctx)
	}
}

// routes mounts the pages behind the login.
func (d *Dashboard) routes() {
	for pattern, h := range map[string]func(http.ResponseWriter, *http.Request, *session){
		"GET /{$}":                                           d.overview,
		"GET /kinds/{kind}":                                  d.listPage,
		"GET /kinds/{kind}/new":                              d.newPage,
		"GET /kinds/{kind}/help":                             d.helpPage,
		"POST /kinds/{kind}/new":                             d.save,
		"GET /kinds/{kind}/objects/{name}":                   d.objectPage,
		"POST /kinds/{kind}/objects/{name}":                  d.save,
		"POST /kinds/{kind}/objects/{name}/delete":           d.delete,
		"POST /kinds/{kind}/objects/{name}/actions/{action}": d.action,
		"GET /services":                                      d.servicesPage,
		"GET /services/{name}":                               d.servicePage,
		"POST /services/{name}/invoke":                       d.invoke,
		"POST /services/{name}/io":                           d.setSwitches,
		"GET /deploy":                                        d.deployPage,
		"POST /deploy":                                       d.deploy,
		"POST /undeploy":                                     d.undeploy,
		"GET /scheduler":                                     d.schedulerPage,
		"GET /scheduler/{name}":                              d.jobPage,
		"POST /scheduler/{name}/{action}":                    d.jobAction,
		"GET /pubsub":                                        d.pubsubPage,
		"GET /pubsub/subscriptions/{name}":                   d.subscriptionPage,
		"POST /pubsub/subscriptions/{name}/{action}":         d.subscriptionAction,
		"GET /pubsub/messages/{id}":                          d.pubsubMessagePage,
		"GET /enmasse":                                       d.enmassePage,
		"GET /enmasse/export":                                d.enmasseExport,
		"POST /enmasse/import":                               d.enmasseImport,
		"GET /account":                                       d.accountPage,
		"POST /account/totp/start":                           d.totpStart,
		"POST /account/totp/confirm":                         d.totpConfirm,
		"POST /account/totp/remove":                          d.totpRemove,
	} {
		d.mux.HandleFunc(pattern, d.require(h))
	}
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// headers sets the security headers of every Dashboard answer: no
// framing, no inline scripts, no sniffing.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, admin.Prefix+"/") {
			h := w.Header()
			h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
			h.Set("X-Frame-Options", "DENY")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "same-origin")
		}
		next.ServeHTTP(w, r)
	})
}

// staticFiles lets browsers cache the embedded files for a day.
func staticFiles(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		next.ServeHTTP(w, r)
	})
}

// answer is what an in-process admin API call answered.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// recorder is the ResponseWriter of an in-process admin API call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}
func (r *recorder) Flush() {}

// call makes an admin API call in-process for a logged-in administrator,
// from the address of the request r, with the server's CLI token. path
// is below admin.Prefix.
func (d *Dashboard) call(r *http.Request, method, path string, body []byte, contentType string) *answer {
	req, err := http.NewRequestWithContext(r.Context(), method, admin.Prefix+path, bytes.NewReader(body))
	if err != nil {
		return &answer{Status: http.StatusBadRequest, Header: http.Header{}, Body: []byte(`{"result":"Error","details":"bad request"}`)}
	}
	req.RemoteAddr = r.RemoteAddr
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		req.Header["X-Forwarded-For"] = xff
	}
	req.Header.Set("Authorization", "Bearer "+d.API.CLIToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := &recorder{header: http.Header{}}
	d.Admin.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return &answer{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}
}

// cid returns the correlation id an answer carries.
func (a *answer) cid() string {
	for k, v := range a.Header {
		if strings.EqualFold(k, reply.CIDHeader) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// state returns the live state.
func (d *Dashboard) state() *live.State { return d.API.Runtime.State() }

// render writes a page, or logs why it could not.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	t, ok := d.pages[page]
	if !ok {
		panic("dashboard: no page " + page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		id := cid.New()
		d.Logger.Error("rendering a Dashboard page", "cid", id, "page", page, "path", r.URL.Path, "error", err.Error())
		http.Error(w, "The page could not be shown; the server log has the details under cid "+id, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	io.Copy(w, &buf)
}

// notFound answers 404 with a page saying what is missing.
func (d *Dashboard) notFound(w http.ResponseWriter, r *http.Request, s *session, msg string) {
	d.render(w, r, http.StatusNotFound, "message", d.page(r, s, "Not found", messageData{Message: msg}))
}

// messageData is the body of the message page.
type messageData struct {
	Message string
}

// Page is what every page's layout gets: the title, the navigation and
// the session's CSRF token, with the page's own data in Data.
type Page struct {
	Title string
	CSRF  string
	Path  string
	Kinds []navKind
	Data  any
}

// navKind is a kind in the navigation.
type navKind struct {
	ID, Title string
	Count     int
}

// page fills in a Page for a logged-in administrator.
func (d *Dashboard) page(r *http.Request, s *session, title string, data any) *Page {
	p := &Page{Title: title, Path: r.URL.Path, Data: data}
	if s != nil {
		p.CSRF = s.csrf
		p.Kinds = d.navKinds()
	}
	return p
}
