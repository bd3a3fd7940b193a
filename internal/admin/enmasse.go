package admin

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/enmasse"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/reply"
)

// maxEnmasseBody bounds an import's request body: the files of a large
// configuration (10,000 channels are about 1 MiB).
const maxEnmasseBody = 64 << 20

// ImportResponse is the answer of POST /enmasse/import: the report, with
// result "OK" or "Error".
type ImportResponse struct {
	Result string `json:"result"`
	// CID and Details say what went wrong when the import failed for
	// another reason than problems in the files (they are in the log).
	CID     string `json:"cid,omitempty"`
	Details string `json:"details,omitempty"`
	*enmasse.Report
}

// ImportLine is one line of a streamed import (?progress=true): a
// progress update, or the final answer.
type ImportLine struct {
	Progress *enmasse.Progress `json:"progress,omitempty"`
	*ImportResponse
}

// enmasseExport answers the configuration as an enmasse file.
// ?include_type=a,b limits it to some sections.
func (a *API) enmasseExport(w http.ResponseWriter, r *http.Request) {
	var types []string
	for _, v := range r.URL.Query()["include_type"] {
		types = append(types, strings.Split(v, ",")...)
	}
	data, err := enmasse.Export(a.Runtime.State(), enmasse.ExportOptions{IncludeTypes: types})
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Write(data)
}

// enmasseImport imports an enmasse file. The body is a JSON
// enmasse.Bundle (the files and variables, as plexus enmasse import sends
// them) or, with any other content type, the YAML of one file, which can
// use neither include: nor variables. ?dry_run=true only checks;
// ?replace=true deletes what the files do not hold; ?progress=true
// streams JSON lines of progress before the answer.
func (a *API) enmasseImport(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEnmasseBody))
	if err != nil {
		fail(w, http.StatusRequestEntityTooLarge, "Request body is too large")
		return
	}
	q := r.URL.Query()
	var b enmasse.Bundle
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &b); err != nil || len(b.Files) == 0 {
			fail(w, http.StatusBadRequest, "Expected a JSON object with the files to import: {\"files\": [{\"name\": \"enmasse.yaml\", \"content\": \"...\"}], \"env\": {...}}")
			return
		}
	} else {
		name := q.Get("name")
		if name == "" {
			name = "enmasse.yaml"
		}
		b.Files = []enmasse.File{{Name: name, Content: string(body)}}
	}
	opts := enmasse.Options{
		DryRun:        q.Get("dry_run") == "true",
		Replace:       q.Get("replace") == "true",
		ConfirmDelete: b.ConfirmDelete,
		Lookup:        b.Lookup,
		Source:        "enmasse",
		IfRev:         b.IfRev,
	}
	if h := r.Header.Get("If-Match"); h != "" {
		rev, ok := a.ifMatch(w, r)
		if !ok {
			return
		}
		opts.IfRev = max(rev, 0) // If-Match: * asks nothing of a whole import
	}
	stream := q.Get("progress") == "true"
	var mu sync.Mutex
	var enc *json.Encoder
	if stream {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		enc = json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		flusher, _ := w.(http.Flusher)
		opts.Progress = func(p enmasse.Progress) {
			mu.Lock()
			defer mu.Unlock()
			enc.Encode(ImportLine{Progress: &p})
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
	rep, err := enmasse.Import(r.Context(), a.Runtime, b.Input(), opts)
	var refused *enmasse.Refused
	if err != nil && !errors.As(err, &refused) {
		if !stream {
			a.refused(w, err) // logs it and answers 500
			return
		}
		id := cid.New()
		details := reply.GenericError
		if conflict := (*live.Conflict)(nil); errors.As(err, &conflict) {
			details = "Precondition failed: " + conflict.Error()
			a.Logger.Warn("enmasse import refused: If-Match", "cid", id, "error", err.Error())
		} else {
			a.Logger.Error("enmasse import failed", "cid", id, "error", err.Error())
		}
		mu.Lock()
		defer mu.Unlock()
		enc.Encode(ImportLine{ImportResponse: &ImportResponse{Result: "Error", CID: id, Details: details}})
		return
	}
	resp := &ImportResponse{Result: "OK", Report: rep}
	status := http.StatusOK
	if refused != nil {
		resp.Result, status = "Error", http.StatusBadRequest
	}
	if stream {
		mu.Lock()
		defer mu.Unlock()
		enc.Encode(ImportLine{ImportResponse: resp})
		return
	}
	reply.JSON(w, status, resp)
}
