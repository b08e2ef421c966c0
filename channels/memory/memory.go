// Package memory is Flume's memory channel: a bounded in-process queue with
// transactional puts and takes. It is fast and loses its contents when the
// process exits.
package memory

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
)

// Config holds the memory channel's properties, with Flume 1.11's defaults.
type Config struct {
	Capacity            int           `flume:"capacity" doc:"most events the channel holds, counting events taken by uncommitted transactions"`
	TransactionCapacity int           `flume:"transactionCapacity" doc:"most events one transaction may put, or take"`
	KeepAlive           time.Duration `flume:"keep-alive" unit:"s" doc:"how long a commit of puts waits for room (seconds, or a duration such as 200ms)"`
	ByteCapacity        int64         `flume:"byteCapacity" doc:"limit on the event bodies held, in bytes; 0 means no limit; default 80% of GOMEMLIMIT when it is set, else no limit"`
	BufferPercentage    int           `flume:"byteCapacityBufferPercentage" doc:"share of byteCapacity kept free for headers and overhead, in percent"`
}

// DefaultConfig returns Flume's defaults. Flume's byteCapacity default is
// 80% of the JVM heap; Go has no heap limit unless the user sets one with
// GOMEMLIMIT, so we use 80% of that, or no limit.
func DefaultConfig() *Config {
	return &Config{
		Capacity:            100,
		TransactionCapacity: 100,
		KeepAlive:           3 * time.Second,
		ByteCapacity:        defaultByteCapacity(),
		BufferPercentage:    20,
	}
}

func defaultByteCapacity() int64 {
	// Only the user's limit counts: without GOMEMLIMIT the agent sets a
	// moving limit of its own to pace the collector (internal/gctune), which
	// says nothing about how much the channel may hold. With GOMEMLIMIT set
	// the agent leaves the limit alone, so the runtime's is the user's.
	if v := os.Getenv("GOMEMLIMIT"); v == "" || v == "off" {
		return 0
	}
	limit := debug.SetMemoryLimit(-1) // -1 reads the limit without changing it
	if limit <= 0 || limit == math.MaxInt64 {
		return 0
	}
	return limit / 10 * 8
}

// Validate checks the cross-field rules. Flume silently replaces a
// non-positive capacity with its default; we refuse it instead.
func (c *Config) Validate() error {
	var errs []error
	if c.Capacity <= 0 {
		errs = append(errs, conf.Invalid("capacity", "\"%d\" must be greater than 0", c.Capacity))
	}
	if c.TransactionCapacity <= 0 {
		errs = append(errs, conf.Invalid("transactionCapacity", "\"%d\" must be greater than 0", c.TransactionCapacity))
	} else if c.Capacity > 0 && c.TransactionCapacity > c.Capacity {
		errs = append(errs, conf.Invalid("transactionCapacity",
			"\"%d\" is larger than capacity %d: a transaction must fit in the channel", c.TransactionCapacity, c.Capacity))
	}
	if c.ByteCapacity < 0 {
		errs = append(errs, conf.Invalid("byteCapacity", "\"%d\" must not be negative (0 means no limit)", c.ByteCapacity))
	}
	if c.BufferPercentage < 0 || c.BufferPercentage > 100 {
		errs = append(errs, conf.Invalid("byteCapacityBufferPercentage", "\"%d\" must be between 0 and 100", c.BufferPercentage))
	}
	return errors.Join(errs...)
}

// slotSize is Flume's unit of byte accounting: an event's body occupies
// ceil(len/100) slots, and at least one.
const slotSize = 100

// slotLimit converts byteCapacity and the buffer percentage into slots the
// way Flume does; a result under one slot means no limit (0 here).
func (c *Config) slotLimit() int64 {
	slots := int64(float64(c.ByteCapacity) * (1 - float64(c.BufferPercentage)*0.01) / slotSize)
	if slots < 1 {
		return 0
	}
	return slots
}

func init() {
	sluice.Register(sluice.Spec{
		Kind:      sluice.KindChannel,
		Name:      "memory",
		Aliases:   []string{"org.apache.flume.channel.MemoryChannel"},
		Stability: sluice.Stable,
		Doc: "Holds events in memory between sources and sinks: very fast, bounded by an event count " +
			"and optionally by body bytes, and lost if the process exits. A commit that finds the channel " +
			"full waits up to keep-alive for sinks to make room, then fails so the source backs off.",
		Config: func() any { return DefaultConfig() },
		New: func(env sluice.Env, cfg any) (any, error) {
			c, ok := cfg.(*Config)
			if !ok {
				return nil, fmt.Errorf("memory channel: unexpected config type %T", cfg)
			}
			return New(env, c)
		},
		Notes:   notes,
		Example: "a1.channels = c1\na1.channels.c1.type = memory\na1.channels.c1.capacity = 10000\na1.channels.c1.transactionCapacity = 1000\na1.channels.c1.byteCapacity = 800000000\na1.channels.c1.keep-alive = 3\n",
	})
}

const notes = `Same properties, defaults and byte accounting as Flume: a body takes ceil(len/100)
slots of 100 bytes (at least one); headers do not count, which is why
byteCapacityBufferPercentage keeps a share free. byteCapacity × (1 − buffer%) under one
slot means no byte limit, as in Flume.

While the sinks cannot deliver (a downstream away or slow) the channel fills up to capacity
(or byteCapacity) and then refuses puts, so that the sources push back on their clients:
capacity and byteCapacity are what bound the agent's memory during an outage, about the
bodies plus 100 bytes an event. See "While a downstream is away" in docs/agent.md.

Differences from Flume:

- **byteCapacity default.** Flume uses 80% of the JVM's maximum heap. Go has no heap
  maximum, so the default is 80% of the Go memory limit when GOMEMLIMIT sets one, and no
  byte limit otherwise. Set byteCapacity to bound it.
- **keep-alive** also accepts a Go duration ("200ms"); a bare number is seconds, as in Flume.
  A commit waits at most one keep-alive for both the event and the byte room (Flume may wait
  one keep-alive for each).
- **Takes do not wait.** Flume's take blocks up to keep-alive when the channel is empty; here
  a take returns at once with what is there. Sink runners instead wait on the channel's
  "events committed" signal, so an idle sink wakes as soon as data arrives without holding a
  transaction open.
- **Bad values are errors.** Flume replaces a non-positive capacity or transactionCapacity
  with the default and logs a warning; this channel refuses to start with a positioned error.
- **A batch larger than byteCapacity** fails at once instead of after keep-alive: it could
  never fit.
- **Taking more than transactionCapacity** in one transaction fails the take call with a
  clear error (Flume throws on the event that overflows). The agent already refuses sinks
  whose batch size exceeds the channel's transactionCapacity.
- **Counters.** EventPutAttemptCount counts each event offered to a put; EventTakeAttemptCount
  counts, per take call, the events returned plus one when fewer than asked were available,
  which is what Flume's per-event take loop counts for a sink. Successes count at commit.
- **Stop** refuses new puts (commits waiting for room fail at once) but takes and rollbacks
  keep working, so sinks can drain what is left while the agent shuts down. Start again
  reopens it with its contents, as Flume's reload reuses a memory channel.
`
