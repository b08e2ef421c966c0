package flumethrift

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/apache/thrift/lib/go/thrift"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/budget"
	"github.com/sluiceio/sluice/internal/flumethrift/flume"
)

// Protocol is the Thrift protocol inside the frames; both ends must agree.
type Protocol int

// The two protocols Flume offers.
const (
	Compact Protocol = iota
	Binary
)

func (p Protocol) String() string {
	if p == Binary {
		return "binary"
	}
	return "compact"
}

// ParseProtocol reads Flume's protocol property. Flume accepts "binary" and
// "compact" in any case but selects binary only for the exact lower-case
// word, so "BINARY" means compact there; Sluice does the same, so that a
// pair of agents keeps agreeing when one of them is replaced, and reports
// the surprise in note.
func ParseProtocol(s string) (p Protocol, note string, err error) {
	v := strings.TrimSpace(s)
	switch {
	case v == "binary":
		return Binary, "", nil
	case v == "" || v == "compact":
		return Compact, "", nil
	case strings.EqualFold(v, "binary"):
		return Compact, fmt.Sprintf("protocol %q means compact, as in Flume (only lower-case \"binary\" selects the binary protocol)", s), nil
	case strings.EqualFold(v, "compact"):
		return Compact, "", nil
	}
	return Compact, "", fmt.Errorf("%q is not compact or binary", s)
}

// DefaultMaxFrameSize is libthrift 0.14's frame limit, the one Flume 1.11
// enforces on both ends.
const DefaultMaxFrameSize = 16_384_000

// The method names of ThriftSourceProtocol.
const (
	MethodAppend      = "append"
	MethodAppendBatch = "appendBatch"
)

// ReadFrame reads one frame: a 4-byte big-endian length, then that many
// bytes, reusing buf when it is large enough. A claimed length above max is
// refused before anything is allocated for it, and a payload is grown only
// as its bytes arrive, so a peer announcing a large frame and sending
// nothing costs at most 1 MiB. A clean end of stream before the first byte
// is io.EOF.
func ReadFrame(r io.Reader, buf []byte, limit int) ([]byte, error) {
	payload, _, err := ReadFrameBudget(r, buf, limit, nil, 0)
	return payload, err
}

// ReadFrameBudget is ReadFrame taking every byte it allocates from b (a
// source's bytes in flight; nil: none) as the buffer grows, waiting up to
// wait for room; with none it fails with a *budget.ExceededError. On
// success held is what the frame holds of b, for the caller to release
// once the frame's events are no longer needed; on error nothing is held.
// A reused buf is not counted.
func ReadFrameBudget(r io.Reader, buf []byte, limit int, b *budget.Budget, wait time.Duration) (payload []byte, held int64, err error) {
	defer func() {
		if err != nil {
			b.Release(held)
			held = 0
		}
	}()
	var hdr [4]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return buf[:0], 0, io.EOF
		}
		return buf[:0], 0, fmt.Errorf("frame length: read %d of 4 bytes: %w", n, noEOF(err))
	}
	size := int64(int32(binary.BigEndian.Uint32(hdr[:])))
	if size <= 0 {
		return buf[:0], 0, fmt.Errorf("frame claims %d bytes (not a Thrift framed message)", size)
	}
	if size > int64(limit) {
		return buf[:0], 0, fmt.Errorf("frame claims %d bytes, limit %d", size, limit)
	}
	if b != nil && size > b.Limit() {
		return buf[:0], 0, &budget.ExceededError{Want: size, Limit: b.Limit()}
	}
	n := int(size)
	if cap(buf) >= n {
		buf = buf[:n]
		if got, err := io.ReadFull(r, buf); err != nil {
			return buf[:0], 0, fmt.Errorf("frame body: read %d of %d bytes: %w", got, n, noEOF(err))
		}
		return buf, 0, nil
	}
	// Up to 1 MiB is allocated at once; beyond, the buffer doubles as the
	// bytes come.
	buf = nil
	for len(buf) < n {
		if len(buf) == cap(buf) {
			nc := min(n, max(2*cap(buf), 1<<20))
			// Both arrays live during the copy: the new one is taken
			// before the old one is given back.
			if err := b.Acquire(int64(nc), wait); err != nil {
				return buf[:0], held, err
			}
			held += int64(nc)
			nb := make([]byte, len(buf), nc)
			copy(nb, buf)
			b.Release(int64(cap(buf)))
			held -= int64(cap(buf))
			buf = nb
		}
		have := len(buf)
		got, err := io.ReadFull(r, buf[have:cap(buf)])
		buf = buf[:have+got]
		if err != nil {
			return buf[:0], held, fmt.Errorf("frame body: read %d of %d bytes: %w", have+got, n, noEOF(err))
		}
	}
	return buf, held, nil
}

