package mongodb_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/mongodb"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/plexustest"
)

// ferret is a private FerretDB server of one test, which the test stops
// and starts again.
type ferret struct {
	t    testing.TB
	bin  string
	addr string
	dir  string
	cmd  *exec.Cmd
}

// newFerret starts the FerretDB binary in PLEXUS_TEST_FERRETDB on a free
// port, with its own SQLite files.
func newFerret(t testing.TB) *ferret {
	bin := testenv.Value(t, "PLEXUS_TEST_FERRETDB", "the path of a FerretDB v1 binary (.ci/ferretdb builds one)")
	f := &ferret{t: t, bin: bin, addr: testenv.FreeAddr(t), dir: t.TempDir()}
	f.start()
	t.Cleanup(f.stop)
	return f
}

func (f *ferret) start() {
	f.t.Helper()
	f.cmd = exec.Command(f.bin, "--handler=sqlite", "--sqlite-url=file:"+f.dir+"/", "--listen-addr="+f.addr,
		"--telemetry=disable", "--log-level=error", "--state-dir="+f.dir, "--debug-addr=-")
	f.cmd.Stdout, f.cmd.Stderr = os.Stderr, os.Stderr
	if err := f.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err := net.Dial("tcp", f.addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("FerretDB did not listen on %s", f.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server, as a crash would.
func (f *ferret) stop() {
	if f.cmd != nil && f.cmd.Process != nil {
		f.cmd.Process.Kill()
		f.cmd.Wait()
		f.cmd = nil
	}
}

// A server that goes away makes the connection degraded and its calls
// fail with 502 saying why; once it is back the connection recovers by
// itself and the data written before is there.
func TestServerRestart(t *testing.T) {
	f := newFerret(t)
	s := plexustest.Start(t, plexustest.Options{})
	s.Put(mongodb.Kind, "db", map[string]any{"server_list": f.addr, "server_select_timeout": "300ms", "hb_frequency": "500ms"})
	s.Deploy("count.star", `
def handle(self):
    c = self.out.mongodb["db"].conn.client.app.events
    c.insert_one({"at": time.now()})
    self.response.payload = {"n": c.count_documents({})}
`)
	s.Channel("count", "count", "POST", "/count", nil)
	s.WaitState(mongodb.Kind, "db", "running")
	if r := s.Call("POST", "/count", "", nil); r.StatusCode != 200 || !strings.Contains(string(r.Body), `"n":1`) {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}

	f.stop()
	st := s.WaitState(mongodb.Kind, "db", "degraded")
	if !strings.Contains(fmt.Sprint(st["error"]), "no server answers") {
		t.Errorf("status %v", st)
	}
	if r := s.Call("POST", "/count", "", nil); r.StatusCode != 502 || !strings.Contains(string(r.Body), "MongoDB cannot be reached") {
		t.Errorf("while down: %d %s", r.StatusCode, r.Body)
	}

	f.start()
	s.WaitState(mongodb.Kind, "db", "running")
	if r := s.Call("POST", "/count", "", nil); r.StatusCode != 200 || !strings.Contains(string(r.Body), `"n":2`) {
		t.Fatalf("after the restart: %d %s", r.StatusCode, r.Body)
	}
}
