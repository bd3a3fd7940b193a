package porter

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/config"
	_ "github.com/plexushq/plexus/internal/server" // registers every kind
	"github.com/plexushq/plexus/internal/starlark"
)

// compiles checks that a ported file loads as a Starlark service, with no
// deploy warnings but those listed.
func compiles(t *testing.T, f File, allowed ...string) {
	t.Helper()
	comp := starlark.New(config.Default().Starlark, slog.New(slog.NewTextHandler(io.Discard, nil)))
	_, warnings, err := comp.Compile(f.Name, []byte(f.Source))
	if err != nil {
		t.Fatalf("%s does not load: %v\n%s", f.Name, err, f.Source)
	}
	for _, w := range warnings {
		ok := false
		for _, a := range allowed {
			ok = ok || strings.Contains(w, a)
		}
		if !ok {
			t.Errorf("%s: warning %s\n%s", f.Name, w, f.Source)
		}
	}
}

// portOne ports a module with one service.
func portOne(t *testing.T, src string) (File, []Note) {
	t.Helper()
	res, err := Port("my_services.py", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 {
		t.Fatalf("%d files: %v", len(res.Files), res.Notes)
	}
	return res.Files[0], res.Notes
}

// portHandle ports the body of a handle method.
func portHandle(t *testing.T, imports, body string) (string, []Note) {
	t.Helper()
	src := imports + "\nfrom zato.server.service import Service\n\nclass MyService(Service):\n    def handle(self):\n"
	for _, l := range strings.Split(strings.Trim(body, "\n"), "\n") {
		src += "        " + l + "\n"
	}
	f, notes := portOne(t, src)
	compiles(t, f, "does not exist in Plexus")
	return f.Source, notes
}

func TestConversions(t *testing.T) {
	for _, c := range []struct {
		name, imports, body string
		want                []string
		note                string
	}{
		{"f-string", "", `x = f"cid {self.cid} is {len(self.cid)!r} long, {3.14159:.2f}"`,
			[]string{`x = "cid {} is {!r} long, {}".format(self.cid, len(self.cid), format(3.14159, ".2f"))`}, ""},
		{"f-string without fields", "", `x = f"{{literal}}"`, []string{`x = "{literal}"`}, ""},
		{"f-string debug", "", `x = f"{self.cid=}"`, []string{`x = "self.cid={!r}".format(self.cid)`}, ""},
		{"percent with widths", "", `x = '%5.2f|%-4s|%04d' % (1.5, 'a', 7)`,
			[]string{`x = '%s|%s|%s' % (format(1.5, "5.2f"), format(str('a'), "<4"), format(7, "04d"))`}, ""},
		{"format with specs", "", `x = '{:>8} {name:.1f}'.format('a', name=2.25)`,
			[]string{`x = '{} {}'.format(format('a', ">8"), format(2.25, ".1f"))`}, ""},
		{"logger with widths", "", `self.logger.info('took %.3f s', 0.5)`, []string{`self.logger.info('took %s s', format(0.5, ".3f"))`}, ""},
		{"is None", "", "x = None\nif x is None or x is not None:\n    pass", []string{"if x == None or x != None:"}, ""},
		{"chained comparison", "", "x = 5\nok = 1 < x <= 10", []string{"ok = (1 < x and x <= 10)"}, ""},
		{"power", "", "x = 2 ** 10", []string{"x = math.pow(2, 10)"}, "** (power)"},
		{"isinstance", "", "x = {}\na = isinstance(x, dict)\nb = isinstance(x, (int, float))",
			[]string{`a = (type(x) == "dict")`, `b = (type(x) in ("int", "float"))`}, ""},
		{"raise typed", "from zato.common.exception import NotFound, BadRequest",
			"raise NotFound(self.cid, 'No such customer')", []string{`not_found('No such customer')`}, ""},
		{"raise typed, message only", "from zato.server.service import BadRequest", "raise BadRequest('Missing id')", []string{`bad_request('Missing id')`}, ""},
		{"raise exception", "", "raise ValueError('bad value %s' % self.cid)", []string{`fail('bad value %s' % self.cid)`}, ""},
		{"assert", "", "x = 1\nassert x > 0, 'x must be positive'", []string{"if not x > 0:", "fail('x must be positive')"}, ""},
		{"del", "", "d = {'a': 1}\ndel d['a']", []string{"d.pop('a')"}, ""},
		{"warn", "", "self.logger.warn('careful')", []string{"self.logger.warning('careful')"}, ""},
		{"plain_http", "", "conn = self.outgoing.plain_http['CRM'].conn\nr = self.out.plain_http['CRM'].conn.get(self.cid)",
			[]string{`conn = self.out.rest['CRM'].conn`, `r = self.out.rest['CRM'].conn.get(self.cid)`}, ""},
		{"free-form payload", "", "self.response.payload.cid = self.cid\nself.response.payload.is_ok = True",
			[]string{"self.response.payload = {}", `self.response.payload["cid"] = self.cid`, `self.response.payload["is_ok"] = True`}, ""},
		{"json", "import json\nfrom json import dumps", "s = json.dumps({'a': 1}, indent=2)\nt = dumps([1])\nd = json.loads(s)",
			[]string{`s = json.indent(json.encode({'a': 1}), indent = "  ")`, "t = json.encode([1])", "d = json.decode(s)"}, ""},
		{"datetime", "from datetime import datetime, timedelta", "now = datetime.utcnow()\nlater = now + timedelta(hours=1)\nt = datetime.strptime('2024-01-02', '%Y-%m-%d')\ns = now.isoformat()",
			[]string{"now = time.utcnow()", "later = now + time.timedelta(hours = 1)", "t = time.parse('2024-01-02', '%Y-%m-%d')"}, ""},
		{"uuid and hashes", "from uuid import uuid4\nimport hashlib\nfrom base64 import b64encode",
			"u = uuid4().hex\nh = hashlib.sha256(b'x').hexdigest()\nb = b64encode(b'x').decode('utf-8')",
			[]string{"u = uuid.uuid4().hex", "h = hashlib.sha256(b'x').hexdigest()", "b = str(base64.b64encode(b'x'))"}, ""},
		{"decimal", "from decimal import Decimal, ROUND_HALF_UP", "x = Decimal('1.005').quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)",
			[]string{"x = decimal.Decimal('1.005').quantize(decimal.Decimal('0.01'), rounding = decimal.ROUND_HALF_UP)"}, ""},
		{"http status", "from http import HTTPStatus\nfrom http.client import NOT_FOUND", "a = HTTPStatus.OK.value\nb = NOT_FOUND\nc = HTTPStatus.OK.phrase",
			[]string{"a = HTTPStatus.OK", "b = http_status.NOT_FOUND", "c = http_status.phrase(HTTPStatus.OK)"}, ""},
		{"element tree", "import xml.etree.ElementTree as ET", "root = ET.fromstring(self.request.raw_request)\nout = ET.tostring(root, encoding='unicode')",
			[]string{"root = xml.fromstring(self.request.raw_request)", "out = xml.tostring(root)"}, ""},
		{"python 2", "", "d = {}\nfor k, v in d.iteritems():\n    x = unicode(k)", []string{"for k, v in d.items():", "x = str(k)"}, ""},
		{"generator", "", "n = sum(x for x in [1, 2])\nm = list(map(str, [1]))\nf = list(filter(None, [0, 1]))",
			[]string{"n = sum([x for x in [1, 2]])", "m = list([str(_x) for _x in [1]])", "f = list([_x for _x in [0, 1] if _x])"}, ""},
		{"dict spread", "", "a = {'x': 1}\nb = {**a, 'y': 2}", []string{`b = dict(list(a.items()) + [('y', 2)])`}, ""},
		{"set", "", "s = {1, 2}\nt = {x for x in [1]}", []string{"s = set([1, 2])", "t = set([x for x in [1]])"}, ""},
		{"with", "from contextlib import closing", "with closing(self.cid) as c:\n    x = c", []string{"c = closing(self.cid)", "x = c"}, "with"},
		{"for-else", "", "for x in [1, 2]:\n    if x > 5:\n        break\nelse:\n    y = 0",
			[]string{"_broke1 = False", "_broke1 = True", "if not _broke1:", "y = 0"}, ""},
		{"unknown import", "import requests", "r = requests.get('http://x')", []string{"def requests(*args, **kwargs):"}, "requests"},
		{"string escapes", "", `p = '\d+\.\w'` + "\n" + `q = u'caf\u00e9'`, []string{`p = '\\d+\\.\\w'`, `q = 'caf\u00e9'`}, ""},
		{"numbers", "", "a = 1_000_000\nb = .5\nc = 10L", []string{"a = 1000000", "b = 0.5", "c = 10"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			src, notes := portHandle(t, c.imports, c.body)
			for _, w := range c.want {
				if !strings.Contains(src, w) {
					t.Errorf("no %q in\n%s", w, src)
				}
			}
			if c.note != "" && !strings.Contains(notesString(notes), c.note) {
				t.Errorf("no note about %q: %v", c.note, notes)
			}
		})
	}
}

func notesString(ns []Note) string {
	var b strings.Builder
	for _, n := range ns {
		b.WriteString(n.String() + "\n")
	}
	return b.String()
}
