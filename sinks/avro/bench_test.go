package avro

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/sluiceio/sluice"
)

// countingProc accepts every batch and only counts it.
type countingProc struct{ n atomic.Int64 }

func (p *countingProc) Process(_ context.Context, events []*sluice.Event, _ sluice.Call) error {
	p.n.Add(int64(len(events)))
	return nil
}

func (p *countingProc) ProcessRetry(ctx context.Context, events []*sluice.Event, c sluice.Call, _ sluice.Retry) error {
	return p.Process(ctx, events, c)
}

// BenchmarkRoundTrip measures events per second from a sink's channel
// through one connection into an avro source, with 100-byte bodies and
// three headers, as Flume's tiered setups typically carry.
func BenchmarkRoundTrip(b *testing.B) {
	for _, mode := range []struct {
		name      string
		src, sink map[string]string
	}{
		{"plain", nil, nil},
		{"deflate", map[string]string{"compression-type": "deflate"}, map[string]string{"compression-type": "deflate"}},
		{"tls", map[string]string{"ssl": "true", "keystore": stores + "server.jks", "keystore-password": storePw}, map[string]string{"ssl": "true", "trust-all-certs": "true"}},
	} {
		for _, batch := range []int{100, 1000} {
			b.Run(mode.name+"/batch="+strconv.Itoa(batch), func(b *testing.B) {
				proc := &countingProc{}
				src := startSource(b, proc, 0, mode.src)
				body := make([]byte, 100)
				for i := range body {
					body[i] = byte('a' + i%26)
				}
				ev := make([]*sluice.Event, batch)
				for i := range ev {
					ev[i] = &sluice.Event{Headers: map[string]string{
						"host": "web-17.example.com", "timestamp": strconv.Itoa(1700000000000 + i), "topic": "logs",
					}, Body: body}
				}
				ch := &loopChannel{events: ev}
				props := map[string]string{"batch-size": strconv.Itoa(batch)}
				for k, v := range mode.sink {
					props[k] = v
				}
				s, _ := newSink(b, ch, src.Addr().String(), props)
				b.ReportAllocs()
				b.ResetTimer()
				for sent := 0; sent < b.N; sent += batch {
					if _, err := s.Process(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(proc.n.Load())/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// loopChannel hands out the same batch forever, so the benchmark measures
// the wire and not a channel.
type loopChannel struct{ events []*sluice.Event }

func (c *loopChannel) Start(context.Context) error { return nil }
func (c *loopChannel) Stop(context.Context) error  { return nil }
func (c *loopChannel) Begin() sluice.Transaction   { return loopTxn{c} }

type loopTxn struct{ c *loopChannel }

func (loopTxn) Put([]*sluice.Event) error { return nil }
func (t loopTxn) Take(max int) ([]*sluice.Event, error) {
	return t.c.events[:min(max, len(t.c.events))], nil
}
func (loopTxn) Commit() error   { return nil }
func (loopTxn) Rollback() error { return nil }
