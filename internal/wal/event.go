package wal

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sluiceio/sluice"
)

// AppendPut appends a put record holding e, framed by AppendEvent.
func AppendPut(b []byte, e *sluice.Event) []byte {
	b, at := BeginRecord(b, RecPut)
	b = AppendEvent(b, e)
	EndRecord(b, at)
	return b
}

// PutSize is the exact size AppendPut will use for e, so a batch's buffer
// is allocated once.
func PutSize(e *sluice.Event) int { return RecordHeaderSize + EventSize(e) }

// AppendEvent appends e framed as a put record's body, which the plugin
// protocol's batches use too (plugins/wire):
// header count uvarint | (key len uvarint, key, value len uvarint, value)* |
// body len uvarint | body.
func AppendEvent(b []byte, e *sluice.Event) []byte {
	b = binary.AppendUvarint(b, uint64(len(e.Headers)))
	for k, v := range e.Headers {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Body)))
	return append(b, e.Body...)
}

// EventSize is the exact size AppendEvent will use for e.
func EventSize(e *sluice.Event) int {
	n := UvarintLen(uint64(len(e.Headers)))
	for k, v := range e.Headers {
		n += UvarintLen(uint64(len(k))) + len(k) + UvarintLen(uint64(len(v))) + len(v)
	}
	return n + UvarintLen(uint64(len(e.Body))) + len(e.Body)
}

// UvarintLen is the length of x as an unsigned varint.
func UvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

var errShortEvent = errors.New("malformed put record: event cut short")

// DecodeEvent decodes a put record's body into ev. The body slice of the
// event aliases body; header strings are copied. An event logged without
// headers gets none (a nil map), as sources make them.
func DecodeEvent(body []byte, ev *sluice.Event) error {
	nh, k := binary.Uvarint(body)
	if k <= 0 || nh > uint64(len(body)) {
		return errShortEvent
	}
	body = body[k:]
	ev.Headers = nil
	if nh > 0 {
		ev.Headers = make(map[string]string, nh)
	}
	for i := uint64(0); i < nh; i++ {
		var key, val []byte
		var ok bool
		if key, body, ok = lenPrefixed(body); !ok {
			return errShortEvent
		}
		if val, body, ok = lenPrefixed(body); !ok {
			return errShortEvent
		}
		ev.Headers[string(key)] = string(val)
	}
	data, rest, ok := lenPrefixed(body)
	if !ok {
		return errShortEvent
	}
	if len(rest) != 0 {
		return fmt.Errorf("malformed put record: %d bytes after the body", len(rest))
	}
	ev.Body = data[:len(data):len(data)]
	return nil
}

func lenPrefixed(b []byte) (field, rest []byte, ok bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, false
	}
	return b[k : k+int(n)], b[k+int(n):], true
}
