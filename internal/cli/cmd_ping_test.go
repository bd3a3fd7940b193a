package cli

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/servertest"
)

func TestPing(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer backend.Close()
	s := servertest.Start(t, servertest.Options{})
	for name, body := range map[string]string{
		"Orders API": `{"host": "` + backend.URL + `", "url_path": "/orders"}`,
		"Down":       `{"host": "` + backend.URL + `", "url_path": "/", "ping_path": "/down"}`,
	} {
		if r := s.AdminCall("PUT", admin.Prefix+"/objects/outgoing_rest/"+url.PathEscape(name), body); r.StatusCode != 201 {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
	}

	stdout, stderr, code := runCLI(t, nil, "ping", "outgoing_rest", "Orders API", s.Dir)
	if code != 0 || !strings.HasPrefix(stdout, `outgoing_rest "Orders API": 200 OK in `) || !strings.Contains(stdout, "(HEAD "+backend.URL+"/)") {
		t.Errorf("ping: %d %q %q", code, stdout, stderr)
	}
	stdout, stderr, code = runCLI(t, map[string]string{PasswordEnv: servertest.Password}, "ping", "outgoing_rest", "Down", "--server", s.Admin)
	if code != 1 || !strings.Contains(stdout, "503 Service Unavailable") || !strings.Contains(stderr, "ping failed: the remote API answered 503") {
		t.Errorf("ping 503: %d %q %q", code, stdout, stderr)
	}
	_, stderr, code = runCLI(t, nil, "ping", "outgoing_rest", "Nope", s.Dir)
	if code != 1 || !strings.Contains(stderr, `No outgoing REST connection named "Nope"`) {
		t.Errorf("ping missing: %d %q", code, stderr)
	}
	_, stderr, code = runCLI(t, nil, "ping", "nosuchkind", "db", s.Dir)
	if code != 1 || !strings.Contains(stderr, "the kinds that can be pinged are "+strings.Join(withAction("ping"), ", ")) || !strings.Contains(stderr, "--help") {
		t.Errorf("ping another kind: %d %q", code, stderr)
	}
	backend.Close()
	stdout, stderr, code = runCLI(t, nil, "ping", "outgoing_rest", "Orders API", s.Dir)
	if code != 1 || !strings.Contains(stdout, "no answer after") || !strings.Contains(stderr, "connection refused") {
		t.Errorf("ping refused: %d %q %q", code, stdout, stderr)
	}
	stdout, _, code = runCLI(t, nil, "ping", "--help")
	if code != 0 || !strings.Contains(stdout, "plexus ping outgoing_rest Billing") {
		t.Errorf("--help: %d %q", code, stdout)
	}
}

// plexus action runs any action of any kind and prints its answer.
func TestAction(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	s := servertest.Start(t, servertest.Options{})
	s.Put("outgoing_rest", "CRM", map[string]any{"host": backend.URL, "url_path": "/"})
	s.Put("security", "crm.key", map[string]any{"type": "apikey", "password": "old-key"})

	stdout, stderr, code := runCLI(t, nil, "action", "outgoing_rest", "CRM", "ping", s.Dir)
	if code != 0 || !strings.Contains(stdout, `"ok": true`) || !strings.Contains(stdout, `"target": "HEAD `+backend.URL+`/"`) {
		t.Errorf("ping: %d %q %q", code, stdout, stderr)
	}
	stdout, stderr, code = runWithStdin(t, nil, `{"password": "new-key"}`, "action", "security", "crm.key", "change-password", s.Dir, "--data", "-")
	if code != 0 || !strings.Contains(stdout, `"result": "OK"`) || strings.Contains(stdout+stderr, "new-key") {
		t.Errorf("change-password: %d %q %q", code, stdout, stderr)
	}
	_, stderr, code = runCLI(t, nil, "action", "security", "crm.key", "change-password", s.Dir, "--data", `{"password": ""}`)
	if code != 1 || !strings.Contains(stderr, "password: must not be empty") {
		t.Errorf("a refused change: %d %q", code, stderr)
	}
	_, stderr, code = runCLI(t, nil, "action", "outgoing_rest", "CRM", "pong", s.Dir)
	if code != 1 || !strings.Contains(stderr, `Kind outgoing_rest has no action "pong"; its actions are ping`) {
		t.Errorf("an unknown action: %d %q", code, stderr)
	}
	_, stderr, code = runCLI(t, nil, "action", "security", "crm.key", "change-password", s.Dir, "--data", "password=x")
	if code != 1 || !strings.Contains(stderr, "--data is not JSON") || !strings.Contains(stderr, "--help") {
		t.Errorf("--data not JSON: %d %q", code, stderr)
	}
	if stdout, _, code := runCLI(t, nil, "action", "--help"); code != 0 || !strings.Contains(stdout, "plexus action scheduler crm.nightly-sync execute") {
		t.Errorf("--help: %d %q", code, stdout)
	}
}

// withAction returns the registered kinds that have an action (any, for
// ""), in the order the CLI lists them.
func withAction(action string) []string {
	var ids []string
	for _, k := range registry.All() {
		for _, a := range k.Actions {
			if action == "" || a.Name == action {
				ids = append(ids, k.ID)
				break
			}
		}
	}
	return ids
}
