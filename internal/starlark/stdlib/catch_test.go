package stdlib

import (
	"errors"
	"strings"
	"testing"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/sdk/service"
)

// notFound raises a typed error, as the platform's not_found and a failed
// platform call do.
var notFound = sl.NewBuiltin("not_found", func(_ *sl.Thread, _ *sl.Builtin, args sl.Tuple, _ []sl.Tuple) (sl.Value, error) {
	return nil, service.NewError(404, "%s", string(args[0].(sl.String)))
})

func execWith(t *testing.T, l Limits, src string) (sl.StringDict, error) {
	t.Helper()
	env := sl.StringDict{"not_found": notFound}
	for k, v := range Predeclared() {
		env[k] = v
	}
	return sl.ExecFileOptions(fileOptions, newThread(l), "test.star", src, env)
}

func TestCatch(t *testing.T) {
	_, err := execWith(t, Limits{}, `
def lookup(d, key, default = None):
    return d[key]

r = catch(lookup, {"a": 1}, "a")
if not r.ok or r.value != 1 or r.error != None or r.status != None or not r:
    fail("ok result: %s" % r)

r = catch(lookup, {}, key = "x")
if r.ok or r or r.value != None or r.status != 500 or r.error != 'key "x" not in dict':
    fail("runtime error: %s %s" % (r.error, r.status))
if "Traceback" not in r.traceback or "lookup" not in r.traceback:
    fail("traceback: " + r.traceback)

r = catch(fail, "API error: %d" % 502)
if r.error != "API error: 502" or r.status != 500:
    fail("fail: %s" % r)

r = catch(not_found, "No such customer")
if r.status != 404 or r.error != "No such customer":
    fail("typed: %s" % r)

# Nested: the inner catch handles its error, the outer sees success.
r = catch(lambda: catch(fail, "inner").error)
if r.value != "inner":
    fail("nested: %s" % r)
`)
	if err != nil {
		t.Fatal(err)
	}
	// reraise raises the same error, keeping its status.
	_, err = execWith(t, Limits{}, `catch(not_found, "gone").reraise()`)
	var se *service.Error
	if !errors.As(err, &se) || se.Status != 404 || se.Message != "gone" {
		t.Errorf("reraise: %v", err)
	}
	_, err = execWith(t, Limits{}, `catch(fail, "x").reraise()`)
	if err == nil || !strings.Contains(err.Error(), "x") {
		t.Errorf("reraise of fail: %v", err)
	}
	check(t, [][2]string{
		{`catch(len([]))`, "error: catch: got int, want a function; write catch(fn, x), not catch(fn(x))"},
		{`catch()`, "error: catch: want a function to call, as in catch(fn, arg1, arg2, key=value)"},
	})
}

// catch does not catch what stops the invocation: the step limit, work
// refused because it would pass it, and cancellation.
func TestCatchDoesNotCatchLimits(t *testing.T) {
	for name, src := range map[string]string{
		"steps":           `catch(lambda: [x for x in range(1000000)])`,
		"refused upfront": `catch(re.findall, "a", "a" * 10000000)`,
		"nested":          `catch(lambda: catch(lambda: [x for x in range(1000000)]))`,
	} {
		_, err := execWith(t, Limits{MaxSteps: 100000}, src+"\nfail('caught')")
		if err == nil || strings.Contains(err.Error(), "caught") {
			t.Errorf("%s: caught: %v", name, err)
			continue
		}
		if !IsLimit(err) {
			t.Errorf("%s: %v is not a limit error", name, err)
		}
	}
	th := newThread(Limits{})
	th.Cancel("the request was cancelled")
	env := sl.StringDict{"catch": Predeclared()["catch"]}
	_, err := sl.ExecFileOptions(fileOptions, th, "t.star", "catch(lambda: 1)\nfail('caught')", env)
	if err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("cancelled: %v", err)
	}
}

