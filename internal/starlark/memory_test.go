package starlark_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/plexushq/plexus/internal/servertest"
)

// envelope checks an error envelope and returns its cid.
func envelope(t *testing.T, r *servertest.Response, status int, details string) string {
	t.Helper()
	var env struct{ Result, CID, Details string }
	if r.StatusCode != status || json.Unmarshal(r.Body, &env) != nil || env.Result != "Error" || !strings.Contains(env.Details, details) {
		t.Fatalf("%d %.300s, want %d with %q", r.StatusCode, r.Body, status, details)
	}
	return env.CID
}

// Whatever a Starlark service does, it allocates no more than
// starlark.max_memory: the operations that would go past it fail before
// they allocate, the caller gets a 500 and the log says which limit was
// exceeded, and the server keeps answering while several such requests
// run at once.
func TestMemoryAllowance(t *testing.T) {
	s := start(t)
	s.Channel("ping", "plexus.ping", "", "/plexus/ping", nil)
	hostile := map[string]string{
		"repeat_string": `def handle(self):
    self.response.payload = "a" * 1000000000
`,
		"repeat_list": `def handle(self):
    self.response.payload = len([0] * 100000000)
`,
		"doubling": `def handle(self):
    s = "a"
    for i in range(40):
        s += s
`,
		"appending": `def handle(self):
    rows = []
    for i in range(10000000):
        rows.append({"i": i})
`,
		"shared": `def handle(self):
    a = ["x" * 1000] * 1000
    self.response.payload = [a] * 1000
`,
		"materialised": `def handle(self):
    self.response.payload = sorted(range(100000000))
`,
	}
	for name, src := range hostile {
		mustDeploy(t, s, name+".star", src)
		s.Channel(name, strings.ReplaceAll(name, "_", "-"), "", "/"+name, nil)
	}
	var wg sync.WaitGroup
	for name := range hostile {
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := servertest.Do(t, "POST", s.API+"/"+name, "", nil)
				if r.StatusCode != 500 || !strings.Contains(string(r.Body), `"details":"Internal server error"`) {
					t.Errorf("%s: %d %s", name, r.StatusCode, r.Body)
				}
			}()
		}
	}
	for range 20 {
		if r := s.Call("GET", "/plexus/ping", "", nil); r.StatusCode != 200 {
			t.Fatalf("ping: %d %s", r.StatusCode, r.Body)
		}
	}
	wg.Wait()
	for name := range hostile {
		s.Log.WaitFor(t, "service failed", "service="+strings.ReplaceAll(name, "_", "-"), "starlark.max_memory (64MiB) exceeded")
	}
}

// Ordinary services do what they did: the allowance counts, it does not
// get in the way.
func TestMemoryAllowanceOrdinaryCode(t *testing.T) {
	s := start(t)
	mustDeploy(t, s, "report.star", `
def handle(self):
    rows = [{"id": i, "name": "item %d" % i, "tags": ["a", "b"]} for i in range(2000)]
    by_tag = {}
    for row in rows:
        for tag in row["tags"]:
            by_tag.setdefault(tag, []).append(row["id"])
    csv = "\n".join(["%d,%s" % (r["id"], r["name"]) for r in rows])
    self.response.payload = {
        "count": len(rows), "a": len(by_tag["a"]), "csv_lines": len(csv.splitlines()),
        "total": sum_ids(rows), "first": rows[0], "json": json.decode(json.encode(rows[:2])),
        "input": self.request.input.get("x", "none"),
    }

def sum_ids(rows):
    total = 0
    for r in rows:
        total += r["id"]
    return total
`)
	s.Channel("report", "report", "", "/report", nil)
	r := s.Call("POST", "/report", `{"x": [1, {"y": "z"}]}`, nil)
	want := `{"a":2000,"count":2000,"csv_lines":2000,"first":{"id":0,"name":"item 0","tags":["a","b"]},"input":[1,{"y":"z"}],` +
		`"json":[{"id":0,"name":"item 0","tags":["a","b"]},{"id":1,"name":"item 1","tags":["a","b"]}],"total":1999000}`
	if r.StatusCode != 200 || string(r.Body) != want {
		t.Errorf("%d %s\nwant %s", r.StatusCode, r.Body, want)
	}
}

