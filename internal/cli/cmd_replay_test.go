package cli

import (
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/servertest"
)

// plexus replay lists the kept requests and shows a replayed one's new
// answer beside the old.
func TestReplayCommand(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Settings: "development: true\n"})
	s.Deploy("greet.star", `def handle(self):
    self.response.payload = {"greeting": "Hello"}
`)
	s.Channel("greet", "greet", "", "/greet", nil)
	cid := s.Call("GET", "/greet", "", nil).CID()
	s.Deploy("greet.star", `def handle(self):
    self.response.payload = {"greeting": "Hi"}
`)
	env := map[string]string{PasswordEnv: servertest.Password}
	stdout, stderr, code := runCLI(t, env, "replay", "--list", "--server", s.Admin)
	if code != 0 || !strings.Contains(stdout, cid) || !strings.Contains(stdout, "channel_rest/greet") {
		t.Fatalf("replay --list: %d %s %s", code, stdout, stderr)
	}
	stdout, stderr, code = runCLI(t, env, "replay", cid, "--server", s.Admin)
	if code != 0 {
		t.Fatalf("replay: %d %s %s", code, stdout, stderr)
	}
	for _, want := range []string{
		"channel_rest/greet → greet  GET /greet",
		"before (cid " + cid + ")",
		`  "greeting": "Hello"                 │   "greeting": "Hi"`,
		"the answers differ",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("replay output lacks %q:\n%s", want, stdout)
		}
	}
	if _, stderr, code := runCLI(t, env, "replay", "nope", "--server", s.Admin); code != 1 || !strings.Contains(stderr, "No request with cid nope is kept") {
		t.Errorf("unknown cid: %d %s", code, stderr)
	}
}
