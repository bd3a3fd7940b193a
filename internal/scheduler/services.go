package scheduler

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/plexushq/plexus/internal/invoke"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Names of the built-in services that manage jobs (Zato's
// zato.scheduler.job.* under Plexus's prefix).
const (
	ServiceCreate  = "plexus.scheduler.job.create"
	ServiceEdit    = "plexus.scheduler.job.edit"
	ServiceDelete  = "plexus.scheduler.job.delete"
	ServiceExecute = "plexus.scheduler.job.execute"
	ServiceGetList = "plexus.scheduler.job.get-list"
	ServiceGet     = "plexus.scheduler.job.get"
)

// Services returns the built-in services that manage jobs, so services can
// do what the admin API does: self.invoke("plexus.scheduler.job.create",
// {...}). Every change goes through the one change path.
func (s *Scheduler) Services() []any {
	return []any{
		service.Func(ServiceCreate, "Creates a scheduler job from the job's fields (name, service, job_type, start_date, weeks … seconds, repeats, cron_definition, extra, timezone, jitter_ms, is_active). start_date defaults to now; cluster_id is accepted and ignored; should_ignore_existing: true makes an existing job no error. Returns {\"id\": name, \"name\": name}.", s.svcCreate),
		service.Func(ServiceEdit, "Changes a scheduler job: name (or id) says which, and every other field sent replaces the job's; fields not sent are kept. Returns {\"id\": name, \"name\": name}.", s.svcEdit),
		service.Func(ServiceDelete, "Deletes a scheduler job, named by name (or id), for good, with its run history.", s.svcDelete),
		service.Func(ServiceExecute, "Runs a scheduler job now, named by name (or id, job_id), without changing its plan. Returns {\"cid\": <the run's cid>}; answers 409 while its previous run is still going.", s.svcExecute),
		service.Func(ServiceGetList, "Lists scheduler jobs with their fields and runs: next_run_utc, last_run_utc, last_outcome, last_duration_ms, run_count. Optional input: service_name (only that service's jobs), query (only names containing it).", s.svcGetList),
		service.Func(ServiceGet, "Returns one scheduler job, named by name (or id), with its fields, its runs and its run history.", s.svcGet),
	}
}

// input returns the request's fields: a JSON object given as a dict or as
// text.
func input(c *service.Context) (map[string]any, error) {
	if m, ok := c.Request.Payload.(map[string]any); ok {
		return maps.Clone(m), nil
	}
	if len(c.Request.RawRequest) == 0 {
		return map[string]any{}, nil
	}
	v, err := invoke.DecodeJSON(c.Request.RawRequest)
	if m, ok := v.(map[string]any); err == nil && ok {
		return m, nil
	}
	return nil, service.BadRequest("Expected a JSON object with the job's fields")
}

// jobName returns the job named by the first of keys present. Plexus names
// jobs by name; create returns it as "id" too, so Zato code that passes
// the id back works.
func jobName(in map[string]any, keys ...string) (string, error) {
	for _, k := range keys {
		if v, ok := in[k]; ok && v != nil && fmt.Sprint(v) != "" {
			return fmt.Sprint(v), nil
		}
	}
	return "", service.ElementMissing(keys[0])
}

// dropZatoOnly removes the Zato inputs that have no meaning in Plexus.
func dropZatoOnly(in map[string]any) {
	for _, k := range [...]string{"cluster_id", "id", "should_ignore_existing"} {
		delete(in, k)
	}
}

func (s *Scheduler) svcCreate(c *service.Context) error {
	in, err := input(c)
	if err != nil {
		return err
	}
	name, err := jobName(in, "name")
	if err != nil {
		return err
	}
	ignoreExisting, _ := in["should_ignore_existing"].(bool)
	dropZatoOnly(in)
	if _, exists := s.rt.State().Object(Kind, name); exists {
		if ignoreExisting {
			c.Response.Payload = map[string]any{"id": name, "name": name}
			return nil
		}
		return service.Conflict("Job `%s` already exists", name)
	}
	if v, _ := in["start_date"].(string); v == "" {
		in["start_date"] = s.clock.Now().UTC().Format(time.RFC3339)
	}
	return s.put(c, name, in, "create")
}

