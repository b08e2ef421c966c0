package memory

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluiceio/sluice"
)

// TestConcurrentNoLossNoDuplication runs producers and consumers against a
// small channel (so commits wait for room) with consumers rolling back some
// takes, and checks every event arrives exactly once. Run it with -race.
func TestConcurrentNoLossNoDuplication(t *testing.T) {
	const (
		producers = 6
		consumers = 4
		perProd   = 3000
		batch     = 25
		total     = producers * perProd
	)
	c, cnt := newChan(t, map[string]string{"capacity": "200", "transactionCapacity": "50", "keep-alive": "10m", "byteCapacity": "18750"}) // 150 slots: both limits bite

	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < perProd; i += batch {
				evs := make([]*sluice.Event, batch)
				for j := range evs {
					b := make([]byte, 8)
					binary.BigEndian.PutUint64(b, uint64(p*perProd+i+j))
					evs[j] = &sluice.Event{Body: b}
				}
				for {
					err := put(t, c, evs)
					if err == nil {
						break
					}
					if !errors.Is(err, sluice.ErrChannelFull) {
						t.Errorf("producer %d: %v", p, err)
						return
					}
				}
			}
		}(p)
	}

	seen := make([]atomic.Int32, total)
	var received atomic.Int64
	done := make(chan struct{})
	var closeDone sync.Once
	for k := 0; k < consumers; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			for round := 0; ; round++ {
				ready := c.Ready()
				tx := c.Begin()
				got, err := tx.Take(1 + (round+k)%50)
				if err != nil {
					t.Errorf("consumer %d: %v", k, err)
					return
				}
				if len(got) == 0 {
					_ = tx.Commit()
					select {
					case <-ready:
					case <-done:
						return
					}
					continue
				}
				if round%7 == 3 {
					_ = tx.Rollback() // a failed delivery: these must come back
					continue
				}
				if err := tx.Commit(); err != nil {
					t.Errorf("consumer %d commit: %v", k, err)
					return
				}
				for _, e := range got {
					seen[binary.BigEndian.Uint64(e.Body)].Add(1)
				}
				if received.Add(int64(len(got))) == total {
					closeDone.Do(func() { close(done) })
				}
			}
		}(k)
	}
	wg.Wait()

	for id := range seen {
		if n := seen[id].Load(); n != 1 {
			t.Fatalf("event %d delivered %d times", id, n)
		}
	}
	if c.Size() != 0 || c.inflight != 0 || c.slots != 0 {
		t.Fatalf("channel not empty at the end: size %d, in flight %d, slots %d", c.Size(), c.inflight, c.slots)
	}
	if n := cnt.EventPutSuccess.Load(); n != total {
		t.Errorf("EventPutSuccessCount %d, want %d", n, total)
	}
	if n := cnt.EventTakeSuccess.Load(); n != total {
		t.Errorf("EventTakeSuccessCount %d, want %d", n, total)
	}
}

// BenchmarkPutTake moves batches of 100 events through the channel on one
// goroutine: one put transaction and one take transaction per batch.
func BenchmarkPutTake(b *testing.B) {
	benchPutTake(b, map[string]string{"capacity": "10000", "transactionCapacity": "100"})
}

// BenchmarkPutTakeByteCapacity is BenchmarkPutTake with byte accounting on.
func BenchmarkPutTakeByteCapacity(b *testing.B) {
	benchPutTake(b, map[string]string{"capacity": "10000", "transactionCapacity": "100", "byteCapacity": "100000000"})
}

func benchPutTake(b *testing.B, props map[string]string) {
	c, _ := newChan(b, props)
	batch := events(0, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tx := c.Begin()
		if err := tx.Put(batch); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		tx = c.Begin()
		got, err := tx.Take(100)
		if err != nil || len(got) != 100 {
			b.Fatalf("took %d: %v", len(got), err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/event")
}

// BenchmarkPutTakeParallel has several goroutines each putting and taking
// batches of 100, so the channel's one lock is contended.
func BenchmarkPutTakeParallel(b *testing.B) {
	c, _ := newChan(b, map[string]string{"capacity": "100000", "transactionCapacity": "100"})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		batch := events(0, 100)
		for pb.Next() {
			if err := put(b, c, batch); err != nil {
				b.Error(err)
				return
			}
			tx := c.Begin()
			if _, err := tx.Take(100); err != nil {
				b.Error(err)
				return
			}
			if err := tx.Commit(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/event")
}
