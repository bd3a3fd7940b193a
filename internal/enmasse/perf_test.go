package enmasse_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/enmasse"
	"github.com/plexushq/plexus/internal/servertest"
)

// manyChannels returns an enmasse file of n REST channels.
func manyChannels(n int) string {
	var b strings.Builder
	b.WriteString("channel_rest:\n")
	methods := []string{"GET", "POST", "PUT", "DELETE"}
	for i := range n {
		fmt.Fprintf(&b, "  - name: api.customer.%05d\n    service: plexus.helpers.echo\n    url_path: /api/v1/customers/%05d/orders/{order_id}\n    method: %s\n",
			i, i/len(methods), methods[i%len(methods)])
	}
	return b.String()
}

// TestImport10000 imports 10,000 channels the way a user does - the CLI,
// the admin API, a running server, one transaction - and logs how long
// it takes (go test -v -run Import10000 ./internal/enmasse). Tests never
// assert on wall-clock time; BenchmarkImport10000 measures the import
// alone.
func TestImport10000(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 10,000 channels")
	}
	s := servertest.Start(t, servertest.Options{})
	file := filepath.Join(t.TempDir(), "enmasse.yaml")
	if err := os.WriteFile(file, []byte(manyChannels(10_000)), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	stdout, stderr, code := plexus(t, nil, "enmasse", "import", file, s.Dir)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("import: %s", stderr)
	}
	mustContain(t, "import", stdout, "10000 objects: 10000 created")
	if n := s.Runtime.State().Count("channel_rest"); n != 10_000 {
		t.Fatalf("%d channels", n)
	}
	if r := s.Call("DELETE", "/api/v1/customers/02499/orders/7", "", nil); r.StatusCode != 200 {
		t.Errorf("an imported channel: %d %s", r.StatusCode, r.Body)
	}
	start = time.Now()
	out, _, code := plexus(t, nil, "enmasse", "export", s.Dir)
	exportTook := time.Since(start)
	if code != 0 || out != manyChannels(10_000) {
		t.Error("the export differs from the file imported")
	}
	t.Logf("10,000 channels: import %s (CLI → admin API → one transaction), export %s", took.Round(time.Millisecond), exportTook.Round(time.Millisecond))
}

// BenchmarkImport10000 imports 10,000 channels into an empty runtime.
func BenchmarkImport10000(b *testing.B) {
	data := manyChannels(10_000)
	bundle := &enmasse.Bundle{Files: []enmasse.File{{Name: "enmasse.yaml", Content: data}}}
	for b.Loop() {
		b.StopTimer()
		rt := newRuntime(b)
		b.StartTimer()
		if _, err := enmasse.Import(context.Background(), rt, bundle.Input(), enmasse.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
