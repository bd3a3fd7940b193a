package deploy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/deploy"
	"github.com/plexushq/plexus/internal/servertest"
)

func svc(body string) string {
	return "def handle(self):\n    self.response.payload = " + body + "\n"
}

// waitBody polls a path until it answers want, or fails after a few
// seconds.
func waitBody(t *testing.T, s *servertest.Server, path, want string) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 5*time.Second {
		if r := s.Call("GET", path, "", nil); string(r.Body) == want {
			return time.Since(start)
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := s.Call("GET", path, "", nil)
	t.Fatalf("%s answers %d %q, want %q\n%s", path, r.StatusCode, r.Body, want, s.Log)
	return 0
}

// waitService waits until a service is deployed.
func waitService(t *testing.T, s *servertest.Server, name string) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 5*time.Second {
		if s.Runtime.State().Services.Get(name) != nil {
			return time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("service %s not deployed\n%s", name, s.Log)
	return 0
}

func TestPickupDirectory(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	dir := filepath.Join(s.Dir, "services")

	// A saved file is live within a second.
	os.WriteFile(filepath.Join(dir, "hello.star"), []byte(svc(`"v1"`)), 0o644)
	if d := waitService(t, s, "hello"); d > time.Second {
		t.Errorf("deploying took %v", d)
	}
	s.Channel("hello", "hello", "", "/hello", nil)
	waitBody(t, s, "/hello", "v1")
	// Saving again redeploys.
	os.WriteFile(filepath.Join(dir, "hello.star"), []byte(svc(`"v2"`)), 0o644)
	waitBody(t, s, "/hello", "v2")

	// Subdirectories, including new ones, give dotted names.
	os.MkdirAll(filepath.Join(dir, "billing"), 0o755)
	os.WriteFile(filepath.Join(dir, "billing", "get_invoice.star"), []byte(svc(`"invoice"`)), 0o644)
	waitService(t, s, "billing.get-invoice")
	s.Channel("nested", "billing.get-invoice", "", "/nested", nil)
	waitBody(t, s, "/nested", "invoice")

	// A file written in pieces deploys only once complete: the half
	// written file is a syntax error that must never be deployed.
	f, _ := os.Create(filepath.Join(dir, "hello.star"))
	f.WriteString("def handle(self):\n    self.response.pay")
	f.Sync()
	time.Sleep(100 * time.Millisecond)
	f.WriteString(`load = "v3"` + "\n")
	f.Close()
	os.WriteFile(filepath.Join(dir, "hello.star"), []byte(svc(`"v3"`)), 0o644)
	waitBody(t, s, "/hello", "v3")

	// A broken file is refused and logged; the previous version serves.
	os.WriteFile(filepath.Join(dir, "hello.star"), []byte("def handle(self)\n"), 0o644)
	s.Log.WaitFor(t, "deploy refused", "hello.star:2:1")
	waitBody(t, s, "/hello", "v3")

	// Editor temporary files are ignored.
	os.WriteFile(filepath.Join(dir, ".hello.star.swp"), []byte("garbage"), 0o644)
	os.WriteFile(filepath.Join(dir, "hello.star~"), []byte("garbage"), 0o644)

	// A rename to a new name (editors' atomic save) moves the service.
	tmp := filepath.Join(dir, "tmp-save.txt")
	os.WriteFile(tmp, []byte("name = 'hello'\n"+svc(`"v4"`)), 0o644)
	os.Rename(tmp, filepath.Join(dir, "hello2.star"))
	os.Remove(filepath.Join(dir, "hello.star"))
	waitBody(t, s, "/hello", "v4")

	// A deleted file undeploys its service.
	os.Remove(filepath.Join(dir, "hello2.star"))
	for start := time.Now(); s.Runtime.State().Services.Get("hello") != nil; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("deleted file still deployed")
		}
	}
	if r := s.Call("GET", "/hello", "", nil); r.StatusCode != 503 {
		t.Errorf("undeployed service: %d", r.StatusCode)
	}
}