// Module-level values count against the same allowance when a file is
// deployed: the deploy is refused with the position and the limit.
func TestMemoryAllowanceAtDeploy(t *testing.T) {
	s := start(t)
	status, m := deploy(t, s, false, "big.star", "X = \"a\" * 900000000\ndef handle(self):\n    pass\n")
	if status != 400 || !strings.Contains(fmt.Sprint(m["details"]), "big.star:1:9: starlark.max_memory (64MiB) exceeded: a string of length 1 repeated 900000000 times") {
		t.Errorf("%d %v", status, m)
	}
}

// The request payload is made into Starlark values only as far as the
// allowance goes.
func TestPayloadConversionCharged(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Settings: "starlark:\n  max_memory: 8MiB\n"})
	mustDeploy(t, s, "count.star", "def handle(self):\n    self.response.payload = {\"n\": len(self.request.payload)}\n")
	s.Channel("count", "count", "", "/count", nil)
	mustDeploy(t, s, "echo.star", "def handle(self):\n    self.response.payload = self.request.input\n")
	s.Channel("echo", "echo", "", "/echo", nil)
	small := "[" + strings.Repeat("{},", 999) + "{}]"
	if r := s.Call("POST", "/count", small, nil); string(r.Body) != `{"n":1000}` {
		t.Errorf("1,000 objects: %d %s", r.StatusCode, r.Body)
	}
	big := "[" + strings.Repeat("{},", 99_999) + "{}]" // 300 KB, 57 MB of dicts
	cid := envelope(t, s.Call("POST", "/count", big, nil), 500, "Internal server error")
	s.Log.WaitFor(t, cid, "starlark.max_memory (8MiB) exceeded", "decoding JSON")
	// Passing the input on converts nothing.
	if r := s.Call("POST", "/echo", `{"list":`+big+`}`, nil); r.StatusCode != 200 || len(r.Body) != len(big)+9 {
		t.Errorf("echo: %d %.100s", r.StatusCode, r.Body)
	}
}

// Deep recursion is stopped by the allowance long before Starlark's own
// limit of 100,000 calls, and its traceback is one short log line.
func TestRecursionLogsBoundedLine(t *testing.T) {
	s := start(t)
	mustDeploy(t, s, "recurse.star", "def f(n):\n    return f(n + 1)\n\ndef handle(self):\n    f(0)\n")
	s.Channel("recurse", "recurse", "", "/recurse", nil)
	mustDeploy(t, s, "ping_a.star", "def handle(self):\n    self.invoke(\"ping-b\")\n")
	mustDeploy(t, s, "ping_b.star", "def handle(self):\n    self.invoke(\"ping-a\")\n")
	s.Channel("ping-a", "ping-a", "", "/ping-a", nil)
	mustDeploy(t, s, "long_fail.star", "def handle(self):\n    fail(\"x\" * 1000000)\n")
	s.Channel("long-fail", "long-fail", "", "/long-fail", nil)
	for path, want := range map[string]string{
		"/recurse":   "starlark.max_memory (64MiB) exceeded: a call stack",
		"/ping-a":    "services invoke each other more than 32 levels deep",
		"/long-fail": "… (995910 more bytes)",
	} {
		cid := envelope(t, s.Call("GET", path, "", nil), 500, "Internal server error")
		line := s.Log.WaitFor(t, cid, "service failed")
		if len(line) > 16<<10 || !strings.Contains(line, want) {
			t.Errorf("%s: %d bytes: %.2000s", path, len(line), line)
		}
		if path == "/recurse" && !strings.Contains(line, "more calls") {
			t.Errorf("%s: %.2000s", path, line)
		}
	}
}
