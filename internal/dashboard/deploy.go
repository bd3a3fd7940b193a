package dashboard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/registry"
)

// maxSource bounds an uploaded or pasted service file.
const maxSource = 4 << 20

// deployData is the body of the deploy page.
type deployData struct {
	File, Source string
	// Lines are the source's lines, with the problems at each, when a
	// deploy was refused.
	Lines    []sourceLine
	Problems []string
	Result   *admin.DeployResult
	Files    []codeFile
}

// sourceLine is one line of a refused file.
type sourceLine struct {
	N        int
	Text     string
	Problems []string
}

// codeFile is a deployed file.
type codeFile struct {
	File, Origin string
	Services     []string
}

// deployPage lists the deployed files and shows the deploy form.
func (d *Dashboard) deployPage(w http.ResponseWriter, r *http.Request, s *session) {
	d.showDeploy(w, r, s, http.StatusOK, &deployData{})
}

func (d *Dashboard) showDeploy(w http.ResponseWriter, r *http.Request, s *session, status int, dd *deployData) {
	st := d.state()
	code := st.Code()
	for _, f := range slices.Sorted(func(yield func(string) bool) {
		for f := range code {
			if !yield(f) {
				return
			}
		}
	}) {
		dd.Files = append(dd.Files, codeFile{File: f, Origin: code[f].Origin, Services: st.Services.From(f)})
	}
	d.render(w, r, status, "deploy", d.page(r, s, "Deploy services", dd))
}

// deploy deploys an uploaded or pasted file through the admin API, with
// the checks of plexus deploy; dry_run=true only checks. A refusal
// shows the source with each problem at its line.
func (d *Dashboard) deploy(w http.ResponseWriter, r *http.Request, s *session) {
	dd := &deployData{File: strings.TrimSpace(r.FormValue("file")), Source: r.FormValue("source")}
	if f, hdr, err := r.FormFile("upload"); err == nil {
		data, _ := io.ReadAll(io.LimitReader(f, maxSource+1))
		f.Close()
		if len(data) > maxSource {
			dd.Problems = []string{"The file is larger than 4 MiB."}
			d.showDeploy(w, r, s, http.StatusRequestEntityTooLarge, dd)
			return
		}
		dd.Source = string(data)
		if dd.File == "" {
			dd.File = path.Base(hdr.Filename)
		}
	}
	dd.Source = strings.ReplaceAll(dd.Source, "\r\n", "\n")
	switch {
	case dd.File == "":
		dd.Problems = append(dd.Problems, "Give the file a name, such as billing.star.")
	case strings.TrimSpace(dd.Source) == "":
		dd.Problems = append(dd.Problems, "Upload a file or paste its source.")
	}
	if len(dd.Problems) > 0 {
		d.showDeploy(w, r, s, http.StatusBadRequest, dd)
		return
	}
	body, _ := json.Marshal(admin.SourceFile{File: dd.File, Source: dd.Source, Origin: "dashboard"})
	q := url.Values{}
	if r.FormValue("dry_run") == "true" {
		q.Set("dry_run", "true")
	}
	if r.FormValue("force") == "true" {
		q.Set("force", "true")
	}
	p := "/deploy"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	ans := d.call(r, http.MethodPost, p, body, "application/json")
	if ans.Status >= 300 {
		problems := refusal(ans)
		dd.Lines = linesWithProblems(dd.Source, dd.File, problems)
		for _, pr := range problems {
			dd.Problems = append(dd.Problems, pr.Error())
		}
		d.showDeploy(w, r, s, ans.Status, dd)
		return
	}
	var res admin.DeployResult
	json.Unmarshal(ans.Body, &res)
	dd.Result = &res
	d.showDeploy(w, r, s, http.StatusOK, dd)
}

// linesWithProblems splits a refused file into lines, each with the
// problems at it.
func linesWithProblems(src, file string, problems []*registry.Problem) []sourceLine {
	lines := strings.Split(src, "\n")
	out := make([]sourceLine, len(lines))
	for i, l := range lines {
		out[i] = sourceLine{N: i + 1, Text: l}
	}
	for _, p := range problems {
		if p.Line >= 1 && p.Line <= len(out) && (p.File == "" || p.File == file || p.Name == file) {
			out[p.Line-1].Problems = append(out[p.Line-1].Problems, p.Error())
		}
	}
	return out
}

// undeploy removes a deployed file through the admin API.
func (d *Dashboard) undeploy(w http.ResponseWriter, r *http.Request, s *session) {
	file := r.PostFormValue("file")
	ans := d.call(r, http.MethodDelete, "/deploy/"+escapePath(file)+"?force=true", nil, "")
	if ans.Status >= 300 {
		d.showDeploy(w, r, s, ans.Status, &deployData{Problems: []string{refusalText(ans)}})
		return
	}
	http.Redirect(w, r, "/deploy", http.StatusSeeOther)
}

// escapePath escapes each segment of a slash-separated path.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}