func (s *Scheduler) svcEdit(c *service.Context) error {
	in, err := input(c)
	if err != nil {
		return err
	}
	name, err := jobName(in, "name", "id")
	if err != nil {
		return err
	}
	obj, ok := s.rt.State().Object(Kind, name)
	if !ok {
		return service.NotFound("Job `%s` does not exist", name)
	}
	dropZatoOnly(in)
	// Fields not sent keep their values.
	var merged map[string]any
	cur, _ := json.Marshal(obj)
	json.Unmarshal(cur, &merged)
	maps.Copy(merged, in)
	merged["name"] = name
	return s.put(c, name, merged, "edit")
}

// put decodes a job from its fields and applies it.
func (s *Scheduler) put(c *service.Context, name string, fields map[string]any, verb string) error {
	k, _ := registry.Lookup(Kind)
	raw := make(map[string]json.RawMessage, len(fields))
	for f, v := range fields {
		b, err := json.Marshal(v)
		if err != nil {
			return service.BadRequest("Field %s cannot be read: %v", f, err)
		}
		raw[f] = b
	}
	obj, errs := k.DecodeFields(raw)
	if len(errs) > 0 {
		return refused(&live.Refused{Problems: registry.Locate(Kind, name, errs)})
	}
	if _, err := s.rt.Apply(c, live.Changeset{Source: "service", Summary: fmt.Sprintf("%s scheduler job %q", verb, name),
		Objects: []live.Change{{Kind: Kind, Name: name, Object: obj}}}); err != nil {
		return refused(err)
	}
	s.catchUp()
	out := map[string]any{"id": name, "name": name}
	if j := obj.(*Job); j.CronDefinition != "" {
		out["cron_definition"] = j.CronDefinition
	}
	c.Response.Payload = out
	return nil
}

// refused turns a refused change into 400 with every problem; other
// errors stay internal.
func refused(err error) error {
	if r, ok := live.IsRefused(err); ok {
		return service.BadRequest("%s", r.Error())
	}
	return err
}

func (s *Scheduler) svcDelete(c *service.Context) error {
	in, err := input(c)
	if err != nil {
		return err
	}
	name, err := jobName(in, "name", "id")
	if err != nil {
		return err
	}
	if _, ok := s.rt.State().Object(Kind, name); !ok {
		return service.NotFound("Job `%s` does not exist", name)
	}
	if _, err := s.rt.Apply(c, live.Changeset{Source: "service", Summary: fmt.Sprintf("delete scheduler job %q", name),
		Objects: []live.Change{{Kind: Kind, Name: name}}}); err != nil {
		return refused(err)
	}
	s.catchUp()
	return nil
}

func (s *Scheduler) svcExecute(c *service.Context) error {
	in, err := input(c)
	if err != nil {
		return err
	}
	name, err := jobName(in, "name", "id", "job_id")
	if err != nil {
		return err
	}
	id, err := s.Execute(name)
	if err != nil {
		return executeError(name, err)
	}
	c.Response.Payload = map[string]any{"cid": id}
	return nil
}

// executeError maps Execute's errors to what callers see.
func executeError(name string, err error) error {
	switch {
	case errors.Is(err, ErrNoJob):
		return service.NotFound("Job `%s` does not exist", name)
	case errors.Is(err, ErrRunning):
		return service.Conflict("Job `%s` is still running; it was not started again", name)
	case errors.Is(err, ErrStopped):
		return service.NewError(http.StatusServiceUnavailable, "The scheduler is not running")
	}
	return err
}

func (s *Scheduler) svcGetList(c *service.Context) error {
	in, err := input(c)
	if err != nil {
		return err
	}
	svc, _ := in["service_name"].(string)
	query, _ := in["query"].(string)
	c.Response.Payload = generic(s.List(svc, query))
	return nil
}

func (s *Scheduler) svcGet(c *service.Context) error {
	in, err := input(c)
	if err != nil {
		return err
	}
	name, err := jobName(in, "name", "id")
	if err != nil {
		return err
	}
	js, err := s.Status(c, name)
	if errors.Is(err, ErrNoJob) {
		return service.NotFound("Job `%s` does not exist", name)
	}
	if err != nil {
		return err
	}
	c.Response.Payload = generic(js)
	return nil
}

// generic returns v as plain JSON values (maps, lists, strings, numbers),
// which every service language can read, as Zato's services return dicts.
func generic(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	out, err := invoke.DecodeJSON(b)
	if err != nil {
		return v
	}
	return out
}
