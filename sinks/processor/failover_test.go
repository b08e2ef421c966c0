package processor

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
)

var errDown = errors.New("peer down")

func newTestFailover(t *testing.T, props map[string]string, sinks ...*fakeSink) (*Failover, *clock) {
	t.Helper()
	f := mustBuild(t, "failover", props, sinks...).(*Failover)
	c := newClock()
	f.now = c.now
	return f, c
}

func TestFailoverPicksHighestPriority(t *testing.T) {
	s, log := group("k1", "k2", "k3")
	f, _ := newTestFailover(t, map[string]string{"priority.k1": "5", "priority.k2": "10", "priority.k3": "1"}, s...)
	for range 3 {
		if st := process(t, f); st != sluice.Ready {
			t.Fatalf("status %v, want READY", st)
		}
	}
	if got := log.take(); !slices.Equal(got, []string{"k2", "k2", "k2"}) {
		t.Fatalf("sinks called %v, want k2 every time", got)
	}
}

func TestFailoverFailsOverInSameCallAndRecovers(t *testing.T) {
	s, log := group("k1", "k2", "k3")
	f, clk := newTestFailover(t, map[string]string{"priority.k1": "5", "priority.k2": "10", "priority.k3": "1"}, s...)
	s[1].fail(errDown)
	if st := process(t, f); st != sluice.Ready {
		t.Fatalf("status %v, want READY from k1", st)
	}
	if got := log.take(); !slices.Equal(got, []string{"k2", "k1"}) {
		t.Fatalf("first call used %v, want k2 then k1", got)
	}
	// Benched for 2s (1s·2^1): not tried at exactly 2s, nor before.
	clk.advance(2 * time.Second)
	process(t, f)
	if got := log.take(); !slices.Equal(got, []string{"k1"}) {
		t.Fatalf("during the penalty used %v, want k1 only", got)
	}
	// Once the penalty is over k2 is tried first; it delivers and is active again.
	s[1].fail(nil)
	clk.advance(time.Millisecond)
	process(t, f)
	process(t, f)
	if got := log.take(); !slices.Equal(got, []string{"k2", "k2"}) {
		t.Fatalf("after the penalty used %v, want k2 (probe) then k2 (active)", got)
	}
}

// expectRetryAfter checks a benched sink's current penalty through behaviour:
// it is not retried up to now+d and is retried 1ms after.
func expectRetryAfter(t *testing.T, f *Failover, clk *clock, benched *fakeSink, d time.Duration) {
	t.Helper()
	before := benched.nCalls()
	clk.advance(d)
	if _, err := f.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	if benched.nCalls() != before {
		t.Fatalf("sink %s retried within its %v penalty", benched.name, d)
	}
	clk.advance(time.Millisecond)
	if _, err := f.Process(context.Background()); err != nil {
		t.Fatal(err)
	}
	if benched.nCalls() != before+1 {
		t.Fatalf("sink %s not retried right after its %v penalty", benched.name, d)
	}
}

func TestFailoverPenaltyGrowsToMaxPenalty(t *testing.T) {
	for _, tc := range []struct {
		maxpenalty string
		want       []time.Duration
	}{
		{"", []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}},
		{"5000", []time.Duration{2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}},
		{"1s", []time.Duration{time.Second, time.Second}},
	} {
		t.Run("maxpenalty="+tc.maxpenalty, func(t *testing.T) {
			props := map[string]string{"priority.k1": "2", "priority.k2": "1"}
			if tc.maxpenalty != "" {
				props["maxpenalty"] = tc.maxpenalty
			}
			s, _ := group("k1", "k2")
			f, clk := newTestFailover(t, props, s...)
			s[0].fail(errDown)
			process(t, f) // k1 fails, k2 delivers
			for _, d := range tc.want {
				expectRetryAfter(t, f, clk, s[0], d)
			}
		})
	}
}

func TestFailoverPenaltySaturates(t *testing.T) {
	f := &Failover{maxPenalty: 30 * time.Second}
	for _, n := range []int{5, 22, 31, 64, 1000} {
		if got := f.penalty(n); got != 30*time.Second {
			t.Errorf("penalty(%d) = %v, want 30s", n, got)
		}
	}
	if got := f.penalty(1); got != 2*time.Second {
		t.Errorf("penalty(1) = %v, want 2s", got)
	}
}

func TestFailoverAllFail(t *testing.T) {
	s, log := group("k1", "k2")
	f, clk := newTestFailover(t, map[string]string{"priority.k1": "2", "priority.k2": "1"}, s...)
	s[0].fail(errDown)
	s[1].fail(sluice.ChannelFullError("c2", "no room"))
	_, err := f.Process(context.Background())
	wantErrContains(t, err, "nothing left to fail over to", "k1", "k2", "peer down", "retry in 2s")
	if !errors.Is(err, errDown) || !errors.Is(err, sluice.ErrChannelFull) {
		t.Errorf("error %v does not wrap the sinks' errors", err)
	}
	if got := log.take(); !slices.Equal(got, []string{"k1", "k2"}) {
		t.Fatalf("called %v, want k1 then k2", got)
	}
	// With every sink benched, Process fails without calling any sink.
	clk.advance(time.Second)
	_, err = f.Process(context.Background())
	wantErrContains(t, err, "k1", "k2", "retry in 1s")
	if got := log.take(); len(got) != 0 {
		t.Fatalf("called %v while every sink was benched", got)
	}
	// Expired sinks are probed one per call, before any live sink; then
	// the highest priority is active again.
	s[0].fail(nil)
	s[1].fail(nil)
	clk.advance(time.Second + time.Millisecond)
	process(t, f)
	process(t, f)
	process(t, f)
	if got := log.take(); !slices.Equal(got, []string{"k1", "k2", "k1"}) {
		t.Fatalf("after recovery called %v, want probes of k1 and k2, then k1", got)
	}
}

