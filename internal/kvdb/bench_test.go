package kvdb_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/plexushq/plexus/internal/kvdb"
)

// BenchmarkEmbedded measures the embedded store's commands, one Do each,
// from as many goroutines as GOMAXPROCS: the ops/s docs/benchmarks.md
// reports.
func BenchmarkEmbedded(b *testing.B) {
	stores := map[string]func(testing.TB) *kvdb.Embedded{"sqlite": embedded}
	if os.Getenv("PLEXUS_TEST_POSTGRES") != "" {
		stores["postgres"] = embeddedPostgres
	}
	for name, open := range stores {
		e := open(b)
		ctx := context.Background()
		for i := range 1000 {
			e.Do(ctx, []string{"SET", "k" + strconv.Itoa(i), "a value of 32 bytes, more or less"})
		}
		for _, c := range []struct {
			op  string
			cmd func(i int) []string
		}{
			{"get", func(i int) []string { return []string{"GET", "k" + strconv.Itoa(i%1000)} }},
			{"set", func(i int) []string {
				return []string{"SET", "k" + strconv.Itoa(i%1000), "a value of 32 bytes, more or less"}
			}},
			{"incr", func(i int) []string { return []string{"INCR", "n" + strconv.Itoa(i%1000)} }},
		} {
			b.Run(name+"/"+c.op, func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						i++
						if res, err := e.Do(ctx, c.cmd(i)); err != nil || res[0].Err != nil {
							b.Errorf("%v %v", err, res)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
			})
		}
	}
}
