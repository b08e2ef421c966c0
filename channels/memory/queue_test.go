package memory

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/sluiceio/sluice"
)

// ring is the ring of events ring_test.go drives; the channel's queue keeps
// a ring of segments.
type ring = ringOf[*sluice.Event]

// TestQueueAgainstModel drives the segment queue with random commits
// (adopted arrays and small copied ones), rollbacks and takes, checks it
// against a plain slice, and checks that no piece handed to a taker is
// ever written again.
func TestQueueAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var q queue
	var model []*sluice.Event
	type handed struct{ got, snap []*sluice.Event }
	var out []handed
	next := 0
	mk := func(n, spare int) []*sluice.Event {
		ev := make([]*sluice.Event, n, n+spare)
		for i := range ev {
			ev[i] = &sluice.Event{Body: []byte(fmt.Sprint(next))}
			next++
		}
		return ev
	}
	scratch := make([]*sluice.Event, smallPut)
	for step := 0; step < 5000; step++ {
		switch op := rng.IntN(10); {
		case op < 2:
			ev := mk(smallPut+1+rng.IntN(300), rng.IntN(20))
			q.pushBack(ev, true)
			model = append(model, ev...)
		case op < 5:
			ev := mk(1+rng.IntN(smallPut), 0)
			src := append(scratch[:0], ev...)
			q.pushBack(src, false)
			for i := range src {
				src[i] = nil // the caller's staging is reused: the queue must have copied
			}
			model = append(model, ev...)
		case op < 6 && len(model) > 0:
			// A rolled-back take comes back as a copy.
			k := 1 + rng.IntN(min(len(model), 40))
			got := q.take(k)
			q.pushFront(slices.Clone(got))
		default:
			k := 1 + rng.IntN(120)
			got := q.take(k)
			want := model[:min(k, len(model))]
			if !slices.Equal(got, want) {
				t.Fatalf("step %d: take(%d) = %d events, not the model's %d", step, k, len(got), len(want))
			}
			if cap(got) != len(got) {
				t.Fatalf("step %d: a taken piece has spare capacity %d: appending to it would write into the queue", step, cap(got)-len(got))
			}
			out = append(out, handed{got, slices.Clone(got)})
			model = model[len(want):]
		}
		if q.n != len(model) {
			t.Fatalf("step %d: queue holds %d, model %d", step, q.n, len(model))
		}
	}
	for i, h := range out {
		if !slices.Equal(h.got, h.snap) {
			t.Fatalf("taken piece %d was written after it was handed out", i)
		}
	}
	rest := q.take(q.n)
	if !slices.Equal(rest, model) {
		t.Fatal("final drain differs from the model")
	}
	if q.segs.n != 0 {
		t.Fatalf("empty queue still holds %d segments", q.segs.n)
	}
	for i, s := range q.segs.buf {
		if s.ev != nil {
			t.Fatalf("empty queue still references an array at slot %d", i)
		}
	}
}

func TestSmallCommitsShareOneArray(t *testing.T) {
	c, _ := newChan(t, nil)
	for i := range 100 {
		mustPut(t, c, events(i, 1))
	}
	if n := c.q.segs.n; n != 1 {
		t.Fatalf("100 single-event commits made %d segments, want 1", n)
	}
	var got []string
	for _, k := range []int{30, 30, 40} {
		got = append(got, bodies(takeAll(t, c, k))...)
	}
	if want := bodies(events(0, 100)); !slices.Equal(got, want) {
		t.Fatalf("took %v", got)
	}
}

func TestPutCopiesCallerSliceOfABigBatch(t *testing.T) {
	c, _ := newChan(t, nil)
	batch := events(0, 40) // more than smallPut: staged in an array the queue adopts
	tx := c.Begin()
	if err := tx.Put(batch); err != nil {
		t.Fatal(err)
	}
	batch[0] = sluice.NewEvent([]byte("changed before commit"))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	batch[1] = sluice.NewEvent([]byte("changed after commit"))
	// The caller reuses its slice for the next batch.
	copy(batch, events(100, 40))
	mustPut(t, c, batch)
	got := bodies(takeAll(t, c, 100))
	want := append(bodies(events(0, 40)), bodies(events(100, 40))...)
	if !slices.Equal(got, want) {
		t.Fatalf("took %v, want %v", got, want)
	}
}

