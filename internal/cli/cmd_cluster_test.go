package cli

import (
	"os"
	"path/filepath"
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

// enmasse import --if-rev imports only at the revision given.
func TestImportIfRev(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	s.Channel("x", "plexus.ping", "", "/x", nil)
	file := filepath.Join(t.TempDir(), "enmasse.yaml")
	os.WriteFile(file, []byte("channel_rest:\n  - name: y\n    service: plexus.ping\n    url_path: /y\n"), 0o600)
	_, stderr, code := runCLI(t, nil, "enmasse", "import", file, s.Dir, "--if-rev", "99")
	if code != 1 || !strings.Contains(stderr, "changed by revision 1 since revision 99") {
		t.Fatalf("a stale --if-rev: %d %q", code, stderr)
	}
	if s.Runtime.State().Rev != 1 {
		t.Fatal("a stale --if-rev changed the configuration")
	}
	if _, stderr, code = runCLI(t, nil, "enmasse", "import", file, s.Dir, "--if-rev", "1"); code != 0 || s.Runtime.State().Rev != 2 {
		t.Fatalf("the current --if-rev: %d %q", code, stderr)
	}
}
