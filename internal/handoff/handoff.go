// Package handoff is the core's source hand-off: interceptors, then the
// channel selector, then a put into every chosen channel, with the source's
// counters and, for sources that pull their data, the retry with backoff
// while the channels refuse a batch. Every source goes through it, so the
// counting and the retry exist once.
package handoff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/health"
	"github.com/sluiceio/sluice/internal/ratelog"
)

// Processor is a source's sluice.ChannelProcessor. Sources may call it from
// many goroutines at once.
type Processor struct {
	source       string
	selector     sluice.ChannelSelector
	interceptors []sluice.Interceptor
	counters     *sluice.SourceCounters
	log          *slog.Logger

	groupPool sync.Pool // *grouping, scratch space for selectors that route per event
	// fixed: the selector answers the same for every event, so route asks
	// it once per batch.
	fixed bool

	optWarn ratelog.Limiter
	// health, if set, learns when the channels begin and stop refusing
	// the source's batches (for the agent's /health).
	health *health.State
}

type grouping struct {
	req map[sluice.Channel][]*sluice.Event
	opt map[sluice.Channel][]*sluice.Event
}

// New returns the hand-off of source name. A nil selector makes every
// batch fail (the agent reports why at build time).
func New(name string, sel sluice.ChannelSelector, interceptors []sluice.Interceptor, counters *sluice.SourceCounters, log *slog.Logger) *Processor {
	p := &Processor{source: name, selector: sel, interceptors: interceptors, counters: counters, log: log}
	p.optWarn.Every = 5 * time.Second
	if fs, ok := sel.(sluice.FixedSelector); ok && fs.Fixed() {
		p.fixed = true
	}
	p.groupPool.New = func() any {
		return &grouping{req: map[sluice.Channel][]*sluice.Event{}, opt: map[sluice.Channel][]*sluice.Event{}}
	}
	return p
}

// Interceptors lists the interceptor chain (the agent starts and stops the
// ones with a lifecycle).
func (p *Processor) Interceptors() []sluice.Interceptor { return p.interceptors }

// SetHealth makes every hand-off report to h: a refused batch is a
// failure, an accepted one a success. Call it before the source starts.
func (p *Processor) SetHealth(h *health.State) { p.health = h }

// Counters are the source's counters.
func (p *Processor) Counters() *sluice.SourceCounters { return p.counters }

// Process implements sluice.ChannelProcessor: one attempt.
func (p *Processor) Process(ctx context.Context, events []*sluice.Event, call sluice.Call) error {
	n := len(events)
	events = p.intercept(events)
	return p.attempt(ctx, events, n, call)
}