func TestTwoPutsInOneTransaction(t *testing.T) {
	for _, sizes := range [][2]int{{3, 4}, {10, 10}, {3, 30}, {30, 3}, {30, 30}} {
		t.Run(fmt.Sprint(sizes[0], "+", sizes[1]), func(t *testing.T) {
			c, cnt := newChan(t, map[string]string{"transactionCapacity": "100"})
			a, b := events(0, sizes[0]), events(sizes[0], sizes[1])
			want := bodies(events(0, sizes[0]+sizes[1]))

			// Rolled back: nothing arrives.
			tx := c.Begin()
			if err := tx.Put(a); err != nil {
				t.Fatal(err)
			}
			if err := tx.Put(b); err != nil {
				t.Fatal(err)
			}
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
			if n := c.Size(); n != 0 {
				t.Fatalf("rolled-back puts left %d events", n)
			}

			// Committed: both, in order, after an earlier small commit.
			mustPut(t, c, events(-1, 1))
			tx = c.Begin()
			if err := tx.Put(a); err != nil {
				t.Fatal(err)
			}
			if err := tx.Put(b); err != nil {
				t.Fatal(err)
			}
			a[0] = nil // the caller's slices are its own again
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			got := bodies(takeAll(t, c, 100))
			if !slices.Equal(got, append([]string{"-1"}, want...)) {
				t.Fatalf("took %v, want -1 then %v", got, want)
			}
			if n := cnt.EventPutSuccess.Load(); n != int64(1+len(want)) {
				t.Errorf("EventPutSuccessCount = %d, want %d", n, 1+len(want))
			}
		})
	}
}

// A taker's events are a piece of the queue's array. Later commits append
// into that array's spare room and other takers take and roll back around
// it: none of that may touch the piece, and the taker may append to it.
func TestTakenPieceStaysTheTakers(t *testing.T) {
	c, _ := newChan(t, map[string]string{"transactionCapacity": "100"})
	tx := c.Begin()
	_ = tx.Put(events(0, 20))
	_ = tx.Put(events(20, 5)) // the staging array grows, with room to spare
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	mine := c.Begin()
	got, _ := mine.Take(10)
	snap := slices.Clone(got)
	grown := append(got, sluice.NewEvent([]byte("mine"))) // must not land in the channel

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a producer of small batches, filling the spare room
		defer wg.Done()
		for i := range 20 {
			if err := put(t, c, events(25+i, 1)); err != nil {
				t.Error(err)
			}
		}
	}()
	for range 50 { // the sink reads its events meanwhile (-race watches)
		for i := range got {
			if got[i] != snap[i] {
				t.Fatalf("event %d of the taken piece changed", i)
			}
		}
	}
	wg.Wait()

	other := c.Begin()
	o, _ := other.Take(5)
	if fmt.Sprint(bodies(o)) != "[10 11 12 13 14]" {
		t.Fatalf("second taker got %v", bodies(o))
	}
	_ = other.Rollback()
	o[0] = nil // after rollback the taker's slice is no longer the channel's business

	if err := mine.Commit(); err != nil {
		t.Fatal(err)
	}
	want := bodies(events(10, 35))
	if rest := bodies(takeAll(t, c, 100)); !slices.Equal(rest, want) {
		t.Fatalf("channel holds %v, want %v", rest, want)
	}
	if !slices.Equal(got, snap) || !slices.Equal(grown[:10], snap) {
		t.Fatal("the taken piece changed")
	}
}

func TestRollbackOfTakeSpanningSegments(t *testing.T) {
	c, _ := newChan(t, map[string]string{"transactionCapacity": "100"})
	mustPut(t, c, events(0, 20))
	mustPut(t, c, events(20, 3))
	mustPut(t, c, events(23, 30))
	tx := c.Begin()
	a, _ := tx.Take(25) // spans three segments
	b, _ := tx.Take(10)
	if fmt.Sprint(len(a), len(b)) != "25 10" {
		t.Fatalf("took %d and %d", len(a), len(b))
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	a[0], b[0] = nil, nil
	if got, want := bodies(takeAll(t, c, 100)), bodies(events(0, 53)); !slices.Equal(got, want) {
		t.Fatalf("after rollback the channel holds %v", got)
	}
	if c.q.segs.n != 0 || c.inflight != 0 {
		t.Fatalf("drained channel: %d segments, %d in flight", c.q.segs.n, c.inflight)
	}
}
