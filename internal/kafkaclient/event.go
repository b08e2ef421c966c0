package kafkaclient

import (
	"fmt"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/avroipc"
)

// EncodeFlumeEvent appends e as the Avro binary of Flume's AvroFlumeEvent
// record (headers map<string,string>, body bytes), with no container,
// magic byte or schema id: the record value Flume's Kafka sink writes with
// useFlumeEventFormat=true and its Kafka channel with parseAsFlumeEvent.
func EncodeFlumeEvent(dst []byte, e *sluice.Event) []byte { return avroipc.AppendEvent(dst, e) }

// DecodeFlumeEvent reads a record value written as EncodeFlumeEvent (or by
// Flume) and must fill b exactly. The body aliases b.
func DecodeFlumeEvent(b []byte) (*sluice.Event, error) {
	e, err := avroipc.DecodeEvent(b)
	if err != nil {
		return nil, fmt.Errorf("not a Flume Avro event: %w", err)
	}
	return e, nil
}
