package dashboard

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/plexushq/plexus/internal/scheduler"
)

// schedulerData is the body of the scheduler's pages.
type schedulerData struct {
	Q    string
	Jobs []scheduler.JobStatus
	// Job is the job of a job's page, with its history.
	Job    *scheduler.JobStatus
	Answer *actionAnswer
}

// schedulerPage lists the jobs with their plans, next and last runs,
// from the admin API; ?q= searches names.
func (d *Dashboard) schedulerPage(w http.ResponseWriter, r *http.Request, s *session) {
	sd := &schedulerData{Q: r.URL.Query().Get("q")}
	ans := d.call(r, http.MethodGet, "/scheduler/jobs?query="+url.QueryEscape(sd.Q), nil, "")
	if ans.Status != http.StatusOK || json.Unmarshal(ans.Body, &sd.Jobs) != nil {
		d.render(w, r, http.StatusBadGateway, "message", d.page(r, s, "Scheduler", messageData{Message: "The scheduler could not be read: " + refusalText(ans)}))
		return
	}
	d.render(w, r, http.StatusOK, "scheduler", d.page(r, s, "Scheduler", sd))
}

// jobPage shows a job's status and run history, with buttons to run it
// now, pause and resume it.
func (d *Dashboard) jobPage(w http.ResponseWriter, r *http.Request, s *session) {
	d.showJob(w, r, s, &schedulerData{})
}

func (d *Dashboard) showJob(w http.ResponseWriter, r *http.Request, s *session, sd *schedulerData) {
	name := r.PathValue("name")
	ans := d.call(r, http.MethodGet, "/scheduler/jobs/"+url.PathEscape(name), nil, "")
	if ans.Status == http.StatusNotFound {
		d.notFound(w, r, s, "No scheduler job named "+strconv.Quote(name)+".")
		return
	}
	var js scheduler.JobStatus
	if ans.Status != http.StatusOK || json.Unmarshal(ans.Body, &js) != nil {
		d.render(w, r, http.StatusBadGateway, "message", d.page(r, s, "Scheduler", messageData{Message: "The job could not be read: " + refusalText(ans)}))
		return
	}
	sd.Job = &js
	d.render(w, r, http.StatusOK, "scheduler", d.page(r, s, "Job "+name, sd))
}

// jobAction runs a job now, pauses or resumes it, through the kind's
// actions in the admin API.
func (d *Dashboard) jobAction(w http.ResponseWriter, r *http.Request, s *session) {
	name, act := r.PathValue("name"), r.PathValue("action")
	ans := d.call(r, http.MethodPost, "/objects/"+scheduler.Kind+"/"+url.PathEscape(name)+"/"+url.PathEscape(act), nil, "application/json")
	d.showJob(w, r, s, &schedulerData{Answer: &actionAnswer{Action: act, Status: ans.Status, Body: prettyJSON(ans.Body), CID: ans.cid()}})
}
