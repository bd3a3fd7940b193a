package scheduler_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/sdk/service"
)

const jobs = admin.Prefix + "/scheduler/jobs"

// recorder is a Go service that reports its calls.
type recorder struct{ calls chan *service.Context }

func newRecorder() *recorder { return &recorder{calls: make(chan *service.Context, 100)} }

func (r *recorder) Name() string { return "t.recorder" }

func (r *recorder) Handle(c *service.Context) error {
	r.calls <- c
	return nil
}

func (r *recorder) wait(t *testing.T) *service.Context {
	t.Helper()
	select {
	case c := <-r.calls:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the job's service was not called")
		return nil
	}
}

func decode[T any](t *testing.T, r *servertest.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("%d %s: %v", r.StatusCode, r.Body, err)
	}
	return v
}

type jobView struct {
	Name           string   `json:"name"`
	IsActive       bool     `json:"is_active"`
	Service        string   `json:"service"`
	Plan           string   `json:"plan"`
	NextRun        *string  `json:"next_run_utc"`
	LastRun        *string  `json:"last_run_utc"`
	LastOutcome    string   `json:"last_outcome"`
	LastDurationMS *float64 `json:"last_duration_ms"`
	LastCID        string   `json:"last_cid"`
	RunCount       int      `json:"run_count"`
	History        []struct {
		CID     string `json:"cid"`
		Via     string `json:"via"`
		Outcome string `json:"outcome"`
	} `json:"history"`
}

