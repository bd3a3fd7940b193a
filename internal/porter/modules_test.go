package porter_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/porter"
	"github.com/plexushq/plexus/internal/servertest"
)

// Every example, seeds' and Zato-style modules', ported with
// Options.Module deploys with the same services as ported a file per
// class.
func TestExamplesPortAsModules(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*", "*.py"))
	var req admin.DeployRequest
	var want []string
	modules := 0
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files, err := porter.Port(p, src)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files.Files {
			want = append(want, f.Service)
		}
		res, err := porter.PortWith(p, src, porter.Options{Module: true})
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Base(filepath.Dir(p)) + "/" + strings.TrimSuffix(filepath.Base(p), ".py")
		for _, f := range res.Files {
			if f.Module {
				modules++
			}
			req.Files = append(req.Files, admin.SourceFile{File: dir + "/" + f.Name, Source: f.Source})
		}
	}
	if modules < 3 {
		t.Fatalf("only %d examples have several services", modules)
	}
	s := servertest.Start(t, servertest.Options{})
	body, _ := json.Marshal(req)
	r := s.AdminCall("POST", admin.Prefix+"/deploy", string(body))
	if r.StatusCode != 200 {
		t.Fatalf("deploy: %d %s", r.StatusCode, r.Body)
	}
	var list []struct {
		Name string `json:"name"`
	}
	json.Unmarshal(s.AdminCall("GET", admin.Prefix+"/services", "").Body, &list)
	have := map[string]bool{}
	for _, svc := range list {
		have[svc.Name] = true
	}
	for _, n := range want {
		if !have[n] {
			t.Errorf("service %s is not deployed from the modules", n)
		}
	}
}
