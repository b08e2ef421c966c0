package kafka

import (
	"bytes"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sluicetest"
)

// BenchmarkPutTake moves b.N events (100-byte bodies, two headers) through
// the channel on the real broker: one goroutine puts batches of 1000 and
// commits, the benchmark's goroutine takes batches of 1000 and commits.
// One op is one event put and taken.
func BenchmarkPutTake(b *testing.B) {
	if testing.Short() || broker == nil {
		b.Skip("needs a Kafka broker")
	}
	tp := topic(b, 3)
	cfg, _ := decode(b, "kafka.bootstrap.servers", broker.Addr, "kafka.topic", tp, "kafka.producer.linger.ms", "5")
	c, err := New(sluice.Env{Name: "c1", Logger: sluicetest.Logger(), ChannelCounters: sluice.NewChannelCounters()}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer stopNow(b, c)
	body := bytes.Repeat([]byte("x"), 100)
	const batch = 1000
	b.ResetTimer()
	go func() {
		for left := b.N; left > 0; left -= batch {
			evs := make([]*sluice.Event, min(batch, left))
			for i := range evs {
				evs[i] = &sluice.Event{Headers: map[string]string{"host": "h1", "timestamp": "1700000000000"}, Body: body}
			}
			tx := c.Begin()
			_ = tx.Put(evs)
			if err := tx.Commit(); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	for got := 0; got < b.N; {
		ready := c.Ready()
		tx := c.Begin()
		evs, _ := tx.Take(batch)
		_ = tx.Commit()
		got += len(evs)
		if len(evs) == 0 {
			select {
			case <-ready:
			case <-time.After(time.Second):
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
