package flumethrift

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/flumethrift/flume"
)

var protocols = []Protocol{Compact, Binary}

func sample() []*sluice.Event {
	return []*sluice.Event{
		{Headers: map[string]string{"a": "1", "ü": "\x00é"}, Body: []byte{0, 0xff, 'x'}},
		{Headers: map[string]string{}, Body: []byte{}},
		{Headers: nil, Body: nil},
		{Headers: map[string]string{"big": strings.Repeat("h", 70000)}, Body: bytes.Repeat([]byte{7}, 100000)},
	}
}

func TestCallRoundTrip(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.String(), func(t *testing.T) {
			w := NewWriter(p)
			msg, err := w.AppendBatch(42, sample())
			if err != nil {
				t.Fatal(err)
			}
			payload, err := ReadFrame(bytes.NewReader(msg), nil, DefaultMaxFrameSize)
			if err != nil {
				t.Fatal(err)
			}
			c, err := DecodeCall(payload, p)
			if err != nil {
				t.Fatal(err)
			}
			if c.Method != MethodAppendBatch || c.SeqID != 42 || len(c.Events) != 4 {
				t.Fatalf("call %s #%d with %d events", c.Method, c.SeqID, len(c.Events))
			}
			for i, want := range sample() {
				got := c.Events[i]
				if !bytes.Equal(got.Body, want.Body) || got.Body == nil || fmt.Sprint(got.Headers) != fmt.Sprint(want.Headers) {
					t.Fatalf("event %d: %q %v", i, got.Body, got.Headers)
				}
			}
			if _, ok := (&Decoder{Protocol: p}).fast(payload); !ok {
				t.Fatal("the fast path refused a call Sluice's writer made")
			}
			// The fast path decoded it as the generated code does.
			slow, err := decodeSlow(payload, p)
			if err != nil || fmt.Sprint(eventsOf(slow)) != fmt.Sprint(eventsOf(c)) {
				t.Fatalf("the generated code decodes otherwise: %v", err)
			}

			msg, _ = w.Append(3, sample()[0])
			c, err = DecodeCall(msg[4:], p)
			if err != nil || c.Method != MethodAppend || c.SeqID != 3 || len(c.Events) != 1 {
				t.Fatalf("append: %+v %v", c, err)
			}

			for st, want := range map[flume.Status]error{flume.Status_OK: nil, flume.Status_FAILED: &StatusError{flume.Status_FAILED}, flume.Status_ERROR: &StatusError{flume.Status_ERROR}} {
				r, _ := w.Reply(MethodAppendBatch, 9, st)
				err := DecodeReply(r[4:], p, MethodAppendBatch, 9)
				if fmt.Sprint(err) != fmt.Sprint(want) {
					t.Errorf("status %v: %v", st, err)
				}
			}
			r, _ := w.Reply(MethodAppend, 8, flume.Status_OK)
			if err := DecodeReply(r[4:], p, MethodAppendBatch, 9); err == nil {
				t.Error("a reply to another call was accepted")
			}
			x, _ := w.Exception(MethodAppend, 8, thrift.PROTOCOL_ERROR, "bad")
			if err := DecodeReply(x[4:], p, MethodAppend, 8); err == nil || !strings.Contains(err.Error(), "bad") {
				t.Errorf("exception: %v", err)
			}
		})
	}
}

// Apache Thrift's own serializer and Sluice's decoder agree.
func TestDecodesLibthriftEncoding(t *testing.T) {
	for _, p := range protocols {
		mem := thrift.NewTMemoryBuffer()
		var prot thrift.TProtocol = thrift.NewTCompactProtocolConf(mem, nil)
		if p == Binary {
			prot = thrift.NewTBinaryProtocolConf(mem, nil)
		}
		ctx := context.Background()
		args := flume.NewThriftSourceProtocolAppendBatchArgs()
		args.Events = []*flume.ThriftFlumeEvent{{Headers: map[string]string{"k": "v"}, Body: []byte("body")}}
		_ = prot.WriteMessageBegin(ctx, "appendBatch", thrift.CALL, 1)
		_ = args.Write(ctx, prot)
		_ = prot.WriteMessageEnd(ctx)
		if _, ok := (&Decoder{Protocol: p}).fast(mem.Bytes()); !ok {
			t.Fatalf("%s: the fast path refused a call libthrift wrote", p)
		}
		c, err := DecodeCall(mem.Bytes(), p)
		if err != nil || len(c.Events) != 1 || string(c.Events[0].Body) != "body" || c.Events[0].Headers["k"] != "v" {
			t.Fatalf("%s: %+v %v", p, c, err)
		}
	}
}

