package kafka

import (
	"fmt"
	"testing"

	"github.com/sluiceio/sluice"
)

// fetched adds records of partition p at the given offsets, as fetch does.
func fetched(tr *tracker, p int32, offs ...int64) {
	var rs []*rec
	for _, o := range offs {
		rs = append(rs, &rec{ev: sluice.NewEvent([]byte(fmt.Sprintf("%d/%d", p, o))), part: tr.part(p), off: o, epoch: 3})
	}
	tr.add(rs)
}

func bodies(rs []*rec) string {
	s := ""
	for _, r := range rs {
		s += string(r.ev.Body) + " "
	}
	return s
}

func offsets(pts []point) string {
	s := ""
	for _, pt := range pts {
		s += fmt.Sprintf("p%d@%d ", pt.p.id, pt.off)
	}
	return s
}

func TestTrackerCommitsOnlyPastCommittedTakes(t *testing.T) {
	tr := newTracker()
	fetched(tr, 0, 10, 11, 12, 13, 14, 15)
	a, _ := tr.take(2) // 10, 11: one sink
	b, _ := tr.take(2) // 12, 13: another sink
	c, _ := tr.take(2) // 14, 15: a third

	// The second sink commits first: nothing may be committed, or a
	// crash would lose 10 and 11.
	if pts := tr.done(b); len(pts) != 0 {
		t.Fatalf("commit of the later take moved the offset: %s", offsets(pts))
	}
	// The first commits: the committed run is now 10..13.
	pts := tr.done(a)
	if got := offsets(pts); got != "p0@14 " {
		t.Fatalf("after both: %q, want p0@14", got)
	}
	if pts[0].epoch != 3 {
		t.Errorf("epoch %d", pts[0].epoch)
	}
	tr.committed(pts)
	if pts := tr.pending(); len(pts) != 0 {
		t.Errorf("pending after commit: %s", offsets(pts))
	}
	// The third rolls back: its records come back first, in order, and
	// the offset stays.
	if n := tr.rollback(c); n != 2 {
		t.Fatalf("rollback kept %d", n)
	}
	fetched(tr, 0, 16)
	again, fresh := tr.take(10)
	if bodies(again) != "0/14 0/15 0/16 " || fresh != 1 {
		t.Fatalf("after rollback took %q (%d fresh)", bodies(again), fresh)
	}
	if got := offsets(tr.done(again)); got != "p0@17 " {
		t.Errorf("after the retake: %q", got)
	}
}

func TestTrackerPartitionsAreIndependent(t *testing.T) {
	tr := newTracker()
	fetched(tr, 0, 5, 6)
	fetched(tr, 1, 100)
	fetched(tr, 0, 7)
	a, _ := tr.take(2) // p0:5, p0:6
	b, _ := tr.take(2) // p1:100, p0:7
	if got := offsets(tr.done(b)); got != "p1@101 " {
		t.Errorf("b's commit: %q; p0 must wait for 5 and 6", got)
	}
	if got := offsets(tr.done(a)); got != "p0@8 " {
		t.Errorf("a's commit: %q", got)
	}
}

func TestTrackerFailedCommitIsPending(t *testing.T) {
	tr := newTracker()
	fetched(tr, 0, 1, 2)
	a, _ := tr.take(1)
	tr.done(a) // its commit failed: committed is not called
	b, _ := tr.take(1)
	tr.done(b)
	if got := offsets(tr.pending()); got != "p0@3 " {
		t.Errorf("pending %q", got)
	}
}

func TestTrackerRevokeCommitsTheDonePrefixAndDropsTheRest(t *testing.T) {
	tr := newTracker()
	fetched(tr, 0, 1, 2, 3)
	fetched(tr, 1, 50, 51)
	a, _ := tr.take(1) // p0:1
	b, _ := tr.take(1) // p0:2
	tr.done(a)
	// The group takes p0 away while b is open and p0:3 is buffered.
	pts := tr.revoke([]int32{0})
	if got := offsets(pts); got != "p0@2 " {
		t.Fatalf("revoke commits %q; want p0@2 (past 1, which committed, not past 2, which did not)", got)
	}
	if tr.buffered() != 2 {
		t.Errorf("buffered %d after revoke, want p1's 2", tr.buffered())
	}
	// b's records belong to the next owner now: no offset, no redo.
	if pts := tr.done(b); len(pts) != 0 {
		t.Errorf("a take of a revoked partition committed %s", offsets(pts))
	}
	if n := tr.rollback(b); n != 0 {
		t.Errorf("rollback of a revoked partition's records kept %d", n)
	}
	rest, _ := tr.take(10)
	if bodies(rest) != "1/50 1/51 " {
		t.Errorf("left %q", bodies(rest))
	}
	// Assigned again later: a fresh state, nothing carried over.
	fetched(tr, 0, 2)
	again, _ := tr.take(1)
	if got := offsets(tr.done(again)); got != "p0@3 " {
		t.Errorf("after reassignment: %q", got)
	}
}

func TestTrackerRollbackKeepsOrderAheadOfEarlierRollbacks(t *testing.T) {
	tr := newTracker()
	fetched(tr, 0, 1, 2, 3, 4)
	a, _ := tr.take(2)
	b, _ := tr.take(2)
	tr.rollback(b)
	tr.rollback(a)
	all, fresh := tr.take(10)
	if bodies(all) != "0/1 0/2 0/3 0/4 " || fresh != 0 {
		t.Errorf("after two rollbacks: %q (%d fresh)", bodies(all), fresh)
	}
}
