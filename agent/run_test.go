package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
)

// agentFor builds an agent from lines, replacing HOOK with a fresh hook's name.
func agentFor(t *testing.T, lines ...string) (*Agent, *hook) {
	t.Helper()
	h, name := newHook(t)
	var all []string
	for _, l := range lines {
		all = append(all, strings.ReplaceAll(l, "HOOK", name))
	}
	return build(t, all...), h
}

func start(t *testing.T, a *Agent, opts Options) {
	t.Helper()
	if err := a.Start(context.Background(), opts); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = stopAgent(t, a) })
}

var orderConf = []string{
	"a1.sources = r1 r2",
	"a1.channels = c1 c2",
	"a1.sinks = k1 k2",
	"a1.sources.r1.type = test-agent-source",
	"a1.sources.r1.hook = HOOK",
	"a1.sources.r1.channels = c1",
	"a1.sources.r2.type = test-agent-source",
	"a1.sources.r2.hook = HOOK",
	"a1.sources.r2.channels = c2",
	"a1.channels.c1.type = test-agent-channel",
	"a1.channels.c1.hook = HOOK",
	"a1.channels.c2.type = test-agent-channel",
	"a1.channels.c2.hook = HOOK",
	"a1.sinks.k1.type = test-agent-sink",
	"a1.sinks.k1.hook = HOOK",
	"a1.sinks.k1.channel = c1",
	"a1.sinks.k2.type = test-agent-sink",
	"a1.sinks.k2.hook = HOOK",
	"a1.sinks.k2.channel = c2",
}

func TestStartAndStopOrder(t *testing.T) {
	a, h := agentFor(t, orderConf...)
	if err := a.Start(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"start channel c1", "start channel c2",
		"start sink k1", "start sink k2",
		"start source r1", "start source r2",
	}
	if got := h.Log(); !slices.Equal(got, want) {
		t.Errorf("start order:\n got %q\nwant %q", got, want)
	}
	for k, c := range a.Counters() {
		if c.Snapshot()["StartTime"] == "0" {
			t.Errorf("%s: StartTime not set", k)
		}
	}
	if err := stopAgent(t, a); err != nil {
		t.Fatal(err)
	}
	want = append(want,
		"stop source r2", "stop source r1",
		"stop sink k2", "stop sink k1",
		"stop channel c2", "stop channel c1")
	if got := h.Log(); !slices.Equal(got, want) {
		t.Errorf("stop order:\n got %q\nwant %q", got[6:], want[6:])
	}
	for k, c := range a.Counters() {
		if c.Snapshot()["StopTime"] == "0" {
			t.Errorf("%s: StopTime not set", k)
		}
	}
}

func TestStartFailureStopsWhatStarted(t *testing.T) {
	cases := []struct {
		name, fail, err string
		log             []string
	}{
		{"source", "a1.sources.r2.failStart = true", "start source r2: refused to start", []string{
			"start channel c1", "start channel c2", "start sink k1", "start sink k2", "start source r1", "refuse source r2",
			"stop source r1", "stop sink k2", "stop sink k1", "stop channel c2", "stop channel c1"}},
		{"sink", "a1.sinks.k2.failStart = true", "start sink k2: refused to start", []string{
			"start channel c1", "start channel c2", "start sink k1", "refuse sink k2",
			"stop sink k1", "stop channel c2", "stop channel c1"}},
		{"channel", "a1.channels.c1.failStart = true", "start channel c1: refused to start", []string{
			"refuse channel c1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, h := agentFor(t, append(slices.Clone(orderConf), tc.fail)...)
			err := a.Start(context.Background(), Options{})
			if err == nil || err.Error() != tc.err {
				t.Fatalf("Start = %v, want %q", err, tc.err)
			}
			if got := h.Log(); !slices.Equal(got, tc.log) {
				t.Errorf("log:\n got %q\nwant %q", got, tc.log)
			}
			// Stopping again after a failed start does nothing more.
			if err := stopAgent(t, a); err != nil {
				t.Fatal(err)
			}
			if got := h.Log(); len(got) != len(tc.log) {
				t.Errorf("Stop after a failed Start stopped again: %q", got[len(tc.log):])
			}
		})
	}
}

