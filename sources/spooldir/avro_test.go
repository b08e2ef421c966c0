package spooldir

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sinks/serializer"
	"github.com/sluiceio/sluice/sluicetest"
)

const richSchema = `{"type":"record","name":"R","namespace":"t","fields":[
 {"name":"id","type":"long"},
 {"name":"name","type":"string"},
 {"name":"tags","type":{"type":"array","items":"string"}},
 {"name":"attrs","type":{"type":"map","values":["null","int","double"]}},
 {"name":"kind","type":{"type":"enum","name":"K","symbols":["A","B"]}},
 {"name":"digest","type":{"type":"fixed","name":"D","size":4}},
 {"name":"child","type":["null",{"type":"record","name":"C","fields":[{"name":"ok","type":"boolean"},{"name":"f","type":"float"}]}]},
 {"name":"raw","type":"bytes"}]}`

type richRec struct {
	ID     int64          `avro:"id"`
	Name   string         `avro:"name"`
	Tags   []string       `avro:"tags"`
	Attrs  map[string]any `avro:"attrs"`
	Kind   string         `avro:"kind"`
	Digest [4]byte        `avro:"digest"`
	Child  *childRec      `avro:"child"`
	Raw    []byte         `avro:"raw"`
}

type childRec struct {
	OK bool    `avro:"ok"`
	F  float32 `avro:"f"`
}

func richRecords(n int) []richRec {
	out := make([]richRec, n)
	for i := range out {
		r := richRec{ID: int64(i) * 1e9, Name: "name-" + string(rune('a'+i%26)), Tags: []string{"x", "y"}[:i%3%2+1],
			Attrs: map[string]any{"k": nil}, Kind: []string{"A", "B"}[i%2], Digest: [4]byte{byte(i), 1, 2, 3},
			Raw: bytes.Repeat([]byte{byte(i)}, i)}
		if i%2 == 0 {
			r.Child = &childRec{OK: true, F: 1.5}
		}
		out[i] = r
	}
	return out
}

// writeContainer writes records into an Avro container file with blocks of
// blockLen records.
func writeContainer(t *testing.T, path, schema string, codec ocf.CodecName, blockLen int, recs []richRec) [][]byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	enc, err := ocf.NewEncoder(schema, &buf, ocf.WithCodec(codec), ocf.WithBlockLength(blockLen))
	if err != nil {
		t.Fatal(err)
	}
	sch := avro.MustParse(schema)
	var datums [][]byte
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		d, err := avro.Marshal(sch, r)
		if err != nil {
			t.Fatal(err)
		}
		datums = append(datums, d)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	f.Write(buf.Bytes())
	return datums
}

func avroOpen(p position, literal bool) func(*os.File) (deserializer, error) {
	return func(f *os.File) (deserializer, error) { return newAvroReader(f, p, literal) }
}

func readFile(t *testing.T, path string, n int, open func(*os.File) (deserializer, error)) ([]*sluice.Event, []position, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := open(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	defer d.close()
	var evs []*sluice.Event
	var pos []position
	for {
		var b batch
		b.reset(n)
		err := d.next(&b, n)
		evs = append(evs, b.events...)
		if len(b.events) > 0 {
			pos = append(pos, d.pos())
		}
		if err != nil || len(b.events) == 0 {
			return evs, pos, err
		}
	}
}

func TestAvroDeserializerBodiesAreTheRecordsEncoding(t *testing.T) {
	for _, codec := range []ocf.CodecName{ocf.Null, ocf.Deflate, ocf.Snappy, ocf.ZStandard} {
		t.Run(string(codec), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "f.avro")
			datums := writeContainer(t, p, richSchema, codec, 4, richRecords(10))
			evs, _, err := readFile(t, p, 3, avroOpen(position{}, false))
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != len(datums) {
				t.Fatalf("%d events, want %d", len(evs), len(datums))
			}
			fp, _ := avro.MustParse(richSchema).FingerprintUsing(avro.CRC64AvroLE)
			for i, e := range evs {
				if !bytes.Equal(e.Body, datums[i]) {
					t.Fatalf("event %d body % x, want % x", i, e.Body, datums[i])
				}
				if got := e.Headers[headerSchemaHash]; len(got) != 16 || got != hexString(fp) {
					t.Fatalf("hash header %q", got)
				}
			}
		})
	}
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestAvroDeserializerLiteralHeader(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.avro")
	writeContainer(t, p, richSchema, ocf.Null, 10, richRecords(1))
	evs, _, err := readFile(t, p, 3, avroOpen(position{}, true))
	if err != nil || len(evs) != 1 {
		t.Fatal(err)
	}
	sch := evs[0].Headers[headerSchemaLiteral]
	if _, err := avro.Parse(sch); err != nil || len(evs[0].Headers) != 1 {
		t.Fatalf("literal header %q (%v)", sch, err)
	}
}

