package cache

import (
	"strconv"
	"testing"
)

// BenchmarkCache measures reads and writes of a full cache from as many
// goroutines as GOMAXPROCS.
func BenchmarkCache(b *testing.B) {
	c := New("b", &Config{MaxEntries: 10000})
	value := map[string]any{"name": "Jane Doe", "segment": "RNZ", "score": 42.5}
	for i := range 10000 {
		c.Set(strconv.Itoa(i), value, 0)
	}
	b.Run("get", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				if _, ok := c.Get(strconv.Itoa(i % 10000)); !ok {
					b.Error("miss")
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("set", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				c.Set(strconv.Itoa(i%20000), value, 0)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}
