package testenv

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/envdir"
)

// recordService posts each request's payload to the outgoing REST
// connection sink.
const recordService = "def handle(self):\n    self.out.rest[\"sink\"].conn.post(self.cid, self.request.payload)\n"

// RecordingEnv creates an environment directory with a Sink behind the
// outgoing REST connection sink, the service record posting each
// request's payload to it, and the objects of channels (enmasse YAML,
// their service record). The service's calls are its side effect, which
// tests count.
func RecordingEnv(t testing.TB, channels string) (dir string, sink *Sink) {
	t.Helper()
	sink = NewSink()
	backend := httptest.NewServer(sink)
	t.Cleanup(backend.Close)
	dir = filepath.Join(t.TempDir(), "env")
	if _, err := envdir.Create(dir); err != nil {
		t.Fatal(err)
	}
	enmasse := fmt.Sprintf(`outgoing_rest:
  - name: sink
    host: %s
    url_path: /sink
    data_format: raw
    timeout: 120
`, backend.URL) + channels
	for path, body := range map[string]string{
		filepath.Join(dir, envdir.EnmasseDir, "brokers.yaml"): enmasse,
		filepath.Join(dir, envdir.ServicesDir, "record.star"): recordService,
	} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, sink
}

// WaitAll waits until the bodies m-0 to m-<total-1> are recorded, each
// at least once, and returns how many recordings were duplicates; log is
// shown when they never are.
func (s *Sink) WaitAll(t testing.TB, total int, within time.Duration, log fmt.Stringer) (dups int) {
	t.Helper()
	var seen map[string]int
	for deadline := time.Now().Add(within); ; time.Sleep(100 * time.Millisecond) {
		if seen = s.Seen(); len(seen) == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages processed\n%s", len(seen), total, log)
		}
	}
	for i := range total {
		if seen[fmt.Sprint("m-", i)] == 0 {
			t.Errorf("m-%d was not processed", i)
		}
	}
	for _, n := range seen {
		dups += n - 1
	}
	return dups
}
