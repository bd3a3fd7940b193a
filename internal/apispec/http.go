package apispec

import (
	"net"
	"net/http"
	"strings"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/sio"
)

// Handler serves the OpenAPI document of the running services on the
// admin listener: GET …/openapi.json (or …/openapi) as JSON, …/openapi.yaml
// as YAML. Query parameters: include and exclude (comma-separated globs;
// exclude defaults to DefaultExclude), title and version.
type Handler struct {
	Runtime *live.Runtime
	Schemas *sio.Schemas
	// APIAddr and AdminAddr return the listeners' addresses.
	APIAddr, AdminAddr func() string
}

// ServeHTTP answers the document of the current state.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opts := Options{
		Include: SplitGlobs(q.Get("include")), Exclude: SplitGlobs(DefaultExclude),
		Title: q.Get("title"), Version: q.Get("version"), Schemas: h.Schemas,
	}
	if q.Has("exclude") {
		opts.Exclude = SplitGlobs(q.Get("exclude"))
	}
	if h.APIAddr != nil {
		opts.APIURL = BaseURL(h.APIAddr())
	}
	if h.AdminAddr != nil {
		opts.AdminURL = BaseURL(h.AdminAddr())
	}
	doc, problems := Generate(h.Runtime.State(), opts)
	var body []byte
	var err error
	ctype := "application/json"
	if strings.HasSuffix(r.URL.Path, ".yaml") {
		body, err = doc.YAML()
		ctype = "application/yaml"
	} else {
		body, err = doc.JSON()
	}
	if err != nil {
		id := cid.New()
		w.Header().Set(reply.CIDHeader, id)
		reply.Envelope(w, http.StatusInternalServerError, id, reply.GenericError)
		return
	}
	for _, p := range problems {
		w.Header().Add("X-Plexus-Warning", p)
	}
	w.Header().Set("Content-Type", ctype)
	w.Write(body)
}

// BaseURL turns a listener address into the URL clients use: a wildcard
// host (":11223", "[::]:11223") becomes localhost.
func BaseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
