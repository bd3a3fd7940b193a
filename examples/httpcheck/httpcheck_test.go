package httpcheck_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/examples/httpcheck"
	"github.com/plexushq/plexus/kind"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// The declaration has everything the admin API, the forms and the docs
// need, as every kind of Plexus's own has.
func TestDeclaration(t *testing.T) {
	k, ok := kind.Lookup(httpcheck.Kind)
	if !ok {
		t.Fatal("http_check is not registered")
	}
	for _, err := range k.Lint() {
		t.Error(err)
	}
}

// admin is the admin API's path prefix.
const admin = "/admin/api/v1"

// checkFromGo is a Go service that checks the endpoint its input names.
type checkFromGo struct{}

func (checkFromGo) Name() string { return "example.check-from-go" }

func (checkFromGo) Handle(s *service.Context) error {
	c, err := service.Resource[*httpcheck.Checker](s, httpcheck.Kind, s.Request.Input.String("check"))
	if err != nil {
		return err
	}
	s.Response.Payload = c.Check(s)
	return nil
}

const checkFromStarlark = `
def handle(self):
    r = self.out.http_check[self.request.input.check].check()
    self.response.payload = {"ok": r.ok, "status": r.status}
`

// A check gets everything a kind gets: CRUD, status, its action, access
// from Go and Starlark services, metrics, enmasse.
func TestHTTPCheck(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer backend.Close()
	s := plexustest.Start(t, plexustest.Options{Services: []any{checkFromGo{}}})
	objects := admin + "/objects/http_check/"
	s.Put(httpcheck.Kind, "backend", map[string]any{"url": backend.URL + "/health", "every": "1s"})
	s.Put(httpcheck.Kind, "down", map[string]any{"url": backend.URL + "/down", "every": "1s"})
	s.Put(httpcheck.Kind, "off", map[string]any{"url": backend.URL + "/health", "is_active": false})

	// The server watches each check in the background.
	waitState(t, s, "backend", "running", "")
	waitState(t, s, "down", "degraded", "the endpoint answered 503, not 200")

	// The ping action, which plexus ping http_check NAME runs.
	r := s.AdminCall("POST", objects+"backend/ping", "")
	if res := r.JSON(t); r.StatusCode != 200 || res["ok"] != true || res["status"] != float64(200) || res["target"] != "GET "+backend.URL+"/health" {
		t.Errorf("ping: %d %s", r.StatusCode, r.Body)
	}

	// Services reach checks by name, from Go and from Starlark.
	if r := s.AdminCall("POST", admin+"/services/example.check-from-go/invoke", `{"check": "backend"}`); !strings.Contains(string(r.Body), `"ok":true`) {
		t.Errorf("from Go: %d %s", r.StatusCode, r.Body)
	}
	s.Deploy("check.star", checkFromStarlark)
	if r := s.AdminCall("POST", admin+"/services/check/invoke", `{"check": "down"}`); string(r.Body) != `{"ok":false,"status":503}` {
		t.Errorf("from Starlark: %d %s", r.StatusCode, r.Body)
	}
	if r := s.AdminCall("POST", admin+"/services/check/invoke", `{"check": "off"}`); r.StatusCode != 503 || !strings.Contains(string(r.Body), `HTTP check \"off\" is inactive`) {
		t.Errorf("an inactive check: %d %s", r.StatusCode, r.Body)
	}

	// Its form metadata and its action are in the kinds' list.
	var kinds []struct {
		ID, Section string
		Actions     []struct{ Name string }
	}
	json.Unmarshal(s.AdminCall("GET", admin+"/kinds", "").Body, &kinds)
	found := false
	for _, k := range kinds {
		found = found || k.ID == httpcheck.Kind && k.Section == "http_check" && len(k.Actions) == 1 && k.Actions[0].Name == "ping"
	}
	if !found {
		t.Errorf("GET /kinds lacks http_check: %+v", kinds)
	}
	if export := string(s.AdminCall("GET", admin+"/enmasse/export", "").Body); !strings.Contains(export, "http_check:\n  - name: backend\n    url: ") {
		t.Errorf("export:\n%s", export)
	}
	// Its metric counts checks; a deleted check's series go with it.
	if m := string(s.AdminCall("GET", "/metrics", "").Body); !strings.Contains(m, `plexus_http_check_checks_total{name="backend",outcome="ok"}`) {
		t.Errorf("metrics lack the checks:\n%s", m)
	}
	if r := s.AdminCall("DELETE", objects+"backend", ""); r.StatusCode != 204 {
		t.Fatalf("delete: %d %s", r.StatusCode, r.Body)
	}
	if m := string(s.AdminCall("GET", "/metrics", "").Body); strings.Contains(m, `name="backend"`) {
		t.Errorf("a deleted check's series remain")
	}
	// A bad object is refused with its problems.
	r = s.AdminCall("PUT", objects+"bad", `{"url": "ftp://x", "expect_status": 42}`)
	if body := string(r.Body); r.StatusCode != 400 || !strings.Contains(body, "is not an http:// or https:// URL") || !strings.Contains(body, "42 is not between 100 and 599") {
		t.Errorf("a bad check: %d %s", r.StatusCode, r.Body)
	}
}

// waitState waits until a check's status is state (with an error
// containing msg).
func waitState(t *testing.T, s *plexustest.Server, name, state, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		obj := s.AdminCall("GET", admin+"/objects/http_check/"+name, "").JSON(t)
		st, _ := obj["status"].(map[string]any)
		errText, _ := st["error"].(string)
		if st["state"] == state && strings.Contains(errText, msg) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v, want %s %q", name, st, state, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The program with the kind prints its reference among Plexus's kinds.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example's binary")
	}
	bin := filepath.Join(t.TempDir(), "plexus-httpcheck")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/plexus-httpcheck").CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "kinds").Output()
	if err != nil || !strings.Contains(string(out), "## http_check — HTTP check") || !strings.Contains(string(out), "## outgoing_rest — Outgoing REST connection") ||
		!strings.Contains(string(out), "`self.out.http_check[\"Name\"]`") {
		t.Errorf("plexus-httpcheck kinds: %v\n%s", err, out)
	}
}
