package dashboard_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/internal/testenv"
)

// The overview lists the nodes sharing the store, with the revision each
// runs.
func TestOverviewNodes(t *testing.T) {
	a := servertest.Start(t, servertest.Options{DB: testenv.Postgres(t)})
	dir := filepath.Join(t.TempDir(), "env")
	if err := os.CopyFS(dir, os.DirFS(a.Dir)); err != nil {
		t.Fatal(err)
	}
	b := servertest.Start(t, servertest.Options{Dir: dir, DB: a.Server.Settings.DB})
	br := newBrowser(t, a.Admin)
	if p := br.login(servertest.Password); p.Status != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", p.Status, p.Body)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		p := br.get("/")
		if p.Status == 200 && strings.Contains(p.Body, "<h2>Nodes</h2>") &&
			strings.Contains(p.Body, a.Server.NodeID) && strings.Contains(p.Body, b.Server.NodeID) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the overview does not list both nodes %s and %s: %d\n%s", a.Server.NodeID, b.Server.NodeID, p.Status, p.Body)
		}
	}
}
