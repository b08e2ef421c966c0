package sluice

import (
	"context"
	"time"
)

// Source produces events and hands them, in batches, to its ChannelProcessor
// (Env.Processor). A source is a Lifecycle; it does its work on its own
// goroutines between Start and Stop.
type Source interface {
	Lifecycle
}

// Call is what a hand-off counts as in Flume's source counters. Every
// hand-off counts its events (EventReceivedCount, EventAcceptedCount) and a
// refused one ChannelWriteFail; CallAppend and CallAppendBatch also count
// the Append* or AppendBatch* pair, as Flume's sources do per request or
// per batch.
type Call uint8

const (
	CallEvents      Call = iota // events only (netcat lines, exec lines)
	CallAppend                  // one append request (avro/thrift append)
	CallAppendBatch             // one batch (appendBatch, a spooled batch)
)

// Retry says how a source that cannot refuse upstream (it pulls its data:
// spooldir, taildir, exec, Kafka) waits for channels that refuse a batch.
// The zero value is Flume's usual 250 ms doubling to 5 s.
type Retry struct {
	First, Max time.Duration
	// Waiting, if set, is called before each wait, on the source's
	// goroutine (taildir records its positions then).
	Waiting func()
	// Stop, if set, ends the retries when it is closed (the source is
	// stopping), as ctx ending does.
	Stop <-chan struct{}
}

// ChannelProcessor is the core's hand-off, what a source writes to: it runs
// the interceptor chain, asks the selector for channels, puts the batch into
// each required channel (in transactions of at most the channel's
// transactionCapacity) and keeps the source's counters. Sources may call it
// from many goroutines at once. The batch slice may be reused by the caller
// after a call returns.
type ChannelProcessor interface {
	// Process makes one attempt. It returns nil only when every required
	// channel committed the batch; on error the source must not
	// acknowledge upstream, and refuses so that the sender retries.
	Process(ctx context.Context, events []*Event, call Call) error
	// ProcessRetry runs the interceptors once, then hands the batch over
	// until every required channel committed it, backing off while they
	// refuse it (one log line when the refusals begin, one when they end).
	// It returns an error only when ctx ends first.
	ProcessRetry(ctx context.Context, events []*Event, call Call, r Retry) error
}

// PollableSource is a source driven by a runner that calls Process in a loop
// and backs off on Backoff (Flume's PollableSourceRunner). Sources that own
// their goroutines need not implement it.
type PollableSource interface {
	Source
	Process(ctx context.Context) (Status, error)
}