func TestAvroDeserializerResumesAtTheRecord(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.avro")
	datums := writeContainer(t, p, richSchema, ocf.Deflate, 3, richRecords(8))
	_, pos, err := readFile(t, p, 2, avroOpen(position{}, false))
	if err != nil {
		t.Fatal(err)
	}
	if pos[0].skip != 2 || pos[1].skip != 1 || pos[1].off <= pos[0].off {
		t.Fatalf("positions %v", pos)
	}
	for i, pp := range pos {
		evs, _, err := readFile(t, p, 100, avroOpen(pp, false))
		if err != nil {
			t.Fatal(err)
		}
		done := 2 * (i + 1)
		if len(evs) != len(datums)-done {
			t.Fatalf("from %v: %d events, want %d", pp, len(evs), len(datums)-done)
		}
		for j, e := range evs {
			if !bytes.Equal(e.Body, datums[done+j]) {
				t.Fatalf("from %v: event %d is not record %d", pp, j, done+j)
			}
		}
	}
	// Flume's stored offsets point anywhere before a block's sync marker:
	// reading starts at the next block, as Avro's sync() does.
	evs, _, err := readFile(t, p, 100, avroOpen(position{off: pos[0].off + 1}, false))
	if err != nil || len(evs) != 5 || !bytes.Equal(evs[0].Body, datums[3]) {
		t.Fatalf("from a mid-block offset: %d events, %v", len(evs), err)
	}
}

func TestAvroDeserializerRefusesBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	notAvro := filepath.Join(dir, "text")
	os.WriteFile(notAvro, []byte("hello\n"), 0o644)
	if _, _, err := readFile(t, notAvro, 10, avroOpen(position{}, false)); !isContent(err) {
		t.Errorf("plain text: %v", err)
	}
	good := filepath.Join(dir, "good")
	writeContainer(t, good, richSchema, ocf.Null, 2, richRecords(4))
	b, _ := os.ReadFile(good)
	truncated := filepath.Join(dir, "truncated")
	os.WriteFile(truncated, b[:len(b)-5], 0o644)
	evs, _, err := readFile(t, truncated, 10, avroOpen(position{}, false))
	if !isContent(err) || len(evs) != 2 {
		t.Errorf("truncated: %d events, %v", len(evs), err)
	}
}

func isContent(err error) bool {
	var ce *contentError
	return errors.As(err, &ce)
}

// A file written by the avro_event serializer, read back by the AVRO
// deserializer through the whole source.
func TestSpoolAvroEventFilesEndToEnd(t *testing.T) {
	h := newHarness(t, map[string]string{"deserializer": "avro"})
	b, err := serializer.New(sluicetest.Env("k1"), "sink.serializer", "avro_event", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	s, _ := b(&buf)
	s.AfterCreate()
	in := sluice.NewEvent([]byte("payload"))
	in.SetHeader("host", "h1")
	s.Write(in)
	s.BeforeClose()
	drop(t, h.dir, "events.avro", buf.String(), time.Hour)
	h.start()
	ev, err := h.rec.WaitFor(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Fingerprint computed by Avro Java 1.11 for Flume's Event schema.
	if got := ev[0].Headers[headerSchemaHash]; got != "8a878e615f1bfc26" {
		t.Fatalf("hash %q", got)
	}
	var rec struct {
		Headers map[string]string `avro:"headers"`
		Body    []byte            `avro:"body"`
	}
	if err := avro.Unmarshal(avro.MustParse(serializer.EventSchema), ev[0].Body, &rec); err != nil {
		t.Fatal(err)
	}
	if string(rec.Body) != "payload" || !reflect.DeepEqual(rec.Headers, map[string]string{"host": "h1"}) {
		t.Fatalf("record %+v", rec)
	}
	waitFor(t, "completed", func() bool { return exists(filepath.Join(h.dir, "events.avro.COMPLETED")) })
}
