package scheduler

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/sdk/service"
)

// Router is where the scheduler adds its admin API calls: the admin API,
// whose Handle protects them with the admin login.
type Router = interface {
	Handle(pattern string, h http.HandlerFunc)
}

// Routes adds the scheduler's views of job runs to the admin API under
// prefix (/admin/api/v1): GET prefix/scheduler/jobs lists every job with
// its last and next runs, GET prefix/scheduler/jobs/{name} shows one with
// its run history. Jobs themselves are configuration objects, under
// prefix/objects/scheduler/{name}, and the kind's actions run, pause and
// resume them.
func (s *Scheduler) Routes(r Router, prefix string) {
	base := prefix + "/scheduler/jobs"
	r.Handle("GET "+base, s.apiList)
	r.Handle("GET "+base+"/{name}", s.apiGet)
}

func (s *Scheduler) apiList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	reply.JSON(w, http.StatusOK, s.List(q.Get("service"), q.Get("query")))
}

func (s *Scheduler) apiGet(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	js, err := s.Status(r.Context(), name)
	if err != nil {
		id := cid.New()
		w.Header().Set(reply.CIDHeader, id)
		if errors.Is(err, ErrNoJob) {
			reply.Envelope(w, http.StatusNotFound, id, "No scheduler job named "+strconv.Quote(name))
			return
		}
		s.log.Error("scheduler admin API call failed", "cid", id, "job", name, "error", err.Error())
		reply.Envelope(w, http.StatusInternalServerError, id, reply.GenericError)
		return
	}
	reply.JSON(w, http.StatusOK, js)
}

// The actions of kind scheduler. Their old paths under /scheduler/jobs
// are aliases.
var actions = []registry.Action{
	{
		Name: "execute",
		Doc: "Runs the job now, as if it were due, without changing when it runs next or counting towards its repeats; inactive jobs can be run too. " +
			`Answers 202 with {"name", "cid"} at once, the cid being the run's (X-Plexus-CID); 409 while the job's previous run is still going.`,
		Status:  http.StatusAccepted,
		Aliases: []string{"/scheduler/jobs/{name}/execute"},
		Run: func(ctx context.Context, call *registry.Call) (any, error) {
			s, err := schedulerOf(call)
			if err != nil {
				return nil, err
			}
			if err := s.ExecuteAs(call.Name, call.CID); err != nil {
				return nil, executeError(call.Name, err)
			}
			return map[string]string{"name": call.Name, "cid": call.CID}, nil
		},
	},
	setActive("pause", false, "Makes the job inactive through the one change path: it is kept, with its run history, but does not run until it is resumed; a run going on is not stopped. Answers the job's status, as GET /admin/api/v1/scheduler/jobs/{name} shows it, without the history."),
	setActive("resume", true, "Makes the job active again through the one change path: it runs at the next point of its plan, and a job that had completed its plan starts it afresh. Answers the job's status, as GET /admin/api/v1/scheduler/jobs/{name} shows it, without the history."),
}

// setActive returns the action that pauses or resumes a job.
func setActive(name string, active bool, doc string) registry.Action {
	return registry.Action{
		Name:    name,
		Doc:     doc,
		Aliases: []string{"/scheduler/jobs/{name}/" + name},
		Run: func(ctx context.Context, call *registry.Call) (any, error) {
			s, err := schedulerOf(call)
			if err != nil {
				return nil, err
			}
			if err := s.SetActive(ctx, call.Name, active, "admin"); err != nil {
				return nil, executeError(call.Name, err)
			}
			js, err := s.Status(ctx, call.Name)
			if err != nil {
				return nil, executeError(call.Name, err)
			}
			js.History = nil
			return js, nil
		},
	}
}

// schedulerOf returns the server's scheduler, for an action.
func schedulerOf(call *registry.Call) (*Scheduler, error) {
	s, ok := registry.Subsystem[*Scheduler](call.State.Env())
	if !ok {
		return nil, service.ServiceUnavailable("The scheduler is not running")
	}
	return s, nil
}
