package memory

import (
	"runtime/debug"
	"testing"
)

// BenchmarkPutTake1000 moves 1000-event batches through the channel on one
// goroutine, the shape of a source and a sink with batchSize 1000: each
// iteration is one put transaction and one take transaction. The GC
// variant keeps the collector busy (GOGC 1), so write barriers are on for
// much of the run, as they are in an agent under load.
func BenchmarkPutTake1000(b *testing.B) {
	b.Run("take=1000", func(b *testing.B) { benchPutTakeN(b, 1000, 1000) })
	b.Run("take=100", func(b *testing.B) { benchPutTakeN(b, 1000, 100) })
	b.Run("take=1000/gc", func(b *testing.B) {
		defer debug.SetGCPercent(debug.SetGCPercent(1))
		benchPutTakeN(b, 1000, 1000)
	})
}

func benchPutTakeN(b *testing.B, batch, take int) {
	c, _ := newChan(b, map[string]string{"capacity": "10000", "transactionCapacity": "1000"})
	evs := events(0, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tx := c.Begin()
		if err := tx.Put(evs); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		for left := batch; left > 0; left -= take {
			tx = c.Begin()
			got, err := tx.Take(take)
			if err != nil || len(got) != min(take, left) {
				b.Fatalf("took %d: %v", len(got), err)
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/event")
}
