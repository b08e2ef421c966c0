package memory

import "slices"

// ringOf is a growable double-ended queue: batch pushes at both ends and
// batch pops at the front, all as copies. The buffer length is a power of
// two so indexes wrap with a mask. The channel's queue keeps its segments
// in one.
type ringOf[T any] struct {
	buf  []T
	head int
	n    int
	// peak is the most items held since the last review; takes counts
	// pops since then.
	peak, takes int
}

const (
	minRing = 16
	// Buffers above this many slots shrink when mostly empty, so a burst
	// into a large channel does not pin its peak memory forever.
	shrinkAbove = 1 << 12
	// reviewEvery is how many pops pass between looks at the buffer's
	// size. Judging by the peak of a whole stretch, not the moment, keeps
	// a queue that empties and refills under steady load from halving and
	// regrowing its buffer (a copy and an allocation) every time.
	reviewEvery = 64
)

func (r *ringOf[T]) mask() int { return len(r.buf) - 1 }

// grow makes room for at least need items in total, keeping order.
func (r *ringOf[T]) grow(need int) {
	if need <= len(r.buf) {
		return
	}
	size := max(len(r.buf), minRing)
	for size < need {
		size *= 2
	}
	r.resize(size)
}

func (r *ringOf[T]) resize(size int) {
	nb := make([]T, size)
	r.copyOut(nb[:r.n], r.head)
	r.buf, r.head = nb, 0
}

// copyOut copies len(dst) items starting at logical position from.
func (r *ringOf[T]) copyOut(dst []T, from int) {
	if len(dst) == 0 {
		return
	}
	i := from & r.mask()
	k := copy(dst, r.buf[i:])
	copy(dst[k:], r.buf)
}

// copyIn copies src into the buffer starting at physical index i.
func (r *ringOf[T]) copyIn(i int, src []T) {
	k := copy(r.buf[i:], src)
	copy(r.buf, src[k:])
}

func (r *ringOf[T]) pushBack(items []T) {
	r.grow(r.n + len(items))
	r.copyIn((r.head+r.n)&r.mask(), items)
	r.n += len(items)
	r.peak = max(r.peak, r.n)
}

// pushFront puts items back at the head, keeping their order: the first
// of items becomes the new head.
func (r *ringOf[T]) pushFront(items []T) {
	r.grow(r.n + len(items))
	r.head = (r.head - len(items)) & r.mask()
	r.copyIn(r.head, items)
	r.n += len(items)
	r.peak = max(r.peak, r.n)
}

// pushBackOne and pushFrontOne are pushBack and pushFront of one item.
func (r *ringOf[T]) pushBackOne(item T) {
	r.grow(r.n + 1)
	r.buf[(r.head+r.n)&r.mask()] = item
	r.n++
	r.peak = max(r.peak, r.n)
}

func (r *ringOf[T]) pushFrontOne(item T) {
	r.grow(r.n + 1)
	r.head = (r.head - 1) & r.mask()
	r.buf[r.head] = item
	r.n++
	r.peak = max(r.peak, r.n)
}

// front and back point at the first and last item; the ring must not be
// empty. The pointers are valid until the next push or pop.
func (r *ringOf[T]) front() *T { return &r.buf[r.head] }
func (r *ringOf[T]) back() *T  { return &r.buf[(r.head+r.n-1)&r.mask()] }

// popFront appends up to max items from the head to dst.
func (r *ringOf[T]) popFront(dst []T, max int) []T {
	if k := min(max, r.n); k > 0 {
		start := len(dst)
		dst = slices.Grow(dst, k)[:start+k]
		r.copyOut(dst[start:], r.head)
		r.discard(k)
	}
	r.popped()
	return dst
}

// dropFront removes the first item; the ring must not be empty.
func (r *ringOf[T]) dropFront() {
	r.discard(1)
	r.popped()
}

// discard removes k ≤ n items from the head, clearing their slots so the
// ring does not keep what they point to alive.
func (r *ringOf[T]) discard(k int) {
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

func (r *ringOf[T]) popped() {
	if r.takes++; r.takes >= reviewEvery {
		r.review()
	}
}

// review shrinks a large buffer that held at most a quarter of its slots
// since the last review, to twice that peak (not below shrinkAbove).
func (r *ringOf[T]) review() {
	size := len(r.buf)
	for size > shrinkAbove && r.peak <= size/4 {
		size /= 2
	}
	if size < len(r.buf) {
		r.resize(size)
	}
	r.peak, r.takes = r.n, 0
}
