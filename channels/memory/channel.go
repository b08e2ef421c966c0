package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluiceio/sluice"
)

// Channel is a memory channel. One mutex guards the queue and its
// accounting; every operation under it works on whole batches, so the lock
// is held once per transaction step, never per event.
type Channel struct {
	name      string
	log       *slog.Logger
	cnt       *sluice.ChannelCounters
	capacity  int
	txnCap    int
	keepAlive time.Duration
	cfg       Config
	slotCap   int64 // byte limit in slots; 0 means none

	stopped atomic.Bool
	small   sync.Pool // *[smallPut]*sluice.Event, staging for small puts

	mu sync.Mutex
	q  queue
	// inflight counts events taken by open transactions: like Flume, they
	// keep occupying capacity (and byte slots) until the take commits.
	inflight int
	slots    int64         // byte slots held by queued and in-flight events
	ready    chan struct{} // closed at the next commit of puts; nil until asked for
	room     chan struct{} // closed when takes commit (or Stop); nil until a commit waits
}

var (
	_ sluice.Channel      = (*Channel)(nil)
	_ sluice.Notifier     = (*Channel)(nil)
	_ sluice.Sized        = (*Channel)(nil)
	_ sluice.TxnCapacitor = (*Channel)(nil)
)

// New builds a memory channel from a validated config. It allocates nothing
// that grows with capacity: the queue grows as events arrive.
func New(env sluice.Env, cfg *Config) (*Channel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cnt := env.ChannelCounters
	if cnt == nil {
		cnt = sluice.NewChannelCounters()
	}
	c := &Channel{
		name:      env.Name,
		log:       log,
		cnt:       cnt,
		capacity:  cfg.Capacity,
		txnCap:    cfg.TransactionCapacity,
		keepAlive: cfg.KeepAlive,
		cfg:       *cfg,
		slotCap:   cfg.slotLimit(),
	}
	if cfg.ByteCapacity > 0 && c.slotCap == 0 {
		log.Warn("byteCapacity less its buffer is under one 100-byte slot; the byte limit is off, as in Flume",
			"byteCapacity", cfg.ByteCapacity, "byteCapacityBufferPercentage", cfg.BufferPercentage)
	}
	cnt.SetSizer(c)
	return c, nil
}

// Start opens the channel for puts.
func (c *Channel) Start(context.Context) error {
	c.stopped.Store(false)
	c.cnt.Started()
	return nil
}

// KeepOnReload: an unchanged memory channel is kept, with its events,
// across a configuration reload (sluice.Keeper), as in Flume.
func (c *Channel) KeepOnReload() bool { return true }

// Stop refuses further puts and fails commits waiting for room. Takes and
// rollbacks keep working so sinks can drain what is left.
func (c *Channel) Stop(context.Context) error {
	if c.stopped.Swap(true) {
		return nil
	}
	c.mu.Lock()
	c.wakeRoom()
	n := c.q.n + c.inflight
	c.mu.Unlock()
	if n > 0 {
		c.log.Info("memory channel stopped; its events are lost if the process exits before sinks take them", "events", n)
	}
	c.cnt.Stopped()
	return nil
}

// Begin opens a transaction.
func (c *Channel) Begin() sluice.Transaction { return &txn{c: c} }

// Size is the number of events in the queue (not counting events taken by
// open transactions), as Flume's ChannelSize reports.
func (c *Channel) Size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(c.q.n)
}

// Capacity is the configured capacity.
func (c *Channel) Capacity() int64 { return int64(c.capacity) }

// TransactionCapacity is the most events one transaction may put or take.
func (c *Channel) TransactionCapacity() int { return c.txnCap }

// Ready returns a channel closed at the next commit of puts. Every caller
// before that commit gets the same channel; the commit replaces it.
func (c *Channel) Ready() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ready == nil {
		c.ready = make(chan struct{})
	}
	return c.ready
}

// wakeRoom wakes commits waiting for room. Called with mu held.
func (c *Channel) wakeRoom() {
	if c.room != nil {
		close(c.room)
		c.room = nil
	}
}

func eventSlots(events []*sluice.Event) int64 {
	var n int64
	for _, e := range events {
		n += int64(max(1, (len(e.Body)+slotSize-1)/slotSize))
	}
	return n
}

func (c *Channel) getSmall() *[smallPut]*sluice.Event {
	if p, ok := c.small.Get().(*[smallPut]*sluice.Event); ok {
		return p
	}
	return new([smallPut]*sluice.Event)
}

// putSmall clears a small staging array, so the pool keeps no events
// alive, and pools it.
func (c *Channel) putSmall(p *[smallPut]*sluice.Event) {
	clear(p[:])
	c.small.Put(p)
}

func (c *Channel) closedErr() error {
	return fmt.Errorf("channel %s: stopped: %w", c.name, sluice.ErrClosed)
}

// fits reports whether a commit that adds puts events (of putSlots) and
// finishes takes events (of takeSlots) stays within both limits. Called
// with mu held.
func (c *Channel) fits(puts, takes int, putSlots, takeSlots int64) (roomEvents, roomBytes bool) {
	roomEvents = c.q.n+c.inflight-takes+puts <= c.capacity
	roomBytes = c.slotCap == 0 || c.slots-takeSlots+putSlots <= c.slotCap
	return roomEvents, roomBytes
}

// fullErr describes why a commit found no room. Called with mu held.
func (c *Channel) fullErr(t *txn, roomEvents bool) error {
	if !roomEvents {
		detail := fmt.Sprintf("no room for %d events within keep-alive %s (capacity %d, size %d",
			len(t.puts), c.keepAlive, c.capacity, c.q.n)
		if c.inflight > 0 {
			detail += fmt.Sprintf(", %d more taken and not yet committed", c.inflight)
		}
		return sluice.ChannelFullError(c.name, detail+")")
	}
	return sluice.ChannelFullError(c.name, fmt.Sprintf(
		"no room for %d events (%d slots of 100 body bytes) within keep-alive %s (byteCapacity %d less %d%% buffer = %d slots, %d in use)",
		len(t.puts), t.putSlots, c.keepAlive, c.cfg.ByteCapacity, c.cfg.BufferPercentage, c.slotCap, c.slots))
}

// errTxnDone is returned by Put and Take on a finished transaction.
var errTxnDone = errors.New("transaction already committed or rolled back")
