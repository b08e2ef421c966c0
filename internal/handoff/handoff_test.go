package handoff_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/handoff"
	"github.com/sluiceio/sluice/sluicetest"
)

// refusing is a channel that refuses the first n commits.
type refusing struct {
	*sluicetest.Channel
	n atomic.Int64
}

func (r *refusing) Begin() sluice.Transaction { return &refTxn{r.Channel.Begin(), r} }

type refTxn struct {
	sluice.Transaction
	r *refusing
}

func (t *refTxn) Commit() error {
	if t.r.n.Add(-1) >= 0 {
		_ = t.Transaction.Rollback()
		return sluice.ChannelFullError("c1", "no room")
	}
	return t.Transaction.Commit()
}

type one struct{ ch sluice.Channel }

func (o one) Required(*sluice.Event) []sluice.Channel { return []sluice.Channel{o.ch} }
func (o one) Optional(*sluice.Event) []sluice.Channel { return nil }
func (o one) All() []sluice.Channel                   { return []sluice.Channel{o.ch} }

func batch(n int) []*sluice.Event {
	out := make([]*sluice.Event, n)
	for i := range out {
		out[i] = sluice.NewEvent([]byte{byte('a' + i)})
	}
	return out
}

// counting counts its calls: interceptors must run once per hand-off, not
// once per attempt.
type counting struct{ n int }

func (c *counting) Intercept(e []*sluice.Event) []*sluice.Event { c.n++; return e }

func TestRetryCountsEveryAttemptAndLogsTheOutageOnce(t *testing.T) {
	var logs bytes.Buffer
	ch := &refusing{Channel: sluicetest.NewChannel()}
	ch.n.Store(4)
	in := &counting{}
	c := sluice.NewSourceCounters()
	p := handoff.New("r1", one{ch}, []sluice.Interceptor{in}, c, slog.New(slog.NewTextHandler(&logs, nil)))
	var waits int
	err := p.ProcessRetry(context.Background(), batch(3), sluice.CallAppendBatch,
		sluice.Retry{First: time.Millisecond, Max: 2 * time.Millisecond, Waiting: func() { waits++ }})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Len() != 3 || in.n != 1 || waits != 4 {
		t.Errorf("channel has %d, interceptor ran %d times, %d waits; want 3, 1, 4", ch.Len(), in.n, waits)
	}
	recv, acc, fail := c.AppendBatchReceived.Load(), c.AppendBatchAccepted.Load(), c.ChannelWriteFail.Load()
	if recv != 5 || acc != 1 || fail != recv-acc {
		t.Errorf("AppendBatchReceived %d, Accepted %d, ChannelWriteFail %d; want 5, 1, 4", recv, acc, fail)
	}
	if c.EventReceived.Load() != 15 || c.EventAccepted.Load() != 3 {
		t.Errorf("EventReceived %d, EventAccepted %d; want 15 (per attempt) and 3", c.EventReceived.Load(), c.EventAccepted.Load())
	}
	if n := strings.Count(logs.String(), "\n"); n != 2 {
		t.Errorf("want one line as the refusals began and one as they ended, got %d:\n%s", n, logs.String())
	}
}

func TestRetryEndsOnStop(t *testing.T) {
	ch := &refusing{Channel: sluicetest.NewChannel()}
	ch.n.Store(1 << 30)
	p := handoff.New("r1", one{ch}, nil, sluice.NewSourceCounters(), sluicetest.Logger())
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- p.ProcessRetry(context.Background(), batch(1), sluice.CallEvents, sluice.Retry{First: time.Hour, Max: time.Hour, Stop: stop})
	}()
	close(stop)
	if err := <-done; err == nil || !errors.Is(err, sluice.ErrChannelFull) {
		t.Fatalf("got %v, want the refusal that was pending when the source stopped", err)
	}
}

func TestOneAttemptCountsByCall(t *testing.T) {
	for _, tc := range []struct {
		call                sluice.Call
		append, appendBatch int64
	}{{sluice.CallEvents, 0, 0}, {sluice.CallAppend, 1, 0}, {sluice.CallAppendBatch, 0, 1}} {
		c := sluice.NewSourceCounters()
		p := handoff.New("r1", one{sluicetest.NewChannel()}, nil, c, sluicetest.Logger())
		if err := p.Process(context.Background(), batch(2), tc.call); err != nil {
			t.Fatal(err)
		}
		if c.AppendAccepted.Load() != tc.append || c.AppendBatchAccepted.Load() != tc.appendBatch ||
			c.AppendReceived.Load() != tc.append || c.AppendBatchReceived.Load() != tc.appendBatch || c.EventAccepted.Load() != 2 {
			t.Errorf("call %d: %v", tc.call, c.Snapshot())
		}
	}
}
