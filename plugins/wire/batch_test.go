package wire

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
)

func sample() []*sluice.Event {
	return []*sluice.Event{
		{Headers: map[string]string{"a": "1", "host": "h", "": "empty key", "z": ""}, Body: []byte("first")},
		{Headers: map[string]string{}, Body: nil},
		{Headers: map[string]string{"bin": "\x00\xff"}, Body: bytes.Repeat([]byte{0, 1, 0xfe}, 300)},
		{Headers: map[string]string{}, Body: []byte(strings.Repeat("x", 200))},
	}
}

func TestBatchRoundTrip(t *testing.T) {
	for _, in := range [][]*sluice.Event{nil, sample()} {
		b := AppendBatch(nil, in)
		if len(b) != BatchSize(in) {
			t.Fatalf("BatchSize %d, AppendBatch wrote %d", BatchSize(in), len(b))
		}
		for _, maps := range []bool{true, false} {
			out, err := DecodeBatch(b, maps)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != len(in) {
				t.Fatalf("%d events back, want %d", len(out), len(in))
			}
			for i := range in {
				if len(out[i].Headers) != len(in[i].Headers) || (len(in[i].Headers) > 0 && !reflect.DeepEqual(out[i].Headers, in[i].Headers)) ||
					!bytes.Equal(out[i].Body, in[i].Body) {
					t.Fatalf("event %d: %v %q, want %v %q", i, out[i].Headers, out[i].Body, in[i].Headers, in[i].Body)
				}
				if (out[i].Headers == nil) != (!maps && len(in[i].Headers) == 0) {
					t.Fatalf("emptyMaps %v, event %d: headers %#v", maps, i, out[i].Headers)
				}
			}
		}
	}
}

// An append to a decoded body must not overwrite the next event's bytes.
func TestDecodedBodyCapped(t *testing.T) {
	out, err := DecodeBatch(AppendBatch(nil, sample()), true)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(out[0].Body, "XXXXXXXXXXXXXXXX"...)
	if out[2].Headers["bin"] != "\x00\xff" || !bytes.Equal(out[3].Body, []byte(strings.Repeat("x", 200))) {
		t.Fatal("an append to a body changed the next events")
	}
}

// Malformed batches are errors: every truncation, trailing bytes, and
// counts or lengths larger than the bytes left (not allocated).
func TestDecodeBatchMalformed(t *testing.T) {
	b := AppendBatch(nil, sample())
	for i := 0; i < len(b); i++ {
		if _, err := DecodeBatch(b[:i], true); err == nil {
			t.Fatalf("truncated to %d of %d bytes: no error", i, len(b))
		}
	}
	if _, err := DecodeBatch(append(b, 0), true); err == nil || !strings.Contains(err.Error(), "after the batch") {
		t.Fatalf("trailing byte: %v", err)
	}
	for _, c := range []struct {
		b    []byte
		want string
	}{
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0}, "claims 4294967295 events"},
		{[]byte{1, 0xff, 0xff, 0xff, 0x7f, 0}, "claims 268435455 headers"},
		{[]byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0x07}, "a field of 2147483647 bytes"},
		{[]byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "truncated"},
	} {
		if _, err := DecodeBatch(c.b, true); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("% x: error %v, want %q", c.b, err, c.want)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	f.Add(AppendBatch(nil, sample()))
	f.Add([]byte{})
	f.Add([]byte{1, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := DecodeBatch(b, false)
		if err != nil {
			return
		}
		// What decodes encodes to the same length (header order aside).
		if n := BatchSize(out); n > len(b) {
			t.Fatalf("decoded %d bytes into events that encode to %d", len(b), n)
		}
	})
}

func BenchmarkBatch(b *testing.B) {
	events := make([]*sluice.Event, 1000)
	for i := range events {
		events[i] = &sluice.Event{Headers: map[string]string{}, Body: bytes.Repeat([]byte("x"), 100)}
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendBatch(buf[:0], events)
		if _, err := DecodeBatch(buf, false); err != nil {
			b.Fatal(err)
		}
	}
}
