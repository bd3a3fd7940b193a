package cli

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/internal/testenv"
)

func runWithStdin(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb testenv.Buffer
	app := &App{Stdout: &out, Stderr: &errb, Stdin: strings.NewReader(stdin), Getenv: func(k string) string { return env[k] }}
	code = app.Main(context.Background(), args)
	return out.String(), errb.String(), code
}

// change-password reads the new secret from standard input or the
// environment, never from the command line, and the next request is
// checked against it.
func TestChangePassword(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	s.Put("security", "billing", map[string]any{"type": "basic_auth", "username": "b", "password": "old-pass"})
	s.Channel("ping", "plexus.ping", "", "/ping", map[string]any{"security": "billing"})
	auth := func(pw string) http.Header {
		return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("b:"+pw))}}
	}
	stdout, stderr, code := runWithStdin(t, nil, "from-stdin-1\n", "security", "change-password", "billing", s.Dir)
	if code != 0 || !strings.Contains(stdout, `Password of security definition "billing" changed.`) {
		t.Fatalf("stdin: %d %q %q", code, stdout, stderr)
	}
	if r := s.Call("GET", "/ping", "", auth("from-stdin-1")); r.StatusCode != 200 {
		t.Errorf("new password: %d", r.StatusCode)
	}
	_, _, code = runWithStdin(t, map[string]string{NewPasswordEnv: "from-env-2"}, "", "security", "change-password", "billing", s.Dir)
	if r := s.Call("GET", "/ping", "", auth("from-env-2")); code != 0 || r.StatusCode != 200 {
		t.Errorf("env: %d %d", code, r.StatusCode)
	}
	_, stderr, code = runWithStdin(t, nil, "", "security", "change-password", "billing", s.Dir)
	if code != 1 || !strings.Contains(stderr, NewPasswordEnv) {
		t.Errorf("no password: %d %q", code, stderr)
	}
	_, stderr, code = runWithStdin(t, nil, "x-pass\n", "security", "change-password", "nobody", s.Dir)
	if code != 1 || !strings.Contains(stderr, `No security definition named "nobody"`) {
		t.Errorf("unknown: %d %q", code, stderr)
	}
}

// rotate-key refuses a running server; once it is stopped, it rotates,
// and the restarted server reads every secret with the new key.
func TestRotateKey(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	s.Put("security", "billing", map[string]any{"type": "basic_auth", "username": "b", "password": "kept-pass"})
	s.Channel("ping", "plexus.ping", "", "/ping", map[string]any{"security": "billing"})
	_, stderr, code := runCLI(t, nil, "secrets", "rotate-key", s.Dir)
	if code != 1 || !strings.Contains(stderr, "stop it first") {
		t.Fatalf("running server: %d %q", code, stderr)
	}
	s.Stop()
	stdout, stderr, code := runCLI(t, nil, "secrets", "rotate-key", s.Dir)
	if code != 0 || !strings.Contains(stdout, "Server key rotated: the secrets of 1 objects re-encrypted") {
		t.Fatalf("rotate: %d %q %q", code, stdout, stderr)
	}
	s = s.Restart()
	h := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("b:kept-pass"))}}
	if r := s.Call("GET", "/ping", "", h); r.StatusCode != 200 {
		t.Errorf("after rotation: %d %s", r.StatusCode, r.Body)
	}
	if strings.Contains(s.Log.String(), "skipping stored configuration") {
		t.Errorf("objects skipped after rotation:\n%s", s.Log)
	}
}
