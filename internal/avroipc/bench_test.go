package avroipc

import (
	"strconv"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/sluiceio/sluice"
)

// The hand-written codec against hamba/avro's reflection-free-after-warmup
// codec, on an appendBatch parameter of 1000 events with 100-byte bodies
// and three headers. Run: go test -bench Codec ./internal/avroipc

var eventArraySchema = avro.MustParse(`{"type":"array","items":{"type":"record","name":"AvroFlumeEvent",
 "namespace":"org.apache.flume.source.avro","fields":[{"name":"headers","type":{"type":"map","values":"string"}},
 {"name":"body","type":"bytes"}]}}`)

type hambaEvent struct {
	Headers map[string]string `avro:"headers"`
	Body    []byte            `avro:"body"`
}

func benchEvents() []*sluice.Event {
	body := make([]byte, 100)
	ev := make([]*sluice.Event, 1000)
	for i := range ev {
		ev[i] = &sluice.Event{Headers: map[string]string{"host": "web-17.example.com", "timestamp": strconv.Itoa(1700000000000 + i), "topic": "logs"}, Body: body}
	}
	return ev
}

func BenchmarkCodec(b *testing.B) {
	events := benchEvents()
	hev := make([]hambaEvent, len(events))
	for i, e := range events {
		hev[i] = hambaEvent{Headers: e.Headers, Body: e.Body}
	}
	// The array as the request carries it.
	var array []byte
	array = appendLong(array, int64(len(events)))
	for _, e := range events {
		array = appendEvent(array, e)
	}
	array = append(array, 0)
	connected := NewClientSession("bench")
	connected.connected = true
	request := connected.AppendRequest(nil, 1, MsgAppendBatch, events)[frameHeaderLen:]

	b.Run("encode/handwritten", func(b *testing.B) {
		var buf []byte
		for i := 0; i < b.N; i++ {
			buf = connected.AppendRequest(buf[:0], 1, MsgAppendBatch, events)
		}
		b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("encode/hamba", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := avro.Marshal(eventArraySchema, hev); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("decode/handwritten", func(b *testing.B) {
		s := NewServerSession(&ServerProtocols{}, 0)
		s.connected = true
		for i := 0; i < b.N; i++ {
			if _, err := s.ReadCall(request); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("decode/hamba", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var out []hambaEvent
			if err := avro.Unmarshal(eventArraySchema, array, &out); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "events/s")
	})
}
