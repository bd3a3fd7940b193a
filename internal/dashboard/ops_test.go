package dashboard_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/servertest"
)

func TestScheduler(t *testing.T) {
	_, b := start(t)
	job := url.Values{"name": {"nightly"}, "service": {"demo.request-object"}, "job_type": {"interval_based"}, "hours": {"1"}, "is_active": {"false", "true"}}
	if p := b.post("/kinds/scheduler/new", job); p.Status != http.StatusSeeOther {
		t.Fatalf("new job: %d\n%s", p.Status, p.Body)
	}
	p := b.get("/scheduler")
	if p.Status != 200 || !strings.Contains(p.Body, `href="/scheduler/nightly"`) || !strings.Contains(p.Body, "demo.request-object") {
		t.Fatalf("jobs: %d\n%s", p.Status, p.Body)
	}
	if p := b.post("/scheduler/nightly/execute", nil); p.Status != 200 || !strings.Contains(p.Body, "execute: 202") {
		t.Fatalf("run now: %d\n%s", p.Status, p.Body)
	}
	if p := b.post("/scheduler/nightly/pause", nil); !strings.Contains(p.Body, "<strong>paused</strong>") {
		t.Fatalf("pause:\n%s", p.Body)
	}
	if p := b.post("/scheduler/nightly/resume", nil); strings.Contains(p.Body, "<strong>paused</strong>") {
		t.Fatalf("resume:\n%s", p.Body)
	}
	// The manual run is in the history once it has finished.
	deadline := time.Now().Add(10 * time.Second)
	for p := b.get("/scheduler/nightly"); !strings.Contains(p.Body, "<td>manual</td>"); p = b.get("/scheduler/nightly") {
		if time.Now().After(deadline) {
			t.Fatalf("history lacks the manual run:\n%s", p.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if p := b.get("/scheduler/nope"); p.Status != 404 {
		t.Fatalf("unknown job: %d", p.Status)
	}
}

func TestEnmasse(t *testing.T) {
	s, b := start(t)
	b.post("/kinds/outgoing_rest/new", url.Values{"name": {"Existing"}, "host": {"http://127.0.0.1:9"}, "url_path": {"/x"}})
	p := b.get("/enmasse/export")
	if p.Status != 200 || !strings.Contains(p.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(p.Body, "name: Existing") {
		t.Fatalf("export: %d %v\n%s", p.Status, p.Header, p.Body)
	}
	file := "outgoing_rest:\n  - name: Existing\n    host: http://127.0.0.1:9\n    url_path: /changed\n  - name: New\n    host: http://127.0.0.1:9\n    url_path: /new\n"
	// The upload is checked first: the report says what would change.
	p = b.upload("/enmasse/import", "upload", "conf.yaml", file, nil)
	if p.Status != 200 || !strings.Contains(p.Body, "Dry run") || !strings.Contains(p.Body, `id="report-created">1<`) || !strings.Contains(p.Body, `id="report-updated">1<`) {
		t.Fatalf("dry run: %d\n%s", p.Status, p.Body)
	}
	if !strings.Contains(p.Body, `<ul id="report-created-objects"><li>outgoing_rest New</li></ul>`) ||
		!strings.Contains(p.Body, `<ul id="report-updated-objects"><li>outgoing_rest Existing</li></ul>`) {
		t.Fatalf("the dry run does not name what it would create and change:\n%s", p.Body)
	}
	if !strings.Contains(p.Body, `class="import-progress"`) {
		t.Fatalf("no progress shown while applying:\n%s", p.Body)
	}
	if _, ok := s.Runtime.State().Object("outgoing_rest", "New"); ok {
		t.Fatal("the dry run imported")
	}
	p = b.post("/enmasse/import", url.Values{"apply": {"true"}, "name": {"conf.yaml"}, "content": {file}})
	if p.Status != 200 || !strings.Contains(p.Body, "Imported") {
		t.Fatalf("apply: %d\n%s", p.Status, p.Body)
	}
	if _, ok := s.Runtime.State().Object("outgoing_rest", "New"); !ok {
		t.Fatal("not imported")
	}
	// A file with problems lists them and offers no apply.
	p = b.post("/enmasse/import", url.Values{"content": {"outgoing_rest:\n  - name: Bad\n    hots: x\n"}})
	if p.Status != 400 || !strings.Contains(p.Body, `id="report-problems"`) || !strings.Contains(p.Body, "did you mean") || strings.Contains(p.Body, "Apply this import") {
		t.Fatalf("bad file: %d\n%s", p.Status, p.Body)
	}
}

// upload posts a multipart form with a file.
func (b *browser) upload(path, field, name, content string, fields url.Values) *page {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", b.csrf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile(field, name)
	fw.Write([]byte(content))
	mw.Close()
	req, _ := http.NewRequest("POST", b.base+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.send(req)
}

func TestOverview(t *testing.T) {
	s, b := start(t)
	b.post("/kinds/channel_rest/new", url.Values{"name": {"ping"}, "url_path": {"/ping"}, "service": {"demo.request-object"}})
	for range 3 {
		servertest.Do(t, "GET", s.API+"/ping", "", nil)
	}
	p := b.get("/")
	if p.Status != 200 || !strings.Contains(p.Body, `id="charts"`) || !strings.Contains(p.Body, "Every object that runs in the background is running") {
		t.Fatalf("overview: %d\n%s", p.Status, p.Body)
	}
	_ = admin.Prefix
}
