package avroipc

import (
	"errors"
	"fmt"
	"strconv"
)

// This file is the little of Avro's binary encoding the protocol needs,
// written by hand: the schemas are fixed, and hand-written code does no
// reflection and no per-value allocation on the hot path.

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// appendLong appends v as a zig-zag varint.
func appendLong(dst []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		dst = append(dst, byte(u)|0x80)
		u >>= 7
	}
	return append(dst, byte(u))
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func appendBytes(dst, b []byte) []byte {
	return append(appendLong(dst, int64(len(b))), b...)
}

func appendString(dst []byte, s string) []byte {
	return append(appendLong(dst, int64(len(s))), s...)
}

// ErrTruncated means a value ran past the end of its frame.
var ErrTruncated = errors.New("truncated")

// decoder reads Avro binary values from one frame's payload. Lengths are
// checked against what is left before anything is sliced, so a value can
// never claim more than the frame holds.
type decoder struct {
	b   []byte
	off int
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: %s", d.off, fmt.Sprintf(format, args...))
}

func (d *decoder) truncated(what string) error {
	return fmt.Errorf("at byte %d: %s: %w", d.off, what, ErrTruncated)
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) readLong(what string) (int64, error) {
	var u uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if d.off >= len(d.b) {
			return 0, d.truncated(what)
		}
		c := d.b[d.off]
		d.off++
		if shift == 63 && c > 1 {
			return 0, d.errorf("%s: varint overflows 64 bits", what)
		}
		u |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int64(u>>1) ^ -int64(u&1), nil
		}
	}
	return 0, d.errorf("%s: varint longer than 10 bytes", what)
}

func (d *decoder) readInt(what string) (int32, error) {
	v, err := d.readLong(what)
	if err != nil {
		return 0, err
	}
	if v < -1<<31 || v > 1<<31-1 {
		return 0, d.errorf("%s: %d does not fit an int", what, v)
	}
	return int32(v), nil
}

func (d *decoder) readBool(what string) (bool, error) {
	if d.off >= len(d.b) {
		return false, d.truncated(what)
	}
	c := d.b[d.off]
	d.off++
	switch c {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, d.errorf("%s: %d is not a boolean", what, c)
}

// readBytes returns a slice of the payload, capped so that appending to it
// cannot overwrite what follows.
func (d *decoder) readBytes(what string) ([]byte, error) {
	n, err := d.readLong(what)
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, d.errorf("%s: negative length %d", what, n)
	}
	if n > int64(d.remaining()) {
		return nil, d.truncated(fmt.Sprintf("%s: length %d but %d bytes left", what, n, d.remaining()))
	}
	end := d.off + int(n)
	b := d.b[d.off:end:end]
	d.off = end
	return b, nil
}

func (d *decoder) readFixed(what string, n int) ([]byte, error) {
	if n > d.remaining() {
		return nil, d.truncated(what)
	}
	b := d.b[d.off : d.off+n]
	d.off += n
	return b, nil
}

// readUnionIndex reads a union branch index and checks it is below n.
func (d *decoder) readUnionIndex(what string, n int) (int, error) {
	v, err := d.readLong(what)
	if err != nil {
		return 0, err
	}
	if v < 0 || v >= int64(n) {
		return 0, d.errorf("%s: union index %d out of range", what, v)
	}
	return int(v), nil
}

// readBlockCount reads the item count that starts a block of an array or
// map. A negative count is followed by the block's size in bytes, which is
// only a hint and is skipped. Each item takes at least minItem bytes, which
// bounds the count by what is left.
func (d *decoder) readBlockCount(what string, minItem int) (int, error) {
	n, err := d.readLong(what)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		if n == -1<<63 {
			return 0, d.errorf("%s: block count out of range", what)
		}
		n = -n
		if _, err := d.readLong(what + " block size"); err != nil {
			return 0, err
		}
	}
	if n > int64(d.remaining()/minItem) {
		return 0, d.truncated(fmt.Sprintf("%s: block of %d items but %d bytes left", what, n, d.remaining()))
	}
	return int(n), nil
}

// skipBytesMap skips a map<bytes> (call metadata), checking its shape.
func (d *decoder) skipBytesMap(what string) error {
	for {
		n, err := d.readBlockCount(what, 2)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		for i := 0; i < n; i++ {
			if _, err := d.readBytes(what + " key"); err != nil {
				return err
			}
			if _, err := d.readBytes(what + " value"); err != nil {
				return err
			}
		}
	}
}
