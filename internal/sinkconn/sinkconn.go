// Package sinkconn is the connection lifecycle the RPC sinks (avro,
// thrift) share: connect when the first batch needs it (not at start, so
// an idle sink whose peer is down costs nothing), keep the connection while
// calls succeed, drop it after any failure so the next batch reconnects,
// reconnect once it is older than reset-connection-interval, and keep the
// sink's connection counters and log lines.
package sinkconn

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
)

// Conn is a client connection.
type Conn interface{ Close() error }

// Holder holds a sink's one connection. Set the fields, then Start.
type Holder[C Conn] struct {
	What     string // "avro sink", in log lines
	Addr     string // host:port, in errors and log lines
	Log      *slog.Logger
	Counters *sluice.SinkCounters
	// Reset is reset-connection-interval: a connection this old is closed
	// before the next batch (0: never).
	Reset time.Duration
	// Attrs are logged with "connected" (protocol, compression, ssl...).
	Attrs []any
	// Now is the clock (nil: time.Now); tests move it.
	Now func() time.Time

	mu          sync.Mutex // guards the fields below against Stop
	dial        func(ctx context.Context) (C, error)
	started     bool
	conn        C
	has         bool
	connectedAt time.Time
}

func (h *Holder[C]) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Start enables connecting with dial.
func (h *Holder[C]) Start(dial func(ctx context.Context) (C, error)) {
	h.mu.Lock()
	h.dial, h.started = dial, true
	h.mu.Unlock()
}

// Stop closes the connection; a call in flight on it fails.
func (h *Holder[C]) Stop() {
	h.mu.Lock()
	h.started = false
	h.mu.Unlock()
	h.Drop("sink stopping")
}

// Get returns the connection, connecting first when there is none (or
// when the one there is older than Reset).
func (h *Holder[C]) Get(ctx context.Context) (C, error) {
	var zero C
	h.mu.Lock()
	started, conn, has, dial := h.started, h.conn, h.has, h.dial
	old := has && h.Reset > 0 && h.now().Sub(h.connectedAt) >= h.Reset
	h.mu.Unlock()
	if !started {
		return zero, fmt.Errorf("sink not started: %w", sluice.ErrClosed)
	}
	if old {
		h.Drop("reset-connection-interval reached")
		has = false
	}
	if has {
		return conn, nil
	}
	// Dial without the lock, so Stop is never held up by a slow connect.
	conn, err := dial(ctx)
	if err != nil {
		h.Counters.ConnectionFailed.Add(1)
		return zero, fmt.Errorf("connect to %s: %w", h.Addr, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.started {
		conn.Close()
		return zero, fmt.Errorf("sink stopped: %w", sluice.ErrClosed)
	}
	h.Counters.ConnectionCreated.Add(1)
	h.conn, h.has, h.connectedAt = conn, true, h.now()
	h.Log.Info(h.What+" connected", append([]any{"addr", h.Addr}, h.Attrs...)...)
	return conn, nil
}

// Drop closes the connection, if any; why ("" after a failed call, which
// the caller reports) is logged.
func (h *Holder[C]) Drop(why string) {
	h.mu.Lock()
	conn, has := h.conn, h.has
	var zero C
	h.conn, h.has = zero, false
	h.mu.Unlock()
	if !has {
		return
	}
	if err := conn.Close(); err != nil {
		h.Log.Debug(h.What+": closing the connection", "addr", h.Addr, "err", err)
	}
	h.Counters.ConnectionClosed.Add(1)
	if why != "" {
		h.Log.Info(h.What+" disconnected", "addr", h.Addr, "reason", why)
	}
}

// Flume's RPC client defaults, which its sinks fall back to.
const (
	DefaultBatchSize = 100
	DefaultTimeout   = 20 * time.Second
)

// FlumeFallbacks applies what Flume's RPC clients do with out-of-range
// settings: a batch size below 1 and connect or request timeouts below a
// second become the defaults. It returns a note for each value replaced.
func FlumeFallbacks(batchSize *int, connectTimeout, requestTimeout *time.Duration) []string {
	var notes []string
	if *batchSize < 1 {
		notes = append(notes, fmt.Sprintf("batch-size below 1; using %d", DefaultBatchSize))
		*batchSize = DefaultBatchSize
	}
	for _, t := range []struct {
		key string
		v   *time.Duration
	}{{"connect-timeout", connectTimeout}, {"request-timeout", requestTimeout}} {
		if *t.v < time.Second {
			notes = append(notes, fmt.Sprintf("%s below 1000 ms; using %d", t.key, DefaultTimeout.Milliseconds()))
			*t.v = DefaultTimeout
		}
	}
	return notes
}
