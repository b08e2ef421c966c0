package spooldir

import (
	"bytes"
	"compress/bzip2"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"
	"github.com/klauspost/compress/zstd"
)

// Header names Flume's AvroEventDeserializer sets.
const (
	headerSchemaHash    = "flume.avro.schema.hash"
	headerSchemaLiteral = "flume.avro.schema.literal"
)

// avroReader is the AVRO deserializer: every record of an Avro container
// file becomes an event whose body is the record's binary encoding (the
// writer schema's, as Flume re-encodes it), with the schema's CRC-64-AVRO
// fingerprint (hex, as Flume writes it) or its text in a header.
//
// Positions are the offset of the sync marker before the current block (the
// offset Flume stores) and the number of that block's records already
// delivered, so a restart resumes at the next record, not the block start.
type avroReader struct {
	f       *os.File
	c       *countingReader
	h       *containerHeader
	schema  avro.Schema
	decode  func([]byte) ([]byte, error)
	hdrKey  string
	hdrVal  string
	mark    int64  // offset of the sync marker before the current block
	data    []byte // the current block, decompressed
	cursor  int
	count   int64 // records in the current block
	idx     int64 // records of it returned so far
	after   int64 // offset of the sync marker after the current block
	done    bool
	zstdDec *zstd.Decoder
}

func newAvroReader(f *os.File, p position, literal bool) (*avroReader, error) {
	r := &avroReader{f: f, c: newCountingReader(f, 0)}
	h, err := readHeader(r.c)
	if err != nil {
		return nil, &contentError{off: r.c.off, msg: err.Error()}
	}
	r.h = h
	raw := h.meta["avro.schema"]
	r.schema, err = avro.ParseBytesWithCache(raw, "", &avro.SchemaCache{})
	if err != nil {
		return nil, &contentError{off: 0, msg: fmt.Sprintf("container schema: %v", err)}
	}
	if literal {
		r.hdrKey, r.hdrVal = headerSchemaLiteral, string(raw)
	} else {
		fp, err := r.schema.FingerprintUsing(avro.CRC64AvroLE)
		if err != nil {
			return nil, err
		}
		r.hdrKey, r.hdrVal = headerSchemaHash, hex.EncodeToString(fp)
	}
	if r.decode, err = r.codec(string(h.meta["avro.codec"])); err != nil {
		return nil, &contentError{off: 0, msg: err.Error()}
	}
	r.mark = h.end - syncSize
	r.after = r.mark
	if p.off > r.mark {
		if err := r.seekSync(p.off); err != nil {
			return nil, err
		}
	}
	if p.skip > 0 && !r.done {
		if err := r.loadBlock(); err != nil {
			return nil, err
		}
		for ; r.idx < p.skip && r.idx < r.count; r.idx++ {
			end, err := skipDatum(r.schema, r.data, r.cursor)
			if err != nil {
				return nil, &contentError{off: r.mark, msg: fmt.Sprintf("record %d of the block: %v", r.idx, err)}
			}
			r.cursor = end
		}
	}
	return r, nil
}

func (r *avroReader) codec(name string) (func([]byte) ([]byte, error), error) {
	switch name {
	case "", "null":
		return func(b []byte) ([]byte, error) { return b, nil }, nil
	case "deflate":
		return (&ocf.DeflateCodec{}).Decode, nil
	case "snappy":
		return (&ocf.SnappyCodec{}).Decode, nil
	case "bzip2":
		return func(b []byte) ([]byte, error) { return io.ReadAll(bzip2.NewReader(bytes.NewReader(b))) }, nil
	case "zstandard":
		d, err := zstd.NewReader(nil)
		if err != nil {
			return nil, err
		}
		r.zstdDec = d
		return func(b []byte) ([]byte, error) { return d.DecodeAll(b, nil) }, nil
	}
	return nil, fmt.Errorf("container codec %q is not supported (null, deflate, snappy, bzip2, zstandard)", name)
}

// seekSync positions the reader at the first sync marker at or after off,
// as Avro's DataFileReader.sync does with Flume's stored offset.
func (r *avroReader) seekSync(off int64) error {
	if _, err := r.f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	r.c = newCountingReader(r.f, off)
	var win []byte
	for {
		b, err := r.c.ReadByte()
		if err == io.EOF {
			r.done = true
			return nil
		}
		if err != nil {
			return err
		}
		win = append(win, b)
		if len(win) > syncSize {
			win = win[1:]
		}
		if len(win) == syncSize && bytes.Equal(win, r.h.sync[:]) {
			r.mark = r.c.off - syncSize
			r.after = r.mark
			return nil
		}
	}
}

