package flumethrift

import (
	"bytes"
	"testing"

	"github.com/sluiceio/sluice"
)

func benchBatch() []*sluice.Event {
	evs := make([]*sluice.Event, 1000)
	for i := range evs {
		evs[i] = &sluice.Event{Headers: map[string]string{}, Body: bytes.Repeat([]byte{'x'}, 100)}
	}
	return evs
}

func BenchmarkDecodeCall(b *testing.B) {
	for _, p := range protocols {
		b.Run(p.String(), func(b *testing.B) {
			msg, _ := NewWriter(p).AppendBatch(1, benchBatch())
			payload := bytes.Clone(msg[4:])
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeCall(payload, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodeBatch(b *testing.B) {
	for _, p := range protocols {
		b.Run(p.String(), func(b *testing.B) {
			w, evs := NewWriter(p), benchBatch()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.AppendBatch(1, evs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