func TestFailoverBenchedSinkBackoffIsNoFailure(t *testing.T) {
	s, log := group("k1", "k2")
	f, clk := newTestFailover(t, map[string]string{"priority.k1": "2", "priority.k2": "1"}, s...)
	s[0].fail(errDown)
	process(t, f)
	log.take()
	// Expired and probed: BACKOFF is passed through, k1 stays benched
	// without a new penalty and is probed again on the next call.
	s[0].setStatus(sluice.Backoff)
	clk.advance(2*time.Second + time.Millisecond)
	if st := process(t, f); st != sluice.Backoff {
		t.Fatalf("status %v, want BACKOFF from the probe", st)
	}
	if len(f.failed) != 1 || f.failed[0].fails != 1 {
		t.Fatalf("after a BACKOFF probe k1 must stay benched with 1 failure; benched %d", len(f.failed))
	}
	s[0].setStatus(sluice.Ready)
	process(t, f)
	process(t, f)
	if got := log.take(); !slices.Equal(got, []string{"k1", "k1", "k1"}) {
		t.Fatalf("called %v, want k1 probed twice then active", got)
	}
}

func TestFailoverDefaultPrioritiesFollowJavaHashOrder(t *testing.T) {
	// Java's HashMap iterates {sink1, sink2} as sink2, sink1: Flume gives
	// sink2 priority -1 and sink1 -2, so sink2 is active.
	s, log := group("sink1", "sink2")
	var logs bytes.Buffer
	p, err := build(t, "failover", nil, &logs, s...)
	if err != nil {
		t.Fatal(err)
	}
	process(t, p.(*Failover))
	if got := log.take(); !slices.Equal(got, []string{"sink2"}) {
		t.Fatalf("called %v, want sink2", got)
	}
	if !strings.Contains(logs.String(), "sink2=-1 sink1=-2") {
		t.Errorf("no warning about default priorities in log:\n%s", logs.String())
	}
}

func TestFailoverDuplicatePriorityDropsSink(t *testing.T) {
	// Java order of {k1, k2} is k1, k2: k2 loses the tie and is never used.
	s, log := group("k1", "k2")
	var logs bytes.Buffer
	p, err := build(t, "failover", map[string]string{"priority.k1": "5", "priority.k2": "5"}, &logs, s...)
	if err != nil {
		t.Fatal(err)
	}
	f := p.(*Failover)
	f.now = newClock().now
	if !strings.Contains(logs.String(), "never use a sink") || !strings.Contains(logs.String(), "sink=k2") {
		t.Errorf("no warning about the duplicate priority in log:\n%s", logs.String())
	}
	s[0].fail(errDown)
	_, err = f.Process(context.Background())
	wantErrContains(t, err, "k1")
	if got := log.take(); !slices.Equal(got, []string{"k1"}) {
		t.Fatalf("called %v, want only k1 (k2 is out of rotation)", got)
	}
	// An explicit priority can also collide with a default one (-1).
	s2, log2 := group("a", "b")
	f2 := mustBuild(t, "failover", map[string]string{"priority.a": "-1"}, s2...).(*Failover)
	if len(f2.live) != 1 {
		t.Fatalf("live sinks %d, want 1 after the collision", len(f2.live))
	}
	process(t, f2)
	if got := log2.take(); len(got) != 1 {
		t.Fatalf("called %v", got)
	}
}

func TestFailoverStoppingDoesNotBench(t *testing.T) {
	s, log := group("k1", "k2")
	f, _ := newTestFailover(t, map[string]string{"priority.k1": "2", "priority.k2": "1"}, s...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The agent stops while k1 is delivering; k1 fails because of that.
	s[0].hook = cancel
	s[0].fail(context.Canceled)
	if _, err := f.Process(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want the cancellation", err)
	}
	if len(f.failed) != 0 || f.live[0].name != "k1" {
		t.Fatal("k1 was benched by a failure during shutdown")
	}
	if got := log.take(); !slices.Equal(got, []string{"k1"}) {
		t.Fatalf("called %v, want k1 only (no failover during shutdown)", got)
	}

	// Nor does a failure of a benched sink's retry during shutdown add to
	// its penalty.
	clk := newClock()
	f.now = clk.now
	s[0].hook = nil
	s[0].fail(errDown)
	process(t, f) // k1 benched until +2s
	until := f.failed[0].until
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	s[0].hook = cancel2
	s[0].fail(context.Canceled)
	clk.advance(3 * time.Second)
	if _, err := f.Process(ctx2); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want the cancellation", err)
	}
	if m := f.failed[0]; m.fails != 1 || !m.until.Equal(until) {
		t.Fatalf("benched k1 penalised during shutdown: %d failures, until %v (was %v)", m.fails, m.until, until)
	}
}