// loadBlock reads the block after the sync marker at r.after.
func (r *avroReader) loadBlock() error {
	r.mark = r.after
	r.data, r.cursor, r.count, r.idx = nil, 0, 0, 0
	start := r.c.off
	count, err := r.c.long()
	if err == io.EOF {
		r.done = true
		return nil
	}
	if err != nil {
		return &contentError{off: start, msg: fmt.Sprintf("block header: %v", err)}
	}
	if count < 0 {
		return &contentError{off: start, msg: fmt.Sprintf("block record count %d", count)}
	}
	raw, err := r.c.bytesField(1 << 30)
	if err != nil {
		return &contentError{off: start, msg: fmt.Sprintf("block data: %v", err)}
	}
	var sync [syncSize]byte
	if err := r.c.full(sync[:]); err != nil || sync != r.h.sync {
		return &contentError{off: r.c.off, msg: "block does not end with the file's sync marker"}
	}
	data, err := r.decode(raw)
	if err != nil {
		return &contentError{off: start, msg: fmt.Sprintf("decompress block: %v", err)}
	}
	r.data, r.count, r.after = data, count, r.c.off-syncSize
	return nil
}

func (r *avroReader) pos() position {
	if r.idx >= r.count {
		return position{off: r.after}
	}
	return position{off: r.mark, skip: r.idx}
}

func (r *avroReader) close() error {
	if r.zstdDec != nil {
		r.zstdDec.Close()
	}
	return r.f.Close()
}

func (r *avroReader) next(b *batch, n int) error {
	for produced := 0; produced < n; {
		if r.idx >= r.count {
			if r.done {
				return nil
			}
			if err := r.loadBlock(); err != nil {
				return err
			}
			continue
		}
		end, err := skipDatum(r.schema, r.data, r.cursor)
		if err != nil {
			return &contentError{off: r.mark, msg: fmt.Sprintf("record %d of the block: %v", r.idx, err)}
		}
		e := b.add(r.data[r.cursor:end])
		e.SetHeader(r.hdrKey, r.hdrVal)
		r.cursor = end
		r.idx++
		produced++
	}
	return nil
}

var errShort = errors.New("record runs past the end of its block")

// skipDatum returns the offset just after the datum of schema s that
// starts at b[i].
func skipDatum(s avro.Schema, b []byte, i int) (int, error) {
	switch s := s.(type) {
	case *avro.RefSchema:
		return skipDatum(s.Schema(), b, i)
	case *avro.RecordSchema:
		var err error
		for _, f := range s.Fields() {
			if i, err = skipDatum(f.Type(), b, i); err != nil {
				return 0, err
			}
		}
		return i, nil
	case *avro.EnumSchema:
		_, i, err := long(b, i)
		return i, err
	case *avro.FixedSchema:
		return skipN(b, i, int64(s.Size()))
	case *avro.UnionSchema:
		k, i, err := long(b, i)
		if err != nil {
			return 0, err
		}
		types := s.Types()
		if k < 0 || k >= int64(len(types)) {
			return 0, fmt.Errorf("union branch %d out of range", k)
		}
		return skipDatum(types[k], b, i)
	case *avro.ArraySchema:
		return skipBlocks(b, i, func(i int) (int, error) { return skipDatum(s.Items(), b, i) })
	case *avro.MapSchema:
		return skipBlocks(b, i, func(i int) (int, error) {
			i, err := skipLenPrefixed(b, i)
			if err != nil {
				return 0, err
			}
			return skipDatum(s.Values(), b, i)
		})
	}
	switch s.Type() {
	case avro.Null:
		return i, nil
	case avro.Boolean:
		return skipN(b, i, 1)
	case avro.Int, avro.Long:
		_, i, err := long(b, i)
		return i, err
	case avro.Float:
		return skipN(b, i, 4)
	case avro.Double:
		return skipN(b, i, 8)
	case avro.Bytes, avro.String:
		return skipLenPrefixed(b, i)
	}
	return 0, fmt.Errorf("cannot read schema type %s", s.Type())
}

func long(b []byte, i int) (int64, int, error) {
	if i > len(b) {
		return 0, 0, errShort
	}
	v, rest, ok := takeLong(b[i:])
	if !ok {
		return 0, 0, errShort
	}
	return v, len(b) - len(rest), nil
}

func skipN(b []byte, i int, n int64) (int, error) {
	if n < 0 || int64(len(b)-i) < n {
		return 0, errShort
	}
	return i + int(n), nil
}

func skipLenPrefixed(b []byte, i int) (int, error) {
	n, i, err := long(b, i)
	if err != nil {
		return 0, err
	}
	return skipN(b, i, n)
}

// skipBlocks skips an array's or map's blocks; a negative count is followed
// by the block's byte size.
func skipBlocks(b []byte, i int, item func(int) (int, error)) (int, error) {
	for {
		n, j, err := long(b, i)
		if err != nil {
			return 0, err
		}
		i = j
		if n == 0 {
			return i, nil
		}
		if n < 0 {
			n = -n
			if _, i, err = long(b, i); err != nil {
				return 0, err
			}
		}
		for ; n > 0; n-- {
			if i, err = item(i); err != nil {
				return 0, err
			}
		}
	}
}
