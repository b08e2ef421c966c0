package plugins

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/examples/plugins/redis/redissink"
	"github.com/sluiceio/sluice/plugins"
	"github.com/sluiceio/sluice/sluicetest"
	"github.com/sluiceio/sluice/test/peers"
)

var registerOnce sync.Once

// BenchmarkRedisSink: the redis sink's Deliver in process and as a plugin
// (the agent's side of the gRPC call), RPUSH to a local redis-server,
// 100-byte bodies.
func BenchmarkRedisSink(b *testing.B) {
	registerOnce.Do(func() {
		ms, errs := plugins.Discover([]string{pluginsDir}, nil)
		if errs = append(errs, plugins.Register(ms)...); len(errs) > 0 {
			b.Fatal(errs)
		}
	})
	r := peers.StartRedisT(b)
	for _, n := range []int{100, 1000} {
		events := make([]*sluice.Event, n)
		for i := range events {
			events[i] = sluice.NewEvent([]byte(fmt.Sprintf("%0100d", i)))
		}
		for _, mode := range []string{"inprocess", "plugin"} {
			b.Run(fmt.Sprintf("%s/batch=%d", mode, n), func(b *testing.B) {
				var sink sluice.Sink
				if mode == "plugin" {
					spec, _ := sluice.Lookup(sluice.KindSink, "redis")
					cfg := spec.Config()
					props := []conf.Prop{{Key: "addr", Value: r.Addr()}, {Key: "key", Value: "bench-plugin"}, {Key: "batchSize", Value: fmt.Sprint(n)}}
					if errs := conf.Decode(cfg, props); len(errs) > 0 {
						b.Fatal(errs)
					}
					v, err := spec.New(sluicetest.Env("k1"), cfg)
					if err != nil {
						b.Fatal(err)
					}
					sink = v.(sluice.Sink)
				} else {
					v, err := redissink.New(sluicetest.Env("k1"), &redissink.Config{Addr: []string{r.Addr()}, Key: "bench-inprocess",
						Command: "rpush", BatchSize: n, Timeout: 10 * time.Second})
					if err != nil {
						b.Fatal(err)
					}
					sink = v
				}
				if err := sink.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				defer sink.Stop(context.Background())
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := sink.Deliver(context.Background(), events); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