func TestReadFrame(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty stream", nil, "EOF"},
		{"2 GiB claim", []byte{0x7f, 0xff, 0xff, 0xff}, "frame claims 2147483647 bytes, limit 16384000"},
		{"zero", []byte{0, 0, 0, 0}, "frame claims 0 bytes"},
		{"negative", []byte{0xff, 0xff, 0xff, 0xff}, "frame claims -1 bytes"},
		{"short header", []byte{0, 0, 1}, "frame length: read 3 of 4 bytes: unexpected EOF"},
		{"truncated", []byte{0, 0, 0, 9, 1, 2}, "frame body: read 2 of 9 bytes: unexpected EOF"},
	}
	for _, tc := range tests {
		_, err := ReadFrame(bytes.NewReader(tc.in), nil, DefaultMaxFrameSize)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// A frame claiming nearly the limit with few bytes behind it allocates
	// no more than 1 MiB.
	in := append([]byte{0x00, 0xf9, 0xff, 0xff}, make([]byte, 1000)...)
	buf, err := ReadFrame(bytes.NewReader(in), nil, DefaultMaxFrameSize)
	if !errors.Is(err, io.ErrUnexpectedEOF) || cap(buf) > 1<<20 {
		t.Fatalf("err %v, cap %d", err, cap(buf))
	}
}

// A container may not claim more elements than the frame has bytes left,
// even when the count is below the message size limit.
func TestContainerClaimsBounded(t *testing.T) {
	mem := thrift.NewTMemoryBuffer()
	prot := thrift.NewTCompactProtocolConf(mem, nil)
	ctx := context.Background()
	_ = prot.WriteMessageBegin(ctx, "appendBatch", thrift.CALL, 1)
	_ = prot.WriteStructBegin(ctx, "a")
	_ = prot.WriteFieldBegin(ctx, "events", thrift.LIST, 1)
	_ = prot.WriteListBegin(ctx, thrift.STRUCT, 20)
	payload := append(mem.Bytes(), make([]byte, 30)...) // room for the size check, not for 20 events
	payload = payload[:len(payload)-25]
	_, err := DecodeCall(payload, Compact)
	if err == nil || !strings.Contains(err.Error(), "list claims 20 elements, but only 5 bytes are left") {
		t.Fatalf("got %v", err)
	}
}

func TestParseProtocol(t *testing.T) {
	for in, want := range map[string]Protocol{"": Compact, "compact": Compact, "COMPACT": Compact, "binary": Binary, " binary ": Binary, "Binary": Compact} {
		p, note, err := ParseProtocol(in)
		if err != nil || p != want {
			t.Errorf("%q: %v %v", in, p, err)
		}
		if (in == "Binary") != (note != "") {
			t.Errorf("%q: note %q", in, note)
		}
	}
	if _, _, err := ParseProtocol("json"); err == nil {
		t.Error("json accepted")
	}
}

