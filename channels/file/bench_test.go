package file

import (
	"fmt"
	"testing"

	"github.com/sluiceio/sluice"
)

func benchEvents(n, size int) []*sluice.Event {
	out := make([]*sluice.Event, n)
	for i := range out {
		out[i] = &sluice.Event{Headers: map[string]string{}, Body: make([]byte, size)}
	}
	return out
}

// BenchmarkPutTake commits a batch of puts and takes it back, on one
// goroutine: every put commit pays a whole fsync.
func BenchmarkPutTake(b *testing.B) {
	for _, bc := range []struct {
		batch, size int
		cache       bool
	}{
		{100, 100, true}, {1000, 100, true}, {1000, 100, false}, {100, 1024, true},
	} {
		b.Run(fmt.Sprintf("batch=%d/size=%d/cache=%v", bc.batch, bc.size, bc.cache), func(b *testing.B) {
			c := openChan(b, map[string]string{"maxFileSize": "67108864"})
			if !bc.cache {
				c.cacheLimit = 0
			}
			batch := benchEvents(bc.batch, bc.size)
			b.SetBytes(int64(bc.batch * bc.size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				mustPut(b, c.Channel, batch)
				if got := takeN(b, c.Channel, bc.batch); len(got) != bc.batch {
					b.Fatalf("took %d", len(got))
				}
			}
			b.ReportMetric(float64(b.N*bc.batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkParallelPut has several goroutines committing batches of 100
// at once: group commit shares fsyncs among them.
func BenchmarkParallelPut(b *testing.B) {
	c := openChan(b, map[string]string{"maxFileSize": "67108864", "capacity": "100000000"})
	c.cacheLimit = 0
	b.SetParallelism(4)
	b.SetBytes(100 * 100)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		batch := benchEvents(100, 100)
		for pb.Next() {
			mustPut(b, c.Channel, batch)
		}
	})
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "events/s")
}
