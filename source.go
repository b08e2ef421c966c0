package sluice

import "context"

// Source produces events and hands them, in batches, to its ChannelProcessor
// (Env.Processor). A source is a Lifecycle; it does its work on its own
// goroutines between Start and Stop.
type Source interface {
	Lifecycle
}

// ChannelProcessor is what a source writes to: it runs the interceptor chain,
// asks the selector for channels and puts the batch into each required
// channel in its own transaction.
type ChannelProcessor interface {
	// Process returns nil only when every required channel committed the
	// batch. On error the source must not acknowledge the batch upstream; it
	// retries, or refuses upstream so the sender retries. The batch slice may
	// be reused by the caller after Process returns.
	Process(ctx context.Context, events []*Event) error
}

// PollableSource is a source driven by a runner that calls Process in a loop
// and backs off on Backoff (Flume's PollableSourceRunner). Sources that own
// their goroutines need not implement it.
type PollableSource interface {
	Source
	Process(ctx context.Context) (Status, error)
}
