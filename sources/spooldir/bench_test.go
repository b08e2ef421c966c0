package spooldir

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sluicetest"
)

// countProc is a channel processor that only looks at the batches.
type countProc func([]*sluice.Event)

func (f countProc) Process(_ context.Context, ev []*sluice.Event, _ sluice.Call) error {
	f(ev)
	return nil
}

func (f countProc) ProcessRetry(_ context.Context, ev []*sluice.Event, _ sluice.Call, _ sluice.Retry) error {
	f(ev)
	return nil
}

// BenchmarkSpoolLines measures the source alone (a channel processor that
// only counts) on a file of 100-byte lines.
func BenchmarkSpoolLines(b *testing.B) {
	const lines = 1_000_000
	dir := b.TempDir()
	src := filepath.Join(b.TempDir(), "data")
	f, _ := os.Create(src)
	w := bufio.NewWriterSize(f, 1<<20)
	line := make([]byte, 100)
	for i := range line {
		line[i] = 'x'
	}
	line[99] = '\n'
	for i := 0; i < lines; i++ {
		w.Write(line)
	}
	w.Flush()
	f.Close()
	b.SetBytes(lines * 100)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		name := filepath.Join(dir, "f"+string(rune('a'+i%26)))
		os.Link(src, name)
		old := time.Now().Add(-time.Hour)
		os.Chtimes(name, old, old)
		cfg, _ := decodeConfig(b, map[string]string{"spoolDir": dir, "batchSize": "1000", "deletePolicy": "immediate"})
		var n atomic.Int64
		done := make(chan struct{})
		env := sluicetest.Env("r1")
		env.Processor = countProc(func(ev []*sluice.Event) {
			if n.Add(int64(len(ev))) == lines {
				close(done)
			}
		})
		s, err := New(env, cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		s.Start(context.Background())
		<-done
		b.StopTimer()
		s.Stop(context.Background())
		b.StartTimer()
	}
}
