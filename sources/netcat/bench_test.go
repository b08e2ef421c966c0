package netcat

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/sluiceio/sluice"
)

type discard struct{}

func (discard) Process(context.Context, []*sluice.Event, sluice.Call) error { return nil }
func (discard) ProcessRetry(context.Context, []*sluice.Event, sluice.Call, sluice.Retry) error {
	return nil
}

// BenchmarkOneConnection measures lines per second through one acked
// connection into a processor that accepts everything.
func BenchmarkOneConnection(b *testing.B) {
	s := start(b, discard{}, nil)
	c, r := dial(b, s)
	line := append(bytes.Repeat([]byte("x"), 99), '\n')
	chunk := bytes.Repeat(line, 100)
	b.SetBytes(int64(len(line)))
	b.ResetTimer()
	go func() {
		w := bufio.NewWriterSize(c, 64<<10)
		for n := 0; n < b.N; n += 100 {
			w.Write(chunk[:min(100, b.N-n)*len(line)])
		}
		w.Flush()
	}()
	if _, err := io.CopyN(io.Discard, r, int64(3*b.N)); err != nil {
		b.Fatal(err)
	}
}
