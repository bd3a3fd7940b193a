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
