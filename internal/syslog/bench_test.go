package syslog

import (
	"testing"
	"time"
)

// BenchmarkParse measures one message of each RFC through the parser.
func BenchmarkParse(b *testing.B) {
	p := &Parser{Loc: time.UTC}
	for _, m := range []struct{ name, msg string }{
		{"rfc5424", "<134>1 2026-01-02T03:04:05.678Z bench-host app 1 - - xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
		{"rfc3164", "<13>Jun  3 08:00:01 web1 app[12]: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
	} {
		msg := []byte(m.msg)
		b.Run(m.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				p.Parse(msg, false)
			}
		})
	}
}
