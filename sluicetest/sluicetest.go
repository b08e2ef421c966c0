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
	"github.com/sluiceio/sluice/internal/handoff"
	"github.com/sluiceio/sluice/internal/sinkloop"
)

// Processor is the core's real hand-off (interceptors none, one channel)
// over a channel that records every committed batch, so a source under test
// is counted exactly as in an agent. Set Fail (or SetFail) to make the
// channel refuse batches (a full channel, by default ErrFull).
type Processor struct {
	*handoff.Processor
	rec *recorder
}

// recorder is the channel behind a Processor.
type recorder struct {
	mu     sync.Mutex
	events []*sluice.Event
	calls  int
	fail   error
	signal chan struct{}
}

// NewProcessor returns a recording processor with its own source counters
// (Counters); SourceEnv builds an Env that shares them.
func NewProcessor() *Processor {
	rec := &recorder{signal: make(chan struct{}, 1)}
	sel := fixedSelector{ch: []sluice.Channel{rec}}
	return &Processor{Processor: handoff.New("test", sel, nil, sluice.NewSourceCounters(), Logger()), rec: rec}
}

// NewProcessorWith is NewProcessor with an interceptor chain.
func NewProcessorWith(interceptors ...sluice.Interceptor) *Processor {
	rec := &recorder{signal: make(chan struct{}, 1)}
	sel := fixedSelector{ch: []sluice.Channel{rec}}
	return &Processor{Processor: handoff.New("test", sel, interceptors, sluice.NewSourceCounters(), Logger()), rec: rec}
}

// SourceEnv returns an Env for a source under test that writes to p and
// counts into p's counters.
func SourceEnv(name string, p *Processor) sluice.Env {
	env := Env(name)
	env.Processor = p
	env.SourceCounters = p.Counters()
	return env
}

// SetFail makes the channel refuse (err != nil) or accept (nil) batches.
func (p *Processor) SetFail(err error) {
	p.rec.mu.Lock()
	p.rec.fail = err
	p.rec.mu.Unlock()
}

// Events returns a copy of what was committed so far.
func (p *Processor) Events() []*sluice.Event {
	p.rec.mu.Lock()
	defer p.rec.mu.Unlock()
	return append([]*sluice.Event(nil), p.rec.events...)
}

// Calls is the number of hand-off attempts that reached the channel,
// refused ones included.
func (p *Processor) Calls() int {
	p.rec.mu.Lock()
	defer p.rec.mu.Unlock()
	return p.rec.calls
}

// WaitFor waits until at least n events were committed or the timeout passes.
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
		case <-p.rec.signal:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (r *recorder) Start(context.Context) error { return nil }
func (r *recorder) Stop(context.Context) error  { return nil }
func (r *recorder) Begin() sluice.Transaction   { return &recTxn{r: r} }

type recTxn struct {
	r    *recorder
	puts []*sluice.Event
}

func (t *recTxn) Put(events []*sluice.Event) error {
	for _, e := range events {
		t.puts = append(t.puts, e.Clone())
	}
	return nil
}
func (t *recTxn) Take(int) ([]*sluice.Event, error) {
	return nil, errors.New("the test processor's channel is put-only")
}
func (t *recTxn) Rollback() error { t.puts = nil; return nil }
func (t *recTxn) Commit() error {
	r := t.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil {
		return r.fail
	}
	r.events = append(r.events, t.puts...)
	t.puts = nil
	select {
	case r.signal <- struct{}{}:
	default:
	}
	return nil
}

type fixedSelector struct{ ch []sluice.Channel }

func (f fixedSelector) Required(*sluice.Event) []sluice.Channel { return f.ch }
func (f fixedSelector) Optional(*sluice.Event) []sluice.Channel { return nil }
func (f fixedSelector) All() []sluice.Channel                   { return f.ch }
func (f fixedSelector) Fixed() bool                             { return true }

// SinkLoop returns the core's transaction loop over sink, draining
// env.Channel into env.SinkCounters: what the agent runs for a sink.
func SinkLoop(env sluice.Env, sink sluice.Sink) *sinkloop.Loop {
	return sinkloop.New(sinkloop.Options{Name: env.Name, Sink: sink, Channel: env.Channel,
		ChannelName: env.ChannelName, Counters: env.SinkCounters, Log: env.Logger})
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
