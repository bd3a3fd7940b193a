// Package admin serves the admin listener: the admin API under
// /admin/api/v1, /metrics and /health. Every change it makes goes through
// the runtime's one change path.
package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/channel/rest"
	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/deploy"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/metrics"
	"github.com/plexushq/plexus/internal/password"
	"github.com/plexushq/plexus/internal/ratelimit"
	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/sio"
	"github.com/plexushq/plexus/internal/store"
	"github.com/plexushq/plexus/sdk/service"
)

// Prefix is the admin API's path prefix.
const Prefix = "/admin/api/v1"

// API is the admin listener's handler.
type API struct {
	Runtime *live.Runtime
	Store   *store.Store
	// Pipeline runs the services of POST /services/{name}/invoke.
	Pipeline *dispatch.Pipeline
	Logger   *slog.Logger
	Settings *config.Settings
	Metrics  *metrics.Metrics
	// CLIToken is accepted as a bearer token besides the admin password.
	CLIToken string
	// Failures, shared with the API listener, slows down and locks out
	// addresses that keep sending wrong admin credentials; Trusted are the
	// proxies whose X-Forwarded-For names the client.
	Failures *ratelimit.Failures
	Trusted  []netip.Prefix
	// Subsystems are the server's shared parts; those that are a
	// RouteSource add admin API calls of their own.
	Subsystems []any
	// Passwords checks the admin password: the server's one bounded
	// argon2id verifier.
	Passwords *password.Verifier

	auth *auth
	mux  *http.ServeMux
	// invokeCh is the channel the invoke call runs services on: JSON
	// payloads, and the text of any error in a 500, since its callers are
	// administrators.
	invokeCh *dispatch.Channel
}

// Handler returns the admin listener's handler.
func (a *API) Handler() http.Handler {
	a.auth = &auth{store: a.Store, cliToken: a.CLIToken, failures: a.Failures, verifier: a.Passwords, verified: map[[32]byte]string{}}
	a.mux = http.NewServeMux()
	a.invokeCh = &dispatch.Channel{Type: service.ChannelAdmin, DataFormat: dispatch.FormatJSON, Detailed: true}
	a.mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		reply.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	metricsHandler := a.Metrics.Handler()
	if !a.Settings.Metrics.Public {
		metricsHandler = a.protect(metricsHandler)
	}
	a.mux.Handle("GET /metrics", metricsHandler)
	for pattern, h := range map[string]http.HandlerFunc{
		"GET " + Prefix + "/kinds":                    a.kinds,
		"GET " + Prefix + "/status":                   a.status,
		"GET " + Prefix + "/objects/{kind}":           a.listObjects,
		"GET " + Prefix + "/objects/{kind}/{name}":    a.getObject,
		"PUT " + Prefix + "/objects/{kind}/{name}":    a.putObject,
		"DELETE " + Prefix + "/objects/{kind}/{name}": a.deleteObject,
		"GET " + Prefix + "/services":                 a.listServices,
		"GET " + Prefix + "/services/{name}":          a.getService,
		"POST " + Prefix + "/services/{name}/invoke":  a.invoke,
		"GET " + Prefix + "/services/{name}/io":       a.getIO,
		"PUT " + Prefix + "/services/{name}/io":       a.putIO,
		"POST " + Prefix + "/deploy":                  a.deploy,
		"GET " + Prefix + "/replay":                   a.listReplay,
		"POST " + Prefix + "/replay/{cid}":            a.replay,
		"DELETE " + Prefix + "/deploy/{file...}":      a.undeploy,
		"GET " + Prefix + "/enmasse/export":           a.enmasseExport,
		"POST " + Prefix + "/enmasse/import":          a.enmasseImport,
	} {
		a.mux.Handle(pattern, a.protect(h))
	}
	a.actionRoutes()
	for _, sub := range a.Subsystems {
		if rs, ok := sub.(RouteSource); ok {
			rs.Routes(a, Prefix)
		}
	}
	a.mux.Handle(Prefix+"/", a.protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "No such admin API call; see "+Prefix+"/kinds and the docs")
	})))
	return a.mux
}

// Handle adds a protected admin API route, for subsystems wired after
// Handler.
func (a *API) Handle(pattern string, h http.HandlerFunc) { a.mux.Handle(pattern, a.protect(h)) }

// Router is where subsystems add admin API calls; *API is one, and
// protects them with the admin login.
type Router = interface {
	Handle(pattern string, h http.HandlerFunc)
}

