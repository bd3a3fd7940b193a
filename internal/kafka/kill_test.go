package kafka_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

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
	const inFlight = 4
	dir, sink := testenv.RecordingEnv(t, fmt.Sprintf(`channel_kafka:
  - name: in
    address: %s
    topics: [in]
    service: record
    data_format: text
    max_in_flight: %d
`, k.addr, inFlight))
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
	dups := sink.WaitAll(t, total, 3*time.Minute, p.Log)
	t.Logf("%d records in; %d processed before the kill (%d held mid-call), %d processed in all, %d duplicates; the rest processed %v after the restart",
		total, before, held, total, dups, time.Since(start).Round(time.Second))
	if dups > inFlight {
		t.Errorf("%d duplicates: more than the %d records in flight at the kill", dups, inFlight)
	}
}
