package avroipc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sluiceio/sluice/internal/budget"
)

// A frame, as Avro's Netty transport writes it in both directions (all
// integers big-endian):
//
//	int32 serial      the client's call number; the server echoes it
//	int32 nBuffers
//	nBuffers × { int32 length; length bytes }
//
// The buffers concatenated are one Avro binary stream; where it is cut
// means nothing. Java's decoder never completes a frame of zero buffers, so
// writers here always send at least one.

// DefaultMaxFrameSize is the default limit on the bytes of one frame's
// buffers together (64 MiB).
const DefaultMaxFrameSize = 64 << 20

// frameHeaderLen is the header of a frame written as a single buffer:
// serial, nBuffers = 1, length.
const frameHeaderLen = 12

// FrameTooLargeError reports a frame whose buffers claim more bytes, or more
// buffers, than the limit allows. Nothing that large was allocated.
type FrameTooLargeError struct {
	Claimed int64 // bytes (or buffers, when Buffers is set) the frame claims
	Limit   int64
	Buffers bool
}

func (e *FrameTooLargeError) Error() string {
	if e.Buffers {
		return fmt.Sprintf("frame claims %d buffers, limit %d", e.Claimed, e.Limit)
	}
	return fmt.Sprintf("frame claims %d bytes, limit %d", e.Claimed, e.Limit)
}

// FrameReader reads frames from a stream. It allocates a frame's payload as
// its bytes arrive, never up front from the lengths the frame claims, and
// refuses frames over its limit before reading them.
type FrameReader struct {
	r    io.Reader
	max  int
	hint int // size of the previous frame: the first allocation for the next
	hdr  [8]byte

	budget *budget.Budget // shared with the other connections; nil: none
	wait   time.Duration  // how long a frame waits for room in it
	held   int64          // bytes of the budget the current frame holds
}

// SetBudget makes the reader take every byte it allocates for a frame
// from b as the frame grows, waiting up to wait for room; a frame that gets
// none fails with a *budget.ExceededError. The bytes are held until
// Release.
func (f *FrameReader) SetBudget(b *budget.Budget, wait time.Duration) {
	f.budget, f.wait = b, wait
}

// Release gives back the budget the last frame held: call it once that
// frame's payload (and the events decoded from it) are no longer needed
// by this connection.
func (f *FrameReader) Release() {
	f.budget.Release(f.held)
	f.held = 0
}

// take takes n bytes from the budget for the frame being read.
func (f *FrameReader) take(n int) error {
	if f.budget == nil {
		return nil
	}
	if err := f.budget.Acquire(int64(n), f.wait); err != nil {
		return err
	}
	f.held += int64(n)
	return nil
}

// give gives n bytes of the frame's back (a buffer it grew out of).
func (f *FrameReader) give(n int) {
	if f.budget == nil {
		return
	}
	f.budget.Release(int64(n))
	f.held -= int64(n)
}

// NewFrameReader reads frames from r, refusing frames larger than maxSize
// bytes (DefaultMaxFrameSize when maxSize <= 0). Wrap a network connection
// in a bufio.Reader first.
func NewFrameReader(r io.Reader, maxSize int) *FrameReader {
	if maxSize <= 0 {
		maxSize = DefaultMaxFrameSize
	}
	return &FrameReader{r: r, max: maxSize}
}

// MaxSize is the frame limit in bytes.
func (f *FrameReader) MaxSize() int { return f.max }

