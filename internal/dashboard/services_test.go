package dashboard_test

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

func TestServices(t *testing.T) {
	s, b := start(t)
	src, err := os.ReadFile("../../examples/starlark/log_input_data.star")
	if err != nil {
		t.Fatal(err)
	}
	const svc = "demo.star.log-input-data"
	// A file with an error is refused with the problem at its line.
	bad := strings.Replace(string(src), `user_name = self.request.payload["user_name"]`, `user_name = self.request.payload["user_name"`, 1)
	p := b.post("/deploy", url.Values{"file": {"log_input_data.star"}, "source": {bad}})
	if p.Status != 400 || !strings.Contains(p.Body, "<mark>12  ") || !strings.Contains(p.Body, "log_input_data.star:") {
		t.Fatalf("bad file: %d\n%s", p.Status, p.Body)
	}
	// A dry run checks without deploying.
	p = b.post("/deploy", url.Values{"file": {"log_input_data.star"}, "source": {string(src)}, "dry_run": {"true"}})
	if p.Status != 200 || !strings.Contains(p.Body, "Checked: the file would deploy") || s.Runtime.State().Services.Get(svc) != nil {
		t.Fatalf("dry run: %d\n%s", p.Status, p.Body)
	}
	p = b.post("/deploy", url.Values{"file": {"log_input_data.star"}, "source": {string(src)}})
	if p.Status != 200 || !strings.Contains(p.Body, "Deployed at revision") || s.Runtime.State().Services.Get(svc) == nil {
		t.Fatalf("deploy: %d\n%s", p.Status, p.Body)
	}
	// The list shows it with its docs; the channel using it is listed.
	b.post("/kinds/channel_rest/new", url.Values{"name": {"log-input"}, "url_path": {"/api/log-input-data"}, "service": {svc}})
	p = b.get("/services")
	if !strings.Contains(p.Body, `href="/services/`+svc+`"`) || !strings.Contains(p.Body, "Logs input data.") || !strings.Contains(p.Body, "channel_rest log-input") {
		t.Fatalf("services:\n%s", p.Body)
	}
	p = b.get("/services/" + svc)
	if p.Status != 200 || !strings.Contains(p.Body, `<span class="tok-kw">def</span> handle`) || !strings.Contains(p.Body, "channel_rest log-input") {
		t.Fatalf("service page: %d\n%s", p.Status, p.Body)
	}
	// Invoking it shows the answer, its cid and the log line of the cid.
	p = b.post("/services/"+svc+"/invoke", url.Values{"payload": {`{"user_id": "123", "user_name": "my.user"}`}})
	if p.Status != 200 || !strings.Contains(p.Body, "<strong>200</strong>") || !strings.Contains(p.Body, `id="answer-log"`) || !strings.Contains(p.Body, "uid:123; username:my.user") {
		t.Fatalf("invoke: %d\n%s", p.Status, p.Body)
	}
	// A failing invocation shows its status and error.
	p = b.post("/services/"+svc+"/invoke", url.Values{"payload": {`{}`}})
	if !strings.Contains(p.Body, "<strong>500</strong>") && !strings.Contains(p.Body, "<strong>400</strong>") {
		t.Fatalf("failing invoke:\n%s", p.Body)
	}
	// The typed I/O switches.
	if p := b.post("/services/"+svc+"/io", url.Values{"validate_schema": {"false"}, "detailed_errors": {"false", "true"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("switches: %d\n%s", p.Status, p.Body)
	}
	if p := b.get("/services/" + svc); !strings.Contains(p.Body, `name="detailed_errors" value="true" checked`) {
		t.Fatalf("switch not saved:\n%s", p.Body)
	}
	// A new channel's form is filled in from the service's link.
	if p := b.get("/kinds/channel_rest/new?service=" + svc); !strings.Contains(p.Body, `value="`+svc+`" selected`) {
		t.Fatalf("new channel for the service:\n%s", p.Body)
	}
	// Undeploy (the channel must go first).
	b.post("/kinds/channel_rest/objects/log-input/delete", nil)
	if p := b.post("/undeploy", url.Values{"file": {"log_input_data.star"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("undeploy: %d\n%s", p.Status, p.Body)
	}
	if s.Runtime.State().Services.Get(svc) != nil {
		t.Fatal("still deployed")
	}
}