func TestStopIsIdempotentAndSafeWithoutStart(t *testing.T) {
	a, h := agentFor(t, orderConf...)
	if err := a.Stop(context.Background()); err != nil {
		t.Fatalf("Stop without Start: %v", err)
	}
	if got := h.Log(); len(got) != 0 {
		t.Fatalf("Stop without Start touched components: %q", got)
	}
	if err := a.Start(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := stopAgent(t, a); err != nil {
			t.Fatalf("Stop #%d: %v", i+1, err)
		}
	}
	stops := 0
	for _, l := range h.Log() {
		if strings.HasPrefix(l, "stop ") {
			stops++
		}
	}
	if stops != 6 {
		t.Errorf("%d component stops after three agent stops, want 6: %q", stops, h.Log())
	}
}

// memSinkConf: source r1 -> memory c1 -> test sink k1.
var memSinkConf = []string{
	"a1.sources = r1",
	"a1.channels = c1",
	"a1.sinks = k1",
	"a1.sources.r1.type = test-agent-source",
	"a1.sources.r1.hook = HOOK",
	"a1.sources.r1.channels = c1",
	"a1.channels.c1.type = memory",
	"a1.channels.c1.capacity = 10000",
	"a1.channels.c1.transactionCapacity = 100",
	"a1.sinks.k1.type = test-agent-sink",
	"a1.sinks.k1.hook = HOOK",
	"a1.sinks.k1.channel = c1",
	"a1.sinks.k1.batchSize = 10",
}

func put(t *testing.T, a *Agent, from, n int) {
	t.Helper()
	if err := sourceNamed(a, "r1").processor.Process(context.Background(), numbered(from, n), sluice.CallAppendBatch); err != nil {
		t.Fatalf("put: %v", err)
	}
}

func upTo(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(i)
	}
	return out
}

func TestStopDrainsChannelsThroughSlowSink(t *testing.T) {
	a, h := agentFor(t, memSinkConf...)
	gate := make(chan struct{})
	h.setSinkFn("k1", func(ctx context.Context, s *testSink, events []*sluice.Event) error {
		<-gate
		time.Sleep(time.Millisecond) // a slow downstream
		return s.deliver(events)
	})
	start(t, a, Options{DrainTimeout: 10 * time.Second})
	put(t, a, 0, 200)
	close(gate)
	if err := stopAgent(t, a); err != nil {
		t.Fatal(err)
	}
	if got := h.Delivered("k1"); !slices.Equal(got, upTo(200)) {
		t.Errorf("sink delivered %d events (%v...), want 0..199 in order", len(got), got[:min(len(got), 5)])
	}
	if n := channelNamed(a, "c1").(sluice.Sized).Size(); n != 0 {
		t.Errorf("channel holds %d events after drain", n)
	}
}

func TestStopGivesUpDrainingAfterTimeout(t *testing.T) {
	a, h := agentFor(t, memSinkConf...)
	var calls atomic.Int64
	h.setSinkFn("k1", func(ctx context.Context, s *testSink, events []*sluice.Event) error {
		calls.Add(1)
		return s.fail()
	})
	start(t, a, Options{DrainTimeout: 50 * time.Millisecond})
	put(t, a, 0, 50)
	waitUntil(t, "the sink to be tried", func() bool { return calls.Load() > 0 })
	if err := stopAgent(t, a); err != nil {
		t.Fatal(err)
	}
	// Nothing was delivered and nothing was lost: the events are still in
	// the channel, in order.
	if got := h.Delivered("k1"); len(got) != 0 {
		t.Errorf("a failing sink delivered %v", got)
	}
	if got := takeAll(t, channelNamed(a, "c1")); !slices.Equal(got, upTo(50)) {
		t.Errorf("channel holds %v, want 0..49", got)
	}
}