// waitLastRun polls the admin API until the job shows a finished run.
func waitLastRun(t *testing.T, s *servertest.Server, name string) jobView {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := decode[jobView](t, s.AdminCall("GET", jobs+"/"+name, ""))
		if v.LastRun != nil || time.Now().After(deadline) {
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAdminAPI(t *testing.T) {
	rec := newRecorder()
	s := servertest.Start(t, servertest.Options{Services: []any{rec}})
	s.Put("scheduler", "tick", map[string]any{"service": "t.recorder", "job_type": "interval_based", "seconds": 1, "extra": `{"from": "extra"}`})
	c := rec.wait(t)
	if c.Channel.Type != "scheduler" || c.Channel.Name != "tick" || string(c.Request.RawRequest) != `{"from": "extra"}` || !cid.Valid(c.CID) {
		t.Fatalf("run: channel %+v raw %q cid %q", c.Channel, c.Request.RawRequest, c.CID)
	}

	v := waitLastRun(t, s, "tick")
	if !v.IsActive || v.NextRun == nil || v.LastOutcome != "ok" || v.LastDurationMS == nil || v.Plan != "every 1s" || len(v.History) == 0 || v.History[0].Via != "schedule" {
		t.Fatalf("job view: %+v", v)
	}
	list := decode[[]jobView](t, s.AdminCall("GET", jobs, ""))
	if len(list) != 1 || list[0].Name != "tick" || list[0].LastRun == nil || list[0].History != nil {
		t.Fatalf("list: %+v", list)
	}

	// Pause: the job stays, inactive, with nothing planned; the object
	// itself shows it.
	r := s.AdminCall("POST", jobs+"/tick/pause", "")
	if v := decode[jobView](t, r); r.StatusCode != 200 || v.IsActive || v.NextRun != nil {
		t.Fatalf("pause: %d %s", r.StatusCode, r.Body)
	}
	if obj := s.AdminCall("GET", admin.Prefix+"/objects/scheduler/tick", "").JSON(t); obj["is_active"] != false {
		t.Fatalf("object after pause: %v", obj)
	}
	// Execute now works on a paused job and leaves it paused.
	r = s.AdminCall("POST", jobs+"/tick/execute", "")
	id := decode[map[string]string](t, r)["cid"]
	if r.StatusCode != http.StatusAccepted || r.Header.Get("X-Plexus-CID") != id {
		t.Fatalf("execute: %d %s", r.StatusCode, r.Body)
	}
	for c := rec.wait(t); c.CID != id; c = rec.wait(t) {
	}
	r = s.AdminCall("POST", jobs+"/tick/resume", "")
	if v := decode[jobView](t, r); r.StatusCode != 200 || !v.IsActive || v.NextRun == nil {
		t.Fatalf("resume: %d %s", r.StatusCode, r.Body)
	}

	for _, c := range []struct{ method, path, body string }{
		{"GET", jobs + "/nope", ""},
		{"POST", jobs + "/nope/execute", ""},
		{"POST", jobs + "/nope/pause", ""},
	} {
		if r := s.AdminCall(c.method, c.path, c.body); r.StatusCode != 404 || !strings.Contains(string(r.Body), `No scheduler job named \"nope\"`) {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.StatusCode, r.Body)
		}
	}
	// A job that does not validate is refused with every problem.
	r = s.AdminCall("PUT", admin.Prefix+"/objects/scheduler/bad", `{"service": "t.recorder", "job_type": "cron_style", "cron_definition": "0 25 * * *", "timezone": "Europe/Wrsaw"}`)
	body := string(r.Body)
	if r.StatusCode != 400 || !strings.Contains(body, "cron_definition") || !strings.Contains(body, `unknown time zone \"Europe/Wrsaw\"`) {
		t.Fatalf("bad job: %d %s", r.StatusCode, body)
	}
	// Unauthenticated calls are refused like every admin call.
	if r := servertest.Do(t, "GET", s.Admin+jobs, "", nil); r.StatusCode != 401 {
		t.Errorf("without login: %d", r.StatusCode)
	}
	// The metrics count the runs.
	s.AdminCall("DELETE", admin.Prefix+"/objects/scheduler/tick", "")
	wants := []string{`plexus_scheduler_runs_total{outcome="ok"}`, "plexus_scheduler_lateness_seconds_bucket", "plexus_scheduler_jobs_scheduled 0"}
	var lacking []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		// The scheduler drops the deleted job from its queue as it applies
		// the change, which may end after the admin call.
		m := string(s.AdminCall("GET", "/metrics", "").Body)
		lacking = lacking[:0]
		for _, want := range wants {
			if !strings.Contains(m, want) {
				lacking = append(lacking, want)
			}
		}
		if len(lacking) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range lacking {
		t.Errorf("metrics lack %s", want)
	}
}

// The seed's example works with Plexus's service names: a service creates
// a job with self.invoke, and the job runs.
type jobManager struct{}

func (jobManager) Name() string { return "my.job-manager" }

func (jobManager) Handle(c *service.Context) error {
	out, err := c.Invoke("plexus.scheduler.job.create", map[string]any{
		"cluster_id": 1,
		"is_active":  true,
		"name":       "My Sample",
		"service":    "plexus.helpers.input-logger",
		"job_type":   "interval_based",
		"seconds":    1,
	})
	c.Response.Payload = out
	return err
}

func TestServicesManageJobs(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: []any{jobManager{}, newRecorder()}})
	invoke := func(name, body string) *servertest.Response {
		return s.AdminCall("POST", admin.Prefix+"/services/"+name+"/invoke", body)
	}
	r := invoke("my.job-manager", "")
	if r.StatusCode != 200 || string(r.Body) != `{"id":"My Sample","name":"My Sample"}` {
		t.Fatalf("create from a service: %d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "input received", "service=plexus.helpers.input-logger")
	if r := invoke("my.job-manager", ""); r.StatusCode != 409 || !strings.Contains(string(r.Body), "Job `My Sample` already exists") {
		t.Fatalf("create twice: %d %s", r.StatusCode, r.Body)
	}
	if r := invoke("plexus.scheduler.job.create", `{"name": "My Sample", "service": "t.recorder", "job_type": "interval_based", "seconds": 1, "should_ignore_existing": true}`); r.StatusCode != 200 {
		t.Fatalf("should_ignore_existing: %d %s", r.StatusCode, r.Body)
	}

	// edit keeps what is not sent; the id returned by create names the job.
	r = invoke("plexus.scheduler.job.edit", `{"id": "My Sample", "service": "t.recorder", "extra": "edited"}`)
	if r.StatusCode != 200 {
		t.Fatalf("edit: %d %s", r.StatusCode, r.Body)
	}
	obj := s.AdminCall("GET", admin.Prefix+"/objects/scheduler/My%20Sample", "").JSON(t)
	if obj["service"] != "t.recorder" || obj["extra"] != "edited" || obj["seconds"] != float64(1) || obj["start_date"] == "" {
		t.Fatalf("after edit: %v", obj)
	}
	if r := invoke("plexus.scheduler.job.edit", `{"name": "My Sample", "job_type": "hourly"}`); r.StatusCode != 400 || !strings.Contains(string(r.Body), "job_type") {
		t.Fatalf("bad edit: %d %s", r.StatusCode, r.Body)
	}

	r = invoke("plexus.scheduler.job.execute", `{"job_id": "My Sample"}`)
	if r.StatusCode != 200 || !cid.Valid(decode[map[string]string](t, r)["cid"]) {
		t.Fatalf("execute: %d %s", r.StatusCode, r.Body)
	}
	list := decode[[]jobView](t, invoke("plexus.scheduler.job.get-list", `{"cluster_id": 1, "service_name": "t.recorder"}`))
	if len(list) != 1 || list[0].Name != "My Sample" {
		t.Fatalf("get-list: %+v", list)
	}
	if list := decode[[]jobView](t, invoke("plexus.scheduler.job.get-list", `{"service_name": "plexus.ping"}`)); len(list) != 0 {
		t.Fatalf("get-list of another service: %+v", list)
	}
	v := decode[jobView](t, invoke("plexus.scheduler.job.get", `{"name": "My Sample"}`))
	if v.Name != "My Sample" || v.History == nil {
		t.Fatalf("get: %+v", v)
	}

	if r := invoke("plexus.scheduler.job.delete", `{"name": "My Sample"}`); r.StatusCode != 200 {
		t.Fatalf("delete: %d %s", r.StatusCode, r.Body)
	}
	if r := s.AdminCall("GET", admin.Prefix+"/objects/scheduler/My%20Sample", ""); r.StatusCode != 404 {
		t.Fatalf("deleted job still configured: %d", r.StatusCode)
	}
	for name, body := range map[string]string{
		"plexus.scheduler.job.delete":  `{"name": "My Sample"}`,
		"plexus.scheduler.job.execute": `{"id": "My Sample"}`,
		"plexus.scheduler.job.get":     `{"name": "My Sample"}`,
	} {
		if r := invoke(name, body); r.StatusCode != 404 || !strings.Contains(string(r.Body), "Job `My Sample` does not exist") {
			t.Errorf("%s of a deleted job: %d %s", name, r.StatusCode, r.Body)
		}
	}
	if r := invoke("plexus.scheduler.job.create", `{"service": "plexus.ping", "job_type": "one_time"}`); r.StatusCode != 400 || !strings.Contains(string(r.Body), "Element missing: name") {
		t.Errorf("create without a name: %d %s", r.StatusCode, r.Body)
	}
	// Changes made by services are revisions like any other (logs are
	// flushed within logging.FlushInterval).
	for range 100 {
		if len(s.Log.Lines("configuration changed", "source=service")) >= 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(s.Log.Lines("configuration changed", "source=service")); n != 3 {
		t.Errorf("%d changes logged with source=service, want 3 (create, edit, delete)\n%s", n, s.Log)
	}
}

// A one-time job runs once and stays run across a server restart; the
// store says it is inactive.
func TestOneTimeJobAcrossServerRestart(t *testing.T) {
	rec := newRecorder()
	s := servertest.Start(t, servertest.Options{Services: []any{rec}})
	s.Put("scheduler", "once", map[string]any{"service": "t.recorder", "job_type": "one_time", "start_date": "2020-01-01T00:00:00Z", "extra": "only once"})
	if c := rec.wait(t); string(c.Request.RawRequest) != "only once" {
		t.Fatalf("payload %q", c.Request.RawRequest)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.AdminCall("GET", admin.Prefix+"/objects/scheduler/once", "").JSON(t)["is_active"] != false {
		if time.Now().After(deadline) {
			t.Fatal("the one-time job is still active")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s = s.Restart()
	select {
	case <-rec.calls:
		t.Fatal("the one-time job ran again after a restart")
	case <-time.After(1500 * time.Millisecond):
	}
	v := decode[jobView](t, s.AdminCall("GET", jobs+"/once", ""))
	if v.IsActive || v.NextRun != nil || v.LastOutcome != "ok" || len(v.History) != 1 {
		t.Fatalf("after restart: %+v", v)
	}
}

// Shutdown lets a run in flight finish.
func TestShutdownWaitsForRuns(t *testing.T) {
	started, release, finished := make(chan struct{}), make(chan struct{}), make(chan struct{})
	s := servertest.Start(t, servertest.Options{Services: []any{service.Func("t.slow", "", func(c *service.Context) error {
		close(started)
		<-release
		close(finished)
		return nil
	})}})
	s.Put("scheduler", "slow", map[string]any{"service": "t.slow", "job_type": "one_time", "start_date": "2020-01-01T00:00:00Z"})
	<-started
	go func() {
		time.Sleep(100 * time.Millisecond)
		close(release)
	}()
	s.Stop()
	select {
	case <-finished:
	default:
		t.Fatal("shutdown did not wait for the run")
	}
}

// The job actions answer on the one URL shape of actions too, as on their
// older paths under /scheduler/jobs.
func TestJobActions(t *testing.T) {
	rec := newRecorder()
	s := servertest.Start(t, servertest.Options{Services: []any{rec}})
	s.Put("scheduler", "tick", map[string]any{"service": "t.recorder", "job_type": "interval_based", "hours": 1})
	objects := admin.Prefix + "/objects/scheduler/tick/"
	r := s.AdminCall("POST", objects+"pause", "")
	if v := decode[jobView](t, r); r.StatusCode != 200 || v.IsActive || v.History != nil {
		t.Fatalf("pause: %d %s", r.StatusCode, r.Body)
	}
	r = s.AdminCall("POST", objects+"execute", "")
	if id := decode[map[string]string](t, r)["cid"]; r.StatusCode != http.StatusAccepted || r.Header.Get("X-Plexus-CID") != id || rec.wait(t).CID != id {
		t.Fatalf("execute: %d %s", r.StatusCode, r.Body)
	}
	r = s.AdminCall("POST", objects+"resume", "")
	if v := decode[jobView](t, r); r.StatusCode != 200 || !v.IsActive || v.NextRun == nil {
		t.Fatalf("resume: %d %s", r.StatusCode, r.Body)
	}
	if r := s.AdminCall("POST", admin.Prefix+"/objects/scheduler/nope/execute", ""); r.StatusCode != 404 || !strings.Contains(string(r.Body), `No scheduler job named \"nope\"`) {
		t.Errorf("a missing job: %d %s", r.StatusCode, r.Body)
	}
}
