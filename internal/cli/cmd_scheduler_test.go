package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/sdk/service"
)

func TestSchedulerCommands(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: []any{
		service.Func("t.fails", "", func(c *service.Context) error { return service.BadRequest("Element missing: x") }),
	}})
	stdout, stderr, code := runCLI(t, nil, "scheduler", "list", s.Dir)
	if code != 0 || stdout != "No scheduler jobs.\n" {
		t.Fatalf("empty list: %d %q %q", code, stdout, stderr)
	}
	s.Put("scheduler", "hourly", map[string]any{"service": "plexus.ping", "job_type": "interval_based", "hours": 1})
	s.Put("scheduler", "broken", map[string]any{"service": "t.fails", "job_type": "cron_style", "cron_definition": "0 3 * * *", "is_active": false})

	stdout, _, code = runCLI(t, nil, "scheduler", "run", "hourly", s.Dir, "--wait")
	if code != 0 || !regexp.MustCompile(`^Started hourly, cid [0-9a-f]{24}\nFinished: ok, [0-9.]+ ms\n$`).MatchString(stdout) {
		t.Fatalf("run --wait: %d %q", code, stdout)
	}
	_, stderr, code = runCLI(t, nil, "scheduler", "run", "broken", s.Dir, "--wait")
	if code != 1 || !strings.Contains(stderr, "the run failed after") || !strings.Contains(stderr, "400 Element missing: x") {
		t.Fatalf("failing run --wait: %d %q", code, stderr)
	}

	stdout, _, code = runCLI(t, nil, "scheduler", "list", s.Dir)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") ||
		!regexp.MustCompile(`^broken\s+no\s+t\.fails\s+cron "0 3 \* \* \*"\s+-\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+error\s+`).MatchString(lines[1]) ||
		!regexp.MustCompile(`^hourly\s+yes\s+plexus\.ping\s+every 1h\s+\d{4}-\d\d-\d\d \d\d:00:00\s+\d{4}.*\s+ok\s+`).MatchString(lines[2]) {
		t.Fatalf("list:\n%s", stdout)
	}

	if stdout, _, code = runCLI(t, nil, "scheduler", "pause", "hourly", s.Dir); code != 0 || stdout != "Paused hourly\n" {
		t.Fatalf("pause: %d %q", code, stdout)
	}
	if obj := s.AdminCall("GET", "/admin/api/v1/objects/scheduler/hourly", "").JSON(t); obj["is_active"] != false {
		t.Fatalf("paused job: %v", obj)
	}
	// Through --server with the admin password, as from another machine.
	env := map[string]string{PasswordEnv: servertest.Password}
	stdout, stderr, code = runCLI(t, env, "scheduler", "resume", "hourly", "--server", s.Admin)
	if code != 0 || !regexp.MustCompile(`^Resumed hourly; next run \d{4}-\d\d-\d\d \d\d:00:00\n$`).MatchString(stdout) {
		t.Fatalf("resume --server: %d %q %q (want the next full hour)", code, stdout, stderr)
	}
	stdout, _, code = runCLI(t, env, "scheduler", "list", "--server", s.Admin, "--json")
	if code != 0 || !strings.Contains(stdout, `"name": "hourly"`) || !strings.Contains(stdout, `"next_run_utc"`) {
		t.Fatalf("list --json: %d %q", code, stdout)
	}

	_, stderr, code = runCLI(t, nil, "scheduler", "run", "nope", s.Dir)
	if code != 1 || !strings.Contains(stderr, `No scheduler job named "nope"`) {
		t.Fatalf("unknown job: %d %q", code, stderr)
	}
	_, stderr, code = runCLI(t, nil, "scheduler", "pause")
	if code != 1 || !strings.Contains(stderr, "Run 'plexus scheduler pause --help'") {
		t.Fatalf("no name: %d %q", code, stderr)
	}
	_, stderr, code = runCLI(t, nil, "scheduler", "list", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "--server") {
		t.Fatalf("no environment: %d %q", code, stderr)
	}
}
