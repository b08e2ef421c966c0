package hdfs

import (
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/snappy"
	"github.com/pierrec/lz4/v4"
)

// codec is one Hadoop compression codec Sluice can write.
type codec struct {
	class    string // Hadoop's class name
	ext      string // getDefaultExtension
	seqClass string // class to name in a SequenceFile header ("" if not for SequenceFiles)
	stream   func(w io.Writer) compressor
}

// hadoopCodecs lists Hadoop's default io.compression.codecs. A nil stream
// means Sluice cannot write it; why says why.
var hadoopCodecs = []struct {
	codec
	why string
}{
	{codec: codec{class: "org.apache.hadoop.io.compress.DefaultCodec", ext: ".deflate", seqClass: "org.apache.hadoop.io.compress.DefaultCodec", stream: newZlib}},
	{codec: codec{class: "org.apache.hadoop.io.compress.DeflateCodec", ext: ".deflate", seqClass: "org.apache.hadoop.io.compress.DeflateCodec", stream: newZlib}},
	{codec: codec{class: "org.apache.hadoop.io.compress.GzipCodec", ext: ".gz", stream: newGzip}},
	{codec: codec{class: "org.apache.hadoop.io.compress.SnappyCodec", ext: ".snappy", stream: newSnappy}},
	{codec: codec{class: "org.apache.hadoop.io.compress.Lz4Codec", ext: ".lz4", stream: newLz4}},
	{codec: codec{class: "org.apache.hadoop.io.compress.BZip2Codec", ext: ".bz2"}, why: "Go has no bzip2 compressor"},
	{codec: codec{class: "org.apache.hadoop.io.compress.ZStandardCodec", ext: ".zst"}, why: "Hadoop reads zstd only with its native library, so Sluice does not write it"},
}

// lookupCodec matches a codeC value as Flume does: the class name, its
// simple name, or the simple name without "Codec", ignoring case.
func lookupCodec(name string) (*codec, error) {
	var names []string
	for i := range hadoopCodecs {
		c := &hadoopCodecs[i]
		simple := c.class[strings.LastIndexByte(c.class, '.')+1:]
		names = append(names, strings.TrimSuffix(simple, "Codec"))
		if name == c.class || strings.EqualFold(name, simple) || strings.EqualFold(name, strings.TrimSuffix(simple, "Codec")) {
			if c.stream == nil {
				return nil, fmt.Errorf("%q is not supported: %s", name, c.why)
			}
			return &c.codec, nil
		}
	}
	return nil, fmt.Errorf("unknown codec %q (one of %s)", name, strings.Join(names, ", "))
}

// compressor is Hadoop's CompressionOutputStream as Flume drives it: the
// serializer writes; finish ends the compressed unit at every batch (a gzip
// member, a zlib stream, a block), so what was flushed is readable on its
// own; writing after finish starts a new unit.
type compressor interface {
	io.Writer
	finish() error
}

// streamC is a codec whose unit is one whole stream (a gzip member, a
// zlib stream): finish closes it, and the next write starts another.
type streamC struct {
	w       io.Writer
	z       resetWriter
	mk      func(io.Writer) resetWriter
	started bool
}

type resetWriter interface {
	io.WriteCloser
	Reset(io.Writer)
}

func newGzip(w io.Writer) compressor {
	return &streamC{w: w, mk: func(w io.Writer) resetWriter { return gzip.NewWriter(w) }}
}

func newZlib(w io.Writer) compressor {
	return &streamC{w: w, mk: func(w io.Writer) resetWriter { return zlib.NewWriter(w) }}
}

func (g *streamC) Write(p []byte) (int, error) {
	if !g.started {
		if g.z == nil {
			g.z = g.mk(g.w)
		} else {
			g.z.Reset(g.w)
		}
		g.started = true
	}
	return g.z.Write(p)
}

func (g *streamC) finish() error {
	if !g.started {
		return nil
	}
	g.started = false
	return g.z.Close()
}

// blockC is Hadoop's BlockCompressorStream framing, used by SnappyCodec and
// Lz4Codec: per block, the uncompressed length (int32) and one chunk, its
// compressed length (int32) and bytes. Blocks stay under the 256 KiB
// buffer Hadoop's decompressors use by default.
type blockC struct {
	w    io.Writer
	buf  []byte
	out  []byte
	comp func(dst, src []byte) ([]byte, error)
	max  int
}

const hadoopCodecBuffer = 256 * 1024

func newSnappy(w io.Writer) compressor {
	return &blockC{w: w, max: hadoopCodecBuffer - (hadoopCodecBuffer/6 + 32), comp: func(dst, src []byte) ([]byte, error) {
		return snappy.Encode(dst[:cap(dst)], src), nil
	}}
}

func newLz4(w io.Writer) compressor {
	return &blockC{w: w, max: hadoopCodecBuffer - (hadoopCodecBuffer/255 + 16), comp: func(dst, src []byte) ([]byte, error) {
		need := lz4.CompressBlockBound(len(src))
		if cap(dst) < need {
			dst = make([]byte, need)
		}
		var c lz4.Compressor
		n, err := c.CompressBlock(src, dst[:need])
		if err != nil {
			return nil, err
		}
		if n == 0 && len(src) > 0 {
			return nil, fmt.Errorf("lz4: block did not compress")
		}
		return dst[:n], nil
	}}
}

func (b *blockC) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		room := b.max - len(b.buf)
		if room == 0 {
			if err := b.finish(); err != nil {
				return n - len(p), err
			}
			continue
		}
		k := min(room, len(p))
		b.buf = append(b.buf, p[:k]...)
		p = p[k:]
	}
	return n, nil
}

func (b *blockC) finish() error {
	if len(b.buf) == 0 {
		return nil
	}
	c, err := b.comp(b.out, b.buf)
	if err != nil {
		return err
	}
	b.out = c[:0]
	hdr := binary.BigEndian.AppendUint32(nil, uint32(len(b.buf)))
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(len(c)))
	b.buf = b.buf[:0]
	if _, err := b.w.Write(hdr); err != nil {
		return err
	}
	_, err = b.w.Write(c)
	return err
}
