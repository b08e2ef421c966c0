package sluice

import "context"

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

// Sink drains its channel (Env.Channel). The runner calls Process in a loop:
// take up to batchSize events in one transaction, deliver them, commit only
// after the downstream acknowledged them, roll back on any failure and
// return the error (the runner backs off).
type Sink interface {
	Lifecycle
	Process(ctx context.Context) (Status, error)
}

// SinkProcessor chooses which sink of a group processes next (default,
// failover, load_balance). It gets its sinks in Env.Sinks.
type SinkProcessor interface {
	Lifecycle
	Process(ctx context.Context) (Status, error)
}

// NamedSink pairs a sink with its configured name.
type NamedSink struct {
	Name string
	Sink Sink
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
// events one Process call takes in a single transaction.
type Batcher interface {
	BatchSize() int
}
