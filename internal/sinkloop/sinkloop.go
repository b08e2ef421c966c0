// Package sinkloop is the core's sink transaction: take up to a batch from
// the channel, hand it to the sink's Deliver, commit only when it was
// delivered, roll back otherwise, and keep Flume's sink counters while doing
// so. Events the downstream rejects for good either roll the batch back (as
// in Flume) or go to a dead letter and the rest commits.
package sinkloop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluiceio/sluice"
)

// DeadLetter keeps events a sink's downstream rejected for good. Put must
// return only once they are durable: the take that held them commits next.
type DeadLetter interface {
	Put(ctx context.Context, rejected []Rejected) error
}

// Rejected is one event set aside, with why.
type Rejected struct {
	Event  *sluice.Event
	Reason string
}

// Options configure one sink's loop.
type Options struct {
	Name        string // the sink's name, for errors
	Sink        sluice.Sink
	Channel     sluice.Channel
	ChannelName string
	Counters    *sluice.SinkCounters
	Log         *slog.Logger
	// DeadLetter, if set, takes rejected events; if nil they roll the
	// batch back.
	DeadLetter DeadLetter
	// RetryFirst and RetryMax bound the backoff between deliveries of
	// the events a sink asked to retry within one transaction (250 ms
	// and 5 s when zero).
	RetryFirst, RetryMax time.Duration
}

// Loop is one sink's transaction loop; Process runs one transaction. It is
// called from one goroutine at a time.
type Loop struct {
	o         Options
	batchSize int
	// rejectWarned: a rejection without a dead letter is said once.
	rejectWarned bool
}

// New returns the loop of one sink.
func New(o Options) *Loop {
	if o.RetryFirst <= 0 {
		o.RetryFirst = 250 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Second
	}
	bs := sluice.DefaultBatchSize
	if b, ok := o.Sink.(sluice.Batcher); ok && b.BatchSize() > 0 {
		bs = b.BatchSize()
	}
	return &Loop{o: o, batchSize: bs}
}

// BatchSize is the most events one transaction takes.
func (l *Loop) BatchSize() int { return l.batchSize }

// Process runs one transaction. It returns Backoff with a nil error when
// the channel was empty, Ready when a batch went out, and an error (with
// Backoff) when the batch was rolled back.
func (l *Loop) Process(ctx context.Context) (st sluice.Status, err error) {
	c := l.o.Counters
	tx := l.o.Channel.Begin()
	events, err := tx.Take(l.batchSize)
	if err != nil {
		c.ChannelReadFail.Add(1)
		_ = tx.Rollback()
		return sluice.Backoff, fmt.Errorf("sink %s: take from channel %s: %w", l.o.Name, l.o.ChannelName, err)
	}
	n := len(events)
	c.CountBatch(n, l.batchSize)
	if n == 0 {
		if err := tx.Commit(); err != nil {
			c.ChannelReadFail.Add(1)
			_ = tx.Rollback()
			return sluice.Backoff, fmt.Errorf("sink %s: commit an empty take from channel %s: %w", l.o.Name, l.o.ChannelName, err)
		}
		if idler, ok := l.o.Sink.(sluice.Idler); ok {
			if err := idler.Idle(ctx); err != nil {
				return sluice.Backoff, fmt.Errorf("sink %s: %w", l.o.Name, err)
			}
		}
		return sluice.Backoff, nil
	}
	c.EventDrainAttempt.Add(int64(n))
	// A panic in Deliver must not leave the transaction open: the events
	// go back to the channel, and the panic becomes an error.
	defer func() {
		if r := recover(); r != nil {
			_ = tx.Rollback()
			c.EventWriteFail.Add(1)
			st, err = sluice.Backoff, fmt.Errorf("sink %s: panic in Deliver: %v; %d events rolled back", l.o.Name, r, n)
		}
	}()
	rejected, err := l.deliver(ctx, events)
	if err != nil {
		_ = tx.Rollback()
		c.EventWriteFail.Add(1)
		return sluice.Backoff, fmt.Errorf("sink %s: %d events rolled back: %w", l.o.Name, n, err)
	}
	settler, _ := l.o.Sink.(sluice.Settler)
	if len(rejected) > 0 {
		if err := l.o.DeadLetter.Put(ctx, rejected); err != nil {
			_ = tx.Rollback()
			if settler != nil {
				settler.Settled(ctx, false)
			}
			c.EventWriteFail.Add(1)
			return sluice.Backoff, fmt.Errorf("sink %s: %d rejected events could not be set aside, so the batch of %d rolled back: %w", l.o.Name, len(rejected), n, err)
		}
		c.Get("EventDeadLetterCount").Add(int64(len(rejected)))
		l.o.Log.Warn("events rejected by the downstream set aside in the dead letter", "events", len(rejected), "reason", rejected[0].Reason)
	}
	if err := tx.Commit(); err != nil {
		// Delivered but not committed: they will be delivered again
		// (at-least-once).
		c.ChannelReadFail.Add(1)
		_ = tx.Rollback()
		if settler != nil {
			settler.Settled(ctx, false)
		}
		return sluice.Backoff, fmt.Errorf("sink %s: commit after delivery to channel %s: %w", l.o.Name, l.o.ChannelName, err)
	}
	if settler != nil {
		settler.Settled(ctx, true)
	}
	c.EventDrainSuccess.Add(int64(n - len(rejected)))
	return sluice.Ready, nil
}