// Work proportional to a giant input is refused before it starts, naming
// the setting, and the thread stops.
func TestStepLimitRefusesUpFront(t *testing.T) {
	for _, src := range []string{
		`re.findall("a", "a" * 10000000)`,
		`hashlib.sha256("a" * 10000000).hexdigest()`,
		`base64.b64encode("a" * 10000000)`,
		`csv.reader("a," * 5000000)`,
		`xml.fromstring("<a>" + "x" * 10000000 + "</a>")`,
		`time.parse("2024" + " " * 10000000, "%Y")`,
	} {
		_, err := exec(t, Limits{MaxSteps: 100000}, src)
		var le *LimitError
		if !errors.As(err, &le) || le.Setting != "starlark.max_steps" || !strings.Contains(err.Error(), "starlark.max_steps exceeded: ") {
			t.Errorf("%s: %v", src, err)
		}
	}
	// The same work within the limit runs.
	if _, err := exec(t, Limits{MaxSteps: 100000}, `re.findall("a", "a" * 1000)`); err != nil {
		t.Error(err)
	}
}

func TestRandom(t *testing.T) {
	_, err := exec(t, Limits{}, `
seen = {}
for i in range(2000):
    n = random.randint(1, 6)
    if n < 1 or n > 6:
        fail("randint: %d" % n)
    seen[n] = True
if len(seen) != 6:
    fail("randint never gave some values: %s" % seen)
for i in range(200):
    f = random.random()
    if f < 0 or f >= 1:
        fail("random: %s" % f)
    r = random.randrange(0, 10, 2)
    if r % 2 != 0 or r < 0 or r >= 10:
        fail("randrange: %d" % r)
    u = random.uniform(2, 3)
    if u < 2 or u > 3:
        fail("uniform: %s" % u)
l = list(range(20))
random.shuffle(l)
if sorted(l) != list(range(20)):
    fail("shuffle: %s" % l)
s = random.sample(range(100), 10)
if len(s) != 10 or len(set(s)) != 10:
    fail("sample: %s" % s)
if random.choice("a") != "a" or random.choice([7]) != 7:
    fail("choice")
if len(random.token_hex()) != 64 or len(random.token_hex(4)) != 8 or len(random.token_bytes(5)) != 5:
    fail("token_hex")
t = random.token_urlsafe(16)
if len(t) != 22 or "+" in t or "/" in t or "=" in t:
    fail("token_urlsafe: " + t)
if len(set([secrets.token_hex(4) for i in range(4)])) != 4:
    fail("tokens repeat")
if secrets.randbelow(1) != 0:
    fail("randbelow")
`)
	if err != nil {
		t.Fatal(err)
	}
	check(t, [][2]string{
		{`random.choice([])`, "error: random.choice: cannot choose from an empty sequence"},
		{`random.randint(5, 1)`, "error: random.randint: empty range: 5 > 1"},
		{`random.token_hex(1 << 20)`, "error: random.token_hex: nbytes must be in 0..65536"},
		{`random.sample([1, 2], 3)`, "error: random.sample: sample larger than population or is negative"},
		{`random.shuffle((1, 2))`, "error: random.shuffle: for parameter 1: got tuple, want list"},
	})
}

func TestHTTPStatus(t *testing.T) {
	check(t, [][2]string{
		{`HTTPStatus.OK == 200 and http_status.NOT_FOUND == 404`, "True"},
		{`(HTTPStatus.IM_A_TEAPOT, HTTPStatus.UNPROCESSABLE_ENTITY, HTTPStatus.UNPROCESSABLE_CONTENT, HTTPStatus.CONTENT_TOO_LARGE)`, "(418, 422, 422, 413)"},
		{`http_status.phrase(HTTPStatus.SERVICE_UNAVAILABLE)`, "Service Unavailable"},
		{`http_status.phrase(299)`, "error: http_status.phrase: 299 is not an HTTP status"},
		{`"API error: %d" % HTTPStatus.BAD_GATEWAY`, "API error: 502"},
	})
}
