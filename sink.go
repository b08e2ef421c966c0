package sluice

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Status is what one Process call achieved.
type Status int

const (
	// Ready means the call did work; call again at once.
	Ready Status = iota
	// Backoff means there was nothing to do; the runner waits before the next call.
	Backoff
)

func (s Status) String() string {
	if s == Ready {
		return "READY"
	}
	return "BACKOFF"
}

// Sink is a sink's own logic: it writes batches downstream. The core owns
// the channel transaction: it takes up to the sink's batch size (Batcher;
// 100 when the sink does not say), calls Deliver, and commits only when
// Deliver returned nil. A sink never opens a transaction itself.
//
// Deliver returns
//   - nil once the downstream acknowledged every event of the batch;
//   - a *DeliveryError when only part of it was written: the events it
//     names for retry are delivered again after a backoff, in the same
//     transaction, and those it names as rejected are set aside (a dead
//     letter) or make the batch roll back, as the user configured;
//   - Permanent(err) when the downstream will never take any of them;
//   - any other error: a retryable failure (peer away, timeout); the batch
//     rolls back and the core backs off.
//
// The core calls Deliver from one goroutine at a time. The events belong to
// the channel: Deliver must not modify them or keep them after it returns.
type Sink interface {
	Lifecycle
	Deliver(ctx context.Context, events []*Event) error
}

// Settler is an optional Sink ability: after a Deliver that returned nil
// (or left only dead-lettered events), the core says whether the channel
// then committed the take (true) or rolled it back (false). A sink that
// wrote to a local file uses it to cut off a batch that went back.
type Settler interface {
	Settled(ctx context.Context, committed bool)
}

// Idler is an optional Sink ability: the core calls Idle when the channel
// had nothing to take, so a sink can roll or close files on time without
// a timer of its own. Idle runs on the goroutine that calls Deliver.
type Idler interface {
	Idle(ctx context.Context) error
}

// Drainer runs one transaction of a sink (take, deliver, commit or roll
// back); sink processors call it to choose which sink drains next.
type Drainer interface {
	Process(ctx context.Context) (Status, error)
}

// SinkProcessor chooses which sink of a group processes next (default,
// failover, load_balance). It gets its sinks in Env.Sinks.
type SinkProcessor interface {
	Lifecycle
	Process(ctx context.Context) (Status, error)
}

// NamedSink is one sink of a group: its name, the sink itself (for Start
// and Stop) and the core's transaction loop over it (for Process).
type NamedSink struct {
	Name  string
	Sink  Sink
	Drain Drainer
}

// Rejection is one event the downstream refused for good.
type Rejection struct {
	Index  int   // into the batch given to Deliver
	Reason error // what the downstream said
}

// DeliveryError reports a batch that was only partly written. Events not
// named in Retry or Rejected were acknowledged.
type DeliveryError struct {
	// Retry lists the events to deliver again after a backoff (a
	// retryable failure of those events only: 429, a broker away for one
	// partition), with Cause saying why.
	Retry []int
	Cause error
	// Rejected lists the events the downstream will never accept.
	Rejected []Rejection
}

func (e *DeliveryError) Error() string {
	var parts []string
	if len(e.Retry) > 0 {
		msg := fmt.Sprintf("%d events to retry", len(e.Retry))
		if e.Cause != nil {
			msg += ": " + e.Cause.Error()
		}
		parts = append(parts, msg)
	}
	if n := len(e.Rejected); n > 0 {
		parts = append(parts, fmt.Sprintf("%d events rejected for good (first: %v)", n, e.Rejected[0].Reason))
	}
	if len(parts) == 0 {
		return "partial delivery"
	}
	return strings.Join(parts, "; ")
}

func (e *DeliveryError) Unwrap() error { return e.Cause }

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as a failure that retrying cannot cure, for every
// event of the batch (a document the server will never accept, a topic that
// does not exist). The core treats the whole batch as rejected.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// Interceptor transforms a batch between the source and the channels. It may
// change events in place, drop them or add new ones, and returns the batch to
// pass on.
type Interceptor interface {
	Intercept(events []*Event) []*Event
}

// ChannelSelector chooses the channels for each event. Required channels must
// accept the event or the batch fails; failures on optional channels are
// logged and counted only.
type ChannelSelector interface {
	Required(e *Event) []Channel
	Optional(e *Event) []Channel
	// All lists every channel the selector may return, for the processor to
	// prepare one transaction per channel.
	All() []Channel
}

// FixedSelector is a ChannelSelector whose answer does not depend on the
// event: when Fixed reports true, Required and Optional return the same
// channels for every event, so the channel processor asks once per batch
// instead of once per event.
type FixedSelector interface {
	ChannelSelector
	Fixed() bool
}

// Batcher is an optional ability of sinks (and batching sources): the most
// events one transaction takes. A sink without it gets DefaultBatchSize.
type Batcher interface {
	BatchSize() int
}

// DefaultBatchSize is the batch of a sink that does not say (Flume's usual
// batchSize default).
const DefaultBatchSize = 100
