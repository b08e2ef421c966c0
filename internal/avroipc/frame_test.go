package avroipc

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
)

func TestFrameReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		max     int
		serial  int32
		payload string
		err     string
	}{
		{name: "one buffer", in: "00000005" + "00000001" + "00000002" + "abcd", serial: 5, payload: "abcd"},
		{name: "buffers concatenate", in: "00000001" + "00000003" + "00000001" + "aa" + "00000000" + "00000002" + "bbcc", serial: 1, payload: "aabbcc"},
		{name: "zero buffers", in: "00000002" + "00000000", serial: 2, payload: ""},
		{name: "negative serial", in: "ffffffff" + "00000001" + "00000001" + "11", serial: -1, payload: "11"},
		{name: "clean end", in: "", err: "EOF"},
		{name: "truncated header", in: "000000", err: "frame header: read 3 of 8 bytes: unexpected EOF"},
		{name: "truncated length", in: "00000001" + "00000001" + "0000", err: "length of buffer 1 of 1: read 2 of 4 bytes: unexpected EOF"},
		{name: "truncated buffer", in: "00000001" + "00000001" + "00000004" + "aabb", err: "frame 1: buffer 1 of 1: read 2 of 4 bytes: unexpected EOF"},
		{name: "negative buffer count", in: "00000001" + "fffffffe", err: "frame 1 claims -2 buffers"},
		{name: "negative length", in: "00000001" + "00000001" + "80000000", err: "buffer 1 of 1 claims -2147483648 bytes"},
		{name: "2 GiB claim", in: "00000001" + "00000001" + "7fffffff", err: "frame claims 2147483647 bytes, limit 67108864"},
		{name: "claims add up", in: "00000001" + "00000002" + "00000008" + "0102030405060708" + "00000009", max: 16, err: "frame claims 17 bytes, limit 16"},
		{name: "too many buffers", in: "00000001" + "7fffffff", err: "frame claims 2147483647 buffers, limit 16777216"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := NewFrameReader(bytes.NewReader(unhex(t, tc.in)), tc.max)
			serial, payload, err := fr.ReadFrame()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if serial != tc.serial || !bytes.Equal(payload, unhex(t, tc.payload)) {
				t.Fatalf("got serial %d payload %x", serial, payload)
			}
		})
	}
}

func TestFrameTooLargeErrorType(t *testing.T) {
	fr := NewFrameReader(bytes.NewReader(unhex(t, "00000001"+"00000001"+"7fffffff")), 0)
	_, _, err := fr.ReadFrame()
	var fe *FrameTooLargeError
	if !errors.As(err, &fe) || fe.Claimed != 1<<31-1 || fe.Limit != DefaultMaxFrameSize {
		t.Fatalf("%#v", err)
	}
}

func TestFrameReaderAllocatesOnlyWhatArrives(t *testing.T) {
	// A frame claims 60 MB but sends 10 bytes before the stream ends: the
	// payload buffer must stay small.
	in := append(unhex(t, "00000001"+"00000001"+"03938700"), bytes.Repeat([]byte{1}, 10)...)
	fr := NewFrameReader(bytes.NewReader(in), 0)
	_, p, err := fr.ReadFrame()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err %v", err)
	}
	if cap(p) > 8192 {
		t.Fatalf("allocated %d bytes for 10 received", cap(p))
	}
	// One byte at a time, a large frame still arrives whole.
	big := bytes.Repeat([]byte("xyz"), 100000)
	fr = NewFrameReader(iotest.OneByteReader(bytes.NewReader(AppendFrame(nil, 3, big))), 0)
	serial, p, err := fr.ReadFrame()
	if err != nil || serial != 3 || !bytes.Equal(p, big) {
		t.Fatalf("serial %d, %d bytes, %v", serial, len(p), err)
	}
	if cap(p) > 2*len(big) {
		t.Fatalf("capacity %d for %d bytes", cap(p), len(big))
	}
}

func TestFramesBackToBack(t *testing.T) {
	var stream []byte
	for i := int32(1); i <= 3; i++ {
		stream = AppendFrame(stream, i, bytes.Repeat([]byte{byte(i)}, int(i)*1000))
	}
	fr := NewFrameReader(bufio.NewReader(bytes.NewReader(stream)), 0)
	for i := int32(1); i <= 3; i++ {
		s, p, err := fr.ReadFrame()
		if err != nil || s != i || len(p) != int(i)*1000 || p[0] != byte(i) {
			t.Fatalf("frame %d: serial %d len %d err %v", i, s, len(p), err)
		}
	}
	if _, _, err := fr.ReadFrame(); err != io.EOF {
		t.Fatalf("after the last frame: %v", err)
	}
}

func TestDeflateConnRoundTrip(t *testing.T) {
	a, b := net.Pipe()
	da, err := NewDeflateConn(a, 6)
	if err != nil {
		t.Fatal(err)
	}
	db, err := NewDeflateConn(b, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewDeflateConn(a, 12); err == nil {
		t.Error("level 12 accepted")
	}
	// Every write must be readable on its own: the reader gets each
	// message before the next is written (sync flush per write).
	msgs := [][]byte{[]byte("hello"), bytes.Repeat([]byte("flume "), 50000), {0}}
	go func() {
		for _, m := range msgs {
			if _, err := da.Write(m); err != nil {
				t.Error(err)
				return
			}
			// Wait for the echo before writing more.
			buf := make([]byte, 1)
			if _, err := io.ReadFull(da, buf); err != nil {
				t.Error(err)
				return
			}
		}
		da.Close()
	}()
	for _, m := range msgs {
		got := make([]byte, len(m))
		if _, err := io.ReadFull(db, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, m) {
			t.Fatalf("got %d bytes, want %d", len(got), len(m))
		}
		if _, err := db.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	// The peer closed: its stream ended properly, so the reader sees EOF.
	if _, err := db.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after close: %v", err)
	}
}
