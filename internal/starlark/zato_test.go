package starlark_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/scheduler"
	"github.com/plexushq/plexus/internal/starlark"
)

// A module holds several services, as a Zato module holds several
// classes: each has its own name, documentation, I/O and handlers, and
// the module's namespace.
func TestSeveralServicesInOneModule(t *testing.T) {
	s := start(t)
	mustDeploy(t, s, "crm/customers.star", `
namespace = "my.api.customer"

def _get(self):
    """Returns basic information about a customer."""
    self.response.payload.name = "Jane"
    self.response.payload.is_active = True
    self.response.payload.region = "EU-" + str(self.request.input.cust_id)

GetCustomer = service(
    name = "get-customer",
    input_required = ["cust_id"],
    output_required = ["name", "is_active", "region"],
    output_optional = ["last_seen"],
    skip_empty_keys = True,
    handle = _get,
)

def _update(self):
    self.response.payload.result = "updated " + self.request.input.name

def _delete(self):
    self.response.payload = {"result": "deleted"}

UpdateCustomer = service(
    doc = "Updates basic information about a customer.",
    input_required = ["name"],
    output_required = ["result"],
    response_elem = "response",
    namespace = "my.api.customer-admin",
    handle_POST = _update,
    handle_DELETE = _delete,
)
`)
	s.Channel("get", "get-customer", "", "/customer", nil)
	s.Channel("update", "crm.customers.update-customer", "", "/customer/update", nil)

	r := s.Call("GET", "/customer?cust_id=7", "", nil)
	if r.StatusCode != 200 || string(r.Body) != `{"is_active":true,"name":"Jane","region":"EU-7"}` {
		t.Errorf("get-customer: %d %s", r.StatusCode, r.Body)
	}
	r = s.Call("POST", "/customer/update", `{"name": "Jane"}`, nil)
	if r.StatusCode != 200 || string(r.Body) != `{"response":{"result":"updated Jane"}}` {
		t.Errorf("update-customer POST: %d %s", r.StatusCode, r.Body)
	}
	r = s.Call("DELETE", "/customer/update", `{"name": "Jane"}`, nil)
	if r.StatusCode != 200 || string(r.Body) != `{"response":{"result":"deleted"}}` {
		t.Errorf("update-customer DELETE: %d %s", r.StatusCode, r.Body)
	}
	if r := s.Call("GET", "/customer/update?name=x", "", nil); r.StatusCode != 405 {
		t.Errorf("update-customer GET: %d %s, want 405", r.StatusCode, r.Body)
	}

	for name, want := range map[string][]string{
		"get-customer":                  {`"doc":"Returns basic information about a customer."`, `"namespace":"my.api.customer"`},
		"crm.customers.update-customer": {`"doc":"Updates basic information about a customer."`, `"namespace":"my.api.customer-admin"`},
	} {
		r := s.AdminCall("GET", admin.Prefix+"/services/"+name, "")
		rio := s.AdminCall("GET", admin.Prefix+"/services/"+name+"/io", "")
		var b, bio bytes.Buffer
		json.Compact(&b, r.Body)
		json.Compact(&bio, rio.Body)
		got := b.String() + bio.String()
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %s lacks %s", name, got, w)
			}
		}
	}

	// Saving the module again with one service fewer undeploys it.
	mustDeploy(t, s, "crm/customers.star", `
GetCustomer = service(name = "get-customer", handle = lambda self: None)
`)
	if r := s.AdminCall("GET", admin.Prefix+"/services/crm.customers.update-customer", ""); r.StatusCode != 404 {
		t.Errorf("a service left out of its module is still deployed: %d %s", r.StatusCode, r.Body)
	}
}

