package flumethrift

import (
	"encoding/binary"
	"unsafe"

	"github.com/sluiceio/sluice"
)

// The generated code decodes an event through an interface call per value
// and copies every body through a bytes.Buffer: about 2 µs and 1.7 KB of
// garbage per 100-byte event, a fifth of what the avro source does. The
// fast path below reads the arguments of append and appendBatch in the one
// layout every Thrift implementation writes (fields in id order, short
// field headers), straight from the frame: bodies and header values point
// into it, repeated header names share one string. Anything else, and any
// malformed input, is left to the generated code, which then decides or
// reports the error; the fuzz target checks both agree.

// maxInternedKeys bounds a decoder's table of header names.
const maxInternedKeys = 256

// Decoder decodes the calls of one connection. Events point into the
// payload given to Decode, which must not change afterwards.
type Decoder struct {
	Protocol Protocol
	keys     map[string]string
}

// Decode decodes one framed message's payload as a call of
// ThriftSourceProtocol (see DecodeCall).
func (d *Decoder) Decode(payload []byte) (Call, error) {
	c, ok := d.fast(payload)
	if ok {
		return c, nil
	}
	return decodeSlow(payload, d.Protocol)
}

// fast decodes the usual layout and reports whether it could.
func (d *Decoder) fast(payload []byte) (Call, bool) {
	r := reader{b: payload, binary: d.Protocol == Binary, keys: &d.keys}
	var c Call
	name, seq, ok := r.messageBegin()
	if !ok {
		return c, false
	}
	c.SeqID = seq
	switch name {
	case MethodAppendBatch:
		// args { 1: list<ThriftFlumeEvent> events }
		if !r.fieldHeader(1, tList) {
			return c, false
		}
		n, ok := r.listHeader(tStruct)
		if !ok || n > len(r.b)-r.i {
			return c, false
		}
		evs := make([]sluice.Event, n)
		c.Events = make([]*sluice.Event, n)
		for i := range evs {
			if !r.event(&evs[i]) {
				return c, false
			}
			c.Events[i] = &evs[i]
		}
	case MethodAppend:
		// args { 1: ThriftFlumeEvent event }
		if !r.fieldHeader(1, tStruct) {
			return c, false
		}
		ev := &sluice.Event{}
		if !r.event(ev) {
			return c, false
		}
		c.Events = []*sluice.Event{ev}
	default:
		return c, false
	}
	if !r.stop() || r.i != len(r.b) {
		return c, false
	}
	c.Method = name
	return c, true
}

// Thrift types by their protocol-neutral names.
const (
	tString = iota
	tList
	tMap
	tStruct
)

// compact and binary type codes of each.
var (
	compactType = [...]byte{tString: 8, tList: 9, tMap: 11, tStruct: 12}
	binaryType  = [...]byte{tString: 11, tList: 15, tMap: 13, tStruct: 12}
)

type reader struct {
	b      []byte
	i      int
	binary bool
	keys   *map[string]string
}

func (r *reader) byte() (byte, bool) {
	if r.i >= len(r.b) {
		return 0, false
	}
	r.i++
	return r.b[r.i-1], true
}

// uvarint reads a compact protocol varint of at most 32 bits.
func (r *reader) uvarint() (uint32, bool) {
	v, n := binary.Uvarint(r.b[r.i:])
	if n <= 0 || v > 1<<32-1 {
		return 0, false
	}
	r.i += n
	return uint32(v), true
}

func (r *reader) i32() (int32, bool) {
	if len(r.b)-r.i < 4 {
		return 0, false
	}
	r.i += 4
	return int32(binary.BigEndian.Uint32(r.b[r.i-4:])), true
}

// size reads a length or count and checks it is not negative.
func (r *reader) size() (int, bool) {
	if r.binary {
		n, ok := r.i32()
		return int(n), ok && n >= 0
	}
	n, ok := r.uvarint()
	return int(n), ok && int32(n) >= 0
}

// bytes reads a length-prefixed string or binary, without copying.
func (r *reader) bytes() ([]byte, bool) {
	n, ok := r.size()
	if !ok || n > len(r.b)-r.i {
		return nil, false
	}
	r.i += n
	return r.b[r.i-n : r.i : r.i], true
}

// messageBegin reads a strict message header of a call.
func (r *reader) messageBegin() (string, int32, bool) {
	if r.binary {
		v, ok := r.i32()
		if !ok || uint32(v) != 0x80010001 { // version 1, CALL
			return "", 0, false
		}
		name, ok := r.bytes()
		if !ok {
			return "", 0, false
		}
		seq, ok := r.i32()
		return string(name), seq, ok
	}
	id, _ := r.byte()
	vt, ok := r.byte()
	if id != 0x82 || !ok || vt != 0x21 { // protocol id; version 1, CALL
		return "", 0, false
	}
	seq, ok := r.uvarint()
	if !ok {
		return "", 0, false
	}
	name, ok := r.bytes()
	return string(name), int32(seq), ok
}

