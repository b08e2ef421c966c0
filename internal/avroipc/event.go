package avroipc

import (
	"fmt"

	"github.com/sluiceio/sluice"
)

// AppendEvent appends e as the Avro binary of Flume's AvroFlumeEvent record
// (headers map<string>, body bytes), the value Avro RPC carries and the one
// Flume's Kafka sink and channel write as a Kafka record value.
func AppendEvent(dst []byte, e *sluice.Event) []byte { return appendEvent(dst, e) }

// DecodeEvent reads one AvroFlumeEvent that fills b exactly. The body is a
// slice of b (capped, so appending to it cannot overwrite b); header names
// and values are copies. Malformed input is an error, never a panic.
func DecodeEvent(b []byte) (*sluice.Event, error) {
	d := decoder{b: b}
	ev := new(sluice.Event)
	for {
		n, err := d.readBlockCount("headers", 2)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		if ev.Headers == nil {
			ev.Headers = make(map[string]string, n)
		}
		for i := 0; i < n; i++ {
			k, err := d.readBytes("header name")
			if err != nil {
				return nil, err
			}
			v, err := d.readBytes("header value")
			if err != nil {
				return nil, err
			}
			ev.Headers[string(k)] = string(v)
		}
	}
	body, err := d.readBytes("body")
	if err != nil {
		return nil, err
	}
	if d.remaining() != 0 {
		return nil, fmt.Errorf("at byte %d: %d bytes after the event", d.off, d.remaining())
	}
	ev.Body = body
	return ev, nil
}
