package dashboard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/enmasse"
	"github.com/plexushq/plexus/internal/registry"
)

// enmasseData is the body of the enmasse page.
type enmasseData struct {
	Name, Content string
	Replace       bool
	Report        *enmasse.Report
	Result        string
	// Applied says the report is of an import that was applied, not of
	// a dry run.
	Applied  bool
	Problems []string
}

// enmassePage offers the export and the import form.
func (d *Dashboard) enmassePage(w http.ResponseWriter, r *http.Request, s *session) {
	d.render(w, r, http.StatusOK, "enmasse", d.page(r, s, "Enmasse", &enmasseData{Name: "enmasse.yaml"}))
}

// enmasseExport downloads the configuration as an enmasse file, from the
// admin API (secrets are never in it).
func (d *Dashboard) enmasseExport(w http.ResponseWriter, r *http.Request, s *session) {
	ans := d.call(r, http.MethodGet, "/enmasse/export", nil, "")
	if ans.Status != http.StatusOK {
		d.render(w, r, ans.Status, "message", d.page(r, s, "Enmasse", messageData{Message: "The export failed: " + refusalText(ans)}))
		return
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="enmasse.yaml"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(ans.Body)
}

// enmasseImport imports an uploaded or pasted enmasse file through the
// admin API: first as a dry run whose report (created, changed,
// unchanged, deleted, warnings, problems) is shown with a button to
// apply it; apply=true imports it.
func (d *Dashboard) enmasseImport(w http.ResponseWriter, r *http.Request, s *session) {
	ed := &enmasseData{Name: r.FormValue("name"), Content: r.FormValue("content"), Replace: r.FormValue("replace") == "true"}
	if f, hdr, err := r.FormFile("upload"); err == nil {
		data, _ := io.ReadAll(io.LimitReader(f, maxForm))
		f.Close()
		ed.Content, ed.Name = string(data), path.Base(hdr.Filename)
	}
	if ed.Name == "" {
		ed.Name = "enmasse.yaml"
	}
	if ed.Content == "" {
		ed.Problems = []string{"Upload an enmasse file or paste one."}
		d.render(w, r, http.StatusBadRequest, "enmasse", d.page(r, s, "Enmasse", ed))
		return
	}
	ed.Applied = r.FormValue("apply") == "true"
	// Deleting what the files lack is confirmed object by object: those
	// the dry run listed.
	var confirm []registry.Ref
	if ed.Applied && ed.Replace {
		for _, c := range r.PostForm["confirm_delete"] {
			if kind, name, ok := strings.Cut(c, "/"); ok {
				confirm = append(confirm, registry.Ref{Kind: kind, Name: name})
			}
		}
	}
	body, _ := json.Marshal(enmasse.Bundle{Files: []enmasse.File{{Name: ed.Name, Content: ed.Content}}, ConfirmDelete: confirm})
	q := url.Values{}
	if !ed.Applied {
		q.Set("dry_run", "true")
	}
	if ed.Replace {
		q.Set("replace", "true")
	}
	ans := d.call(r, http.MethodPost, "/enmasse/import?"+q.Encode(), body, "application/json")
	var resp admin.ImportResponse
	if json.Unmarshal(ans.Body, &resp) != nil || resp.Report == nil {
		ed.Problems = []string{refusalText(ans)}
		d.render(w, r, ans.Status, "enmasse", d.page(r, s, "Enmasse", ed))
		return
	}
	ed.Report, ed.Result = resp.Report, resp.Result
	status := http.StatusOK
	if !resp.Report.OK() {
		status = http.StatusBadRequest
	}
	d.render(w, r, status, "enmasse", d.page(r, s, "Enmasse", ed))
}