// noEOF turns an end of stream inside a frame into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ErrUnknownMethod is DecodeCall's error for a call of another method.
var ErrUnknownMethod = errors.New("no method named")

// Call is one decoded request.
type Call struct {
	Method string // MethodAppend or MethodAppendBatch; on error, what was read ("" if nothing)
	SeqID  int32
	Events []*sluice.Event
}

// bounded refuses a container that claims more elements than there are
// bytes left in the message (each element takes at least one byte), so a
// small frame cannot make the generated code allocate for a huge count.
type bounded struct {
	thrift.TProtocol
	mem *thrift.TMemoryBuffer
}

func (b bounded) check(what string, size int) error {
	if left := b.mem.Len(); size > left {
		return thrift.NewTProtocolExceptionWithType(thrift.SIZE_LIMIT,
			fmt.Errorf("%s claims %d elements, but only %d bytes are left in the frame", what, size, left))
	}
	return nil
}

func (b bounded) ReadListBegin(ctx context.Context) (thrift.TType, int, error) {
	t, size, err := b.TProtocol.ReadListBegin(ctx)
	if err == nil {
		err = b.check("list", size)
	}
	return t, size, err
}

func (b bounded) ReadSetBegin(ctx context.Context) (thrift.TType, int, error) {
	t, size, err := b.TProtocol.ReadSetBegin(ctx)
	if err == nil {
		err = b.check("set", size)
	}
	return t, size, err
}

func (b bounded) ReadMapBegin(ctx context.Context) (thrift.TType, thrift.TType, int, error) {
	k, v, size, err := b.TProtocol.ReadMapBegin(ctx)
	if err == nil {
		err = b.check("map", size)
	}
	return k, v, size, err
}

func newProtocol(p Protocol, t thrift.TTransport, limit int) thrift.TProtocol {
	limit = min(max(limit, 1), 1<<31-1)
	cfg := &thrift.TConfiguration{MaxMessageSize: int32(limit), MaxFrameSize: int32(limit)}
	if p == Binary {
		return thrift.NewTBinaryProtocolConf(t, cfg)
	}
	return thrift.NewTCompactProtocolConf(t, cfg)
}

// DecodeCall decodes one framed message's payload as a call of
// ThriftSourceProtocol. On error, Method and SeqID are set when they could
// be read, so the server can answer with an exception before it closes the
// connection. The events point into payload, which must not change
// afterwards. A connection's calls decode faster through one Decoder.
func DecodeCall(payload []byte, p Protocol) (Call, error) {
	d := Decoder{Protocol: p}
	return d.Decode(payload)
}

