package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/servertest"
)

func TestClusterStatus(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	s.Channel("x", "plexus.ping", "", "/x", nil)
	stdout, stderr, code := runCLI(t, nil, "cluster", "status", s.Dir)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) != 3 || !regexp.MustCompile(`^Store revision 1, 1 node\(s\), scheduler leader: \S+ \(.*\)$`).MatchString(lines[0]) ||
		!strings.HasPrefix(lines[1], "ID") || !regexp.MustCompile(`^`+regexp.QuoteMeta(s.NodeID)+`\s.*\s1\s+ok\s+leader\s`).MatchString(lines[2]) {
		t.Fatalf("status: %d %q %q", code, stdout, stderr)
	}
	stdout, _, code = runCLI(t, map[string]string{PasswordEnv: servertest.Password}, "cluster", "status", "--server", s.Admin, "--json")
	if code != 0 || !strings.Contains(stdout, `"scheduler_leader": "`+s.NodeID+`"`) {
		t.Fatalf("--json: %d %q", code, stdout)
	}
	if stdout, _, code = runCLI(t, nil, "cluster", "status", "--help"); code != 0 || !strings.Contains(stdout, "lagging") {
		t.Fatalf("--help: %d %q", code, stdout)
	}
}
