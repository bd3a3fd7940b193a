package admin

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/plexushq/plexus/internal/reply"
)

// ioSwitches is the body of GET and PUT /services/{name}/io: the runtime
// switches of a service's typed I/O. PUT changes only the fields it sends.
type ioSwitches struct {
	Service        string `json:"service"`
	Schema         string `json:"schema,omitempty"`
	ValidateSchema bool   `json:"validate_schema"`
	DetailedErrors bool   `json:"detailed_errors"`
}

func (a *API) ioService(w http.ResponseWriter, r *http.Request) (string, string, bool) {
	name := r.PathValue("name")
	svc := a.Runtime.State().Services.Get(name)
	if svc == nil {
		fail(w, http.StatusNotFound, "No service named "+strconv.Quote(name)+" is deployed")
		return "", "", false
	}
	if a.IO == nil {
		fail(w, http.StatusNotFound, "Typed I/O is not available on this server")
		return "", "", false
	}
	schema := ""
	if svc.IO != nil {
		schema = svc.IO.Schema
	}
	return name, schema, true
}

// getIO answers a service's I/O switches.
func (a *API) getIO(w http.ResponseWriter, r *http.Request) {
	name, schema, ok := a.ioService(w, r)
	if !ok {
		return
	}
	sw := a.IO.Switches(name)
	reply.JSON(w, http.StatusOK, ioSwitches{Service: name, Schema: schema, ValidateSchema: sw.ValidateSchema, DetailedErrors: sw.DetailedErrors})
}

// putIO changes a service's I/O switches, at once and for good: they are
// kept in the store and survive restarts and redeploys.
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
	sw := a.IO.Switches(name)
	if req.ValidateSchema != nil {
		sw.ValidateSchema = *req.ValidateSchema
	}
	if req.DetailedErrors != nil {
		sw.DetailedErrors = *req.DetailedErrors
	}
	if err := a.IO.SetSwitches(r.Context(), name, sw); err != nil {
		a.refused(w, err)
		return
	}
	a.Logger.Info("typed I/O switches changed", "service", name, "validate_schema", sw.ValidateSchema, "detailed_errors", sw.DetailedErrors)
	reply.JSON(w, http.StatusOK, ioSwitches{Service: name, Schema: schema, ValidateSchema: sw.ValidateSchema, DetailedErrors: sw.DetailedErrors})
}