// A module may have its own top-level service beside those of service().
func TestModuleServiceBesideDeclared(t *testing.T) {
	comp := compiler()
	svcs, _, err := comp.Compile("billing.star", []byte(`
"""The module's own."""
def handle(self):
    pass

Refund = service(handle = lambda self: None, doc = "Refunds.")
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range svcs {
		got = append(got, s.Name+"="+s.Doc)
	}
	if fmt.Sprint(got) != "[billing=The module's own. billing.refund=Refunds.]" {
		t.Errorf("services: %v", got)
	}
}

func TestServiceDeclarationErrors(t *testing.T) {
	comp := compiler()
	for src, want := range map[string]string{
		"A = service(handle = 1)":                                         "m.star:1:12: A: handle must be a function taking self",
		"A = service(name = 'a')":                                         "m.star:1:12: A: no handler",
		"A = service(handel = lambda self: None)":                         "did you mean handle?",
		"A = service(lambda self: None)":                                  "takes keyword arguments only",
		"A = service(handle = lambda self: None, input_required = 5)":     "m.star:1:12: A: input_required: want a list of element names",
		"A = service(handle = lambda self: None, doc = 1)":                "A: doc must be a string",
		"input_required = ['a']\nA = service(handle = lambda self: None)": "m.star:1:1: input_required is set at the top level",
		"A = 1": "m.star:1:1: no handler",
	} {
		_, _, err := comp.Compile("m.star", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}

// Two services of two modules taking one name are refused as two files
// are.
func TestDeclaredNameTaken(t *testing.T) {
	s := start(t)
	mustDeploy(t, s, "a.star", "A = service(name = 'shared', handle = lambda self: None)")
	status, m := deploy(t, s, false, "b.star", "B = service(name = 'shared', handle = lambda self: None)")
	if status != 400 || !strings.Contains(fmt.Sprint(m["details"]), `service "shared" is already deployed from a.star`) {
		t.Errorf("%d %v", status, m)
	}
}

// self.response.payload takes attributes, as SimpleIO's does in Zato, and
// keys; an untouched payload is an empty body.
func TestPayloadAttributes(t *testing.T) {
	s := start(t)
	mustDeploy(t, s, "attrs.star", `
def handle(self):
    if self.request.input.get("mode") == "none":
        return
    self.response.payload.cid = self.cid
    self.response.payload["n"] = 1
    self.response.payload.n += 1
    self.response.payload.keys_seen = sorted(self.response.payload.keys())
    if self.request.input.get("mode") == "missing":
        self.response.payload.nothing
`)
	s.Channel("attrs", "attrs", "", "/attrs", nil)
	r := s.Call("GET", "/attrs", "", nil)
	var got map[string]any
	if err := json.Unmarshal(r.Body, &got); err != nil || got["cid"] != r.CID() || got["n"] != 2.0 || fmt.Sprint(got["keys_seen"]) != "[cid n]" {
		t.Errorf("%d %s (%v)", r.StatusCode, r.Body, err)
	}
	if r := s.Call("GET", "/attrs?mode=none", "", nil); r.StatusCode != 200 || len(r.Body) != 0 {
		t.Errorf("untouched payload: %d %q", r.StatusCode, r.Body)
	}
	r = s.Call("GET", "/attrs?mode=missing", "", nil)
	if r.StatusCode != 500 {
		t.Errorf("missing attribute: %d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, r.CID(), `payload has no element`, "nothing")
}

// Zato's names of the built-in services and of self's attributes work:
// zato.ping, zato.helpers.input-logger, zato.scheduler.job.* with Zato's
// fields and SCHEDULER.JOB_TYPE, self.outgoing, self.out.plain_http.
func TestZatoNames(t *testing.T) {
	s := start(t)
	job := fmt.Sprintf("zato-names-%p", t)
	mustDeploy(t, s, "jobs.star", fmt.Sprintf(`
def handle(self):
    pong = self.invoke("zato.ping")
    created = self.invoke("zato.scheduler.job.create", {
        "cluster_id": 1,
        "is_active": False,
        "name": %q,
        "service": "zato.helpers.input-logger",
        "job_type": SCHEDULER.JOB_TYPE.INTERVAL_BASED,
        "seconds": 2,
    })
    got = self.invoke("zato.scheduler.job.get-by-name", {"cluster_id": 1, "name": created["id"]})
    jobs = self.invoke("zato.scheduler.job.get-list", {"cluster_id": 1})
    self.invoke("zato.scheduler.job.delete", {"id": created["id"]})
    self.response.payload = {
        "ping": pong["is_ok"],
        "job": got["name"], "service": got["service"], "type": got["job_type"],
        "listed": len([j for j in jobs if j["name"] == created["id"]]),
        "same": self.outgoing == self.out and ("Nope" in self.outgoing.plain_http) == ("Nope" in self.out.rest),
        "types": [SCHEDULER.JOB_TYPE.ONE_TIME, SCHEDULER.JOB_TYPE.CRON_STYLE],
    }
`, job))
	s.Channel("jobs", "jobs", "", "/jobs", nil)
	r := s.Call("POST", "/jobs", "", nil)
	var got map[string]any
	json.Unmarshal(r.Body, &got)
	want := fmt.Sprintf("map[job:%s listed:1 ping:true same:true service:zato.helpers.input-logger type:%s types:[%s %s]]",
		job, scheduler.IntervalBased, scheduler.OneTime, scheduler.CronStyle)
	if r.StatusCode != 200 || fmt.Sprint(got) != want {
		t.Errorf("%d %s\nwant %s", r.StatusCode, r.Body, want)
	}
	// A channel may name a Zato built-in.
	s.Channel("ping", "zato.ping", "", "/zping", nil)
	if r := s.Call("GET", "/zping", "", nil); r.StatusCode != 200 || !strings.Contains(string(r.Body), `"is_ok":true`) {
		t.Errorf("zato.ping through a channel: %d %s", r.StatusCode, r.Body)
	}
	// The names are taken: a user's service cannot use them.
	status, m := deploy(t, s, false, "z.star", "name = 'zato.ping'\ndef handle(self): pass")
	if status != 400 || !strings.Contains(fmt.Sprint(m["details"]), "already used") {
		t.Errorf("deploying zato.ping: %d %v", status, m)
	}
}

// The module-level names read by Plexus include service's arguments.
func TestServiceIsPredeclared(t *testing.T) {
	for _, n := range []string{"service", "SCHEDULER"} {
		if !starlark.IsPredeclared(n) {
			t.Errorf("%s is not predeclared", n)
		}
	}
}
