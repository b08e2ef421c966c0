package hdfs

import (
	"bytes"
	"compress/zlib"
	"crypto/rand"
	"encoding/binary"
	"io"
	"strconv"
	"time"

	"github.com/sluiceio/sluice"
)

// Hadoop class names a SequenceFile header carries.
const (
	classLongWritable  = "org.apache.hadoop.io.LongWritable"
	classBytesWritable = "org.apache.hadoop.io.BytesWritable"
	classText          = "org.apache.hadoop.io.Text"
	classDefaultCodec  = "org.apache.hadoop.io.compress.DefaultCodec"
)

const (
	seqSyncSize     = 16
	seqSyncInterval = 5 * 1024 * (4 + seqSyncSize) // SequenceFile.SYNC_INTERVAL
	seqBlockSize    = 1000000                      // io.seqfile.compress.blocksize
)

// seqWriter writes a Hadoop SequenceFile (version 6) the way Flume's
// HDFSSequenceFile does through SequenceFile.Writer: key LongWritable (the
// event's timestamp header, or now), value BytesWritable (writeFormat
// Writable) or Text, no metadata, uncompressed or block-compressed with
// DefaultCodec (zlib). flush ends a batch as Flume's writer.sync() does: a
// sync marker, and with block compression the pending block.
type seqWriter struct {
	w     io.Writer
	pos   int64 // bytes written since the file began
	sync  [seqSyncSize]byte
	last  int64 // position after the last sync marker
	text  bool  // values are Text, not BytesWritable
	block bool
	now   func() time.Time

	rec []byte // one record being built
	// block compression buffers
	n                            int
	keyLens, keys, valLens, vals bytes.Buffer
	zbuf                         bytes.Buffer
	zw                           *zlib.Writer
}

func newSeqWriter(w io.Writer, text, block bool, now func() time.Time) *seqWriter {
	s := &seqWriter{w: w, text: text, block: block, now: now}
	_, _ = rand.Read(s.sync[:])
	return s
}

func (s *seqWriter) write(b []byte) error {
	n, err := s.w.Write(b)
	s.pos += int64(n)
	return err
}

// header writes SEQ6, the class names, the compression flags, the codec,
// an empty metadata map and the sync bytes.
func (s *seqWriter) header() error {
	h := []byte{'S', 'E', 'Q', 6}
	h = appendText(h, classLongWritable)
	if s.text {
		h = appendText(h, classText)
	} else {
		h = appendText(h, classBytesWritable)
	}
	if s.block {
		h = append(h, 1, 1)
		h = appendText(h, classDefaultCodec)
	} else {
		h = append(h, 0, 0)
	}
	h = binary.BigEndian.AppendUint32(h, 0) // metadata entries
	h = append(h, s.sync[:]...)
	return s.write(h)
}

// key is Flume's LongWritable key: the timestamp header, or the clock when
// the event has none. A header that is not a number fails the event, as
// Long.valueOf does in Flume.
func (s *seqWriter) key(e *sluice.Event) (int64, error) {
	if h, ok := e.Headers["timestamp"]; ok {
		v, err := strconv.ParseInt(h, 10, 64)
		if err != nil {
			return 0, errBadTimestamp{h}
		}
		return v, nil
	}
	return s.now().UnixMilli(), nil
}

type errBadTimestamp struct{ v string }

func (e errBadTimestamp) Error() string {
	return "the timestamp header " + strconv.Quote(e.v) + " is not a number of milliseconds (the SequenceFile key)"
}

func (s *seqWriter) value(dst []byte, body []byte) []byte {
	if s.text {
		dst = appendVLong(dst, int64(len(body)))
	} else {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	}
	return append(dst, body...)
}

func (s *seqWriter) valueLen(body []byte) int {
	if s.text {
		return vlongSize(int64(len(body))) + len(body)
	}
	return 4 + len(body)
}

func (s *seqWriter) append(e *sluice.Event) error {
	k, err := s.key(e)
	if err != nil {
		return err
	}
	if s.block {
		s.keyLens.Write(appendVLong(nil, 8))
		var kb [8]byte
		binary.BigEndian.PutUint64(kb[:], uint64(k))
		s.keys.Write(kb[:])
		s.valLens.Write(appendVLong(nil, int64(s.valueLen(e.Body))))
		s.vals.Write(s.value(nil, e.Body))
		s.n++
		if s.keys.Len()+s.vals.Len() >= seqBlockSize {
			return s.writeBlock()
		}
		return nil
	}
	if s.pos >= s.last+seqSyncInterval {
		if err := s.marker(); err != nil {
			return err
		}
	}
	vl := s.valueLen(e.Body)
	r := s.rec[:0]
	r = binary.BigEndian.AppendUint32(r, uint32(8+vl))
	r = binary.BigEndian.AppendUint32(r, 8)
	r = binary.BigEndian.AppendUint64(r, uint64(k))
	r = s.value(r, e.Body)
	s.rec = r
	return s.write(r)
}

// marker writes a sync marker unless one ends the file already.
func (s *seqWriter) marker() error {
	if s.pos == s.last {
		return nil
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(0xffffffff)) // SYNC_ESCAPE
	b = append(b, s.sync[:]...)
	err := s.write(b)
	s.last = s.pos
	return err
}

// writeBlock writes the pending records as one compressed block.
func (s *seqWriter) writeBlock() error {
	if s.n == 0 {
		return nil
	}
	if err := s.marker(); err != nil {
		return err
	}
	out := appendVLong(nil, int64(s.n))
	for _, b := range []*bytes.Buffer{&s.keyLens, &s.keys, &s.valLens, &s.vals} {
		s.zbuf.Reset()
		if s.zw == nil {
			s.zw = zlib.NewWriter(&s.zbuf)
		} else {
			s.zw.Reset(&s.zbuf)
		}
		if _, err := s.zw.Write(b.Bytes()); err != nil {
			return err
		}
		if err := s.zw.Close(); err != nil {
			return err
		}
		out = appendVLong(out, int64(s.zbuf.Len()))
		out = append(out, s.zbuf.Bytes()...)
		b.Reset()
	}
	s.n = 0
	return s.write(out)
}

// flush ends a batch: Flume calls SequenceFile.Writer.sync() before hflush.
func (s *seqWriter) flush() error {
	if s.block {
		return s.writeBlock()
	}
	return s.marker()
}

func (s *seqWriter) close() error {
	if s.block {
		return s.writeBlock()
	}
	return nil
}

// appendText is Hadoop's Text.writeString: a VInt length and UTF-8 bytes.
func appendText(b []byte, s string) []byte {
	b = appendVLong(b, int64(len(s)))
	return append(b, s...)
}

// appendVLong is Hadoop's WritableUtils.writeVLong.
func appendVLong(b []byte, i int64) []byte {
	if i >= -112 && i <= 127 {
		return append(b, byte(i))
	}
	l := -112
	if i < 0 {
		i ^= -1
		l = -120
	}
	for tmp := i; tmp != 0; tmp >>= 8 {
		l--
	}
	b = append(b, byte(l))
	if l < -120 {
		l = -(l + 120)
	} else {
		l = -(l + 112)
	}
	for idx := l; idx != 0; idx-- {
		shift := uint((idx - 1) * 8)
		b = append(b, byte(i>>shift))
	}
	return b
}

func vlongSize(i int64) int { return len(appendVLong(nil, i)) }
