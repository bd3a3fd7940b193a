package starlark_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/servertest"
)

// A service uses the standard library without imports, and catch handles
// the typed error of a service it invokes, as try/except would.
func TestStandardLibraryInAService(t *testing.T) {
	s := start(t)
	mustDeploy(t, s, "stdlib.star", `
"""Uses the standard library."""

def handle(self):
    r = catch(self.invoke, "go.fails")
    price = decimal.Decimal("19.99") * 3
    m = re.match(r"(?P<user>\w+)@(?P<host>[\w.]+)", "jane@example.com")
    self.response.payload = {
        "caught": {"ok": r.ok, "status": r.status, "error": r.error},
        "total": price.quantize(decimal.Decimal("0.1"), rounding = decimal.ROUND_HALF_UP),
        "id": uuid.uuid7(),
        "at": time.parse("2024-03-31T01:00:00Z").astimezone("Europe/Warsaw"),
        "digest": hashlib.sha256(self.cid).hexdigest(),
        "user": m.group("user"),
        "csv": csv.format_dicts([{"a": 1, "b": "x,y"}]),
        "status": HTTPStatus.OK,
    }
`)
	s.Channel("stdlib", "stdlib", "", "/stdlib", nil)
	r := s.Call("GET", "/stdlib", "", nil)
	if r.StatusCode != 200 {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	caught := m["caught"].(map[string]any)
	if caught["ok"] != false || caught["status"] != json.Number("409") || caught["error"] != "Taken" {
		t.Errorf("caught: %v", caught)
	}
	if m["total"] != json.Number("60.0") {
		t.Errorf("decimal in JSON: %v (%T)", m["total"], m["total"])
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7`).MatchString(m["id"].(string)) || m["at"] != "2024-03-31T03:00:00+02:00" {
		t.Errorf("uuid and time: %v %v", m["id"], m["at"])
	}
	if len(m["digest"].(string)) != 64 || m["user"] != "jane" || m["csv"] != "a,b\r\n1,\"x,y\"\r\n" || m["status"] != json.Number("200") {
		t.Errorf("payload: %v", m)
	}
}

// catch does not keep a runaway loop from being stopped at
// starlark.max_steps: the caller gets 500 and the log says why.
func TestCatchKeepsTheStepLimit(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Settings: "starlark:\n  max_steps: 100000\n"})
	mustDeploy(t, s, "loop.star", `
def spin():
    n = 0
    for i in range(10000000):
        n += i
    return n

def handle(self):
    r = catch(spin)
    self.response.payload = {"ok": r.ok, "error": r.error}
`)
	s.Channel("loop", "loop", "", "/loop", nil)
	r := s.Call("GET", "/loop", "", nil)
	if r.StatusCode != 500 {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "too many steps", "cid="+r.Header.Get("X-Plexus-CID"))

	// Work a library function would do past the limit is refused before
	// it starts, naming the setting.
	mustDeploy(t, s, "big.star", `
def handle(self):
    r = catch(hashlib.sha256, "x" * 50000000)
    self.response.payload = {"ok": r.ok}
`)
	s.Channel("big", "big", "", "/big", nil)
	r = s.Call("GET", "/big", "", nil)
	if r.StatusCode != 500 {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "starlark.max_steps", "cid="+r.Header.Get("X-Plexus-CID"))
}

// The standard library charges what it makes to starlark.max_memory:
// past it the service answers 500, caught or not, and the log names the
// setting.
func TestStandardLibraryWithinMemory(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Settings: "starlark:\n  max_memory: 1MiB\n"})
	mustDeploy(t, s, "mem.star", `
def handle(self):
    text = "ab," * 100000
    r = catch(re.findall, "[ab]", text)
    self.response.payload = {"ok": r.ok}
`)
	s.Channel("mem", "mem", "", "/mem", nil)
	r := s.Call("GET", "/mem", "", nil)
	if r.StatusCode != 500 {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "starlark.max_memory (1MiB) exceeded", "re.findall", "cid="+r.Header.Get("X-Plexus-CID"))
}

// catch reports the status of a failed outgoing call: 502 when the
// remote system cannot be reached.
func TestCatchOutgoingFailure(t *testing.T) {
	s := start(t)
	s.Put("outgoing_rest", "Down", map[string]any{"host": "http://127.0.0.1:1", "url_path": "/x"})
	mustDeploy(t, s, "down.star", `
def handle(self):
    r = catch(self.out.rest["Down"].conn.get, self.cid)
    self.response.payload = {"ok": r.ok, "status": r.status}
`)
	s.Channel("down", "down", "", "/down", nil)
	if r := s.Call("GET", "/down", "", nil); string(r.Body) != `{"ok":false,"status":502}` {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
}

// starlark.max_pattern_size bounds the patterns of re.
func TestPatternSizeSetting(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Settings: "starlark:\n  max_pattern_size: 10\n"})
	mustDeploy(t, s, "pat.star", `
def handle(self):
    self.response.payload = {"short": re.match("a{3}", "aaa") != None, "long": catch(re.compile, "a" * 11).ok}
`)
	s.Channel("pat", "pat", "", "/pat", nil)
	r := s.Call("GET", "/pat", "", nil)
	if r.StatusCode != 500 {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "starlark.max_pattern_size exceeded: re.compile: the pattern is 11 bytes long, longer than 10", "cid="+r.Header.Get("X-Plexus-CID"))
}
