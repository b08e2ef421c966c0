package processor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sluiceio/sluice"
)

// members is the lifecycle shared by every processor: it starts and stops
// the group's sinks.
type members struct {
	sinks []sluice.NamedSink

	lifeMu  sync.Mutex
	running bool
}

// Start starts every member sink in configuration order. On a failure the
// sinks already started are stopped again, so Start can be retried.
func (m *members) Start(ctx context.Context) error {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	if m.running {
		return nil
	}
	for i, ns := range m.sinks {
		if err := ns.Sink.Start(ctx); err != nil {
			for j := i - 1; j >= 0; j-- {
				_ = m.sinks[j].Sink.Stop(ctx)
			}
			return fmt.Errorf("start sink %s: %w", ns.Name, err)
		}
	}
	m.running = true
	return nil
}

// Stop stops every member sink in configuration order (as Flume does),
// carrying on past failures and reporting them all.
func (m *members) Stop(ctx context.Context) error {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	if !m.running {
		return nil
	}
	m.running = false
	var errs []error
	for _, ns := range m.sinks {
		if err := ns.Sink.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop sink %s: %w", ns.Name, err))
		}
	}
	return errors.Join(errs...)
}

// checkSinks rejects an empty group and a sink listed twice (the graph
// should already have refused both; this keeps New safe on its own).
func checkSinks(sinks []sluice.NamedSink) error {
	if len(sinks) == 0 {
		return errors.New("the sink group has no sinks")
	}
	seen := make(map[string]bool, len(sinks))
	for _, ns := range sinks {
		if ns.Sink == nil {
			return fmt.Errorf("sink %q of the group was not built", ns.Name)
		}
		if seen[ns.Name] {
			return fmt.Errorf("sink %q is listed twice in the group", ns.Name)
		}
		seen[ns.Name] = true
	}
	return nil
}

func sinkNames(sinks []sluice.NamedSink) []string {
	out := make([]string, len(sinks))
	for i, ns := range sinks {
		out[i] = ns.Name
	}
	return out
}

func logger(env sluice.Env) *slog.Logger {
	if env.Logger != nil {
		return env.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// sinkFailure is one sink's part of an "all sinks failed" error.
type sinkFailure struct {
	name  string
	until time.Time // when it may be tried again; zero if not penalised
	err   error     // its latest error; nil if it was not tried this call
}

// AllFailedError is returned by Process when no member sink could handle
// the call. It unwraps to the sinks' own errors, so errors.Is sees through
// it (to sluice.ErrChannelFull, say).
type AllFailedError struct {
	Group    string // processor type: failover, load_balance
	Reason   string
	Failures []sinkFailure
	now      time.Time
}

func (e *AllFailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Group, e.Reason)
	for i, f := range e.Failures {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString("sink " + f.name)
		var parts []string
		if !f.until.IsZero() {
			parts = append(parts, "retry in "+f.until.Sub(e.now).Round(time.Millisecond).String())
		}
		if f.err != nil {
			parts = append(parts, f.err.Error())
		}
		if len(parts) > 0 {
			b.WriteString(" (" + strings.Join(parts, ": ") + ")")
		}
	}
	return b.String()
}

// Unwrap returns the latest error of each sink named.
func (e *AllFailedError) Unwrap() []error {
	var out []error
	for _, f := range e.Failures {
		if f.err != nil {
			out = append(out, f.err)
		}
	}
	return out
}