func TestPickupAtStart(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	file := filepath.Join(s.Dir, "services", "early.star")
	os.WriteFile(file, []byte(svc(`"v1"`)), 0o644)
	waitService(t, s, "early")
	s.Channel("early", "early", "", "/early", nil)
	s.Stop()
	// A file changed while the server is down deploys at start.
	os.WriteFile(file, []byte(svc(`"static"`)), 0o644)
	s2 := servertest.Start(t, servertest.Options{Dir: s.Dir})
	waitBody(t, s2, "/early", "static")
}

func TestHooks(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	var got atomic.Value
	p := &deploy.Pickup{
		Dir: t.TempDir(), Exts: []string{".star"}, Runtime: s.Runtime, Logger: s.Logger, Debounce: 20 * time.Millisecond,
		Hooks: []deploy.Hook{{
			Match:  func(name string) bool { return strings.Contains(name, "enmasse") },
			Handle: func(_ context.Context, path string) error { got.Store(path); return nil },
		}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	time.Sleep(50 * time.Millisecond)
	os.WriteFile(filepath.Join(p.Dir, "my-enmasse.yaml"), []byte("x: 1"), 0o644)
	deadline := time.Now().Add(3 * time.Second)
	for got.Load() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if p, _ := got.Load().(string); !strings.HasSuffix(p, "my-enmasse.yaml") {
		t.Fatalf("hook got %v", got.Load())
	}
}

// An enmasse file saved in the pickup directory is imported while the
// server runs, after the services it names.
func TestPickupEnmasse(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	dir := filepath.Join(s.Dir, "services")
	os.WriteFile(filepath.Join(dir, "greet.star"), []byte(svc(`"hi"`)), 0o644)
	os.WriteFile(filepath.Join(dir, "app-enmasse.yaml"), []byte("channel_rest:\n  - name: greet\n    service: greet\n    url_path: /greet\n"), 0o644)
	waitBody(t, s, "/greet", "hi")
	s.Log.WaitFor(t, "enmasse file imported", "app-enmasse.yaml")
}

// write saves service files in the pickup directory, name and content
// pairs, one right after the other.
func write(t *testing.T, s *servertest.Server, files ...string) {
	t.Helper()
	for i := 0; i < len(files); i += 2 {
		path := filepath.Join(s.Dir, "services", files[i])
		if err := os.WriteFile(path, []byte(files[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// waitSource waits until a service is deployed from a file.
func waitSource(t *testing.T, s *servertest.Server, name, file string) {
	t.Helper()
	for start := time.Now(); time.Since(start) < 5*time.Second; time.Sleep(5 * time.Millisecond) {
		if svc := s.Runtime.State().Services.Get(name); svc != nil && svc.Source == file {
			return
		}
	}
	t.Fatalf("service %s not deployed from %s\n%s", name, file, s.Log)
}

// A broken file saved with valid ones does not hold them back: each file
// is deployed or refused on its own, and said so in the log; a file that
// needs a refused one is held back and deployed once that one is fixed.
func TestPickupDeploysWhatIsValid(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	write(t, s, "good1.star", svc(`"1"`), "broken.star", "def handle(self)\n", "good2.star", svc(`"2"`))
	waitService(t, s, "good1")
	waitService(t, s, "good2")
	s.Log.WaitFor(t, "deploy refused", "file=broken.star", "broken.star:2:1: got newline, want ':'")
	s.Log.WaitFor(t, "service deployed", "file=good1.star")
	s.Log.WaitFor(t, "service deployed", "file=good2.star")
	if s.Runtime.State().Services.Get("broken") != nil {
		t.Fatal("a broken file was deployed")
	}

	// a.star gives up its service x for y in a version that does not load,
	// while b.star takes x: b.star waits for a.star.
	write(t, s, "a.star", "name = 'x'\n"+svc(`"a"`))
	waitSource(t, s, "x", "a.star")
	write(t, s, "a.star", "name = 'y'\ndef handle(self)\n", "b.star", "name = 'x'\n"+svc(`"b"`))
	s.Log.WaitFor(t, "held back", "file=b.star", "because=a.star", `service \"x\" is already deployed from a.star`)
	s.Log.WaitFor(t, "deploy refused; the previous version keeps serving", "file=a.star")
	// Fixing a.star deploys b.star too, without saving it again.
	write(t, s, "a.star", "name = 'y'\n"+svc(`"a"`))
	waitSource(t, s, "x", "b.star")
	waitSource(t, s, "y", "a.star")

	// Fixing the broken file deploys it; a file left out is said so once,
	// not again on every retry.
	if n := len(s.Log.Lines("deploy refused", "file=broken.star")); n != 1 {
		t.Errorf("broken.star refused %d times in the log:\n%s", n, s.Log)
	}
	write(t, s, "broken.star", svc(`"fixed"`))
	waitService(t, s, "broken")

	// Warnings are logged with their file.
	write(t, s, "zato.star", "def handle(self):\n    self.server.fs_server_config\n")
	s.Log.WaitFor(t, "deploy warning", "file=zato.star", "zato.star:2:10: self.server does not exist in Plexus")
}

// Files present at start are deployed or refused one by one too.
func TestPickupAtStartDeploysWhatIsValid(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	s.Stop()
	write(t, s, "good.star", svc(`"good"`), "broken.star", "def handle(self)\n")
	s2 := servertest.Start(t, servertest.Options{Dir: s.Dir})
	if s2.Runtime.State().Services.Get("good") == nil {
		t.Fatalf("a valid file present at start was not deployed\n%s", s2.Log)
	}
	s2.Log.WaitFor(t, "deploy refused", "file=broken.star", "broken.star:2:1")
	// The watcher's first look at the directory does not log it again.
	write(t, s2, "other.star", svc(`"other"`))
	waitService(t, s2, "other")
	if n := len(s2.Log.Lines("deploy refused", "file=broken.star")); n != 1 {
		t.Errorf("broken.star refused %d times in the log:\n%s", n, s2.Log)
	}
}

// A file deployed through the admin API under the name of a pickup file
// is refused, naming both; forced, it replaces it, and the pickup file is
// refused with a word at the next start instead of silently winning or
// losing.
func TestPickupAndRemoteDeploy(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	write(t, s, "orders.star", svc(`"pickup"`))
	waitService(t, s, "orders")
	s.Channel("orders", "orders", "", "/orders", nil)
	body := `{"file": "orders.star", "source": "def handle(self):\n    self.response.payload = \"remote\"\n"}`
	r := s.AdminCall("POST", admin.Prefix+"/deploy", body)
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), `orders.star: is deployed from the pickup directory (service \"orders\"); deploying it from the admin API (service \"orders\") would replace it`) {
		t.Fatalf("remote deploy over a pickup file: %d %s", r.StatusCode, r.Body)
	}
	waitBody(t, s, "/orders", "pickup")

	r = s.AdminCall("POST", admin.Prefix+"/deploy?force=true", body)
	if r.StatusCode != 200 || !strings.Contains(string(r.Body), "orders.star: replaces the file deployed from the pickup directory") {
		t.Fatalf("forced: %d %s", r.StatusCode, r.Body)
	}
	waitBody(t, s, "/orders", "remote")
	s2 := s.Restart()
	s2.Log.WaitFor(t, "deploy refused; the previous version keeps serving", "file=orders.star", "is deployed from the admin API")
	waitBody(t, s2, "/orders", "remote")

	// Deleting the pickup file does not undeploy what the admin API
	// deployed. (A file deployed first shows the watcher is running.)
	write(t, s2, "ready.star", svc(`"ready"`))
	waitService(t, s2, "ready")
	os.Remove(filepath.Join(s2.Dir, "services", "orders.star"))
	s2.Log.WaitFor(t, "undeploy refused", "file=orders.star", "not from the pickup directory; it stays deployed")
	waitBody(t, s2, "/orders", "remote")
}
