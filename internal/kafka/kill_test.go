package kafka_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/testenv"
)

// Plexus killed with SIGKILL while consuming (from kfake, running in the
// test's process) loses nothing: the offsets of the records whose service
// had not finished (held mid-call) were not committed, so the restarted
// server, joining the same group, consumes them again. Counted by the
// service's side effect (calls to a backend): every record produced is
// processed, duplicates only for records processed but not yet committed
// at the kill.
func TestKilledWhileConsuming(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs plexus")
	}
	k := newCluster(t, kfake.SeedTopics(4, "in"))
	sink := testenv.NewSink()
	backend := httptest.NewServer(sink)
	t.Cleanup(backend.Close)

	dir := filepath.Join(t.TempDir(), "env")
	if _, err := envdir.Create(dir); err != nil {
		t.Fatal(err)
	}
	const inFlight = 4
	enmasse := fmt.Sprintf(`outgoing_rest:
  - name: sink
    host: %s
    url_path: /sink
    data_format: raw
    timeout: 120
channel_kafka:
  - name: in
    address: %s
    topics: [in]
    service: record
    data_format: text
    max_in_flight: %d
`, backend.URL, k.addr, inFlight)
	for path, body := range map[string]string{
		filepath.Join(dir, envdir.EnmasseDir, "brokers.yaml"): enmasse,
		filepath.Join(dir, envdir.ServicesDir, "record.star"): "def handle(self):\n    self.out.rest[\"sink\"].conn.post(self.cid, self.request.payload)\n",
	} {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const total = 120
	var records []*kgo.Record
	for i := range total {
		records = append(records, &kgo.Record{Topic: "in", Partition: int32(i % 4), Value: []byte(fmt.Sprint("m-", i))})
	}
	producer, err := kgo.NewClient(kgo.SeedBrokers(k.addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	produce(t, producer, records...)

	sink.Hold(total / 3)
	p := testenv.StartPlexus(t, dir)
	held := sink.WaitHeld(t, 1) // the records of a poll run at once, one partition's in order

	p.Kill()
	sink.WaitDropped(t)
	before := len(sink.Seen())
	sink.Release()

	start := time.Now()
	p = testenv.StartPlexus(t, dir)
	var seen map[string]int
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if seen = sink.Seen(); len(seen) == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records processed\n%s", len(seen), total, p.Log)
		}
	}
	for i := range total {
		if seen[fmt.Sprint("m-", i)] == 0 {
			t.Errorf("m-%d was not processed", i)
		}
	}
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	t.Logf("%d records in; %d processed before the kill (%d held mid-call), %d processed in all, %d duplicates; the rest processed %v after the restart",
		total, before, held, len(seen), dups, time.Since(start).Round(time.Second))
	if dups > inFlight {
		t.Errorf("%d duplicates: more than the %d records in flight at the kill", dups, inFlight)
	}
}
