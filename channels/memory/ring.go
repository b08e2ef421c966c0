package memory

import (
	"slices"

	"github.com/sluiceio/sluice"
)

// ring is a growable double-ended queue of events: pushBack for commits,
// popFront for takes and pushFront for rolled-back takes, all as batch
// copies. The buffer length is a power of two so indexes wrap with a mask.
type ring struct {
	buf  []*sluice.Event
	head int
	n    int
	// peak is the most events held since the last review; takes counts
	// popFront calls since then.
	peak, takes int
}

const (
	minRing = 16
	// Buffers above this many slots shrink when mostly empty, so a burst
	// into a large channel does not pin its peak memory forever.
	shrinkAbove = 1 << 12
	// reviewEvery is how many takes pass between looks at the buffer's
	// size. Judging by the peak of a whole stretch, not the moment, keeps
	// a queue that empties and refills under steady load from halving and
	// regrowing its buffer (a copy and an allocation) every time.
	reviewEvery = 64
)

func (r *ring) mask() int { return len(r.buf) - 1 }

// grow makes room for at least need events in total, keeping order.
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
	nb := make([]*sluice.Event, size)
	r.copyOut(nb[:r.n], r.head)
	r.buf, r.head = nb, 0
}

// copyOut copies len(dst) events starting at logical position from.
func (r *ring) copyOut(dst []*sluice.Event, from int) {
	if len(dst) == 0 {
		return
	}
	i := from & r.mask()
	k := copy(dst, r.buf[i:])
	copy(dst[k:], r.buf)
}

// copyIn copies src into the buffer starting at physical index i.
func (r *ring) copyIn(i int, src []*sluice.Event) {
	k := copy(r.buf[i:], src)
	copy(r.buf, src[k:])
}

func (r *ring) pushBack(events []*sluice.Event) {
	r.grow(r.n + len(events))
	r.copyIn((r.head+r.n)&r.mask(), events)
	r.n += len(events)
	r.peak = max(r.peak, r.n)
}

// pushFront puts events back at the head, keeping their order: the first
// of events becomes the new head.
func (r *ring) pushFront(events []*sluice.Event) {
	r.grow(r.n + len(events))
	r.head = (r.head - len(events)) & r.mask()
	r.copyIn(r.head, events)
	r.n += len(events)
	r.peak = max(r.peak, r.n)
}

// popFront appends up to max events from the head to dst.
func (r *ring) popFront(dst []*sluice.Event, max int) []*sluice.Event {
	if k := min(max, r.n); k > 0 {
		start := len(dst)
		dst = slices.Grow(dst, k)[:start+k]
		r.copyOut(dst[start:], r.head)
		// Clear the vacated slots so the ring does not keep events alive.
		i := r.head
		if end := i + k; end <= len(r.buf) {
			clear(r.buf[i:end])
		} else {
			clear(r.buf[i:])
			clear(r.buf[:end-len(r.buf)])
		}
		r.head = (r.head + k) & r.mask()
		r.n -= k
	}
	if r.takes++; r.takes >= reviewEvery {
		r.review()
	}
	return dst
}

// review shrinks a large buffer that held at most a quarter of its slots
// since the last review, to twice that peak (not below shrinkAbove).
func (r *ring) review() {
	size := len(r.buf)
	for size > shrinkAbove && r.peak <= size/4 {
		size /= 2
	}
	if size < len(r.buf) {
		r.resize(size)
	}
	r.peak, r.takes = r.n, 0
}