// RouteSource is a subsystem with admin API calls of its own, such as the
// scheduler's views of job runs, added under prefix (Prefix).
type RouteSource interface {
	Routes(r Router, prefix string)
}

// protect admits requests with admin credentials. Like a channel's
// security it refuses a locked-out address without checking what it sent,
// and counts a wrong credential (not a missing one) against the address.
// A request that finds no password check free in time is answered 429.
func (a *API) protect(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, now := ratelimit.ClientAddr(r, a.Trusted), time.Now()
		if locked, left := a.Failures.Locked(addr, now); locked {
			a.tooMany(w, addr, left, "address locked out after failed authentications")
			return
		}
		v, d := a.auth.check(r, addr, now)
		switch v {
		case admitted:
			h.ServeHTTP(w, r)
		case locked:
			a.tooMany(w, addr, d, "address locked out after failed authentications")
		case busy:
			a.tooMany(w, addr, d, "too many password checks at once")
		default:
			if v == wrong {
				ratelimit.Wait(r.Context(), d)
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="Plexus admin", charset="UTF-8"`)
			fail(w, http.StatusUnauthorized, "Unauthorized")
		}
	})
}

// tooMany answers 429 with Retry-After and logs why.
func (a *API) tooMany(w http.ResponseWriter, addr netip.Addr, retry time.Duration, reason string) {
	w.Header().Set("Retry-After", ratelimit.RetryAfter(retry))
	a.Logger.Warn("admin API refused", "cid", fail(w, http.StatusTooManyRequests, "Too many requests"),
		"client", addr.String(), "reason", reason)
}

// fail writes the error envelope with a new CID and returns the CID.
func fail(w http.ResponseWriter, status int, details string) string {
	id := cid.New()
	w.Header().Set(reply.CIDHeader, id)
	reply.Envelope(w, status, id, details)
	return id
}

// refused answers a change that was not applied, listing every problem.
func (a *API) refused(w http.ResponseWriter, err error) {
	id := cid.New()
	w.Header().Set(reply.CIDHeader, id)
	if r, ok := live.IsRefused(err); ok {
		writeRefused(w, id, r)
		return
	}
	var conflict *live.Conflict
	if errors.As(err, &conflict) {
		a.Logger.Warn("admin API change refused: If-Match", "cid", id, "error", conflict.Error())
		reply.Envelope(w, http.StatusPreconditionFailed, id, "Precondition failed: "+conflict.Error()+"; read the object again (its ETag is its revision)")
		return
	}
	var stale *store.StaleError
	if errors.As(err, &stale) {
		a.Logger.Warn("admin API change refused: the store kept changing", "cid", id, "error", err.Error())
		reply.Envelope(w, http.StatusConflict, id, "Other changes kept coming in while this one was prepared; try again")
		return
	}
	a.Logger.Error("admin API change failed", "cid", id, "error", err.Error())
	reply.Envelope(w, http.StatusInternalServerError, id, reply.GenericError)
}

// writeRefused answers 400 with the error envelope and every problem.
func writeRefused(w http.ResponseWriter, id string, r *live.Refused) {
	reply.JSON(w, http.StatusBadRequest, map[string]any{"result": "Error", "cid": id, "details": r.Error(), "problems": r.Problems})
}

// kindInfo is a kind as GET /kinds describes it: its fields with their
// form metadata, its JSON Schema and its examples.
type kindInfo struct {
	ID       string               `json:"id"`
	Title    string               `json:"title"`
	Summary  string               `json:"summary"`
	Aliases  []string             `json:"aliases,omitempty"`
	Fields   []registry.FieldInfo `json:"fields"`
	Schema   map[string]any       `json:"schema"`
	Examples []json.RawMessage    `json:"examples,omitempty"`
	// Section is the kind's name under self.out in Starlark, when
	// services reach its objects by name.
	Section string       `json:"section,omitempty"`
	Actions []actionInfo `json:"actions,omitempty"`
}

func (a *API) kinds(w http.ResponseWriter, r *http.Request) {
	var out []kindInfo
	for _, k := range registry.All() {
		d := kindInfo{ID: k.ID, Title: k.Title, Summary: k.Summary, Aliases: k.Aliases, Schema: k.Schema()}
		for _, f := range k.Fields() {
			d.Fields = append(d.Fields, f.Info())
		}
		for _, e := range k.Examples {
			d.Examples = append(d.Examples, json.RawMessage(e))
		}
		if k.Out != nil {
			d.Section = k.Out.Section
		}
		for _, act := range k.Actions {
			d.Actions = append(d.Actions, actionInfo{Name: act.Name, Doc: act.Doc, Aliases: act.Aliases})
		}
		out = append(out, d)
	}
	reply.JSON(w, http.StatusOK, out)
}

func (a *API) kind(w http.ResponseWriter, r *http.Request) (*registry.Kind, bool) {
	k, ok := registry.Lookup(r.PathValue("kind"))
	if !ok {
		fail(w, http.StatusNotFound, "No kind named "+strconv.Quote(r.PathValue("kind"))+"; GET "+Prefix+"/kinds lists them")
	}
	return k, ok
}

func (a *API) listObjects(w http.ResponseWriter, r *http.Request) {
	k, ok := a.kind(w, r)
	if !ok {
		return
	}
	st := a.Runtime.State()
	objs := st.Objects(k.ID)
	out := make([]any, len(objs))
	for i, o := range objs {
		out[i] = withStatus(st, k, o)
	}
	reply.JSON(w, http.StatusOK, out)
}

// withStatus returns an object as the admin API shows it: secrets masked
// and, for objects that run in the background, their status under
// "status".
func withStatus(st *live.State, k *registry.Kind, obj registry.Object) any {
	pub := k.Public(obj)
	status, ok := st.Status(k.ID, registry.NameOf(obj))
	if !ok {
		return pub
	}
	body, err := json.Marshal(pub)
	sj, err2 := json.Marshal(status)
	if err != nil || err2 != nil || len(body) < 2 || body[len(body)-1] != '}' {
		return pub
	}
	// The status goes last, after the fields in their declared order.
	out := append(body[:len(body)-1:len(body)-1], `,"`+statusKey+`":`...)
	out = append(append(out, sj...), '}')
	return json.RawMessage(out)
}

// statusKey is the key of an object's status in the admin API's answers;
// it is read-only, and ignored in the objects written back.
const statusKey = "status"

// dropStatus removes the read-only status from an object written back
// (as read, with its status) when the kind has no field of that name.
func dropStatus(k *registry.Kind, body []byte) []byte {
	if _, ok := k.Field(statusKey); ok || !bytes.Contains(body, []byte(`"`+statusKey+`"`)) {
		return body
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	if _, ok := m[statusKey]; !ok {
		return body
	}
	delete(m, statusKey)
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

func (a *API) getObject(w http.ResponseWriter, r *http.Request) {
	k, ok := a.kind(w, r)
	if !ok {
		return
	}
	st := a.Runtime.State()
	obj, ok := st.Object(k.ID, r.PathValue("name"))
	if !ok {
		fail(w, http.StatusNotFound, "No "+k.Title+" named "+strconv.Quote(r.PathValue("name")))
		return
	}
	setETag(w, st, k.ID, r.PathValue("name"))
	reply.JSON(w, http.StatusOK, withStatus(st, k, obj))
}

// maxAdminBody bounds admin API request bodies.
const maxAdminBody = 16 << 20

func (a *API) putObject(w http.ResponseWriter, r *http.Request) {
	k, ok := a.kind(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if err != nil {
		fail(w, http.StatusRequestEntityTooLarge, "Request body is too large")
		return
	}
	obj, errs := k.Decode(dropStatus(k, body))
	if len(errs) == 0 {
		if n := registry.NameOf(obj); n == "" {
			registry.SetName(obj, name)
		} else if n != name {
			errs = append(errs, registry.FieldProblem("name", "is %s but the URL names %s", redact.Quote(n), redact.Quote(name)))
		}
	}
	if len(errs) > 0 {
		a.refused(w, &live.Refused{Problems: registry.Locate(k.ID, name, errs)})
		return
	}
	ifRev, ok := a.ifMatch(w, r)
	if !ok {
		return
	}
	_, existed := a.Runtime.State().Object(k.ID, name)
	res, err := a.Runtime.Apply(r.Context(), live.Changeset{
		Source:  "admin",
		Objects: []live.Change{{Kind: k.ID, Name: name, Object: obj, IfRev: ifRev}},
		DryRun:  r.URL.Query().Get("dry_run") == "true",
	})
	if err != nil {
		a.refused(w, err)
		return
	}
	w.Header().Set("X-Plexus-Revision", strconv.FormatInt(res.Rev, 10))
	setETag(w, a.Runtime.State(), k.ID, name)
	status := http.StatusOK
	if !existed {
		status = http.StatusCreated
	}
	reply.JSON(w, status, k.Public(obj))
}

func (a *API) deleteObject(w http.ResponseWriter, r *http.Request) {
	k, ok := a.kind(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if _, ok := a.Runtime.State().Object(k.ID, name); !ok {
		fail(w, http.StatusNotFound, "No "+k.Title+" named "+strconv.Quote(name))
		return
	}
	ifRev, ok := a.ifMatch(w, r)
	if !ok {
		return
	}
	res, err := a.Runtime.Apply(r.Context(), live.Changeset{
		Source:  "admin",
		Objects: []live.Change{{Kind: k.ID, Name: name, IfRev: ifRev}},
	})
	if err != nil {
		a.refused(w, err)
		return
	}
	w.Header().Set("X-Plexus-Revision", strconv.FormatInt(res.Rev, 10))
	w.WriteHeader(http.StatusNoContent)
}

// ServiceInfo is a deployed service as the admin API shows it.
type ServiceInfo struct {
	Name     string   `json:"name"`
	Doc      string   `json:"doc"`
	Language string   `json:"language"`
	Source   string   `json:"source"`
	Builtin  bool     `json:"builtin"`
	Verbs    []string `json:"verbs,omitempty"`
	Channels []string `json:"channels"`
	// IO is the service's typed I/O declaration, when it has one.
	IO *sio.Info `json:"io,omitempty"`
}

func (a *API) serviceInfo(st *live.State, svc *catalog.Service) ServiceInfo {
	info := ServiceInfo{Name: svc.Name, Doc: svc.Doc, Language: svc.Language, Source: svc.Source, Builtin: svc.Builtin, Verbs: svc.Verbs(), Channels: []string{}, IO: sio.Describe(svc.IO)}
	for _, k := range registry.All() {
		for _, obj := range st.Objects(k.ID) {
			if slices.ContainsFunc(k.Refs(obj), func(ref registry.Ref) bool {
				return ref.Kind == registry.RefService && ref.Name == svc.Name
			}) {
				info.Channels = append(info.Channels, k.ID+"/"+registry.NameOf(obj))
			}
		}
	}
	return info
}

func (a *API) listServices(w http.ResponseWriter, r *http.Request) {
	st := a.Runtime.State()
	out := []ServiceInfo{}
	for _, n := range st.Services.Names() {
		out = append(out, a.serviceInfo(st, st.Services.Get(n)))
	}
	reply.JSON(w, http.StatusOK, out)
}

func (a *API) getService(w http.ResponseWriter, r *http.Request) {
	st := a.Runtime.State()
	svc := st.Services.Get(r.PathValue("name"))
	if svc == nil {
		fail(w, http.StatusNotFound, "No service named "+strconv.Quote(r.PathValue("name"))+" is deployed")
		return
	}
	reply.JSON(w, http.StatusOK, a.serviceInfo(st, svc))
}

// InvokeKind is the channel kind of the admin API's invoke, in the
// access log and the metrics.
const InvokeKind = "admin"

// invokeExchange is one call of the admin API's invoke.
type invokeExchange struct {
	dispatch.Exchange
	rest.Transport
}

// invoke runs a service through the pipeline with the request body as its
// JSON payload and answers what the service answered. ?verb=POST picks a
// verb handler.
func (a *API) invoke(w http.ResponseWriter, r *http.Request) {
	x := &invokeExchange{Transport: rest.Transport{W: w, R: r}}
	x.Open(&x.Exchange, InvokeKind, x)
	x.Verb, x.Service = r.URL.Query().Get("verb"), r.PathValue("name")
	if a.Runtime.State().Services.Get(x.Service) == nil {
		a.Pipeline.Fail(&x.Exchange, service.NotFound("No service named %s is deployed", strconv.Quote(x.Service)))
		return
	}
	x.Channel = a.invokeCh
	a.Pipeline.Serve(&x.Exchange)
}

// SourceFile is one service file sent to POST /deploy.
type SourceFile struct {
	File   string `json:"file"`
	Source string `json:"source"`
	// Origin says where the file comes from, such as its path on the
	// sender's machine (default: the admin API). A file deployed from one
	// origin is replaced from another only with ?force=true.
	Origin string `json:"origin,omitempty"`
}

// DeployRequest is the body of POST /deploy: one file, or several deployed
// together.
type DeployRequest struct {
	SourceFile
	Files []SourceFile `json:"files"`
}

// DeployResult is the answer of a deploy.
type DeployResult struct {
	Rev      int64               `json:"rev"`
	DryRun   bool                `json:"dry_run,omitempty"`
	Services map[string][]string `json:"services"`
	Warnings []string            `json:"warnings"`
}

// deploy deploys service source files through the one change path.
// ?dry_run=true only checks them; ?force=true lets them replace services
// that another source deployed.
func (a *API) deploy(w http.ResponseWriter, r *http.Request) {
	var req DeployRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "Expected {\"file\": NAME, \"source\": TEXT} or {\"files\": [...]}: "+err.Error())
		return
	}
	if req.File != "" {
		req.Files = append(req.Files, req.SourceFile)
	}
	if len(req.Files) == 0 {
		fail(w, http.StatusBadRequest, "No files to deploy")
		return
	}
	cs := codeChangeset(r)
	for _, f := range req.Files {
		origin := f.Origin
		if origin == "" {
			origin = live.OriginAPI
		}
		cs.Code = append(cs.Code, live.CodeChange{File: f.File, Source: []byte(f.Source), Origin: origin})
	}
	a.applyCode(w, r, cs)
}

// undeploy removes a deployed file's services. With ?origin=, only a file
// deployed from there is removed, unless ?force=true.
func (a *API) undeploy(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	if _, ok := a.Runtime.State().Code()[file]; !ok {
		fail(w, http.StatusNotFound, "No deployed file named "+strconv.Quote(file))
		return
	}
	cs := codeChangeset(r)
	cs.Code = []live.CodeChange{{File: file, Origin: r.URL.Query().Get("origin")}}
	a.applyCode(w, r, cs)
}

// codeChangeset starts the changeset of a deploy call from its query.
func codeChangeset(r *http.Request) live.Changeset {
	q := r.URL.Query()
	return live.Changeset{Source: "admin", DryRun: q.Get("dry_run") == "true", Force: q.Get("force") == "true"}
}

func (a *API) applyCode(w http.ResponseWriter, r *http.Request, cs live.Changeset) {
	res, err := a.Runtime.Apply(r.Context(), cs)
	if err != nil {
		if ref, ok := live.IsRefused(err); ok {
			for _, p := range ref.Problems {
				a.Logger.Error("deploy refused; the previous version keeps serving", "problem", p.Error())
			}
		}
		a.refused(w, err)
		return
	}
	out := DeployResult{Rev: res.Rev, DryRun: cs.DryRun, Services: res.Services, Warnings: res.Warnings}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	if !cs.DryRun {
		deploy.Log(a.Logger, "admin", res)
	}
	reply.JSON(w, http.StatusOK, out)
}

// status lists the objects that run in the background and are not
// running (connecting, degraded or stopped), with a count of all of them.
func (a *API) status(w http.ResponseWriter, r *http.Request) {
	all := a.Runtime.State().Statuses()
	notRunning := []live.ObjectStatus{}
	for _, s := range all {
		if s.State != registry.StateRunning {
			notRunning = append(notRunning, s)
		}
	}
	reply.JSON(w, http.StatusOK, map[string]any{
		"objects":     len(all),
		"running":     len(all) - len(notRunning),
		"not_running": notRunning,
	})
}

// setETag sets the ETag of an object: its revision, quoted.
func setETag(w http.ResponseWriter, st *live.State, kind, name string) {
	if rev, ok := st.ObjectRev(kind, name); ok && rev > 0 {
		w.Header().Set("ETag", `"`+strconv.FormatInt(rev, 10)+`"`)
	}
}

// ifMatch reads the If-Match header of a change to one object: an ETag
// (the revision the client read, quoted) or *. A malformed header is
// answered 400.
func (a *API) ifMatch(w http.ResponseWriter, r *http.Request) (int64, bool) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	switch {
	case h == "":
		return 0, true
	case h == "*":
		return live.IfAny, true
	}
	rev, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if err != nil || rev <= 0 {
		a.Logger.Warn("admin API refused: malformed If-Match", "cid", fail(w, http.StatusBadRequest, `If-Match must be an ETag the admin API sent, such as "12", or *`))
		return 0, false
	}
	return rev, true
}
