package file

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/wal"
)

type txnState uint8

const (
	open txnState = iota
	committed
	rolledBack
)

// txn is one file-channel transaction. Puts are staged in memory and
// logged at commit, in one request; takes leave the queue at once (and
// still hold capacity) until their commit logs them.
type txn struct {
	c     *Channel
	state txnState
	err   error
	puts  []*sluice.Event
	takes []entry
}

var errTxnDone = errors.New("transaction already committed or rolled back")

var bufPool = sync.Pool{New: func() any { return new([]byte) }}

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
	if room := c.cfg.TransactionCapacity - len(t.puts); len(events) > room {
		c.cnt.EventPutAttempt.Add(int64(room + 1))
		return fmt.Errorf("channel %s: put of %d events would exceed transactionCapacity %d (%d already in this transaction): %w",
			c.name, len(events), c.cfg.TransactionCapacity, len(t.puts), sluice.ErrTxnCapacity)
	}
	c.cnt.EventPutAttempt.Add(int64(len(events)))
	if t.puts == nil {
		t.puts = make([]*sluice.Event, 0, len(events))
	}
	t.puts = append(t.puts, events...)
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
	if max > c.cfg.TransactionCapacity-len(t.takes) {
		return nil, fmt.Errorf("channel %s: take of %d events would exceed transactionCapacity %d (%d already taken in this transaction): %w",
			c.name, max, c.cfg.TransactionCapacity, len(t.takes), sluice.ErrTxnCapacity)
	}
	if !c.open.Load() {
		return nil, c.closedErr()
	}
	start := len(t.takes)
	c.mu.Lock()
	if c.failure != nil {
		err := c.failure
		c.mu.Unlock()
		return nil, err
	}
	t.takes = c.q.popFront(t.takes, max)
	n := len(t.takes) - start
	if n > 0 {
		c.inflight += n
		if c.openTakes == nil {
			c.openTakes = map[*txn]struct{}{}
		}
		c.openTakes[t] = struct{}{}
	}
	c.mu.Unlock()

	attempts := n
	if n < max {
		attempts++
	}
	c.cnt.EventTakeAttempt.Add(int64(attempts))
	if n == 0 {
		return nil, nil
	}
	got := t.takes[start:]
	out := make([]*sluice.Event, n)
	if err := c.readBack(got, out); err != nil {
		c.takeErr.Add(int64(n))
		var ce *wal.CorruptError
		if errors.As(err, &ce) {
			err = c.fail(err)
		}
		// Back to the head, as they were.
		c.mu.Lock()
		c.q.pushFront(got)
		c.inflight -= n
		t.takes = t.takes[:start]
		if len(t.takes) == 0 {
			delete(c.openTakes, t)
		}
		c.mu.Unlock()
		return nil, fmt.Errorf("channel %s: take: %w", c.name, err)
	}
	return out, nil
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
		t.state = committed
		return nil
	}
	if len(t.takes) > 0 {
		if err := t.commitTakes(); err != nil {
			t.fail(err)
			return err
		}
		t.takes = nil
	}
	if len(t.puts) > 0 {
		if err := t.commitPuts(); err != nil {
			t.fail(err)
			return err
		}
	}
	t.puts, t.takes, t.state = nil, nil, committed
	return nil
}

// commitPuts reserves room, logs the events and a commit record in one
// request, waits for the fsync, and only then makes them visible.
func (t *txn) commitPuts() error {
	c := t.c
	n := len(t.puts)
	if c.stopped.Load() {
		return c.closedErr()
	}
	if err := c.failureErr(); err != nil {
		return err
	}
	d := int(c.rr.Add(1)) % len(c.dirs)
	if err := c.checkDiskSpace(c.dirs[d]); err != nil {
		return err
	}
	if err := c.checkCheckpointSpace(n); err != nil {
		return err
	}
	if err := t.reserve(n); err != nil {
		return err
	}

	// Encode outside every lock: committers encode in parallel.
	size := 0
	for _, e := range t.puts {
		size += wal.PutSize(e)
	}
	size += wal.RecordHeaderSize + wal.CommitBodySize
	bp := bufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	if cap(buf) < size {
		buf = make([]byte, 0, size)
	}
	es := make([]entry, n)
	cacheAll := c.cacheRoom(int64(size))
	for i, e := range t.puts {
		at := len(buf)
		buf = wal.AppendPut(buf, e)
		es[i] = entry{ptr: wal.Ptr(at), size: uint32(len(buf) - at)}
		if cacheAll {
			es[i].ev, es[i].mem = e, es[i].size
		}
	}
	txnID := c.nextTxn.Add(1)
	buf = wal.AppendCommit(buf, wal.RecPut, n, txnID)

	c.gate.RLock()
	req := wal.NewRequest(buf, c.cfg.FsyncPerTransaction)
	req.Put = true
	if c.stopped.Load() || d >= len(c.writers) {
		c.gate.RUnlock()
		c.unreserve(n)
		return c.closedErr()
	}
	w := c.writers[d]
	w.Submit(req)
	err := req.Wait()
	*bp = buf[:0]
	bufPool.Put(bp)
	if err != nil {
		c.gate.RUnlock()
		c.unreserve(n)
		c.putErr.Add(int64(n))
		if w.Err() != nil {
			c.unhealthy.Store(true)
		}
		return fmt.Errorf("channel %s: log %d events in %s: %w", c.name, n, c.dirs[d], spaceErr(err))
	}
	var mem int64
	for i := range es {
		es[i].ptr = wal.MakePtr(req.Seg, req.Off+uint32(es[i].ptr))
		mem += int64(es[i].mem)
	}
	c.mu.Lock()
	c.reserved -= n
	c.q.pushBack(es)
	c.seg(req.Seg, d).live += int64(n)
	c.cached += mem
	if c.ready != nil {
		close(c.ready)
		c.ready = nil
	}
	c.mu.Unlock()
	c.gate.RUnlock()
	c.noteLogged(len(buf))
	c.cnt.EventPutSuccess.Add(int64(n))
	return nil
}