// FuzzDecodeCall feeds arbitrary frames to the decoder: it must never
// panic, and what it accepts must encode back to an equal call.
func FuzzDecodeCall(f *testing.F) {
	for _, p := range protocols {
		w := NewWriter(p)
		msg, _ := w.AppendBatch(1, sample()[:3])
		f.Add(bytes.Clone(msg[4:]), p == Binary)
		msg, _ = w.Append(2, sample()[0])
		f.Add(bytes.Clone(msg[4:]), p == Binary)
	}
	f.Fuzz(func(t *testing.T, data []byte, binary bool) {
		p := Compact
		if binary {
			p = Binary
		}
		slow, slowErr := decodeSlow(data, p)
		d := Decoder{Protocol: p}
		if c, ok := d.fast(data); ok {
			// The fast path takes only what the generated code takes,
			// and decodes it alike.
			if slowErr != nil {
				t.Fatalf("fast path took a call the generated code refuses: %v", slowErr)
			}
			if c.Method != slow.Method || c.SeqID != slow.SeqID || fmt.Sprint(eventsOf(c)) != fmt.Sprint(eventsOf(slow)) {
				t.Fatalf("fast path and generated code differ:\n%v\n%v", eventsOf(c), eventsOf(slow))
			}
		}
		c, err := DecodeCall(data, p)
		if (err == nil) != (slowErr == nil) {
			t.Fatalf("DecodeCall error %v, generated code %v", err, slowErr)
		}
		if err != nil {
			return
		}
		w := NewWriter(p)
		var msg []byte
		if c.Method == MethodAppend {
			msg, err = w.Append(c.SeqID, c.Events[0])
		} else {
			msg, err = w.AppendBatch(c.SeqID, c.Events)
		}
		if err != nil {
			t.Fatal(err)
		}
		c2, err := DecodeCall(msg[4:], p)
		if err != nil || c2.Method != c.Method || len(c2.Events) != len(c.Events) {
			t.Fatalf("re-encoded call does not decode alike: %v", err)
		}
		for i := range c.Events {
			if !bytes.Equal(c.Events[i].Body, c2.Events[i].Body) || fmt.Sprint(c.Events[i].Headers) != fmt.Sprint(c2.Events[i].Headers) {
				t.Fatalf("event %d differs after a round trip", i)
			}
		}
	})
}

// eventsOf lists a call's events as comparable text.
func eventsOf(c Call) []string {
	var out []string
	for _, e := range c.Events {
		out = append(out, fmt.Sprintf("%q %q", e.Headers, e.Body))
	}
	return out
}

// generated encodes a call as the generated code and libthrift do.
func generated(t *testing.T, p Protocol, method string, seq int32, events []*sluice.Event) []byte {
	t.Helper()
	mem := thrift.NewTMemoryBuffer()
	var prot thrift.TProtocol = thrift.NewTCompactProtocolConf(mem, nil)
	if p == Binary {
		prot = thrift.NewTBinaryProtocolConf(mem, nil)
	}
	ctx := context.Background()
	tfe := func(e *sluice.Event) *flume.ThriftFlumeEvent {
		return &flume.ThriftFlumeEvent{Headers: e.Headers, Body: append([]byte{}, e.Body...)}
	}
	var args thrift.TStruct
	if method == MethodAppend {
		args = &flume.ThriftSourceProtocolAppendArgs{Event: tfe(events[0])}
	} else {
		a := &flume.ThriftSourceProtocolAppendBatchArgs{Events: []*flume.ThriftFlumeEvent{}}
		for _, e := range events {
			a.Events = append(a.Events, tfe(e))
		}
		args = a
	}
	if err := prot.WriteMessageBegin(ctx, method, thrift.CALL, seq); err != nil {
		t.Fatal(err)
	}
	if err := args.Write(ctx, prot); err != nil {
		t.Fatal(err)
	}
	_ = prot.WriteMessageEnd(ctx)
	_ = prot.Flush(ctx)
	return mem.Bytes()
}

// Sluice's encoder writes exactly the bytes the generated code writes (with
// at most one header per event, so map order cannot differ).
func TestEncoderMatchesGeneratedCode(t *testing.T) {
	for _, p := range protocols {
		w := NewWriter(p)
		for _, n := range []int{0, 1, 14, 15, 16, 300} {
			var evs []*sluice.Event
			for i := range n {
				e := &sluice.Event{Body: bytes.Repeat([]byte{byte(i)}, i)}
				if i%3 != 0 {
					e.Headers = map[string]string{fmt.Sprint("k", i): strings.Repeat("v", i*7)}
				}
				evs = append(evs, e)
			}
			for _, seq := range []int32{0, 1, -1, 1 << 30} {
				got, _ := w.AppendBatch(seq, evs)
				if want := generated(t, p, MethodAppendBatch, seq, evs); !bytes.Equal(got[4:], want) {
					t.Fatalf("%s appendBatch of %d, seq %d:\n got %x\nwant %x", p, n, seq, got[4:], want)
				}
				if n > 0 {
					got, _ = w.Append(seq, evs[n-1])
					if want := generated(t, p, MethodAppend, seq, evs[n-1:]); !bytes.Equal(got[4:], want) {
						t.Fatalf("%s append, seq %d:\n got %x\nwant %x", p, seq, got[4:], want)
					}
				}
			}
		}
	}
}
