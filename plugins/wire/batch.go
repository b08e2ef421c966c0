package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/wal"
)

// Protocol version 2 carries a batch as one bytes field (the batch field
// of DeliverRequest, InterceptRequest and InterceptResponse) rather than
// as repeated Event messages: one copy of the batch instead of a message,
// a map and a body per event on each side. The framing, all lengths and
// counts unsigned varints:
//
//	batch  = count event*
//	event  = nheaders (klen key vlen value)* blen body
//
// An event is framed as the file channel's log frames one (internal/wal's
// AppendEvent). Headers are written in map order; a decoder must not
// assume any.

// AppendBatch appends events, framed, to dst.
func AppendBatch(dst []byte, events []*sluice.Event) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(events)))
	for _, e := range events {
		dst = wal.AppendEvent(dst, e)
	}
	return dst
}

// BatchSize is the length AppendBatch makes of events, for sizing a
// buffer at once.
func BatchSize(events []*sluice.Event) int {
	n := wal.UvarintLen(uint64(len(events)))
	for _, e := range events {
		n += wal.EventSize(e)
	}
	return n
}

var errTruncated = errors.New("batch truncated")

// DecodeBatch decodes a framed batch. The events alias b: bodies are
// sub-slices of it (capped, so an append to one cannot reach the next
// event) and header keys and values are strings over it, so b must not be
// modified afterwards; a batch decoded from a gRPC message is a copy of
// its own. An event without headers gets an empty map if emptyMaps (what
// interceptors get: sources hand them events made by sluice.NewEvent), else
// none, as a sink gets it from the file channel: a map per event is most of
// the decoding's cost. A malformed batch is an error, never a panic, and no
// count or length it claims is allocated before the bytes are there to
// back it.
func DecodeBatch(b []byte, emptyMaps bool) ([]*sluice.Event, error) {
	n, off, err := uvarint(b, 0)
	if err != nil {
		return nil, err
	}
	// An event takes at least two bytes (its header count and body length).
	if n > uint64(len(b)-off)/2 {
		return nil, fmt.Errorf("batch claims %d events in %d bytes", n, len(b)-off)
	}
	slab := make([]sluice.Event, n)
	out := make([]*sluice.Event, n)
	for i := range out {
		e := &slab[i]
		var nh uint64
		if nh, off, err = uvarint(b, off); err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		if nh > uint64(len(b)-off)/2 {
			return nil, fmt.Errorf("event %d claims %d headers in %d bytes", i, nh, len(b)-off)
		}
		if nh > 0 || emptyMaps {
			e.Headers = make(map[string]string, nh)
		}
		for range nh {
			var k, v []byte
			if k, off, err = field(b, off); err != nil {
				return nil, fmt.Errorf("event %d: header name: %w", i, err)
			}
			if v, off, err = field(b, off); err != nil {
				return nil, fmt.Errorf("event %d: header %q: %w", i, k, err)
			}
			e.Headers[unsafe.String(unsafe.SliceData(k), len(k))] = unsafe.String(unsafe.SliceData(v), len(v))
		}
		if e.Body, off, err = field(b, off); err != nil {
			return nil, fmt.Errorf("event %d: body: %w", i, err)
		}
		if len(e.Body) == 0 {
			e.Body = nil // as protobuf decodes an empty bytes field
		}
		out[i] = e
	}
	if off != len(b) {
		return nil, fmt.Errorf("%d bytes after the batch's %d events", len(b)-off, n)
	}
	return out, nil
}

func uvarint(b []byte, off int) (uint64, int, error) {
	x, k := binary.Uvarint(b[off:])
	if k <= 0 {
		return 0, off, errTruncated
	}
	return x, off + k, nil
}

// field reads a length-prefixed field; its capacity ends with it.
func field(b []byte, off int) ([]byte, int, error) {
	l, off, err := uvarint(b, off)
	if err != nil {
		return nil, off, err
	}
	if l > uint64(len(b)-off) {
		return nil, off, fmt.Errorf("%w: a field of %d bytes with %d left", errTruncated, l, len(b)-off)
	}
	end := off + int(l)
	return b[off:end:end], end, nil
}
