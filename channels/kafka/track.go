package kafka

import (
	"slices"

	"github.com/sluiceio/sluice"
)

// rec is one consumed record on its way through the channel: fetched,
// handed out by a take, and done once that take committed.
type rec struct {
	ev    *sluice.Event
	part  *partition
	off   int64
	epoch int32
	done  bool
}

// partition is what the channel knows of one partition it is assigned.
// A revoked partition's struct is dropped (alive false): records of it
// still held by open takes then neither commit offsets nor come back.
type partition struct {
	id    int32
	alive bool
	// out holds the records handed out and not yet passed by the commit
	// point, in offset order. A partition's records are handed out in
	// offset order (a rolled-back record stays in out, undone), so the
	// offset that may be committed is just past the longest done prefix.
	out       []*rec
	next      int64 // the offset to commit: past the done prefix; -1 before any
	epoch     int32 // the leader epoch of the record before next
	committed int64 // the offset the group holds, as far as we committed it; -1 unknown
}

// point is an offset to commit for one partition.
type point struct {
	p     *partition
	off   int64
	epoch int32
}

// tracker keeps the records between the fetch and the take commit, and the
// commit point of every assigned partition. It is not safe for concurrent
// use: the channel holds its lock around every call.
type tracker struct {
	parts map[int32]*partition
	fresh []*rec // fetched, never handed out, in fetch order
	redo  []*rec // rolled back; handed out again before fresh ones
}

func newTracker() *tracker { return &tracker{parts: map[int32]*partition{}} }

// part returns partition id's state, creating it on the first record of a
// new assignment.
func (t *tracker) part(id int32) *partition {
	p := t.parts[id]
	if p == nil {
		p = &partition{id: id, alive: true, next: -1, committed: -1}
		t.parts[id] = p
	}
	return p
}

// buffered is the number of records waiting to be handed out.
func (t *tracker) buffered() int { return len(t.fresh) + len(t.redo) }

// add appends fetched records (their part set by the caller through part).
func (t *tracker) add(rs []*rec) { t.fresh = append(t.fresh, rs...) }

// take hands out up to max records, rolled-back ones first. It returns
// them and how many were fresh from Kafka (Flume counts take attempts for
// those only).
func (t *tracker) take(max int) (out []*rec, fresh int) {
	if n := min(max, len(t.redo)); n > 0 {
		out = append(out, t.redo[:n]...)
		t.redo = slices.Delete(t.redo, 0, n) // clears the tail: no stale pointers
	}
	if n := min(max-len(out), len(t.fresh)); n > 0 {
		for _, r := range t.fresh[:n] {
			r.part.out = append(r.part.out, r)
		}
		out = append(out, t.fresh[:n]...)
		clear(t.fresh[:n])
		t.fresh = t.fresh[n:]
		fresh = n
	}
	return out, fresh
}

// rollback returns records a take did not commit to the head of the
// channel, in their order. Records of a partition no longer assigned are
// dropped: the partition's new owner reads them again from the committed
// offset, which never passed them.
func (t *tracker) rollback(rs []*rec) int {
	keep := make([]*rec, 0, len(rs)+len(t.redo))
	for _, r := range rs {
		if r.part.alive && !r.done {
			keep = append(keep, r)
		}
	}
	n := len(keep)
	t.redo = append(keep, t.redo...)
	return n
}

// done marks a committed take's records and returns the partitions whose
// commit point moved past what the group holds.
func (t *tracker) done(rs []*rec) []point {
	var touched []*partition
	for _, r := range rs {
		r.done = true
		if r.part.alive && !slices.Contains(touched, r.part) {
			touched = append(touched, r.part)
		}
	}
	var pts []point
	for _, p := range touched {
		p.advance()
		if p.next > p.committed {
			pts = append(pts, point{p: p, off: p.next, epoch: p.epoch})
		}
	}
	return pts
}

// pending returns every live partition's commit point not yet committed
// (to retry a commit that failed).
func (t *tracker) pending() []point {
	var pts []point
	for _, p := range t.parts {
		if p.next > p.committed {
			pts = append(pts, point{p: p, off: p.next, epoch: p.epoch})
		}
	}
	return pts
}

// committed records that the group now holds these points.
func (t *tracker) committed(pts []point) {
	for _, pt := range pts {
		pt.p.committed = max(pt.p.committed, pt.off)
	}
}

// revoke drops partitions the group took away and returns their commit
// points still to commit: only the done prefix, never an offset past a
// record a take has not committed.
func (t *tracker) revoke(ids []int32) []point {
	var pts []point
	gone := false
	for _, id := range ids {
		p := t.parts[id]
		if p == nil {
			continue
		}
		p.advance()
		if p.next > p.committed {
			pts = append(pts, point{p: p, off: p.next, epoch: p.epoch})
		}
		p.alive = false
		p.out = nil
		delete(t.parts, id)
		gone = true
	}
	if gone {
		dead := func(r *rec) bool { return !r.part.alive }
		t.fresh = slices.DeleteFunc(t.fresh, dead)
		t.redo = slices.DeleteFunc(t.redo, dead)
	}
	return pts
}

// advance moves the commit point past the done prefix of out.
func (p *partition) advance() {
	i := 0
	for i < len(p.out) && p.out[i].done {
		p.next, p.epoch = p.out[i].off+1, p.out[i].epoch
		i++
	}
	if i > 0 {
		clear(p.out[:i])
		p.out = p.out[i:]
	}
}