// ProcessRetry implements sluice.ChannelProcessor: interceptors once, then
// attempts with backoff until the batch is in or ctx ends.
func (p *Processor) ProcessRetry(ctx context.Context, events []*sluice.Event, call sluice.Call, r sluice.Retry) error {
	n := len(events)
	events = p.intercept(events)
	first, max := r.First, r.Max
	if first <= 0 {
		first = 250 * time.Millisecond
	}
	if max <= 0 {
		max = 5 * time.Second
	}
	first = min(first, max)
	wait := first
	out := ratelog.Outage{Log: p.log}
	for {
		err := p.attempt(ctx, events, n, call)
		if err == nil {
			out.OK("the channels accept batches again")
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if stopped(r.Stop) {
			return fmt.Errorf("source stopping: %w", err)
		}
		out.Fail("the channels refused a batch; retrying with backoff until they take it", err,
			"events", n, "retry_in", wait)
		if r.Waiting != nil {
			r.Waiting()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-r.Stop:
			t.Stop()
			return fmt.Errorf("source stopping: %w", err)
		case <-t.C:
		}
		wait = min(wait*2, max)
	}
}

func stopped(c <-chan struct{}) bool {
	if c == nil {
		return false
	}
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (p *Processor) intercept(events []*sluice.Event) []*sluice.Event {
	for _, in := range p.interceptors {
		if len(events) == 0 {
			break
		}
		events = in.Intercept(events)
	}
	return events
}

// attempt counts one hand-off of n events (as the source gave them; events
// is what the interceptors left) and puts them.
func (p *Processor) attempt(ctx context.Context, events []*sluice.Event, n int, call sluice.Call) error {
	c := p.counters
	c.EventReceived.Add(int64(n))
	switch call {
	case sluice.CallAppend:
		c.AppendReceived.Add(1)
	case sluice.CallAppendBatch:
		c.AppendBatchReceived.Add(1)
	}
	var err error
	switch {
	case len(events) == 0:
		// Everything was filtered out: success for the source.
	case p.selector == nil:
		err = fmt.Errorf("source %s has no channel selector", p.source)
	default:
		err = p.route(ctx, events)
	}
	if err != nil {
		// One refused hand-off, one ChannelWriteFail (Flume's sources
		// count it so).
		c.ChannelWriteFail.Add(1)
		p.health.Fail(err)
		return err
	}
	p.health.OK()
	// As in Flume, accepted counts what the source handed in, before
	// interceptors dropped anything.
	c.EventAccepted.Add(int64(n))
	switch call {
	case sluice.CallAppend:
		c.AppendAccepted.Add(1)
	case sluice.CallAppendBatch:
		c.AppendBatchAccepted.Add(1)
	}
	return nil
}

// route puts the batch into its channels. When every event has the same
// channels (a fixed selector such as replicating, or a multiplexing batch
// of one value) the whole batch goes into each channel as is; otherwise it
// is split per channel.
func (p *Processor) route(ctx context.Context, events []*sluice.Event) error {
	req0 := p.selector.Required(events[0])
	opt0 := p.selector.Optional(events[0])
	uniform := true
	if !p.fixed {
		for _, e := range events[1:] {
			if !sameChannels(p.selector.Required(e), req0) || !sameChannels(p.selector.Optional(e), opt0) {
				uniform = false
				break
			}
		}
	}
	if uniform {
		for _, ch := range req0 {
			if err := put(ctx, ch, events); err != nil {
				return err
			}
		}
		for _, ch := range opt0 {
			p.putOptional(ctx, ch, events)
		}
		return nil
	}
	g := p.groupPool.Get().(*grouping)
	defer func() {
		clear(g.req)
		clear(g.opt)
		p.groupPool.Put(g)
	}()
	for _, e := range events {
		for _, ch := range p.selector.Required(e) {
			g.req[ch] = append(g.req[ch], e)
		}
		for _, ch := range p.selector.Optional(e) {
			g.opt[ch] = append(g.opt[ch], e)
		}
	}
	// Required channels in the selector's order, so retries behave the
	// same way every time.
	for _, ch := range p.selector.All() {
		if b := g.req[ch]; len(b) > 0 {
			if err := put(ctx, ch, b); err != nil {
				return err
			}
		}
	}
	for _, ch := range p.selector.All() {
		if b := g.opt[ch]; len(b) > 0 {
			p.putOptional(ctx, ch, b)
		}
	}
	return nil
}

func sameChannels(a, b []sluice.Channel) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// put commits events into one channel, in chunks no larger than its
// transactionCapacity. A failed chunk is rolled back and fails the batch;
// chunks already committed stay (at-least-once: the source retries).
func put(ctx context.Context, ch sluice.Channel, events []*sluice.Event) error {
	chunk := len(events)
	if tc, ok := ch.(sluice.TxnCapacitor); ok && tc.TransactionCapacity() > 0 && tc.TransactionCapacity() < chunk {
		chunk = tc.TransactionCapacity()
	}
	for start := 0; start < len(events); start += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(start+chunk, len(events))
		tx := ch.Begin()
		if err := tx.Put(events[start:end]); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	return nil
}

func (p *Processor) putOptional(ctx context.Context, ch sluice.Channel, events []*sluice.Event) {
	if err := put(ctx, ch, events); err != nil && !errors.Is(err, context.Canceled) {
		if ok, held := p.optWarn.Allow(); ok {
			p.log.Warn("optional channel refused a batch; continuing", "events", len(events), "err", err, "held_back", held)
		}
	}
}