// ReadFrame reads the next frame and returns its serial and its buffers
// concatenated. The payload is newly allocated and belongs to the caller.
// A stream that ends cleanly between frames returns io.EOF; one that ends
// inside a frame returns an error wrapping io.ErrUnexpectedEOF.
func (f *FrameReader) ReadFrame() (serial int32, payload []byte, err error) {
	f.Release()
	defer func() {
		if err != nil {
			f.Release()
		}
	}()
	if n, err := io.ReadFull(f.r, f.hdr[:]); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return 0, nil, io.EOF
		}
		return 0, nil, fmt.Errorf("frame header: read %d of 8 bytes: %w", n, unexpected(err))
	}
	serial = int32(binary.BigEndian.Uint32(f.hdr[0:4]))
	nbuf := int32(binary.BigEndian.Uint32(f.hdr[4:8]))
	if nbuf < 0 {
		return serial, nil, fmt.Errorf("frame %d claims %d buffers", serial, nbuf)
	}
	// Every buffer costs at least its 4-byte length.
	if int64(nbuf) > int64(f.max/4) {
		return serial, nil, &FrameTooLargeError{Claimed: int64(nbuf), Limit: int64(f.max / 4), Buffers: true}
	}
	// The first allocation is the previous frame's size, taken from the
	// budget only once this frame's first buffer says it has bytes.
	first := min(max(f.hint, 512), f.max)
	var buf []byte
	var total int64
	var lenb [4]byte
	for i := int32(0); i < nbuf; i++ {
		if n, err := io.ReadFull(f.r, lenb[:]); err != nil {
			return serial, nil, fmt.Errorf("frame %d: length of buffer %d of %d: read %d of 4 bytes: %w", serial, i+1, nbuf, n, unexpected(err))
		}
		l := int32(binary.BigEndian.Uint32(lenb[:]))
		if l < 0 {
			return serial, nil, fmt.Errorf("frame %d: buffer %d of %d claims %d bytes", serial, i+1, nbuf, l)
		}
		total += int64(l)
		if total > int64(f.max) {
			return serial, nil, &FrameTooLargeError{Claimed: total, Limit: int64(f.max)}
		}
		if f.budget != nil && total > f.budget.Limit() {
			return serial, nil, fmt.Errorf("frame %d: %w", serial, &budget.ExceededError{Want: total, Limit: f.budget.Limit()})
		}
		for rem := int(l); rem > 0; {
			if len(buf) == cap(buf) {
				// Grow by doubling, but never past what this buffer
				// claims: capacity stays within twice what arrived.
				nc := min(max(2*cap(buf), 4096), len(buf)+rem)
				if buf == nil {
					nc = min(first, len(buf)+rem)
				}
				// Both buffers exist during the copy: the budget holds
				// both until the old one is dropped.
				if err := f.take(nc); err != nil {
					return serial, nil, fmt.Errorf("frame %d: %w", serial, err)
				}
				nb := make([]byte, len(buf), nc)
				copy(nb, buf)
				f.give(cap(buf))
				buf = nb
			}
			chunk := min(rem, cap(buf)-len(buf))
			n, err := io.ReadFull(f.r, buf[len(buf):len(buf)+chunk])
			buf = buf[:len(buf)+n]
			rem -= n
			if err != nil {
				return serial, nil, fmt.Errorf("frame %d: buffer %d of %d: read %d of %d bytes: %w", serial, i+1, nbuf, int(l)-rem, l, unexpected(err))
			}
		}
	}
	f.hint = len(buf)
	if buf == nil {
		buf = []byte{}
	}
	return serial, buf, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// AppendFrame appends a frame holding payload as one buffer.
func AppendFrame(dst []byte, serial int32, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(serial))
	dst = binary.BigEndian.AppendUint32(dst, 1)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// beginFrame reserves room for a one-buffer frame header; the payload is
// then appended and finishFrame fills the header in, with no copy.
func beginFrame(dst []byte) ([]byte, int) {
	start := len(dst)
	return append(dst, make([]byte, frameHeaderLen)...), start
}

func finishFrame(dst []byte, start int, serial int32) []byte {
	h := dst[start : start+frameHeaderLen]
	binary.BigEndian.PutUint32(h[0:4], uint32(serial))
	binary.BigEndian.PutUint32(h[4:8], 1)
	binary.BigEndian.PutUint32(h[8:12], uint32(len(dst)-start-frameHeaderLen))
	return dst
}
