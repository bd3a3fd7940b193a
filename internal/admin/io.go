package admin

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/serviceio"
	"github.com/plexushq/plexus/internal/sio"
)

// ioSwitches is the body of GET and PUT /services/{name}/io: the runtime
// switches of a service's typed I/O, a view over its service_io object.
// PUT changes only the fields it sends.
type ioSwitches struct {
	Service        string `json:"service"`
	Schema         string `json:"schema,omitempty"`
	ValidateSchema bool   `json:"validate_schema"`
	DetailedErrors bool   `json:"detailed_errors"`
}

// ioService returns the deployed service a call names, with its schema.
func (a *API) ioService(w http.ResponseWriter, r *http.Request) (string, string, bool) {
	name := r.PathValue("name")
	svc := a.Runtime.State().Services.Get(name)
	if svc == nil {
		fail(w, http.StatusNotFound, "No service named "+strconv.Quote(name)+" is deployed")
		return "", "", false
	}
	schema := ""
	if svc.IO != nil {
		schema = svc.IO.Schema
	}
	return name, schema, true
}

// switches returns a service's switches in a state: its service_io
// object's, or the defaults.
func switches(st *live.State, name string) sio.Switches {
	if obj, ok := st.Object(serviceio.Kind, name); ok {
		return obj.(*serviceio.Config).Switches()
	}
	return sio.DefaultSwitches()
}

// getIO answers a service's I/O switches.
func (a *API) getIO(w http.ResponseWriter, r *http.Request) {
	name, schema, ok := a.ioService(w, r)
	if !ok {
		return
	}
	sw := switches(a.Runtime.State(), name)
	reply.JSON(w, http.StatusOK, ioSwitches{Service: name, Schema: schema, ValidateSchema: sw.ValidateSchema, DetailedErrors: sw.DetailedErrors})
}

// putIO changes a service's I/O switches through the one change path:
// its service_io object is created or replaced, or deleted when the
// switches are back to their defaults. They apply from the next request
// and survive restarts and redeploys. ?dry_run=true only checks.
func (a *API) putIO(w http.ResponseWriter, r *http.Request) {
	name, schema, ok := a.ioService(w, r)
	if !ok {
		return
	}
	var req struct {
		ValidateSchema *bool `json:"validate_schema"`
		DetailedErrors *bool `json:"detailed_errors"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, `Expected {"validate_schema": true|false, "detailed_errors": true|false}: `+err.Error())
		return
	}
	st := a.Runtime.State()
	sw := switches(st, name)
	if req.ValidateSchema != nil {
		sw.ValidateSchema = *req.ValidateSchema
	}
	if req.DetailedErrors != nil {
		sw.DetailedErrors = *req.DetailedErrors
	}
	change := live.Change{Kind: serviceio.Kind, Name: name, Object: &serviceio.Config{Name: name, ValidateSchema: sw.ValidateSchema, DetailedErrors: sw.DetailedErrors}}
	if sw == sio.DefaultSwitches() {
		change.Object = nil
	}
	if _, exists := st.Object(serviceio.Kind, name); exists || change.Object != nil {
		dryRun := r.URL.Query().Get("dry_run") == "true"
		res, err := a.Runtime.Apply(r.Context(), live.Changeset{Source: "admin", Objects: []live.Change{change}, DryRun: dryRun})
		if err != nil {
			a.refused(w, err)
			return
		}
		w.Header().Set("X-Plexus-Revision", strconv.FormatInt(res.Rev, 10))
		if !dryRun {
			a.Logger.Info("typed I/O switches changed", "service", name, "validate_schema", sw.ValidateSchema, "detailed_errors", sw.DetailedErrors, "rev", res.Rev)
		}
	}
	reply.JSON(w, http.StatusOK, ioSwitches{Service: name, Schema: schema, ValidateSchema: sw.ValidateSchema, DetailedErrors: sw.DetailedErrors})
}
