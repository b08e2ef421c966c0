package interceptors

import (
	"testing"

	"github.com/sluiceio/sluice"
)

func benchBatch(n int) []*sluice.Event {
	b := make([]*sluice.Event, n)
	for i := range b {
		b[i] = ev("2012-10-18 18:47:57,614 INFO [main] some log line user=bob", "a", "b")
	}
	return b
}

func benchIntercept(b *testing.B, typ string, kv ...string) {
	i := build(b, typ, kv...)
	batch := benchBatch(100)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		i.Intercept(batch)
	}
}

func BenchmarkTimestamp(b *testing.B) { benchIntercept(b, "timestamp") }
func BenchmarkStatic(b *testing.B)    { benchIntercept(b, "static", "preserveExisting", "false") }
func BenchmarkUUID(b *testing.B)      { benchIntercept(b, "uuid", "preserveExisting", "false") }
func BenchmarkRegexFilter(b *testing.B) {
	benchIntercept(b, "regex_filter", "regex", "INFO|WARN")
}
func BenchmarkRegexExtractor(b *testing.B) {
	benchIntercept(b, "regex_extractor", "regex", `user=(\w+)`, "serializers", "s", "serializers.s.name", "user")
}
func BenchmarkSearchReplace(b *testing.B) {
	benchIntercept(b, "search_replace", "searchPattern", `user=\w+`, "replaceString", "user=***")
}
