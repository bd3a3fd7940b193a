package porter

import (
	"strings"
	"testing"
)

// The conversions of control flow, checked by running the ported code.
func TestTryConversions(t *testing.T) {
	src := `
from zato.common.exception import NotFound, Conflict
from zato.server.service import Service

class Flow(Service):

    def find(self, items, wanted):
        for item in items:
            try:
                if item == 'stop':
                    break
                if item == 'skip':
                    continue
                if item == wanted:
                    return 'found ' + item
                if item == 'missing':
                    raise NotFound(self.cid, 'no ' + item)
            except NotFound:
                self.logger.info('not found')
        else:
            return 'loop ended'
        return 'broke out'

    def classify(self, code):
        count = 0
        try:
            count += 1
            if code == 404:
                raise NotFound(self.cid, 'gone')
            if code == 409:
                raise Conflict(self.cid, 'taken')
            if code == 500:
                raise ValueError('broken')
            result = 'ok'
        except (NotFound, Conflict) as e:
            result = 'typed: %s' % e
        except ValueError as e:
            result = 'other: ' + str(e)
        finally:
            count += 10
        return result, count

    def nested(self):
        try:
            try:
                raise KeyError('inner')
            except KeyError:
                return 'inner caught'
        except Exception:
            return 'outer caught'

    def handle(self):
        out = {
            'found': self.find(['a', 'b', 'c'], 'b'),
            'skip': self.find(['skip', 'x'], 'x'),
            'stop': self.find(['stop', 'x'], 'x'),
            'end': self.find(['a'], 'z'),
            'missing': self.find(['missing'], 'z'),
            'ok': self.classify(200),
            'not_found': self.classify(404),
            'conflict': self.classify(409),
            'other': self.classify(500),
            'nested': self.nested(),
        }
        self.response.payload = out
`
	f, notes := portOne(t, src)
	compiles(t, f)
	got := run(t, f)
	for key, want := range map[string]string{
		"found": `"found b"`, "skip": `"found x"`, "stop": `"broke out"`, "end": `"loop ended"`, "missing": `"loop ended"`,
		"ok": `["ok",11]`, "not_found": `["typed: gone",11]`, "conflict": `["typed: taken",11]`, "other": `["other: broken",11]`,
		"nested": `"inner caught"`,
	} {
		if g := got[key]; g != want {
			t.Errorf("%s: %s, want %s", key, g, want)
		}
	}
	if !strings.Contains(notesString(notes), "except ValueError") || !strings.Contains(notesString(notes), "except KeyError") {
		t.Errorf("no note that untyped excepts catch everything: %v", notes)
	}
}

// Methods, static methods, properties, class constants, bases and hooks.
func TestClassConversions(t *testing.T) {
	src := `
from zato.server.service import Service

class Base(Service):
    prefix = 'id-'

    def make_id(self, n):
        return self.prefix + str(n)

class Child(Base):
    name = 'my.child'
    prefix = 'child-'
    limit = 3

    @staticmethod
    def double(n):
        return n * 2

    @property
    def greeting(self):
        return 'hello'

    def accept(self):
        return self.request.payload.get('ok', True)

    def after_handle(self):
        self.logger.info('after')

    def handle(self):
        ids = [self.make_id(self.double(n)) for n in range(self.limit)]
        callback = self.make_id
        self.response.payload = {'ids': ids, 'greeting': self.greeting, 'name': self.name, 'cb': callback(9)}
`
	f, notes := portOne(t, src)
	compiles(t, f)
	if f.Service != "my.child" {
		t.Errorf("service name %q", f.Service)
	}
	got := run(t, f)
	if got["ids"] != `["child-0","child-2","child-4"]` || got["greeting"] != `"hello"` || got["name"] != `"my.child"` || got["cb"] != `"child-9"` {
		t.Errorf("payload: %v\n%s", got, f.Source)
	}
	for _, want := range []string{"if not accept(self):", "after_handle(self)"} {
		if !strings.Contains(f.Source, want) {
			t.Errorf("no %q in\n%s", want, f.Source)
		}
	}
	if !strings.Contains(notesString(notes), "hook accept") {
		t.Errorf("notes: %v", notes)
	}
}