// cacheRoom reports whether a batch of size bytes may stay in memory.
func (c *Channel) cacheRoom(size int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cached+size <= c.cacheLimit
}

func (c *Channel) unreserve(n int) {
	c.mu.Lock()
	c.reserved -= n
	c.wakeRoom()
	c.mu.Unlock()
}

// reserve holds room for n events, waiting up to keep-alive.
func (t *txn) reserve(n int) error {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	fits := func() bool { return c.q.n+c.inflight+c.reserved+n <= c.cfg.Capacity }
	var timer *time.Timer
	expired := c.cfg.KeepAlive <= 0
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for !fits() {
		if c.stopped.Load() {
			return c.closedErr()
		}
		if expired {
			detail := fmt.Sprintf("no room for %d events within keep-alive %s (capacity %d, size %d", n, c.cfg.KeepAlive, c.cfg.Capacity, c.q.n)
			if c.inflight+c.reserved > 0 {
				detail += fmt.Sprintf(", %d more taken or being committed", c.inflight+c.reserved)
			}
			return sluice.ChannelFullError(c.name, detail+")")
		}
		if timer == nil {
			timer = time.NewTimer(c.cfg.KeepAlive)
		}
		if c.room == nil {
			c.room = make(chan struct{})
		}
		room := c.room
		c.mu.Unlock()
		select {
		case <-room:
		case <-timer.C:
			expired = true
		}
		c.mu.Lock()
	}
	c.reserved += n
	return nil
}

// commitTakes logs the taken pointers and a commit record. It waits for
// the write, not the fsync: a process crash cannot bring these events
// back, a power loss only those of the last takeSyncEvery.
func (t *txn) commitTakes() error {
	c := t.c
	n := len(t.takes)
	ptrs := make([]wal.Ptr, n)
	for i, e := range t.takes {
		ptrs[i] = e.ptr
	}
	buf := make([]byte, 0, wal.RecordHeaderSize+4+8*n+wal.RecordHeaderSize+wal.CommitBodySize)
	buf = wal.AppendTake(buf, ptrs)
	buf = wal.AppendCommit(buf, wal.RecTake, n, c.nextTxn.Add(1))

	c.gate.RLock()
	if len(c.writers) == 0 {
		c.gate.RUnlock()
		return c.closedErr()
	}
	d := int(c.rr.Add(1)) % len(c.writers)
	req := wal.NewRequest(buf, false)
	c.writers[d].Submit(req)
	if err := req.Wait(); err != nil {
		c.gate.RUnlock()
		c.takeErr.Add(int64(n))
		return fmt.Errorf("channel %s: log take of %d events in %s: %w", c.name, n, c.dirs[d], err)
	}
	c.mu.Lock()
	c.inflight -= n
	delete(c.openTakes, t)
	at := c.seg(req.Seg, d)
	var last *segment
	var mem int64
	for _, e := range t.takes {
		if last == nil || last.id != e.ptr.Seg() {
			last = c.segs[e.ptr.Seg()]
			at.addRef(e.ptr.Seg())
		}
		if last != nil {
			last.live--
		}
		mem += int64(e.mem)
	}
	c.cached -= mem
	c.wakeRoom()
	c.mu.Unlock()
	c.gate.RUnlock()
	c.noteLogged(len(buf))
	c.cnt.EventTakeSuccess.Add(int64(n))
	return nil
}

func (t *txn) Rollback() error {
	if t.state != open {
		return nil
	}
	t.undo()
	t.state = rolledBack
	return nil
}

func (t *txn) fail(err error) {
	t.undo()
	t.state, t.err = rolledBack, err
}

// undo returns taken events to the head. Nothing was logged for them, so
// after a crash they come back from the log as well.
func (t *txn) undo() {
	c := t.c
	if len(t.takes) > 0 {
		c.mu.Lock()
		c.q.pushFront(t.takes)
		c.inflight -= len(t.takes)
		delete(c.openTakes, t)
		c.mu.Unlock()
	}
	t.puts, t.takes = nil, nil
}
