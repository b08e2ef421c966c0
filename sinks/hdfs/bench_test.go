package hdfs

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sluicetest"
)

// BenchmarkDeliver measures the sink alone against the package's HDFS:
// batches of 100-byte events, each batch written and made durable (close
// and append) before the next. go test -run X -bench Deliver ./sinks/hdfs
func BenchmarkDeliver(b *testing.B) {
	if testing.Short() {
		b.Skip("needs HDFS")
	}
	for _, c := range []struct {
		fileType string
		batch    int
	}{{"DataStream", 100}, {"DataStream", 1000}, {"SequenceFile", 1000}} {
		b.Run(fmt.Sprintf("%s-batch%d", c.fileType, c.batch), func(b *testing.B) {
			cfg, err := decodeT(b, "hdfs.path", cluster.URL()+fmt.Sprintf("/bench/%s-%d-%d", c.fileType, c.batch, b.N),
				"hdfs.fileType", c.fileType, "hdfs.rollCount", "0", "hdfs.rollSize", "134217728", "hdfs.rollInterval", "0",
				"hdfs.batchSize", strconv.Itoa(c.batch))
			if err != nil {
				b.Fatal(err)
			}
			env := sluicetest.Env("k1")
			s, err := New(env, cfg)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			_ = s.Start(ctx)
			defer s.Stop(ctx)
			batch := make([]*sluice.Event, c.batch)
			body := bytes.Repeat([]byte("x"), 99)
			for i := range batch {
				batch[i] = &sluice.Event{Headers: map[string]string{"timestamp": "1700000000000"}, Body: append(body, '\n')}
			}
			b.SetBytes(int64(100 * c.batch))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.Deliver(ctx, batch); err != nil {
					b.Fatal(err)
				}
				s.Settled(ctx, true)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*c.batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
