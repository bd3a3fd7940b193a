package enmasse_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/cli"
	"github.com/plexushq/plexus/internal/enmasse"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/server"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/internal/testenv"
)

// plexus runs a plexus command in-process with the given environment
// variables.
func plexus(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb servertest.Log
	app := &cli.App{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	code = app.Main(context.Background(), args)
	return out.String(), errb.String(), code
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// notApplying checks that a command which changed nothing did not say it
// was applying changes.
func notApplying(t *testing.T, what, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "applying") {
		t.Errorf("%s says it is applying changes:\n%s", what, stderr)
	}
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

const channels = `channel_rest:
  - name: api.hello
    service: plexus.helpers.echo
    url_path: /api/hello/{name}
    method: GET
  - name: api.ping
    service: plexus.ping
    url_path: ${PING_PATH}
`

func TestCommands(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	dir := t.TempDir()
	file := writeFile(t, filepath.Join(dir, "enmasse.yaml"), channels)
	env := map[string]string{"PING_PATH": "/api/ping"}

	// import: progress as plain lines (not a terminal), then a summary.
	stdout, stderr, code := plexus(t, env, "enmasse", "import", file, s.Dir)
	if code != 0 {
		t.Fatalf("import: %d\n%s%s", code, stdout, stderr)
	}
	mustContain(t, "import output", stdout, "Imported "+file+": 2 objects: 2 created, 0 updated, 0 unchanged, 0 deleted (revision ")
	mustContain(t, "import progress", stderr, "enmasse: reading 1 file\n", "enmasse: checking 2 objects\n", "enmasse: applying 2 changes\n")
	if r := s.Call("GET", "/api/hello/jane", "", nil); r.StatusCode != 200 || !strings.Contains(string(r.Body), `"name":"jane"`) {
		t.Errorf("imported channel: %d %s", r.StatusCode, r.Body)
	}
	stdout, _, _ = plexus(t, env, "enmasse", "import", file, s.Dir)
	mustContain(t, "re-import", stdout, "2 objects: 0 created, 0 updated, 2 unchanged, 0 deleted in ")

	// An unset variable, and every other problem, with file:line:column.
	bad := writeFile(t, filepath.Join(dir, "bad.yaml"), channels+"  - name: api.bad\n    servise: plexus.ping\n    url_path: /bad\n")
	_, stderr, code = plexus(t, nil, "enmasse", "import", bad, s.Dir)
	if code != 1 {
		t.Errorf("bad import: exit %d", code)
	}
	mustContain(t, "bad import", stderr,
		bad+`:8:15: channel_rest "api.ping": url_path: variable PING_PATH is not set`,
		bad+`:10:5: channel_rest "api.bad": unknown field "servise"; did you mean "service"?`,
		"Variables not set: PING_PATH (set them in the environment or in --env-file).",
		"Error: "+bad+": 2 problems; nothing was changed")
	notApplying(t, "bad import", stderr)

	// A file that only the server finds wrong (a service not deployed)
	// fails without applying anything either.
	undeployed := writeFile(t, filepath.Join(dir, "undeployed.yaml"), "channel_rest:\n  - name: u\n    service: not.deployed\n    url_path: /u\n")
	_, stderr, code = plexus(t, nil, "enmasse", "import", undeployed, s.Dir)
	if code != 1 {
		t.Errorf("import of an undeployed service: exit %d", code)
	}
	mustContain(t, "import of an undeployed service", stderr, `service: no service named "not.deployed" is deployed`)
	notApplying(t, "import of an undeployed service", stderr)

	// lint: a dry run, through the server or offline.
	envFile := writeFile(t, filepath.Join(dir, "prod.env"), "# production\n[vars]\nPING_PATH = /api/ping2\n")
	stdout, stderr, code = plexus(t, nil, "enmasse", "lint", file, s.Dir, "--env-file", envFile)
	if code != 0 {
		t.Fatalf("lint: %d %s", code, stderr)
	}
	mustContain(t, "lint", stdout, file+": OK, 2 objects: 0 would be created, 1 would be updated, 1 unchanged, 0 would be deleted")
	notApplying(t, "lint", stderr)
	offline := writeFile(t, filepath.Join(dir, "offline.yaml"), "channel_rest:\n  - name: x\n    service: not.deployed.anywhere\n    url_path: /x\n  - name: y\n    service: s\n    url_path: y\n")
	_, stderr, code = plexus(t, nil, "enmasse", "lint", offline, "--offline")
	if code != 1 {
		t.Errorf("offline lint: exit %d", code)
	}
	mustContain(t, "offline lint", stderr, offline+`:7:15: channel_rest "y": url_path: "y" must start with /`)
	if strings.Contains(stderr, "not.deployed") {
		t.Errorf("offline lint checks services:\n%s", stderr)
	}

	// --dry-run changes nothing.
	stdout, stderr, code = plexus(t, nil, "enmasse", "import", file, s.Dir, "--dry-run", "--env-file", envFile)
	mustContain(t, "dry run", stdout, "OK (dry run, nothing was changed), 2 objects: 0 would be created, 1 would be updated")
	notApplying(t, "dry run", stderr)
	if r := s.Call("GET", "/api/ping2", "", nil); r.StatusCode != 404 || code != 0 {
		t.Errorf("dry run changed something: %d", r.StatusCode)
	}

	// export, to standard output and to a file, from the running server.
	want := strings.Replace(channels, "${PING_PATH}", "/api/ping", 1)
	stdout, _, code = plexus(t, nil, "enmasse", "export", s.Dir)
	if code != 0 || stdout != want {
		t.Errorf("export: %d\n%s", code, stdout)
	}
	out := filepath.Join(dir, "out.yaml")
	_, stderr, code = plexus(t, nil, "enmasse", "export", s.Dir, "--file", out, "--include-type", "channel_plain_http")
	if data, _ := os.ReadFile(out); code != 0 || string(data) != want {
		t.Errorf("export --file: %d %s\n%s", code, stderr, data)
	}
	_, stderr, _ = plexus(t, nil, "enmasse", "export", s.Dir, "--include-type", "chanel_rest")
	mustContain(t, "export of an unknown type", stderr, `unknown type "chanel_rest"; did you mean "channel_rest"?`)
	stdout, _, code = plexus(t, map[string]string{cli.PasswordEnv: servertest.Password}, "enmasse", "export", "--server", s.Admin)
	if code != 0 || stdout != want {
		t.Errorf("export --server: %d\n%s", code, stdout)
	}

	// --replace lists what it deletes and needs --yes.
	s.Channel("extra", "plexus.ping", "GET", "/extra", nil)
	_, stderr, code = plexus(t, env, "enmasse", "import", file, s.Dir, "--replace")
	if code != 1 {
		t.Errorf("--replace without --yes: exit %d", code)
	}
	mustContain(t, "--replace", stderr, "--replace deletes these 1 objects, which "+file+" does not hold:\n  channel_rest \"extra\"\n",
		"nothing was changed: run again with --yes to delete them")
	if _, ok := s.Runtime.State().Object("channel_rest", "extra"); !ok {
		t.Fatal("--replace without --yes deleted")
	}
	stdout, _, code = plexus(t, env, "enmasse", "import", file, s.Dir, "--replace", "--yes")
	mustContain(t, "--replace --yes", stdout, "0 created, 0 updated, 2 unchanged, 1 deleted (revision ")
	if _, ok := s.Runtime.State().Object("channel_rest", "extra"); ok || code != 0 {
		t.Error("--replace --yes did not delete")
	}
	_, stderr, code = plexus(t, env, "enmasse", "import", file, s.Dir, "--yes")
	if code != 1 || !strings.Contains(stderr, "needs --replace") {
		t.Errorf("--yes alone: %d %s", code, stderr)
	}

	// With the server stopped, export reads its store.
	s.Stop()
	stdout, stderr, code = plexus(t, nil, "enmasse", "export", s.Dir)
	if code != 0 || stdout != want {
		t.Errorf("offline export: %d %s\n%s", code, stderr, stdout)
	}
	mustContain(t, "offline export", stderr, "is not running: exporting from its store")
	_, stderr, code = plexus(t, env, "enmasse", "import", file, s.Dir)
	if code != 1 || !strings.Contains(stderr, "is it running? start it with: plexus start "+s.Dir) {
		t.Errorf("import with the server stopped: %d %s", code, stderr)
	}
}

// Export, import into an empty environment, export: byte-identical, also
// through real servers, the admin API and a restart (the store).
func TestRoundTripThroughServers(t *testing.T) {
	data, err := os.ReadFile("testdata/roundtrip.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fixture := writeFile(t, filepath.Join(dir, "fixture.yaml"), string(data))
	vars := map[string]string{}
	lookup := fixtureEnv(data)
	for _, m := range varRef.FindAllStringSubmatch(string(data), -1) {
		vars[m[1]], _ = lookup(m[1])
	}
	a := servertest.Start(t, servertest.Options{})
	b := servertest.Start(t, servertest.Options{})
	ca := testenv.NewCA(t)
	cert, key := ca.Issue(t, "plexus-client", true)
	for _, env := range []string{a.Dir, b.Dir} {
		writeFile(t, filepath.Join(env, "tls", "ca.pem"), string(ca.PEM))
		writeFile(t, filepath.Join(env, "tls", "client.pem"), string(cert))
		writeFile(t, filepath.Join(env, "tls", "client.key"), string(key))
	}
	if _, stderr, code := plexus(t, vars, "enmasse", "import", fixture, a.Dir); code != 0 {
		t.Fatalf("import: %s", stderr)
	}
	out1 := filepath.Join(dir, "out1.yaml")
	if _, stderr, code := plexus(t, nil, "enmasse", "export", a.Dir, "--file", out1); code != 0 {
		t.Fatalf("export: %s", stderr)
	}
	a = a.Restart()
	restarted, _, _ := plexus(t, nil, "enmasse", "export", a.Dir)
	if _, stderr, code := plexus(t, vars, "enmasse", "import", out1, b.Dir); code != 0 {
		t.Fatalf("import into an empty environment: %s", stderr)
	}
	out2, _, _ := plexus(t, nil, "enmasse", "export", b.Dir)
	first, _ := os.ReadFile(out1)
	for name, got := range map[string]string{"the first export": string(first), "after a restart": restarted, "after the round trip": out2} {
		if got != string(data) {
			t.Errorf("%s differs:\n%s", name, diff(string(data), got))
		}
	}
}

// plexus start imports DIR/enmasse/*.yaml; a file with problems stops the
// start with every problem listed.
func TestStartupImport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "env")
	if _, err := envdir.Create(dir); err != nil {
		t.Fatal(err)
	}
	t.Setenv("STARTUP_PATH", "/from-env")
	writeFile(t, filepath.Join(dir, "enmasse", "10-main.yaml"), "include: [common/shared.yml]\nchannel_rest:\n  - name: main\n    service: plexus.ping\n    url_path: ${STARTUP_PATH}\n")
	writeFile(t, filepath.Join(dir, "enmasse", "common", "shared.yml"), "channel_rest:\n  - name: shared\n    service: plexus.ping\n    url_path: /shared\n")
	writeFile(t, filepath.Join(dir, "enmasse", "20-more.yml"), "include: [common/shared.yml]\nchannel_rest:\n  - name: more\n    service: plexus.ping\n    url_path: /more\n")
	writeFile(t, filepath.Join(dir, "enmasse", "README.txt"), "not imported")
	s := servertest.Start(t, servertest.Options{Dir: dir})
	for _, path := range []string{"/from-env", "/shared", "/more"} {
		if r := s.Call("GET", path, "", nil); r.StatusCode != 200 {
			t.Errorf("%s: %d", path, r.StatusCode)
		}
	}
	s.Log.WaitFor(t, "enmasse files imported", "objects=3", "created=3")
	rev := s.Runtime.State().Rev

	// Unchanged files change nothing at the next start.
	s = s.Restart()
	if got := s.Runtime.State().Rev; got != rev {
		t.Errorf("a restart with the same files made revision %d (was %d)", got, rev)
	}
	s.Log.WaitFor(t, "enmasse files imported", "unchanged=3")
	s.Stop()

	// A bad file: the server does not start, and says why.
	writeFile(t, filepath.Join(dir, "enmasse", "30-bad.yaml"), "channel_rest:\n  - name: bad\n    service: plexus.pnig\n    url_path: /bad\n")
	_, err := server.Open(context.Background(), server.Options{Dir: dir, Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", LogOutput: &servertest.Log{}})
	if err == nil {
		t.Fatal("the server started with a bad enmasse file")
	}
	mustContain(t, "start-up error", err.Error(), "importing "+filepath.Join(dir, "enmasse")+" at start-up",
		filepath.Join(dir, "enmasse", "30-bad.yaml")+`:3:14: channel_rest "bad": service: no service named "plexus.pnig" is deployed; did you mean "plexus.ping"?`)

	// The command line says the same and exits 1.
	_, stderr, code := plexus(t, nil, "start", dir, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0")
	if code != 1 || !strings.Contains(stderr, "30-bad.yaml:3:14") {
		t.Errorf("plexus start: %d %s", code, stderr)
	}
}

// The pickup directory's watcher imports *enmasse*.y*ml files with
// ImportFile while the server runs.
func TestHotImport(t *testing.T) {
	for name, want := range map[string]bool{
		"enmasse.yaml": true, "prod-enmasse.yml": true, "x/ENMASSE_2.yaml": true, "my.enmasse.dev.yaml": true,
		"enmasse.json": false, "service.star": false, "enmasse.yaml.swp": false, "masse.yaml": false,
	} {
		if got := enmasse.IsEnmasseFile(name); got != want {
			t.Errorf("IsEnmasseFile(%q) = %v", name, got)
		}
	}
	s := servertest.Start(t, servertest.Options{})
	file := writeFile(t, filepath.Join(t.TempDir(), "hot-enmasse.yaml"), "channel_rest:\n  - name: hot\n    service: plexus.ping\n    url_path: /hot\n")
	rep, err := enmasse.ImportFile(context.Background(), s.Runtime, file, enmasse.Options{})
	if err != nil || rep.Created != 1 {
		t.Fatalf("%v %+v", err, rep)
	}
	if r := s.Call("GET", "/hot", "", nil); r.StatusCode != 200 {
		t.Errorf("hot-imported channel: %d", r.StatusCode)
	}
	// A bad file changes nothing: the channel keeps serving.
	writeFile(t, file, "channel_rest:\n  - name: hot\n    service: plexus.ping\n    url_path: hot\n")
	_, err = enmasse.ImportFile(context.Background(), s.Runtime, file, enmasse.Options{})
	if err == nil || !strings.Contains(err.Error(), file+`:4:15: channel_rest "hot": url_path: "hot" must start with /`) {
		t.Errorf("bad hot import: %v", err)
	}
	if r := s.Call("GET", "/hot", "", nil); r.StatusCode != 200 {
		t.Errorf("after a bad hot import: %d", r.StatusCode)
	}
}

// The admin API takes a plain YAML body too (curl), and streams progress
// on request.
func TestAdminAPI(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	auth := http.Header{"Authorization": {"Bearer " + s.Server.Admin.CLIToken}, "Content-Type": {"application/yaml"}}
	r := servertest.Do(t, "POST", s.Admin+admin.Prefix+"/enmasse/import?name=mine.yaml", "channel_rest:\n  - name: a\n    service: plexus.ping\n    url_path: a\n", auth)
	if r.StatusCode != 400 {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	var resp admin.ImportResponse
	if err := json.Unmarshal(r.Body, &resp); err != nil || resp.Result != "Error" || len(resp.Problems) != 1 ||
		resp.Problems[0].Error() != `mine.yaml:4:15: channel_rest "a": url_path: "a" must start with /` {
		t.Errorf("%v %s", err, r.Body)
	}
	r = servertest.Do(t, "POST", s.Admin+admin.Prefix+"/enmasse/import?progress=true", "channel_rest:\n  - name: a\n    service: plexus.ping\n    url_path: /a\n", auth)
	lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n")
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/x-ndjson" || len(lines) < 3 ||
		!strings.HasPrefix(lines[0], `{"progress":{"phase":"reading"`) || !strings.Contains(lines[len(lines)-1], `"result":"OK"`) {
		t.Errorf("%d %s", r.StatusCode, r.Body)
	}
	r = s.AdminCall("GET", admin.Prefix+"/enmasse/export", "")
	if r.StatusCode != 200 || string(r.Body) != "channel_rest:\n  - name: a\n    service: plexus.ping\n    url_path: /a\n" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/yaml") {
		t.Errorf("export: %d %q", r.StatusCode, r.Body)
	}
	if r := s.AdminCall("POST", admin.Prefix+"/enmasse/import", `{"files": []}`); r.StatusCode != 400 {
		t.Errorf("empty bundle: %d %s", r.StatusCode, r.Body)
	}
}

func TestProgressPrinter(t *testing.T) {
	var plain, term bytes.Buffer
	for _, p := range []*enmasse.ProgressPrinter{enmasse.NewProgressPrinter(&plain, false), enmasse.NewProgressPrinter(&term, true)} {
		p.Update(enmasse.Progress{Phase: enmasse.PhaseRead, Total: 1})
		p.Update(enmasse.Progress{Phase: enmasse.PhaseRead, Done: 1, Total: 1})
		for i := 0; i <= 1000; i += 10 {
			p.Update(enmasse.Progress{Phase: enmasse.PhaseCheck, Done: i, Total: 1000})
		}
		p.Update(enmasse.Progress{Phase: enmasse.PhaseApply, Total: 1000})
		p.Update(enmasse.Progress{Phase: enmasse.PhaseDone, Done: 1000, Total: 1000})
	}
	if plain.String() != "enmasse: reading 1 file\nenmasse: checking 1000 objects\nenmasse: applying 1000 changes\n" {
		t.Errorf("plain: %q", plain.String())
	}
	mustContain(t, "terminal", term.String(), "\r\033[Kchecking  ███████████████░░░░░░░░░░░░░░░  50%  500/1000", "\r\033[Kapplying")
	if !strings.HasSuffix(term.String(), "\r\033[K") || strings.Contains(term.String(), "\n") {
		t.Errorf("terminal: %q", term.String())
	}
}