// decodeSlow is DecodeCall by the generated code: every layout Thrift
// allows, and the errors.
func decodeSlow(payload []byte, p Protocol) (Call, error) {
	ctx := context.Background()
	mem := &thrift.TMemoryBuffer{Buffer: bytes.NewBuffer(payload)}
	prot := bounded{TProtocol: newProtocol(p, mem, len(payload)), mem: mem}
	var c Call
	name, typ, seq, err := prot.ReadMessageBegin(ctx)
	if err != nil {
		return c, fmt.Errorf("message header (%s protocol): %w", p, err)
	}
	c.SeqID = seq
	if typ != thrift.CALL && typ != thrift.ONEWAY {
		return c, fmt.Errorf("message %q has type %d, not a call", name, typ)
	}
	switch name {
	case MethodAppend:
		c.Method = name
		var args flume.ThriftSourceProtocolAppendArgs
		if err := args.Read(ctx, prot); err != nil {
			return c, fmt.Errorf("append arguments: %w", err)
		}
		if args.Event == nil {
			return c, errors.New("append arguments: no event")
		}
		c.Events = []*sluice.Event{toEvent(args.Event)}
	case MethodAppendBatch:
		c.Method = name
		var args flume.ThriftSourceProtocolAppendBatchArgs
		if err := args.Read(ctx, prot); err != nil {
			return c, fmt.Errorf("appendBatch arguments: %w", err)
		}
		c.Events = make([]*sluice.Event, 0, len(args.Events))
		for i, e := range args.Events {
			if e == nil {
				return c, fmt.Errorf("appendBatch arguments: event %d is empty", i)
			}
			c.Events = append(c.Events, toEvent(e))
		}
	default:
		c.Method = name
		return c, fmt.Errorf("%w %q (ThriftSourceProtocol has append and appendBatch)", ErrUnknownMethod, name)
	}
	if err := prot.ReadMessageEnd(ctx); err != nil {
		return c, err
	}
	if left := mem.Len(); left > 0 {
		return c, fmt.Errorf("%d bytes after the end of the %s message", left, c.Method)
	}
	return c, nil
}

// toEvent makes a Sluice event; as the fast path, no headers is a nil map.
func toEvent(e *flume.ThriftFlumeEvent) *sluice.Event {
	if len(e.Headers) == 0 {
		e.Headers = nil
	}
	return &sluice.Event{Headers: e.Headers, Body: e.Body}
}

// Writer encodes framed messages. The slice a method returns is valid until
// the next call.
type Writer struct {
	binary bool
	out    []byte                // calls
	mem    *thrift.TMemoryBuffer // replies, by the generated code
	prot   thrift.TProtocol
}

// NewWriter makes a Writer for protocol p.
func NewWriter(p Protocol) *Writer {
	mem := thrift.NewTMemoryBufferLen(256)
	return &Writer{binary: p == Binary, mem: mem, prot: newProtocol(p, mem, 1<<31-1)}
}

