// Package sluicetest has in-process doubles of the core interfaces for unit
// tests of single components. They are not used across process boundaries:
// anything that talks to another process is tested against the real thing.
package sluicetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
)

// Processor is a ChannelProcessor that records every accepted batch. Set
// Fail to make Process return an error (a full channel, by default).
type Processor struct {
	mu     sync.Mutex
	events []*sluice.Event
	calls  int
	Fail   error
	signal chan struct{}
}

// NewProcessor returns an empty recording processor.
func NewProcessor() *Processor { return &Processor{signal: make(chan struct{}, 1)} }

// Process records a copy of the batch, or fails.
func (p *Processor) Process(ctx context.Context, events []*sluice.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.Fail != nil {
		return p.Fail
	}
	for _, e := range events {
		p.events = append(p.events, e.Clone())
	}
	select {
	case p.signal <- struct{}{}:
	default:
	}
	return nil
}

// SetFail changes the failure mode under the lock.
func (p *Processor) SetFail(err error) {
	p.mu.Lock()
	p.Fail = err
	p.mu.Unlock()
}

// Events returns a copy of what was accepted so far.
func (p *Processor) Events() []*sluice.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*sluice.Event(nil), p.events...)
}

// Calls is the number of Process calls, failed ones included.
func (p *Processor) Calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// WaitFor waits until at least n events were accepted or the timeout passes.
func (p *Processor) WaitFor(n int, timeout time.Duration) ([]*sluice.Event, error) {
	deadline := time.Now().Add(timeout)
	for {
		ev := p.Events()
		if len(ev) >= n {
			return ev, nil
		}
		if time.Now().After(deadline) {
			return ev, fmt.Errorf("got %d events, want %d", len(ev), n)
		}
		select {
		case <-p.signal:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// ErrFull is the default failure for a Processor that refuses.
var ErrFull = sluice.ChannelFullError("test", "no room")

// Channel is a simple unbounded FIFO channel for sink tests. Taken events go
// back to the head on rollback.
type Channel struct {
	mu        sync.Mutex
	q         []*sluice.Event
	Commits   int
	Rollbacks int
}

// NewChannel returns a channel holding the given events.
func NewChannel(events ...*sluice.Event) *Channel { return &Channel{q: events} }

// Start does nothing.
func (c *Channel) Start(context.Context) error { return nil }

// Stop does nothing.
func (c *Channel) Stop(context.Context) error { return nil }

// Len returns the number of events in the channel.
func (c *Channel) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.q)
}

// Add appends events directly, outside any transaction.
func (c *Channel) Add(events ...*sluice.Event) {
	c.mu.Lock()
	c.q = append(c.q, events...)
	c.mu.Unlock()
}

// Begin opens a transaction.
func (c *Channel) Begin() sluice.Transaction { return &txn{c: c} }

type txn struct {
	c     *Channel
	puts  []*sluice.Event
	takes []*sluice.Event
	done  bool
}

func (t *txn) Put(events []*sluice.Event) error {
	if t.done {
		return errors.New("transaction closed")
	}
	t.puts = append(t.puts, events...)
	return nil
}

func (t *txn) Take(max int) ([]*sluice.Event, error) {
	if t.done {
		return nil, errors.New("transaction closed")
	}
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	n := min(max, len(t.c.q))
	out := append([]*sluice.Event(nil), t.c.q[:n]...)
	t.c.q = t.c.q[n:]
	t.takes = append(t.takes, out...)
	return out, nil
}

func (t *txn) Commit() error {
	if t.done {
		return errors.New("transaction closed")
	}
	t.done = true
	t.takes = nil
	t.c.mu.Lock()
	t.c.q = append(t.c.q, t.puts...)
	t.c.Commits++
	t.c.mu.Unlock()
	return nil
}

func (t *txn) Rollback() error {
	if t.done && t.takes == nil {
		return nil
	}
	t.c.mu.Lock()
	t.c.q = append(append([]*sluice.Event(nil), t.takes...), t.c.q...)
	t.c.Rollbacks++
	t.c.mu.Unlock()
	t.takes, t.puts, t.done = nil, nil, true
	return nil
}

// Env returns an Env with a discarding logger and fresh counters of every
// kind, for building a component in a test.
func Env(name string) sluice.Env {
	return sluice.Env{
		Agent:           "a1",
		Name:            name,
		Logger:          Logger(),
		SourceCounters:  sluice.NewSourceCounters(),
		ChannelCounters: sluice.NewChannelCounters(),
		SinkCounters:    sluice.NewSinkCounters(),
	}
}