// A sink blocked in a delivery must not hold Stop beyond its deadlines: the
// delivery's context is cancelled once the drain and stop timeouts passed.
func TestStopCancelsAHungSink(t *testing.T) {
	a, h := agentFor(t, memSinkConf...)
	entered := make(chan struct{}, 1)
	h.setSinkFn("k1", func(ctx context.Context, s *testSink, events []*sluice.Event) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return ctx.Err()
	})
	start(t, a, Options{DrainTimeout: 50 * time.Millisecond, StopTimeout: 50 * time.Millisecond})
	put(t, a, 0, 20)
	<-entered
	if err := stopAgent(t, a); err != nil {
		t.Fatal(err)
	}
	if got := takeAll(t, channelNamed(a, "c1")); !slices.Equal(got, upTo(20)) {
		t.Errorf("channel holds %v after the cancelled delivery rolled back, want 0..19", got)
	}
}

func TestFailingSinkIsRetriedWithBackoffAndLosesNothing(t *testing.T) {
	a, h := agentFor(t, memSinkConf...)
	var mu sync.Mutex
	var failedAt, calledAt []time.Time
	h.setSinkFn("k1", func(ctx context.Context, s *testSink, events []*sluice.Event) error {
		mu.Lock()
		calledAt = append(calledAt, time.Now())
		n := len(calledAt)
		mu.Unlock()
		if n <= 3 {
			err := s.fail()
			mu.Lock()
			failedAt = append(failedAt, time.Now())
			mu.Unlock()
			return err
		}
		return s.deliver(events)
	})
	put(t, a, 0, 35) // before Start, so the first calls fail with events taken
	start(t, a, Options{})
	waitUntil(t, "35 delivered events", func() bool { return len(h.Delivered("k1")) >= 35 })
	if err := stopAgent(t, a); err != nil {
		t.Fatal(err)
	}
	if got := h.Delivered("k1"); !slices.Equal(got, upTo(35)) {
		t.Errorf("delivered %v, want 0..34 exactly once, in order", got)
	}
	// The runner waits at least 250 ms, then 500 ms, then 1 s after
	// consecutive failures (lower bounds only: timers never fire early).
	mu.Lock()
	defer mu.Unlock()
	for i, want := range []time.Duration{minErrorWait, 2 * minErrorWait, 4 * minErrorWait} {
		if gap := calledAt[i+1].Sub(failedAt[i]); gap < want {
			t.Errorf("retry %d came %v after the failure, want at least %v", i+1, gap, want)
		}
	}
	cnt := a.channels[0].counters
	if put, took := cnt.EventPutSuccess.Load(), cnt.EventTakeSuccess.Load(); put != 35 || took != 35 {
		t.Errorf("channel put %d, took %d; want 35 and 35", put, took)
	}
}

func TestPanickingSinkDoesNotCrashTheAgent(t *testing.T) {
	a, h := agentFor(t, memSinkConf...)
	var panics atomic.Int64
	h.setSinkFn("k1", func(ctx context.Context, s *testSink, events []*sluice.Event) error {
		if panics.Load() < 2 {
			panics.Add(1)
			var m map[string]int
			m["boom"]++ // a nil-map write: a real runtime panic
		}
		return s.deliver(events)
	})
	start(t, a, Options{})
	put(t, a, 0, 25)
	waitUntil(t, "25 delivered events", func() bool { return len(h.Delivered("k1")) >= 25 })
	if got := h.Delivered("k1"); !slices.Equal(got, upTo(25)) {
		t.Errorf("delivered %v, want 0..24", got)
	}
	if panics.Load() != 2 {
		t.Errorf("sink panicked %d times, want 2", panics.Load())
	}
}

