package elasticsearch

import (
	"bytes"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sluicetest"
)

// BenchmarkBuild is the cost of one bulk body of 1000 stress-like events
// (100-byte bodies, one timestamp header).
func BenchmarkBuild(b *testing.B) {
	s, err := New(sluicetest.Env("k1"), mustDecodeB(b))
	if err != nil {
		b.Fatal(err)
	}
	events := make([]*sluice.Event, 1000)
	body := bytes.Repeat([]byte{0x7f}, 100)
	for i := range events {
		events[i] = &sluice.Event{Headers: map[string]string{"timestamp": "1796677200000"}, Body: body}
	}
	b.ReportAllocs()
	b.SetBytes(100 * 1000)
	for b.Loop() {
		s.build(events)
	}
}

func mustDecodeB(b *testing.B) *Config {
	cfg := defaults()
	cfg.HostNames = "127.0.0.1:9200"
	return cfg
}
