package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
)

// channelProcessor runs a source's interceptors and puts each batch into
// the channels its selector chooses, one transaction per channel. Sources
// may call Process from many goroutines at once.
type channelProcessor struct {
	source       string
	selector     sluice.ChannelSelector
	interceptors []sluice.Interceptor
	counters     *sluice.SourceCounters
	log          *slog.Logger

	groupPool sync.Pool // *grouping, scratch space for selectors that route per event
	// fixed: the selector answers the same for every event, so route asks
	// it once per batch (decided in prepare).
	fixed bool

	optWarn rateLimit
}

type grouping struct {
	req map[sluice.Channel][]*sluice.Event
	opt map[sluice.Channel][]*sluice.Event
}

func (p *channelProcessor) prepare() {
	if fs, ok := p.selector.(sluice.FixedSelector); ok && fs.Fixed() {
		p.fixed = true
	}
	p.groupPool.New = func() any {
		return &grouping{req: map[sluice.Channel][]*sluice.Event{}, opt: map[sluice.Channel][]*sluice.Event{}}
	}
}

// Process implements sluice.ChannelProcessor.
func (p *channelProcessor) Process(ctx context.Context, events []*sluice.Event) error {
	n := int64(len(events))
	p.counters.EventReceived.Add(n)
	for _, in := range p.interceptors {
		events = in.Intercept(events)
		if len(events) == 0 {
			break
		}
	}
	if len(events) == 0 {
		// Everything was filtered out: that is success for the source, and
		// Flume counts the events as accepted.
		p.counters.EventAccepted.Add(n)
		return nil
	}
	if p.selector == nil {
		return fmt.Errorf("source %s has no channel selector", p.source)
	}
	if err := p.route(ctx, events); err != nil {
		// Flume's sources count one write failure per refused batch.
		p.counters.ChannelWriteFail.Add(1)
		return err
	}
	// As in Flume, accepted counts what the source handed in, before
	// interceptors dropped anything.
	p.counters.EventAccepted.Add(n)
	return nil
}

// route puts the batch into its channels. When every event has the same
// channels (a fixed selector such as replicating, or a multiplexing batch
// of one value) the whole batch goes into each channel as is; otherwise it
// is split per channel.
func (p *channelProcessor) route(ctx context.Context, events []*sluice.Event) error {
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
			if err := p.put(ctx, ch, events); err != nil {
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
			if err := p.put(ctx, ch, b); err != nil {
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
func (p *channelProcessor) put(ctx context.Context, ch sluice.Channel, events []*sluice.Event) error {
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

func (p *channelProcessor) putOptional(ctx context.Context, ch sluice.Channel, events []*sluice.Event) {
	if err := p.put(ctx, ch, events); err != nil && !errors.Is(err, context.Canceled) {
		if p.optWarn.allow() {
			p.log.Warn("optional channel refused a batch; continuing", "events", len(events), "err", err)
		}
	}
}

// rateLimit lets one log line through per interval, so a failing peer
// cannot flood the log.
type rateLimit struct {
	mu   sync.Mutex
	last time.Time
}

func (r *rateLimit) allow() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if now.Sub(r.last) < 5*time.Second {
		return false
	}
	r.last = now
	return true
}