func TestFailoverGroupRunsThroughTheProcessor(t *testing.T) {
	a, h := agentFor(t, append(slices.Clone(memSinkConf),
		"a1.sinks = k1 k2",
		"a1.sinks.k2.type = test-agent-sink",
		"a1.sinks.k2.hook = HOOK",
		"a1.sinks.k2.channel = c1",
		"a1.sinkgroups = g1",
		"a1.sinkgroups.g1.sinks = k1 k2",
		"a1.sinkgroups.g1.processor.type = failover",
		"a1.sinkgroups.g1.processor.priority.k1 = 10",
		"a1.sinkgroups.g1.processor.priority.k2 = 5",
	)...)
	if len(a.runners) != 1 || !a.runners[0].group {
		t.Fatalf("want one group runner, got %d runners", len(a.runners))
	}
	var k1Calls atomic.Int64
	h.setSinkFn("k1", func(ctx context.Context, s *testSink, events []*sluice.Event) error {
		k1Calls.Add(1)
		return s.fail()
	})
	start(t, a, Options{})
	put(t, a, 0, 40)
	waitUntil(t, "40 events through k2", func() bool { return len(h.Delivered("k2")) >= 40 })
	if err := stopAgent(t, a); err != nil {
		t.Fatal(err)
	}
	if got := h.Delivered("k2"); !slices.Equal(got, upTo(40)) {
		t.Errorf("k2 delivered %v, want 0..39", got)
	}
	if k1Calls.Load() == 0 {
		t.Error("the failover processor never tried k1, the higher priority sink")
	}
	// Each grouped sink is started and stopped once, by the processor.
	for _, want := range []string{"start sink k1", "start sink k2", "stop sink k1", "stop sink k2"} {
		n := 0
		for _, l := range h.Log() {
			if l == want {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%q happened %d times, want once: %q", want, n, h.Log())
		}
	}
}

var pollableConf = []string{
	"a1.sources = r1",
	"a1.channels = c1",
	"a1.sources.r1.type = test-agent-pollable",
	"a1.sources.r1.hook = HOOK",
	"a1.sources.r1.channels = c1",
	"a1.channels.c1.type = memory",
}

func TestPollableSourceRunner(t *testing.T) {
	a, h := agentFor(t, pollableConf...)
	const readyCalls = 200
	var mu sync.Mutex
	var times []time.Time
	h.poll = func(ctx context.Context) (sluice.Status, error) {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		switch n := len(times); {
		case n == 1:
			return sluice.Backoff, nil // nothing to do: the runner waits
		case n <= 1+readyCalls:
			return sluice.Ready, nil // work done: called again at once
		default:
			return sluice.Backoff, nil
		}
	}
	calls := func() int { mu.Lock(); defer mu.Unlock(); return len(times) }
	start(t, a, Options{})
	// 200 READY calls finish well within the deadline only if READY is not
	// followed by a backoff (200 backoffs would take over 3 minutes).
	waitUntil(t, "the READY calls", func() bool { return calls() > 1+readyCalls })
	if err := stopAgent(t, a); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := times[1].Sub(times[0]); gap < time.Second {
		t.Errorf("after BACKOFF the next call came %v later, want at least 1s", gap)
	}
}

func TestPollableSourcePanicAndStop(t *testing.T) {
	a, h := agentFor(t, pollableConf...)
	var calls atomic.Int64
	h.poll = func(ctx context.Context) (sluice.Status, error) {
		if calls.Add(1) == 1 {
			panic("source bug")
		}
		<-ctx.Done() // a source blocked in a read returns when the agent stops
		return sluice.Backoff, ctx.Err()
	}
	start(t, a, Options{})
	waitUntil(t, "the panicking call", func() bool { return calls.Load() >= 1 })
	// The runner survived the panic and is backing off; Stop interrupts it.
	if err := stopAgent(t, a); err != nil {
		t.Fatal(err)
	}
}
