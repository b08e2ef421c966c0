package serializer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/hamba/avro/v2/ocf"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sluicetest"
)

type flumeRecord struct {
	Headers map[string]string `avro:"headers"`
	Body    []byte            `avro:"body"`
}

// readContainer decodes an Avro container file with hamba's own reader and
// returns its metadata and records.
func readContainer(t *testing.T, b []byte) (map[string][]byte, []flumeRecord) {
	t.Helper()
	dec, err := ocf.NewDecoder(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not an Avro container file: %v", err)
	}
	var out []flumeRecord
	for dec.HasNext() {
		var r flumeRecord
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := dec.Error(); err != nil {
		t.Fatal(err)
	}
	return dec.Metadata(), out
}

// blocks walks a container file and returns the record count of each
// block; it fails on anything that is not a well-formed file.
func blocks(t *testing.T, b []byte) []int64 {
	t.Helper()
	r := bytes.NewReader(b)
	magic := make([]byte, 4)
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != "Obj\x01" {
		t.Fatalf("bad magic %q", magic)
	}
	readLong := func() int64 {
		u, err := binary.ReadUvarint(r)
		if err != nil {
			t.Fatal(err)
		}
		return int64(u>>1) ^ -int64(u&1)
	}
	skip := func(n int64) {
		if _, err := r.Seek(n, io.SeekCurrent); err != nil {
			t.Fatal(err)
		}
	}
	for {
		n := readLong()
		if n == 0 {
			break
		}
		if n < 0 { // a block count may be negated and followed by its byte size
			n = -n
			readLong()
		}
		for i := int64(0); i < n; i++ {
			skip(readLong())
			skip(readLong())
		}
	}
	sync := make([]byte, 16)
	io.ReadFull(r, sync)
	var counts []int64
	for r.Len() > 0 {
		counts = append(counts, readLong())
		skip(readLong())
		got := make([]byte, 16)
		io.ReadFull(r, got)
		if !bytes.Equal(got, sync) {
			t.Fatalf("block %d does not end with the file's sync marker", len(counts))
		}
	}
	return counts
}

func avroBuild(t *testing.T, props map[string]string) Builder {
	t.Helper()
	b, err := New(sluicetest.Env("k1"), "sink.serializer", "avro_event", props)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAvroEventRoundTripsThroughAnAvroReader(t *testing.T) {
	events := []*sluice.Event{
		ev("first", "host", "a.example", "timestamp", "1700000000000"),
		ev(""),
		ev(string([]byte{0, 0xff, '\n'}), "k", ""),
	}
	for _, codec := range []string{"null", "deflate", "snappy", "zstandard", "SNAPPY"} {
		t.Run(codec, func(t *testing.T) {
			out := run(t, "avro_event", map[string]string{"compressionCodec": codec}, events...)
			meta, recs := readContainer(t, []byte(out))
			if got := string(meta["avro.schema"]); got != EventSchema {
				t.Errorf("avro.schema = %s\nwant Flume's %s", got, EventSchema)
			}
			if got := string(meta["avro.codec"]); got != strings.ToLower(codec) {
				t.Errorf("avro.codec = %q, want %q", got, strings.ToLower(codec))
			}
			if len(recs) != len(events) {
				t.Fatalf("got %d records, want %d", len(recs), len(events))
			}
			for i, e := range events {
				if !bytes.Equal(recs[i].Body, e.Body) {
					t.Errorf("record %d body = %q, want %q", i, recs[i].Body, e.Body)
				}
				if len(recs[i].Headers) != len(e.Headers) || (len(e.Headers) > 0 && !reflect.DeepEqual(recs[i].Headers, e.Headers)) {
					t.Errorf("record %d headers = %v, want %v", i, recs[i].Headers, e.Headers)
				}
			}
		})
	}
}

func TestAvroEventSchemaTextIsFlumes(t *testing.T) {
	// Avro Java's Schema.toString of the schema Flume's serializer parses.
	want := `{"type":"record","name":"Event","fields":[` +
		`{"name":"headers","type":{"type":"map","values":"string"}},{"name":"body","type":"bytes"}]}`
	if EventSchema != want {
		t.Fatalf("EventSchema = %s", EventSchema)
	}
	// Canonical form (what fingerprints hash) as the Avro spec defines it.
	if got := eventSchema.String(); got != `{"name":"Event","type":"record","fields":[{"name":"headers","type":{"type":"map","values":"string"}},{"name":"body","type":"bytes"}]}` {
		t.Fatalf("canonical form = %s", got)
	}
}

func TestAvroEventRecordBytes(t *testing.T) {
	tests := []struct {
		name string
		e    *sluice.Event
		want []byte
	}{
		{"no headers", ev("x"), []byte{0x00, 0x02, 'x'}},
		{"one header", ev("x", "a", "1"), []byte{0x02, 0x02, 'a', 0x02, '1', 0x00, 0x02, 'x'}},
		{"empty body", ev(""), []byte{0x00, 0x00}},
		// In a 16-bucket java.util.HashMap "a" (hash 97) sits in bucket 1, "b" in bucket 2.
		{"two headers in HashMap order", ev("", "b", "2", "a", "1"), []byte{0x04, 0x02, 'a', 0x02, '1', 0x02, 'b', 0x02, '2', 0x00, 0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var scratch []javaEntry
			if got := appendEventRecord(nil, tt.e, &scratch); !bytes.Equal(got, tt.want) {
				t.Fatalf("record = % x, want % x", got, tt.want)
			}
		})
	}
}

func TestAvroEventHeaderOrderMatchesJavaHashMap(t *testing.T) {
	h := map[string]string{"timestamp": "1", "host": "h", "file": "/x", "basename": "x", "topic": "t"}
	var scratch []javaEntry
	var keys []string
	for _, e := range javaOrder(h, &scratch) {
		keys = append(keys, e.key+"="+h[e.key])
	}
	// FormatHeaders renders Java's HashMap.toString order, checked elsewhere.
	if got, want := "{"+strings.Join(keys, ", ")+"}", FormatHeaders(h); got != want {
		t.Fatalf("order %s, want %s", got, want)
	}
}

func TestAvroEventBlocksBySyncIntervalAndFlush(t *testing.T) {
	body := strings.Repeat("x", 100)
	write := func(props map[string]string, batches ...int) []int64 {
		var buf bytes.Buffer
		s, err := avroBuild(t, props)(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AfterCreate(); err != nil {
			t.Fatal(err)
		}
		for _, n := range batches {
			for i := 0; i < n; i++ {
				if err := s.Write(ev(body)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.BeforeClose(); err != nil {
			t.Fatal(err)
		}
		return blocks(t, buf.Bytes())
	}
	// Default interval: one block per flushed batch, whatever its length.
	if got := write(nil, 500, 3, 1); fmt.Sprint(got) != "[500 3 1]" {
		t.Errorf("default interval blocks = %v, want [500 3 1]", got)
	}
	// Each record is 103 bytes: a 300-byte interval cuts a block after 3.
	if got := write(map[string]string{"syncIntervalBytes": "300"}, 7); fmt.Sprint(got) != "[3 3 1]" {
		t.Errorf("300-byte interval blocks = %v, want [3 3 1]", got)
	}
}

func TestAvroEventBeforeCloseWritesPendingRecords(t *testing.T) {
	var buf bytes.Buffer
	s, err := avroBuild(t, nil)(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AfterCreate(); err != nil {
		t.Fatal(err)
	}
	headerLen := buf.Len()
	if err := s.Write(ev("pending")); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != headerLen {
		t.Fatal("a record below the sync interval was written before Flush")
	}
	if err := s.BeforeClose(); err != nil {
		t.Fatal(err)
	}
	if _, recs := readContainer(t, buf.Bytes()); len(recs) != 1 || string(recs[0].Body) != "pending" {
		t.Fatalf("records after BeforeClose: %v", recs)
	}
}

func TestAvroEventNamesAndErrors(t *testing.T) {
	for _, name := range []string{"avro_event", "AVRO_EVENT", "org.apache.flume.serialization.FlumeEventAvroEventSerializer$Builder"} {
		if sp, err := Lookup(name); err != nil || sp.Name != "avro_event" {
			t.Errorf("Lookup(%q) = %v, %v", name, sp, err)
		}
	}
	tests := []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"compressionCodec": "bzip2"}, `sink.serializer.compressionCodec: "bzip2" is an Avro codec Sluice cannot write`},
		{map[string]string{"compressionCodec": "lz4"}, `sink.serializer.compressionCodec: "lz4" is not an Avro codec`},
		{map[string]string{"syncIntervalBytes": "16"}, `sink.serializer.syncIntervalBytes: "16" must be between 32 and 1073741824`},
		{map[string]string{"syncIntervalBytes": "big"}, `sink.serializer.syncIntervalBytes: "big" is not a whole number`},
	}
	for _, tt := range tests {
		err := Check("sink.serializer", "avro_event", tt.props)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check(%v) = %v, want %q", tt.props, err, tt.want)
		}
	}
}
