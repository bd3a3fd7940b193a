package cli

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/testenv"
)

// A first quickstart that fails leaves no environment behind, so the next
// one creates it and prints its password.
func TestQuickstartFailsCleanly(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	parent := t.TempDir()
	dir := filepath.Join(parent, "env")
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--listen", busy.Addr().String()}, "set another address with --listen"},
		{nil, []string{"--admin-listen", busy.Addr().String()}, "set another address with --admin-listen"},
		{map[string]string{PasswordEnv: "short"}, nil, "at least 8 characters"},
	} {
		args := append([]string{"quickstart", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"}, c.args...)
		_, stderr, code := runCLI(t, c.env, args...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: %d %q, want %q", args, code, stderr, c.want)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("%v left %s behind: %v", args, dir, err)
		}
	}
	// In a directory that existed before, a busy port creates nothing.
	os.Mkdir(dir, 0o755)
	if _, _, code := runCLI(t, nil, "quickstart", dir, "--admin-listen", busy.Addr().String()); code != 1 || envdir.Exists(dir) {
		t.Fatalf("busy port in an existing directory: %d, environment created: %v", code, envdir.Exists(dir))
	}
	r := startCLI(t, nil, "quickstart", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	if !regexp.MustCompile(`user admin, password [A-Za-z0-9_-]{16} `).MatchString(r.stdout.String()) || !curlLine.MatchString(r.stdout.String()) {
		t.Errorf("quickstart after failures:\n%s", r.stdout)
	}
}

// quickstart writes its --listen and --admin-listen to plexus.yaml, so
// plexus start uses them; the data it keeps is its user's only, also in
// environments made with wider modes.
func TestQuickstartKeepsAddresses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "env")
	api, adm := testenv.FreeAddr(t), testenv.FreeAddr(t)
	r := startCLI(t, nil, "quickstart", dir, "--listen", api, "--admin-listen", adm)
	if r.api != api || r.admin != adm {
		t.Fatalf("quickstart listens on %s and %s, want %s and %s", r.api, r.admin, api, adm)
	}
	r.stop(t)
	settings, err := config.Load(filepath.Join(dir, envdir.SettingsFile))
	if err != nil || settings.Listen != api || settings.AdminListen != adm {
		t.Fatalf("plexus.yaml: %+v %v", settings, err)
	}
	checkModes := func() {
		t.Helper()
		for path, want := range map[string]os.FileMode{"data": 0o700, "data/plexus.db": 0o600, "secrets": 0o700, "secrets/server.key": 0o600} {
			fi, err := os.Stat(filepath.Join(dir, path))
			if err != nil || fi.Mode().Perm() != want {
				t.Errorf("%s: %v %v, want %v", path, fi.Mode().Perm(), err, want)
			}
		}
	}
	checkModes()
	os.Chmod(filepath.Join(dir, "data"), 0o755)
	os.Chmod(filepath.Join(dir, "data", "plexus.db"), 0o644)
	r = startCLI(t, nil, "start", dir)
	if r.api != api || r.admin != adm {
		t.Errorf("start listens on %s and %s, want %s and %s", r.api, r.admin, api, adm)
	}
	checkModes()
}

// The store URL can come from PLEXUS_DB or a file instead of the command
// line, and --help says why.
func TestStoreURLOutOfCommandLine(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "env")
	r := startCLI(t, nil, "quickstart", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	r.stop(t)
	file := filepath.Join(t.TempDir(), "db-url")
	os.WriteFile(file, []byte("mysql://from-the-file\n"), 0o600)
	env := map[string]string{DBEnv: "mysql://from-the-environment"}
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{env, []string{"start", dir}, `got "mysql://from-the-environment"`},
		{nil, []string{"start", dir, "--db-file", file}, `got "mysql://from-the-file"`},
		{env, []string{"start", dir, "--db-file", file}, `got "mysql://from-the-file"`},
		{nil, []string{"start", dir, "--db-file", file + ".missing"}, "reading --db-file"},
		{nil, []string{"start", dir, "--db-file", file, "--db", "x"}, "none of the others can be"},
		{env, []string{"admin", "password", "reset", dir}, `got "mysql://from-the-environment"`},
	} {
		_, stderr, code := runCLI(t, c.env, c.args...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v with %v: %d %q, want %q", c.args, c.env, code, stderr, c.want)
		}
	}
	for _, cmd := range []string{"start", "quickstart"} {
		stdout, _, _ := runCLI(t, nil, cmd, "--help")
		if !strings.Contains(stdout, DBEnv) || !strings.Contains(stdout, "--db-file") || !strings.Contains(stdout, "ps") {
			t.Errorf("%s --help does not tell how to keep the store URL out of ps:\n%s", cmd, stdout)
		}
	}
}
