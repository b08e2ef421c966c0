package spooldir

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Pieces of the Avro object container format shared by the position file
// (Flume's tracker is a container file) and the AVRO deserializer.

var avroMagic = []byte{'O', 'b', 'j', 1}

const syncSize = 16

// countingReader is a buffered reader that knows its file offset.
type countingReader struct {
	br  *bufio.Reader
	off int64
}

func newCountingReader(r io.Reader, off int64) *countingReader {
	return &countingReader{br: bufio.NewReaderSize(r, 64<<10), off: off}
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.br.ReadByte()
	if err == nil {
		c.off++
	}
	return b, err
}

func (c *countingReader) full(p []byte) error {
	n, err := io.ReadFull(c.br, p)
	c.off += int64(n)
	return err
}

// long reads a zig-zag varint.
func (c *countingReader) long() (int64, error) {
	u, err := binary.ReadUvarint(c)
	if err != nil {
		return 0, err
	}
	return int64(u>>1) ^ -int64(u&1), nil
}

// bytesField reads a length-prefixed byte string of at most limit bytes.
func (c *countingReader) bytesField(limit int64) ([]byte, error) {
	n, err := c.long()
	if err != nil {
		return nil, err
	}
	if n < 0 || n > limit {
		return nil, fmt.Errorf("length %d out of range", n)
	}
	b := make([]byte, n)
	return b, c.full(b)
}

// containerHeader is the start of a container file.
type containerHeader struct {
	meta map[string][]byte
	sync [syncSize]byte
	end  int64 // offset of the first block
}

// readHeader reads the magic, the metadata map and the sync marker.
func readHeader(c *countingReader) (*containerHeader, error) {
	magic := make([]byte, 4)
	if err := c.full(magic); err != nil || !bytes.Equal(magic, avroMagic) {
		return nil, errors.New("not an Avro container file (no Obj\\x01 magic)")
	}
	h := &containerHeader{meta: map[string][]byte{}}
	for {
		n, err := c.long()
		if err != nil {
			return nil, fmt.Errorf("container metadata: %w", err)
		}
		if n == 0 {
			break
		}
		if n < 0 { // a negated count is followed by the block's byte size
			n = -n
			if _, err := c.long(); err != nil {
				return nil, fmt.Errorf("container metadata: %w", err)
			}
		}
		for i := int64(0); i < n; i++ {
			k, err := c.bytesField(1 << 20)
			if err != nil {
				return nil, fmt.Errorf("container metadata: %w", err)
			}
			v, err := c.bytesField(64 << 20)
			if err != nil {
				return nil, fmt.Errorf("container metadata: %w", err)
			}
			h.meta[string(k)] = v
		}
	}
	if err := c.full(h.sync[:]); err != nil {
		return nil, fmt.Errorf("container sync marker: %w", err)
	}
	h.end = c.off
	return h, nil
}

// appendLong appends a zig-zag varint.
func appendLong(dst []byte, v int64) []byte {
	return binary.AppendUvarint(dst, uint64((v<<1)^(v>>63)))
}

func appendBytes(dst, b []byte) []byte {
	return append(appendLong(dst, int64(len(b))), b...)
}

// appendHeader appends a container header with meta written in the given
// key order (a positive count, as Avro Java writes it).
func appendHeader(dst []byte, keys []string, meta map[string][]byte, sync [syncSize]byte) []byte {
	dst = append(dst, avroMagic...)
	dst = appendLong(dst, int64(len(keys)))
	for _, k := range keys {
		dst = appendBytes(dst, []byte(k))
		dst = appendBytes(dst, meta[k])
	}
	dst = appendLong(dst, 0)
	return append(dst, sync[:]...)
}

// appendBlock appends one block of count records.
func appendBlock(dst []byte, count int64, data []byte, sync [syncSize]byte) []byte {
	dst = appendLong(dst, count)
	dst = appendBytes(dst, data)
	return append(dst, sync[:]...)
}