// A module with several services writes a file each, with the module's
// definitions each one uses; names come from the module and the class.
func TestSeveralServices(t *testing.T) {
	res, err := Port("billing/invoices.py", []byte(`
"""Invoices."""
from zato.server.service import Service

RATE = 0.2
UNUSED = 1

def gross(net):
    return net * (1 + RATE)

class GetInvoice(Service):
    def handle(self):
        self.response.payload = {'gross': gross(100)}

class ListInvoices(Service):
    """Lists invoices."""
    def handle(self):
        self.response.payload = []
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 2 || res.Files[0].Service != "invoices.get-invoice" || res.Files[1].Service != "invoices.list-invoices" ||
		res.Files[0].Name != "get_invoice.star" || res.Files[1].Name != "list_invoices.star" {
		t.Fatalf("files: %+v", res.Files)
	}
	if !strings.Contains(res.Files[0].Source, "RATE = 0.2") || !strings.Contains(res.Files[0].Source, "def gross(net):") || strings.Contains(res.Files[0].Source, "UNUSED") {
		t.Errorf("get_invoice.star:\n%s", res.Files[0].Source)
	}
	if strings.Contains(res.Files[1].Source, "RATE") || !strings.HasPrefix(res.Files[1].Source, `"""Lists invoices."""`) {
		t.Errorf("list_invoices.star:\n%s", res.Files[1].Source)
	}
	for _, f := range res.Files {
		compiles(t, f)
	}
}

// What the porter cannot convert is listed with its line and what to do,
// and the file still loads: the construct fails where it runs.
func TestUnconvertedConstructs(t *testing.T) {
	src := `from zato.server.service import Service
import requests

class Odd(Service):
    def handle(self):
        global counter
        data = open('/etc/hosts').read()
        match data:
            case 'x':
                pass
        r = requests.get('https://example.com')
        self.environ.get('v')
        x = [y async for y in z]
`
	res, err := Port("odd.py", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	compiles(t, res.Files[0], "does not exist in Plexus")
	want := map[int]string{6: "global", 7: "open()", 8: "match statement", 2: "requests", 12: "self.environ"}
	for line, what := range want {
		found := false
		for _, n := range res.Notes {
			found = found || n.Line == line && strings.Contains(n.What, what) && n.Advice != ""
		}
		if !found {
			t.Errorf("no note at line %d about %s: %v", line, what, res.Notes)
		}
	}
	if !strings.Contains(res.Files[0].Source, "# Not converted (match statement):") {
		t.Errorf("the match statement is not kept in a comment:\n%s", res.Files[0].Source)
	}
}

// Models: optional fields, lists of models, defaults, forward references
// and field(), in the order Starlark needs.
func TestModels(t *testing.T) {
	f, notes := portOne(t, `
from dataclasses import dataclass, field
from typing import Optional, List
from zato.common.typing_ import list_
from zato.server.service import Model, Service

@dataclass(init=False)
class Order(Model):
    id: int
    lines: List['Line']
    tags: list_[str] = field(default_factory=list)
    note: Optional[str] = None
    priority: int = 5
    paid: bool = False

@dataclass(init=False)
class Line(Model):
    sku: str
    qty: int

class PlaceOrder(Service):
    input = Order

    def handle(self):
        order = self.request.input
        self.response.payload = {'lines': len(order.lines), 'priority': order.priority, 'tags': order.tags, 'note': order.note}
`)
	compiles(t, f)
	if len(notes) > 0 {
		t.Errorf("notes: %v", notes)
	}
	for _, want := range []string{
		`Line = model("Line", sku = str, qty = int)`,
		"lines = list_of(Line),", "tags = List(default = []),", "note = optional(str),", "priority = Int(default = 5),", "paid = Bool(default = False),",
	} {
		if !strings.Contains(f.Source, want) {
			t.Errorf("no %q in\n%s", want, f.Source)
		}
	}
	if strings.Index(f.Source, "Line = model") > strings.Index(f.Source, "Order = model") {
		t.Errorf("Line is defined after Order, which uses it:\n%s", f.Source)
	}
}

// Bad input is a syntax error with its line, never a panic.
func TestSyntaxErrors(t *testing.T) {
	for src, want := range map[string]string{
		"class X(Service:\n    pass\n":           "1:",
		"def f():\nreturn 1\n":                   "2:1: expected an indented block",
		"x = 'unterminated\n":                    "1:5: unterminated string literal",
		"if x:\n        a\n    b\n":              "3:",
		"x = (1,\n":                              "unexpected end of file",
		"\"\"\" Logs input data.\ndef f(): pass": "unterminated string literal",
	} {
		_, err := Port("x.py", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}

// A variable a try body sets is seen by what follows, in f-strings too,
// and keeps the value it had when the body failed.
func TestTrySharedVariables(t *testing.T) {
	f, _ := portOne(t, `
from zato.server.service import Service

class Counter(Service):
    def handle(self):
        count = 0
        label = 'start'
        try:
            count += 1
            label = f'step {count}'
            try:
                count += 1
                raise ValueError(f'failed at {label}')
            finally:
                count += 100
        except Exception as e:
            error = str(e)
        self.response.payload = {'count': count, 'label': f'{label}!', 'error': error}
`)
	compiles(t, f)
	got := run(t, f)
	if got["count"] != "102" || got["label"] != `"step 1!"` || got["error"] != `"failed at step 1"` {
		t.Errorf("payload: %v\n%s", got, f.Source)
	}
}
