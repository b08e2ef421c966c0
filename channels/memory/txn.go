package memory

import (
	"fmt"
	"slices"
	"time"

	"github.com/sluiceio/sluice"
)

type txnState uint8

const (
	open txnState = iota
	committed
	rolledBack
)

// txn is one memory-channel transaction. Puts are staged in an array of
// the transaction's own that the queue adopts at commit (small puts in a
// pooled array the commit copies from); takes leave the queue at once and
// go back to its head on rollback.
type txn struct {
	c         *Channel
	state     txnState
	err       error // why a commit failed; Commit repeats it
	puts      []*sluice.Event
	putSlots  int64
	takes     []*sluice.Event
	takeSlots int64
	small     *[smallPut]*sluice.Event // pooled staging for small puts
}

func (t *txn) Put(events []*sluice.Event) error {
	c := t.c
	if t.state != open {
		return fmt.Errorf("channel %s: put: %w", c.name, errTxnDone)
	}
	if len(events) == 0 {
		return nil
	}
	if c.stopped.Load() {
		return c.closedErr()
	}
	if room := c.txnCap - len(t.puts); len(events) > room {
		// Flume counts an attempt for each event up to the one that overflowed.
		c.cnt.EventPutAttempt.Add(int64(room + 1))
		return fmt.Errorf("channel %s: put of %d events would exceed transactionCapacity %d (%d already in this transaction): %w",
			c.name, len(events), c.txnCap, len(t.puts), sluice.ErrTxnCapacity)
	}
	c.cnt.EventPutAttempt.Add(int64(len(events)))
	if t.puts == nil {
		if len(events) <= smallPut {
			t.small = c.getSmall()
			t.puts = t.small[:0]
		} else {
			// Sized to the batch: the queue keeps this array as it is.
			t.puts = make([]*sluice.Event, 0, len(events))
		}
	}
	// Copy: the caller may change or reuse its slice as soon as Put returns.
	t.puts = append(t.puts, events...)
	if c.slotCap > 0 {
		t.putSlots += eventSlots(events)
	}
	return nil
}

func (t *txn) Take(max int) ([]*sluice.Event, error) {
	c := t.c
	if t.state != open {
		return nil, fmt.Errorf("channel %s: take: %w", c.name, errTxnDone)
	}
	if max <= 0 {
		return nil, nil
	}
	if max > c.txnCap-len(t.takes) {
		return nil, fmt.Errorf("channel %s: take of %d events would exceed transactionCapacity %d (%d already taken in this transaction): %w",
			c.name, max, c.txnCap, len(t.takes), sluice.ErrTxnCapacity)
	}
	c.mu.Lock()
	got := c.q.take(max)
	n := len(got)
	c.inflight += n
	c.mu.Unlock()

	// A sink's loop in Flume takes one event per call and stops at the first
	// empty one: that is n attempts, plus one when it ran dry.
	attempts := n
	if n < max {
		attempts++
	}
	c.cnt.EventTakeAttempt.Add(int64(attempts))
	if n == 0 {
		return nil, nil
	}
	// The record for rollback: got itself, or for a second take a copy of
	// both into an array of our own (got is capped, so append cannot write
	// into the queue's array).
	if t.takes == nil {
		t.takes = got
	} else {
		t.takes = append(t.takes, got...)
	}
	if c.slotCap > 0 {
		t.takeSlots += eventSlots(got)
	}
	return got, nil
}

func (t *txn) Commit() error {
	c := t.c
	switch t.state {
	case committed:
		return nil
	case rolledBack:
		if t.err != nil {
			return t.err
		}
		return fmt.Errorf("channel %s: commit: %w", c.name, errTxnDone)
	}
	if len(t.puts) == 0 && len(t.takes) == 0 {
		t.state = committed // an idle sink's empty take: nothing to lock for
		return nil
	}
	if len(t.puts) > 0 && c.stopped.Load() {
		t.fail(c.closedErr())
		return t.err
	}

	c.mu.Lock()
	okEvents, okBytes := c.fits(len(t.puts), len(t.takes), t.putSlots, t.takeSlots)
	if !(okEvents && okBytes) {
		if err := t.waitRoom(); err != nil {
			c.mu.Unlock()
			t.fail(err)
			return err
		}
	}
	if len(t.puts) > 0 {
		c.q.pushBack(t.puts, !t.stagedSmall())
		if c.ready != nil {
			close(c.ready)
			c.ready = nil
		}
	}
	if len(t.takes) > 0 {
		c.inflight -= len(t.takes)
		c.wakeRoom()
	}
	c.slots += t.putSlots - t.takeSlots
	c.mu.Unlock()

	if n := len(t.puts); n > 0 {
		c.cnt.EventPutSuccess.Add(int64(n))
	}
	if n := len(t.takes); n > 0 {
		c.cnt.EventTakeSuccess.Add(int64(n))
	}
	t.dropPuts()
	t.takes, t.state = nil, committed
	return nil
}

// stagedSmall reports whether the puts are in the pooled small array,
// which the queue must copy from rather than keep.
func (t *txn) stagedSmall() bool {
	return t.small != nil && len(t.puts) > 0 && &t.puts[0] == &t.small[0]
}

// dropPuts forgets the staged puts: an array the queue adopted is the
// queue's now, and the small one goes back to the pool.
func (t *txn) dropPuts() {
	if t.small != nil {
		t.c.putSmall(t.small)
		t.small = nil
	}
	t.puts = nil
}

// waitRoom waits, with mu held (released while waiting), until the commit
// fits, the keep-alive passes or the channel stops.
func (t *txn) waitRoom() error {
	c := t.c
	if c.slotCap > 0 && t.putSlots-t.takeSlots > c.slotCap {
		return sluice.ChannelFullError(c.name, fmt.Sprintf(
			"a batch of %d events needs %d slots of 100 body bytes, more than the whole byteCapacity (%d less %d%% buffer = %d slots)",
			len(t.puts), t.putSlots, c.cfg.ByteCapacity, c.cfg.BufferPercentage, c.slotCap))
	}
	var timer *time.Timer
	expired := c.keepAlive <= 0
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if c.stopped.Load() {
			return c.closedErr()
		}
		okEvents, okBytes := c.fits(len(t.puts), len(t.takes), t.putSlots, t.takeSlots)
		if okEvents && okBytes {
			return nil
		}
		if expired {
			return c.fullErr(t, okEvents)
		}
		if timer == nil {
			timer = time.NewTimer(c.keepAlive)
		}
		if c.room == nil {
			c.room = make(chan struct{})
		}
		room := c.room
		c.mu.Unlock()
		select {
		case <-room:
		case <-timer.C:
			expired = true // look once more: room may have come with the deadline
		}
		c.mu.Lock()
	}
}

func (t *txn) Rollback() error {
	if t.state != open {
		return nil
	}
	t.undo()
	t.state = rolledBack
	return nil
}

// fail rolls back after a failed commit and remembers why.
func (t *txn) fail(err error) {
	t.undo()
	t.state, t.err = rolledBack, err
}

func (t *txn) undo() {
	c := t.c
	if len(t.takes) > 0 {
		// A copy: the taker still holds t.takes (or pieces of it) and the
		// queue must own what it holds.
		back := slices.Clone(t.takes)
		c.mu.Lock()
		// Back to the head in their original order; they still hold their
		// capacity and byte slots, so no room changes hands.
		c.q.pushFront(back)
		c.inflight -= len(t.takes)
		c.mu.Unlock()
	}
	t.dropPuts()
	t.takes = nil
}
