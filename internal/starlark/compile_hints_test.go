package starlark_test

import (
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/config"
	_ "github.com/plexushq/plexus/internal/server" // registers every kind
	"github.com/plexushq/plexus/internal/starlark"
)

func compiler() *starlark.Compiler {
	return starlark.New(config.Default().Starlark, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// Python syntax that Starlark lacks is refused with what to write instead
// and a pointer to the porting guide.
func TestPythonHints(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"from zato.server.service import Service\n", "svc.star:1:1: got from, want primary expression (Starlark has no import"},
		{"import json\n", "svc.star:1:1: got import, want primary expression (Starlark has no import"},
		{"class GetCustomer(Service):\n    pass\n", "(Starlark has no classes: a service is the file itself"},
		{"def handle(self):\n    try:\n        x = 1\n    except Exception:\n        pass\n", "svc.star:2:5: got try, want primary expression (Starlark has no exceptions"},
		{"def handle(self):\n    raise ValueError('no')\n", "(Starlark has no raise: stop the service with bad_request(msg)"},
		{"def handle(self):\n    x = f'cid {self.cid}'\n", `(Starlark has no f-strings: use "%s" % x`},
		{"def handle(self):\n    if self.cid is None:\n        pass\n", "(Starlark has no is"},
		{"@cached\ndef handle(self):\n    pass\n", "(Starlark has no decorators"},
		{"def handle(self):\n    assert self.cid\n", "(Starlark has no assert"},
		{"def handle(self):\n    with x as y:\n        pass\n", "(Starlark has no with statement"},
		{"def handle(self):\n    if isinstance(self.cid, str):\n        pass\n", `svc.star:2:8: undefined: isinstance (use type(x) == "dict"`},
		{"def handle(self):\n    fail(ValueError)\n", "undefined: ValueError (Starlark has no exceptions"},
	} {
		_, _, err := compiler().Compile("svc.star", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "see docs/starlark.md#porting-from-pythonzato") {
			t.Errorf("%q: %v\nwant %q and the porting guide", c.src, err, c.want)
		}
	}
	// Other syntax errors stay as they were.
	_, _, err := compiler().Compile("svc.star", []byte("def handle(self)\n"))
	if err == nil || err.Error() != "svc.star:2:1: got newline, want ':'" {
		t.Errorf("plain syntax error: %v", err)
	}
}

// self attributes that do not exist are reported at deploy, once each,
// with what to use instead.
func TestSelfWarnings(t *testing.T) {
	svcs, ws, err := compiler().Compile("svc.star", []byte(`
def handle(self):
    crm = self.outgoing.plain_http["CRM"].conn
    self.kvdb.conn.set("a", "b")
    home = self.server.fs_server_config
    billing = self.out.plain_http["Billing"]
    self.logger.critical("x")
    body = self.request.paylod
    self.outgoing.plain_http["Other"]
    self.outgoing.ftp["x"]
    # What exists is not reported: self.outgoing and self.out.plain_http
    # are Zato's names of self.out and self.out.rest.
    self.out.rest["CRM"].conn.get(self.cid, {"a": self.request.input.anything})
    self.response.payload = {"m": self.request.http.GET, "u": self.channel.security.username}
    self.response.headers["X"] = self.request.http.headers.get("Y")
    self.security.jwt
    self.invoke("x", self.request.payload)
`))
	if err != nil || len(svcs) != 1 {
		t.Fatal(err)
	}
	got := strings.Join(ws, "\n")
	for _, want := range []string{
		`svc.star:4:10: self.kvdb does not exist in Plexus; this server gives services no key-value store`,
		`svc.star:5:17: self.server does not exist in Plexus; services have no server object: use self.invoke`,
		`svc.star:7:17: self.logger.critical does not exist in Plexus; self.logger has debug, error, exception, info, warn, warning`,
		`svc.star:8:25: self.request.paylod does not exist in Plexus; did you mean self.request.payload?`,
		`svc.star:10:19: self.outgoing.ftp does not exist in Plexus; self.outgoing has `,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings lack %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "self."); len(ws) != 5 || n < 5 {
		t.Errorf("%d warnings, want 5:\n%s", len(ws), got)
	}
}

// The documentation is the first string of the file, also after
// assignments, as in a Zato module that sets namespace first; strings
// that cannot be the documentation are reported.
func TestDocstring(t *testing.T) {
	svcs, ws, err := compiler().Compile("customer.star", []byte(`# -*- coding: utf-8 -*-
namespace = "my.api.customer"

"""Returns basic information about a customer."""
name = "get-customer"
input_required = ("cust_id",)

def handle(self):
    pass
`))
	if err != nil || svcs[0].Doc != "Returns basic information about a customer." || len(ws) != 0 {
		t.Fatalf("doc after assignments: %q %v %v", svcs[0].Doc, ws, err)
	}
	svcs, ws, err = compiler().Compile("late.star", []byte(`def helper():
    pass

"""Not the documentation."""

def handle(self):
    """Nor this."""
`))
	got := strings.Join(ws, "\n")
	if err != nil || svcs[0].Doc != "" ||
		!strings.Contains(got, "late.star:4:1: this string is not the service's documentation, which is the first string of the file") ||
		!strings.Contains(got, "late.star:7:5: the docstring of handle is not the service's documentation") {
		t.Fatalf("misplaced strings: %q %v\n%s", svcs[0].Doc, err, got)
	}
}

// The porting guide's example: the Zato module is refused with a hint,
// its port deploys without a warning.
func TestPortingGuide(t *testing.T) {
	doc, err := os.ReadFile("../../docs/starlark.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(after string) string {
		_, rest, ok := strings.Cut(string(doc), after)
		if !ok {
			t.Fatalf("docs/starlark.md lacks %q", after)
		}
		_, rest, _ = strings.Cut(rest, "```python\n")
		code, _, _ := strings.Cut(rest, "```")
		return code
	}
	_, _, err = compiler().Compile("zato.star", []byte(block("A Zato module:")))
	if err == nil || !strings.Contains(err.Error(), "zato.star:1:1: got from") || !strings.Contains(err.Error(), starlark.PortingDoc) {
		t.Errorf("the Zato module: %v", err)
	}
	svcs, ws, err := compiler().Compile("get_customer.star", []byte(block("becomes `get_customer.star`:")))
	if err != nil || len(ws) > 0 || svcs[0].Name != "get-customer" || svcs[0].Doc != "Returns basic information about a customer." {
		t.Errorf("the port: %v %v", err, ws)
	}
}