// fieldHeader reads the header of field id of type t, the field after id-1.
func (r *reader) fieldHeader(id int, t int) bool {
	if r.binary {
		if len(r.b)-r.i < 3 || r.b[r.i] != binaryType[t] || r.b[r.i+1] != 0 || int(r.b[r.i+2]) != id {
			return false
		}
		r.i += 3
		return true
	}
	b, ok := r.byte()
	return ok && b == 1<<4|compactType[t] // field id delta 1
}

func (r *reader) stop() bool {
	b, ok := r.byte()
	return ok && b == 0
}

// listHeader reads a list's header with elements of type t.
func (r *reader) listHeader(t int) (int, bool) {
	if r.binary {
		et, ok := r.byte()
		if !ok || et != binaryType[t] {
			return 0, false
		}
		return r.size()
	}
	b, ok := r.byte()
	if !ok || b&0x0f != compactType[t] {
		return 0, false
	}
	if b>>4 != 15 {
		return int(b >> 4), true
	}
	return r.size()
}

// mapHeader reads the header of a map<string,string>.
func (r *reader) mapHeader() (int, bool) {
	if r.binary {
		if len(r.b)-r.i < 2 || r.b[r.i] != binaryType[tString] || r.b[r.i+1] != binaryType[tString] {
			return 0, false
		}
		r.i += 2
		return r.size()
	}
	n, ok := r.size()
	if !ok || n == 0 {
		return n, ok
	}
	kv, ok := r.byte()
	return n, ok && kv == compactType[tString]<<4|compactType[tString]
}

// event reads a ThriftFlumeEvent { 1: map<string,string> headers, 2:
// binary body }.
func (r *reader) event(ev *sluice.Event) bool {
	if !r.fieldHeader(1, tMap) {
		return false
	}
	n, ok := r.mapHeader()
	if !ok || n > (len(r.b)-r.i)/2 {
		return false
	}
	if n > 0 {
		ev.Headers = make(map[string]string, n)
		for range n {
			k, ok := r.bytes()
			if !ok {
				return false
			}
			v, ok := r.bytes()
			if !ok {
				return false
			}
			ev.Headers[r.key(k)] = payloadString(v)
		}
	}
	if !r.fieldHeader(2, tString) {
		return false
	}
	body, ok := r.bytes()
	if !ok {
		return false
	}
	ev.Body = body
	return r.stop()
}

// key returns the header name k as a string shared by its repetitions.
func (r *reader) key(k []byte) string {
	if s, ok := (*r.keys)[string(k)]; ok {
		return s
	}
	s := string(k)
	if *r.keys == nil {
		*r.keys = map[string]string{}
	}
	if len(*r.keys) < maxInternedKeys {
		(*r.keys)[s] = s
	}
	return s
}

// payloadString is b as a string without a copy: the payload it points
// into is never written again.
func payloadString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// The encoder writes calls in the same layout, without the generated
// code's interface call and type-table lookup per value: it is what the
// thrift sink spends its time on.

func appendU32(dst []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(dst, v) }

func (w *Writer) appendSize(dst []byte, n int) []byte {
	if w.binary {
		return appendU32(dst, uint32(n))
	}
	return binary.AppendUvarint(dst, uint64(uint32(n)))
}

func (w *Writer) appendString(dst []byte, s string) []byte {
	return append(w.appendSize(dst, len(s)), s...)
}

func (w *Writer) appendField(dst []byte, id int, t int) []byte {
	if w.binary {
		return append(dst, binaryType[t], 0, byte(id))
	}
	return append(dst, 1<<4|compactType[t]) // field id delta 1
}

// appendCall starts a framed call of method with sequence number seq.
func (w *Writer) appendCall(dst []byte, method string, seq int32) []byte {
	dst = append(dst[:0], 0, 0, 0, 0)
	if w.binary {
		dst = appendU32(dst, 0x80010001) // version 1, CALL
		dst = w.appendString(dst, method)
		return appendU32(dst, uint32(seq))
	}
	dst = append(dst, 0x82, 0x21) // protocol id; version 1, CALL
	dst = binary.AppendUvarint(dst, uint64(uint32(seq)))
	return w.appendString(dst, method)
}

func (w *Writer) appendEvent(dst []byte, e *sluice.Event) []byte {
	dst = w.appendField(dst, 1, tMap)
	n := len(e.Headers)
	switch {
	case w.binary:
		dst = append(dst, binaryType[tString], binaryType[tString])
		dst = appendU32(dst, uint32(n))
	case n == 0:
		dst = append(dst, 0)
	default:
		dst = binary.AppendUvarint(dst, uint64(n))
		dst = append(dst, compactType[tString]<<4|compactType[tString])
	}
	for k, v := range e.Headers {
		dst = w.appendString(dst, k)
		dst = w.appendString(dst, v)
	}
	dst = w.appendField(dst, 2, tString)
	dst = append(w.appendSize(dst, len(e.Body)), e.Body...)
	return append(dst, 0) // end of the event
}

// finish ends the arguments and the message and fills in the frame length.
func (w *Writer) finish(dst []byte) ([]byte, error) {
	dst = append(dst, 0) // end of the arguments
	if len(dst)-4 > 1<<31-1 {
		return nil, errTooLarge(len(dst) - 4)
	}
	binary.BigEndian.PutUint32(dst, uint32(len(dst)-4))
	w.out = dst
	return dst, nil
}
