package spooldir

import (
	"fmt"
	"os"

	"github.com/sluiceio/sluice"
)

// position is where reading resumes in a file: a byte offset, and for the
// AVRO deserializer the number of records of the block at that offset that
// were already delivered.
type position struct {
	off  int64
	skip int64
}

// deserializer turns one file into events. Events it returns are fully
// read: their position is behind them, so the source can commit exactly
// what it delivered.
type deserializer interface {
	// next adds up to n events to b. Fewer (or none) means the file ended.
	// An error is a problem with the content (or an I/O failure); the events
	// added before it are good and are delivered.
	next(b *batch, n int) error
	// pos is the position right after the last event returned.
	pos() position
	close() error
}

// contentError is a file whose content the deserializer cannot turn into
// events (invalid characters under decodeErrorPolicy FAIL, a corrupt Avro
// container): the file is quarantined.
type contentError struct {
	off int64
	msg string
}

func (e *contentError) Error() string { return fmt.Sprintf("%s at byte %d", e.msg, e.off) }

// openDeserializer builds the configured deserializer over f, positioned at p.
func openDeserializer(o desOptions, in charset, policy string, f *os.File, p position) (deserializer, error) {
	switch o.kind {
	case desAvro:
		return newAvroReader(f, p, o.schemaLiteral)
	case desBlob:
		return newBlobReader(f, p.off, o.maxBlobLength)
	}
	return newLineReader(f, p.off, in, o.outputCharset, policy, o.maxLineLength)
}

// batch collects the events of one delivery. Bodies are copied into shared
// slabs and events are allocated in one slice, so a batch costs a handful
// of allocations rather than two per event. The events slice is reused
// between batches (the channel processor does not keep it); event structs
// and slabs are not, since the channel holds on to them.
type batch struct {
	events []*sluice.Event
	evs    []sluice.Event
	slab   []byte
}

const slabSize = 256 << 10

func (b *batch) reset(n int) {
	clear(b.events)
	b.events = b.events[:0]
	b.evs = make([]sluice.Event, 0, n)
}

// add appends an event whose body is a copy of body.
func (b *batch) add(body []byte) *sluice.Event {
	if cap(b.slab)-len(b.slab) < len(body) {
		b.slab = make([]byte, 0, max(slabSize, len(body)))
	}
	off := len(b.slab)
	b.slab = append(b.slab, body...)
	return b.addOwned(b.slab[off:len(b.slab):len(b.slab)])
}

// addOwned appends an event that takes body as it is.
func (b *batch) addOwned(body []byte) *sluice.Event {
	if len(b.evs) == cap(b.evs) {
		b.evs = make([]sluice.Event, 0, max(16, cap(b.evs)))
	}
	// Headers stay nil until a header is set (Event.SetHeader allocates):
	// an empty map per line was a fifth of the source's time.
	b.evs = append(b.evs, sluice.Event{Body: body})
	e := &b.evs[len(b.evs)-1]
	b.events = append(b.events, e)
	return e
}
