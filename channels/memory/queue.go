package memory

import "github.com/sluiceio/sluice"

// queue holds the channel's committed events, oldest first, as a deque of
// segments: arrays of events linked in whole. A commit links its
// transaction's staging array as it is, and a take that fits in the front
// segment returns a piece of that array, so an event pointer is written
// once on its way through (into the staging array at Put): commits and
// takes copy and clear nothing. While the collector marks, every pointer
// copied or cleared costs a write barrier.
//
// Who writes where: the queue never writes into an array below the length
// of its segment. Takers get pieces capped at their end, rolled-back takes
// come back as copies, and only the last segment's spare capacity, which
// no taker has seen, is appended to (by small commits). So a taker reads
// its events without the lock while other transactions carry on.
//
// Taken slots are not cleared: the front segment's array keeps the events
// already taken from it reachable until its last event is taken. That is
// at most one array of a commit's size (or smallSeg), the price of not
// copying.
type queue struct {
	segs ringOf[segment]
	n    int // events held
}

// segment is a run of queued events: ev[off:].
type segment struct {
	ev  []*sluice.Event
	off int
}

const (
	// smallPut is the most events a transaction stages in a pooled array;
	// its commit copies them into the last segment's spare room (or into
	// a new array of smallSeg).
	smallPut = 16
	// smallSeg is the capacity of a segment started for small commits, so
	// that a run of single-event commits shares one array.
	smallSeg = 128
)

// pushBack appends a commit's events. owned means the queue may keep the
// array (a transaction's staging array that no one else will touch);
// otherwise the events are copied.
func (q *queue) pushBack(events []*sluice.Event, owned bool) {
	if len(events) == 0 {
		return
	}
	q.n += len(events)
	if !owned {
		if q.segs.n > 0 {
			if last := q.segs.back(); cap(last.ev)-len(last.ev) >= len(events) {
				last.ev = append(last.ev, events...)
				return
			}
		}
		events = append(make([]*sluice.Event, 0, max(len(events), smallSeg)), events...)
	}
	q.segs.pushBackOne(segment{ev: events})
}

// pushFront puts events taken earlier back at the head, in their order.
// The queue keeps events itself; a rolled-back transaction passes a copy.
func (q *queue) pushFront(events []*sluice.Event) {
	if len(events) == 0 {
		return
	}
	q.n += len(events)
	q.segs.pushFrontOne(segment{ev: events})
}

// take removes up to max events from the head. The result is capped at its
// length and the queue never writes into it again: it is the caller's to
// read. It is a piece of the front segment when the events fit in it, and
// a new array only when they span segments.
func (q *queue) take(max int) []*sluice.Event {
	k := min(max, q.n)
	if k <= 0 {
		return nil
	}
	q.n -= k
	if s := q.segs.front(); s.off+k <= len(s.ev) {
		end := s.off + k
		got := s.ev[s.off:end:end]
		q.advance(s, end)
		return got
	}
	got := make([]*sluice.Event, 0, k)
	for len(got) < k {
		s := q.segs.front()
		end := min(len(s.ev), s.off+k-len(got))
		got = append(got, s.ev[s.off:end]...)
		q.advance(s, end)
	}
	return got
}

// advance moves the front segment s past the events before end, dropping
// it once it is empty.
func (q *queue) advance(s *segment, end int) {
	if end == len(s.ev) {
		q.segs.dropFront()
		return
	}
	s.off = end
}