// framed runs write after a 4-byte placeholder and fills in the length.
func (w *Writer) framed(write func(ctx context.Context) error) ([]byte, error) {
	if w.mem.Cap() > 4<<20 {
		// Do not keep a large batch's buffer for the life of the connection.
		w.mem.Buffer = bytes.NewBuffer(make([]byte, 0, 4<<10))
	}
	w.mem.Reset()
	w.mem.Write([]byte{0, 0, 0, 0})
	if err := write(context.Background()); err != nil {
		return nil, err
	}
	b := w.mem.Bytes()
	if len(b)-4 > 1<<31-1 {
		return nil, errTooLarge(len(b) - 4)
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b, nil
}

func (w *Writer) message(ctx context.Context, name string, typ thrift.TMessageType, seq int32, body thrift.TStruct) error {
	if err := w.prot.WriteMessageBegin(ctx, name, typ, seq); err != nil {
		return err
	}
	if err := body.Write(ctx, w.prot); err != nil {
		return err
	}
	if err := w.prot.WriteMessageEnd(ctx); err != nil {
		return err
	}
	return w.prot.Flush(ctx)
}

// AppendBatch encodes the call appendBatch(events).
func (w *Writer) AppendBatch(seq int32, events []*sluice.Event) ([]byte, error) {
	dst := w.appendCall(w.buffer(), MethodAppendBatch, seq)
	dst = w.appendField(dst, 1, tList)
	switch n := len(events); {
	case w.binary:
		dst = appendU32(append(dst, binaryType[tStruct]), uint32(n))
	case n < 15:
		dst = append(dst, byte(n)<<4|compactType[tStruct])
	default:
		dst = binary.AppendUvarint(append(dst, 0xf0|compactType[tStruct]), uint64(n))
	}
	for _, e := range events {
		dst = w.appendEvent(dst, e)
	}
	return w.finish(dst)
}

// Append encodes the call append(event).
func (w *Writer) Append(seq int32, e *sluice.Event) ([]byte, error) {
	dst := w.appendCall(w.buffer(), MethodAppend, seq)
	dst = w.appendEvent(w.appendField(dst, 1, tStruct), e)
	return w.finish(dst)
}

// buffer is the calls' buffer, dropped once a large batch grew it.
func (w *Writer) buffer() []byte {
	if cap(w.out) > 4<<20 {
		w.out = nil
	}
	return w.out[:0]
}

func errTooLarge(n int) error {
	return fmt.Errorf("message of %d bytes is too large for a frame", n)
}

// Reply encodes the answer st to a call.
func (w *Writer) Reply(method string, seq int32, st flume.Status) ([]byte, error) {
	var res thrift.TStruct
	if method == MethodAppend {
		res = &flume.ThriftSourceProtocolAppendResult{Success: &st}
	} else {
		res = &flume.ThriftSourceProtocolAppendBatchResult{Success: &st}
	}
	return w.framed(func(ctx context.Context) error {
		return w.message(ctx, method, thrift.REPLY, seq, res)
	})
}

// Exception encodes a Thrift application exception answering a call that
// could not be served (kind is thrift.PROTOCOL_ERROR, UNKNOWN_METHOD, ...).
func (w *Writer) Exception(method string, seq int32, kind int32, msg string) ([]byte, error) {
	x := thrift.NewTApplicationException(kind, msg)
	return w.framed(func(ctx context.Context) error {
		return w.message(ctx, method, thrift.EXCEPTION, seq, x)
	})
}

// StatusError is a reply other than OK.
type StatusError struct{ Status flume.Status }

func (e *StatusError) Error() string { return "the source answered " + e.Status.String() }

// DecodeReply decodes the answer to the call method with sequence number
// seq: nil for OK, a *StatusError for another status, an error for an
// exception or anything unexpected.
func DecodeReply(payload []byte, p Protocol, method string, seq int32) error {
	ctx := context.Background()
	mem := &thrift.TMemoryBuffer{Buffer: bytes.NewBuffer(payload)}
	prot := bounded{TProtocol: newProtocol(p, mem, len(payload)), mem: mem}
	name, typ, gotSeq, err := prot.ReadMessageBegin(ctx)
	if err != nil {
		return fmt.Errorf("reply header (%s protocol): %w", p, err)
	}
	if name != method || gotSeq != seq {
		return fmt.Errorf("reply to %q #%d while waiting for %q #%d", name, gotSeq, method, seq)
	}
	switch typ {
	case thrift.EXCEPTION:
		x := thrift.NewTApplicationException(thrift.UNKNOWN_APPLICATION_EXCEPTION, "")
		if err := x.Read(ctx, prot); err != nil {
			return fmt.Errorf("exception reply: %w", err)
		}
		return fmt.Errorf("the source answered with an exception: %w", x)
	case thrift.REPLY:
	default:
		return fmt.Errorf("reply has message type %d", typ)
	}
	var st *flume.Status
	if method == MethodAppend {
		var res flume.ThriftSourceProtocolAppendResult
		err = res.Read(ctx, prot)
		st = res.Success
	} else {
		var res flume.ThriftSourceProtocolAppendBatchResult
		err = res.Read(ctx, prot)
		st = res.Success
	}
	if err != nil {
		return fmt.Errorf("%s reply: %w", method, err)
	}
	if st == nil {
		return fmt.Errorf("%s reply carries no status", method)
	}
	if *st != flume.Status_OK {
		return &StatusError{Status: *st}
	}
	return nil
}
