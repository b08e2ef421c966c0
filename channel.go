package sluice

import (
	"errors"
	"fmt"
)

// Channel is a transactional buffer between sources and sinks.
type Channel interface {
	Lifecycle
	// Begin opens a transaction. A transaction is used by one goroutine at a
	// time and either puts or takes (Flume allows both; no component needs it).
	Begin() Transaction
}

// Keeper is an optional ability of a channel whose events live only in the
// process (the memory channel). When a configuration reload leaves such a
// channel's name, type and properties as they were, the agent keeps the
// running instance, events and counters included, instead of building a new
// one: Flume does the same with every channel it does not mark disposable. A
// channel that keeps its events on disk does not need it: a new instance
// finds them there.
type Keeper interface {
	KeepOnReload() bool
}

// Transaction is a batch of puts or takes that becomes visible (puts) or
// final (takes) only at Commit. Rollback undoes it: puts are discarded, takes
// go back to the head of the channel.
type Transaction interface {
	// Put stages events; they become visible to takers at Commit. It fails
	// with ErrTxnCapacity when the transaction would exceed the channel's
	// transactionCapacity.
	Put(events []*Event) error
	// Take removes up to max events and returns them without waiting; an empty
	// result means the channel had nothing. Taken events are not to be
	// modified: on rollback they go back to the channel as they were.
	Take(max int) ([]*Event, error)
	// Commit makes the transaction's effect final. For puts it fails with an
	// error wrapping ErrChannelFull when the channel has no room within its
	// keep-alive; the transaction is then rolled back.
	Commit() error
	// Rollback undoes the transaction. It is safe after a failed Commit.
	Rollback() error
}

// Notifier is an optional Channel ability: Ready returns a channel that is
// closed the next time events are committed into it, so an idle sink runner
// wakes at once instead of sleeping through its backoff.
type Notifier interface {
	Ready() <-chan struct{}
}

// Sized is an optional Channel ability reported by monitoring.
type Sized interface {
	Size() int64
	Capacity() int64
}

var (
	// ErrChannelFull means the channel had no room; the caller should back
	// off and retry, or refuse upstream. Never drop.
	ErrChannelFull = errors.New("channel full")
	// ErrTxnCapacity means a transaction exceeded transactionCapacity.
	ErrTxnCapacity = errors.New("transaction capacity exceeded")
	// ErrClosed means the component is stopped.
	ErrClosed = errors.New("closed")
)

// ChannelFullError names the channel that refused a put.
func ChannelFullError(channel string, detail string) error {
	return fmt.Errorf("channel %s: %s: %w", channel, detail, ErrChannelFull)
}

// NamedChannel pairs a channel with its configured name.
type NamedChannel struct {
	Name    string
	Channel Channel
}

// TxnCapacitor is an optional Channel ability: the largest number of events
// one transaction may hold. The channel processor splits larger source
// batches, and the agent refuses a sink whose batch size exceeds it.
type TxnCapacitor interface {
	TransactionCapacity() int
}
