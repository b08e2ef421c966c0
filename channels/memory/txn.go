package memory

import (
	"fmt"
	"time"

	"github.com/sluiceio/sluice"
)

type txnState uint8

const (
	open txnState = iota
	committed
	rolledBack
)

// txn is one memory-channel transaction. Puts are staged in a pooled buffer
// and copied into the queue at commit; takes leave the queue at once and go
// back to its head on rollback.
type txn struct {
	c         *Channel
	state     txnState
	err       error // why a commit failed; Commit repeats it
	puts      []*sluice.Event
	putSlots  int64
	takes     []*sluice.Event
	takeSlots int64
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
		t.puts = c.getPutBuf(len(events))
	}
	// Copy: the caller may reuse its slice once the transaction is over.
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
	start := len(t.takes)
	c.mu.Lock()
	if t.takes == nil && c.q.n > 0 {
		t.takes = make([]*sluice.Event, 0, min(max, c.q.n))
	}
	t.takes = c.q.popFront(t.takes, max)
	n := len(t.takes) - start
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
	got := t.takes[start:len(t.takes):len(t.takes)] // capped: appending cannot clobber our record
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
		c.q.pushBack(t.puts)
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
	c.putPutBuf(t.puts)
	t.puts, t.takes, t.state = nil, nil, committed
	return nil
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
		c.mu.Lock()
		// Back to the head in their original order; they still hold their
		// capacity and byte slots, so no room changes hands.
		c.q.pushFront(t.takes)
		c.inflight -= len(t.takes)
		c.mu.Unlock()
	}
	c.putPutBuf(t.puts)
	t.puts, t.takes = nil, nil
}
