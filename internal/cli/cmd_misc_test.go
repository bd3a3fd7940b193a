package cli

import (
	"debug/buildinfo"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/servertest"
)

// plexus version and plexus --version name the module version, the
// revision the binary was built from and the Go version.
func TestVersion(t *testing.T) {
	line := regexp.MustCompile(`^plexus devel go1\.\d+\S* \w+/\w+\n$`)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		stdout, stderr, code := runCLI(t, nil, args...)
		if code != 0 || !line.MatchString(stdout) {
			t.Errorf("%v: %d %q %q", args, code, stdout, stderr)
		}
	}
	platform := " " + goruntime.GOOS + "/" + goruntime.GOARCH
	for _, c := range []struct {
		info *debug.BuildInfo
		want string
	}{
		{&debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Path: "github.com/plexushq/plexus", Version: "v1.4.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.modified", Value: "false"}}},
			"plexus v1.4.0 (revision 0123abc) go1.26.1"},
		{&debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Path: "github.com/plexushq/plexus", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.modified", Value: "true"}}},
			"plexus devel (revision 0123abc, modified) go1.26.1"},
		// A program that embeds Plexus: the version is Plexus's, the
		// revision the program's.
		{&debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Path: "example.com/billing", Version: "v0.1.0"},
			Deps:     []*debug.Module{{Path: "github.com/plexushq/plexus", Version: "v1.3.2"}},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "fedcba9"}}},
			"plexus v1.3.2 (revision fedcba9) go1.26.1"},
		{nil, "plexus devel " + goruntime.Version()},
	} {
		if got := versionOf(c.info); got != c.want+platform {
			t.Errorf("got %q, want %q", got, c.want+platform)
		}
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	// The built binary says what its build information holds.
	bin := filepath.Join(t.TempDir(), "plexus")
	if out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, "../../cmd/plexus").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	want := versionOf(info) + "\n"
	for _, arg := range []string{"version", "--version"} {
		if out, err := exec.Command(bin, arg).Output(); err != nil || string(out) != want {
			t.Errorf("built binary %s: %q %v, want %q", arg, out, err, want)
		}
	}
}

// A command that groups others fails on an unknown subcommand, and
// suggests a near one.
func TestUnknownSubcommands(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate" for "plexus"`},
		{[]string{"admin", "frobnicate"}, `unknown command "frobnicate" for "plexus admin"`},
		{[]string{"admin", "password", "rest"}, `did you mean reset?`},
		{[]string{"scheduler", "lst"}, `unknown command "lst" for "plexus scheduler"; did you mean list?`},
		{[]string{"enmasse", "exprt"}, `did you mean export?`},
		{[]string{"security", "nope"}, `unknown command "nope" for "plexus security"`},
		{[]string{"secrets", "rotate"}, `did you mean rotate-key?`},
	} {
		stdout, stderr, code := runCLI(t, nil, c.args...)
		if code != 1 || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("%v: %d %q %q, want %q", c.args, code, stdout, stderr, c.want)
		}
	}
	if stdout, _, code := runCLI(t, nil, "admin"); code != 0 || !strings.Contains(stdout, "Available Commands:") {
		t.Errorf("plexus admin: %d %q", code, stdout)
	}
}

// Shell completion offers the service, connection, job and security
// definition names of a running server.
func TestCompletion(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	for path, body := range map[string]string{
		"/objects/outgoing_rest/Orders%20API": `{"host": "http://127.0.0.1:1", "url_path": "/orders"}`,
		"/objects/outgoing_rest/Billing":      `{"host": "http://127.0.0.1:1", "url_path": "/billing"}`,
		"/objects/scheduler/crm.nightly-sync": `{"service": "plexus.ping", "job_type": "interval_based", "hours": 24}`,
		"/objects/security/frontend":          `{"type": "jwt", "username": "frontend", "password": "fe-pass-1", "ttl": "1h"}`,
	} {
		if r := s.AdminCall("PUT", admin.Prefix+path, body); r.StatusCode != 201 {
			t.Fatalf("%s: %d %s", path, r.StatusCode, r.Body)
		}
	}
	env := map[string]string{PasswordEnv: servertest.Password}
	complete := func(args ...string) []string {
		t.Helper()
		args = append([]string{"__complete"}, args...)
		args = slices.Insert(args, len(args)-1, "--server", s.Admin)
		stdout, stderr, code := runCLI(t, env, args...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		return lines[:len(lines)-1] // the last line is the directive
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"invoke", "plexus.pi"}, []string{"plexus.ping"}},
		{[]string{"ping", ""}, withAction("ping")},
		{[]string{"ping", "outgoing_rest", ""}, []string{"Billing", "Orders API"}},
		{[]string{"scheduler", "run", "crm."}, []string{"crm.nightly-sync"}},
		{[]string{"scheduler", "pause", ""}, []string{"crm.nightly-sync"}},
		{[]string{"security", "change-password", ""}, []string{"frontend"}},
		{[]string{"action", ""}, withAction("")},
		{[]string{"action", "sch"}, []string{"scheduler"}},
		{[]string{"action", "scheduler", ""}, []string{"crm.nightly-sync"}},
		{[]string{"action", "scheduler", "crm.nightly-sync", "p"}, []string{"pause\tMakes the job inactive through the one change path: it is kept, with its run history, but does not run until it is resumed; a run going on is not stopped."}},
		{[]string{"action", "outgoing_rest", "Billing", ""}, []string{"ping\tSends the connection's ping_method to host + ping_path, with its credentials, and answers whether an answer below 400 arrived, its status and the time taken: {\"name\", \"cid\", \"target\", \"ok\", \"status\", \"time_ms\", \"error\", \"method\", \"url\"}; the request carries the cid in X-Plexus-CID."}},
	} {
		if got := complete(c.args...); !slices.Equal(got, c.want) {
			t.Errorf("completing %v: %q, want %q", c.args, got, c.want)
		}
	}
	if got := complete("invoke", ""); !slices.Contains(got, "plexus.ping") || !slices.Contains(got, "plexus.helpers.echo") {
		t.Errorf("completing a service: %q", got)
	}
}

// plexus kinds prints the reference of the kinds, as the committed page.
func TestKinds(t *testing.T) {
	stdout, stderr, code := runCLI(t, nil, "kinds")
	page, err := os.ReadFile("../../docs/reference/kinds.md")
	if code != 0 || err != nil || stdout != string(page) {
		t.Errorf("kinds: %d %q %v; it differs from docs/reference/kinds.md", code, stderr, err)
	}
}
