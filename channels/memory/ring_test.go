package memory

import (
	"math/rand/v2"
	"testing"

	"github.com/sluiceio/sluice"
)

// TestRingAgainstModel drives the ring with random batch operations and
// checks it against a plain slice, through growth, wrap-around and shrink.
func TestRingAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var r ring
	var model []*sluice.Event
	next, peak := 0, 0
	mk := func(n int) []*sluice.Event {
		out := make([]*sluice.Event, n)
		for i := range out {
			out[i] = &sluice.Event{Body: []byte{byte(next)}}
			next++
		}
		return out
	}
	for step := 0; step < 6000; step++ {
		// Bias towards growth early and draining late, to cross shrinkAbove.
		n := rng.IntN(600)
		switch op := rng.IntN(10); {
		case (op < 4 || (op < 7 && step < 300)) && step < 4000:
			ev := mk(n)
			r.pushBack(ev)
			model = append(model, ev...)
		case op < 5:
			ev := mk(rng.IntN(50))
			r.pushFront(ev)
			model = append(append([]*sluice.Event(nil), ev...), model...)
		default:
			got := r.popFront(nil, n)
			k := min(n, len(model))
			if len(got) != k {
				t.Fatalf("step %d: popFront(%d) returned %d events, want %d", step, n, len(got), k)
			}
			for i := range got {
				if got[i] != model[i] {
					t.Fatalf("step %d: event %d out of order", step, i)
				}
			}
			model = model[k:]
		}
		peak = max(peak, len(r.buf))
		if r.n != len(model) {
			t.Fatalf("step %d: ring holds %d, model %d", step, r.n, len(model))
		}
	}
	if peak <= shrinkAbove || len(r.buf) >= peak {
		t.Fatalf("the test should grow the ring past %d and shrink it: peak %d, now %d", shrinkAbove, peak, len(r.buf))
	}
	rest := r.popFront(nil, r.n)
	if len(rest) != len(model) {
		t.Fatalf("final drain: %d events, want %d", len(rest), len(model))
	}
	for i := range rest {
		if rest[i] != model[i] {
			t.Fatalf("final drain: event %d out of order", i)
		}
	}
	for i, e := range r.buf {
		if e != nil {
			t.Fatalf("empty ring still references an event at slot %d", i)
		}
	}
}

// A queue that fills and empties again and again under steady load keeps
// its buffer instead of halving and regrowing it every time; after a
// quiet stretch a burst's buffer is given back.
func TestRingKeepsItsBufferUnderSteadyLoadAndShrinksWhenQuiet(t *testing.T) {
	batch := make([]*sluice.Event, 1000)
	for i := range batch {
		batch[i] = &sluice.Event{}
	}
	var r ring
	var first **sluice.Event // the buffer's first slot
	for cycle := 0; cycle < 20; cycle++ {
		for i := 0; i < 20; i++ {
			r.pushBack(batch)
		}
		if cycle == 0 {
			first = &r.buf[0]
		} else if &r.buf[0] != first {
			t.Fatalf("cycle %d: the buffer was replaced (now %d slots)", cycle, len(r.buf))
		}
		for r.n > 0 {
			r.popFront(nil, 1000)
		}
	}
	// A quiet stretch: a few events per take, for a whole review period.
	for i := 0; i < 2*reviewEvery; i++ {
		r.pushBack(batch[:10])
		r.popFront(nil, 1000)
	}
	if len(r.buf) > shrinkAbove {
		t.Fatalf("after a quiet stretch the buffer still has %d slots, want at most %d", len(r.buf), shrinkAbove)
	}
}
