package file

import (
	"slices"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/wal"
)

// entry is one queued event: where its put record is, and the event
// itself while it is within the in-memory cache budget (nil otherwise: a
// take reads it back from the log).
type entry struct {
	ptr  wal.Ptr
	size uint32 // put record size on disk
	mem  uint32 // bytes charged to the cache (0 when ev is nil)
	ev   *sluice.Event
}

// ring is a growable double-ended queue of entries: pushBack for put
// commits, popFront for takes, pushFront for rolled-back takes, all as
// batch copies. Its length is a power of two so indexes wrap with a mask.
type ring struct {
	buf  []entry
	head int
	n    int
}

const (
	minRing     = 16
	shrinkAbove = 1 << 12
)

func (r *ring) mask() int { return len(r.buf) - 1 }

func (r *ring) grow(need int) {
	if need <= len(r.buf) {
		return
	}
	size := max(len(r.buf), minRing)
	for size < need {
		size *= 2
	}
	r.resize(size)
}

func (r *ring) resize(size int) {
	nb := make([]entry, size)
	r.copyOut(nb[:r.n], r.head)
	r.buf, r.head = nb, 0
}

func (r *ring) copyOut(dst []entry, from int) {
	if len(dst) == 0 {
		return
	}
	i := from & r.mask()
	k := copy(dst, r.buf[i:])
	copy(dst[k:], r.buf)
}

func (r *ring) copyIn(i int, src []entry) {
	k := copy(r.buf[i:], src)
	copy(r.buf, src[k:])
}

func (r *ring) pushBack(es []entry) {
	r.grow(r.n + len(es))
	r.copyIn((r.head+r.n)&r.mask(), es)
	r.n += len(es)
}

// pushFront puts es back at the head in their order.
func (r *ring) pushFront(es []entry) {
	r.grow(r.n + len(es))
	r.head = (r.head - len(es)) & r.mask()
	r.copyIn(r.head, es)
	r.n += len(es)
}

// popFront appends up to max entries from the head to dst.
func (r *ring) popFront(dst []entry, max int) []entry {
	k := min(max, r.n)
	if k == 0 {
		return dst
	}
	start := len(dst)
	dst = slices.Grow(dst, k)[:start+k]
	r.copyOut(dst[start:], r.head)
	i := r.head
	if end := i + k; end <= len(r.buf) {
		clear(r.buf[i:end])
	} else {
		clear(r.buf[i:])
		clear(r.buf[:end-len(r.buf)])
	}
	r.head = (r.head + k) & r.mask()
	r.n -= k
	if len(r.buf) > shrinkAbove && r.n < len(r.buf)/8 {
		r.resize(len(r.buf) / 2)
	}
	return dst
}

// each calls f for every queued entry, head first.
func (r *ring) each(f func(e *entry)) {
	for i := 0; i < r.n; i++ {
		f(&r.buf[(r.head+i)&r.mask()])
	}
}
