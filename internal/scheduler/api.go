package scheduler

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/runtime"
	"github.com/plexushq/plexus/sdk/service"
)

// Router is where the scheduler adds its admin API calls: the admin API,
// whose Handle protects them with the admin login.
type Router interface {
	Handle(pattern string, h http.HandlerFunc)
}

// Routes adds the scheduler's admin API calls under prefix
// (/admin/api/v1). Jobs themselves are configuration objects, under
// prefix/objects/scheduler/{name}; these calls show and drive their runs.
func (s *Scheduler) Routes(r Router, prefix string) {
	base := prefix + "/scheduler/jobs"
	r.Handle("GET "+base, s.apiList)
	r.Handle("GET "+base+"/{name}", s.apiGet)
	r.Handle("POST "+base+"/{name}/execute", s.apiExecute)
	r.Handle("POST "+base+"/{name}/pause", s.apiSetActive(false))
	r.Handle("POST "+base+"/{name}/resume", s.apiSetActive(true))
}

func (s *Scheduler) apiList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	reply.JSON(w, http.StatusOK, s.List(q.Get("service"), q.Get("query")))
}

func (s *Scheduler) apiGet(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	js, err := s.Status(r.Context(), name)
	if err != nil {
		s.apiError(w, name, err)
		return
	}
	reply.JSON(w, http.StatusOK, js)
}

func (s *Scheduler) apiExecute(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	id, err := s.Execute(name)
	if err != nil {
		s.apiError(w, name, err)
		return
	}
	w.Header().Set(reply.CIDHeader, id)
	reply.JSON(w, http.StatusAccepted, map[string]string{"name": name, "cid": id})
}

func (s *Scheduler) apiSetActive(active bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if err := s.SetActive(r.Context(), name, active, "admin"); err != nil {
			s.apiError(w, name, err)
			return
		}
		js, err := s.Status(r.Context(), name)
		if err != nil {
			s.apiError(w, name, err)
			return
		}
		js.History = nil
		reply.JSON(w, http.StatusOK, js)
	}
}

// apiError answers with the error envelope: 404 for an unknown job, 409
// for a job still running, 400 with every problem for a refused change,
// and 500 (cause in the log) for anything else.
func (s *Scheduler) apiError(w http.ResponseWriter, name string, err error) {
	id := cid.New()
	w.Header().Set(reply.CIDHeader, id)
	if rf, ok := runtime.IsRefused(err); ok {
		reply.JSON(w, http.StatusBadRequest, map[string]any{"result": "Error", "cid": id, "details": rf.Error(), "problems": rf.Problems})
		return
	}
	if errors.Is(err, ErrNoJob) {
		reply.Envelope(w, http.StatusNotFound, id, "No scheduler job named "+strconv.Quote(name))
		return
	}
	var se *service.Error
	if errors.As(executeError(name, err), &se) {
		reply.Envelope(w, se.Status, id, se.Message)
		return
	}
	s.log.Error("scheduler admin API call failed", "cid", id, "job", name, "error", err.Error())
	reply.Envelope(w, http.StatusInternalServerError, id, reply.GenericError)
}