// deliver hands the batch to the sink until every event is delivered or
// rejected. It returns the rejected events (only with a dead letter) or
// the error that rolls the batch back.
func (l *Loop) deliver(ctx context.Context, events []*sluice.Event) ([]Rejected, error) {
	var rejected []Rejected
	pending := events
	wait := l.o.RetryFirst
	for {
		err := l.o.Sink.Deliver(ctx, pending)
		if err == nil {
			return rejected, nil
		}
		if sluice.IsPermanent(err) {
			var de *sluice.DeliveryError
			if !errors.As(err, &de) {
				// The whole batch is refused for good.
				de = &sluice.DeliveryError{}
				for i := range pending {
					de.Rejected = append(de.Rejected, sluice.Rejection{Index: i, Reason: err})
				}
			}
			err = de
		}
		var de *sluice.DeliveryError
		if !errors.As(err, &de) {
			return nil, err
		}
		if len(de.Rejected) > 0 {
			if l.o.DeadLetter == nil {
				if !l.rejectWarned {
					l.rejectWarned = true
					l.o.Log.Warn("the downstream rejected events for good; the batch rolls back and will be delivered again, as Flume does. "+
						"Set deadLetter.directory (or deadLetter.channel) on the sink to set such events aside instead",
						"events", len(de.Rejected), "reason", de.Rejected[0].Reason)
				}
				return nil, fmt.Errorf("%d events rejected for good: %w", len(de.Rejected), de.Rejected[0].Reason)
			}
			for _, r := range de.Rejected {
				if r.Index < 0 || r.Index >= len(pending) {
					return nil, fmt.Errorf("sink reported a rejection of event %d of a batch of %d", r.Index, len(pending))
				}
				reason := "rejected"
				if r.Reason != nil {
					reason = r.Reason.Error()
				}
				rejected = append(rejected, Rejected{Event: pending[r.Index], Reason: reason})
			}
		}
		if len(de.Retry) == 0 {
			return rejected, nil
		}
		next := make([]*sluice.Event, 0, len(de.Retry))
		for _, i := range de.Retry {
			if i < 0 || i >= len(pending) {
				return nil, fmt.Errorf("sink asked to retry event %d of a batch of %d", i, len(pending))
			}
			next = append(next, pending[i])
		}
		pending = next
		l.o.Log.Debug("retrying part of a batch", "events", len(pending), "retry_in", wait, "err", de.Cause)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("stopped while %d events waited for a retry: %w", len(pending), ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, l.o.RetryMax)
	}
}
