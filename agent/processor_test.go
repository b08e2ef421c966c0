package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/handoff"
	"github.com/sluiceio/sluice/sluicetest"
)

// processorFor builds an agent whose source r1 (never started) writes to
// test channels, and returns the source's channel processor.
func processorFor(t *testing.T, lines ...string) (*Agent, *handoff.Processor, *hook) {
	t.Helper()
	h, name := newHook(t)
	var all []string
	for _, l := range lines {
		all = append(all, strings.ReplaceAll(l, "HOOK", name))
	}
	a := build(t, all...)
	bs := sourceNamed(a, "r1")
	if bs == nil || bs.processor == nil {
		t.Fatal("source r1 was not built")
	}
	return a, bs.processor, h
}

// testChannelsConf declares source r1 writing to test channels c1 c2 c3.
var testChannelsConf = []string{
	"a1.sources = r1",
	"a1.channels = c1 c2 c3",
	"a1.sources.r1.type = test-agent-source",
	"a1.sources.r1.channels = c1 c2 c3",
	"a1.channels.c1.type = test-agent-channel",
	"a1.channels.c1.hook = HOOK",
	"a1.channels.c2.type = test-agent-channel",
	"a1.channels.c2.hook = HOOK",
	"a1.channels.c3.type = test-agent-channel",
	"a1.channels.c3.hook = HOOK",
}

func plus(lines []string, extra ...string) []string {
	return append(append([]string(nil), lines...), extra...)
}

func testChan(t *testing.T, a *Agent, name string) *testChannel {
	t.Helper()
	c, ok := channelNamed(a, name).(*testChannel)
	if !ok {
		t.Fatalf("channel %s is not a test channel", name)
	}
	return c
}

func counts(p *handoff.Processor) (received, accepted, writeFail int64) {
	return p.Counters().EventReceived.Load(), p.Counters().EventAccepted.Load(), p.Counters().ChannelWriteFail.Load()
}

func TestProcessorReplicates(t *testing.T) {
	_, p, h := processorFor(t, testChannelsConf...)
	if err := p.Process(context.Background(), events("a", "b", "c"), sluice.CallAppendBatch); err != nil {
		t.Fatal(err)
	}
	want := []string{"commit c1 a b c", "commit c2 a b c", "commit c3 a b c"}
	if got := h.Log(); !slices.Equal(got, want) {
		t.Errorf("commits = %q, want %q", got, want)
	}
	if r, acc, f := counts(p); r != 3 || acc != 3 || f != 0 {
		t.Errorf("received %d accepted %d write-fail %d, want 3 3 0", r, acc, f)
	}
}

func TestProcessorMultiplexingSplitsInSelectorOrder(t *testing.T) {
	_, p, h := processorFor(t, plus(testChannelsConf,
		"a1.sources.r1.selector.type = multiplexing",
		"a1.sources.r1.selector.header = dc",
		"a1.sources.r1.selector.mapping.east = c1",
		"a1.sources.r1.selector.mapping.west = c2 c3",
		"a1.sources.r1.selector.default = c3",
	)...)
	batch := events("x1", "w1", "e1", "w2", "x2")
	for _, e := range batch {
		switch e.Body[0] {
		case 'e':
			e.SetHeader("dc", "east")
		case 'w':
			e.SetHeader("dc", "west")
		}
	}
	if err := p.Process(context.Background(), batch, sluice.CallAppendBatch); err != nil {
		t.Fatal(err)
	}
	// The first event goes to c3, yet c1 and c2 commit first: the
	// channels are visited in the source's order, each with its events in
	// batch order.
	want := []string{"commit c1 e1", "commit c2 w1 w2", "commit c3 x1 w1 w2 x2"}
	if got := h.Log(); !slices.Equal(got, want) {
		t.Errorf("commits = %q, want %q", got, want)
	}
	if r, acc, f := counts(p); r != 5 || acc != 5 || f != 0 {
		t.Errorf("received %d accepted %d write-fail %d, want 5 5 0", r, acc, f)
	}

	// A batch of one value goes whole into its channels.
	h.mu.Lock()
	h.log = nil
	h.mu.Unlock()
	batch = events("w3", "w4")
	for _, e := range batch {
		e.SetHeader("dc", "west")
	}
	if err := p.Process(context.Background(), batch, sluice.CallAppendBatch); err != nil {
		t.Fatal(err)
	}
	want = []string{"commit c2 w3 w4", "commit c3 w3 w4"}
	if got := h.Log(); !slices.Equal(got, want) {
		t.Errorf("commits = %q, want %q", got, want)
	}
}

func TestProcessorOptionalChannelFailureDoesNotFailTheBatch(t *testing.T) {
	for _, sel := range []struct {
		name  string
		lines []string
	}{
		{"replicating", []string{"a1.sources.r1.selector.optional = c2"}},
		{"multiplexing", []string{
			"a1.sources.r1.selector.type = multiplexing",
			"a1.sources.r1.selector.default = c1 c3",
			"a1.sources.r1.selector.optional.v = c2",
		}},
	} {
		t.Run(sel.name, func(t *testing.T) {
			a, p, h := processorFor(t, plus(testChannelsConf, sel.lines...)...)
			testChan(t, a, "c2").fail.Store(true)
			batch := events("a", "b")
			for _, e := range batch {
				e.SetHeader("flume.selector.header", "v")
			}
			if err := p.Process(context.Background(), batch, sluice.CallAppendBatch); err != nil {
				t.Fatalf("optional channel failure failed the batch: %v", err)
			}
			want := []string{"commit c1 a b", "commit c3 a b", "refuse c2 a b"}
			if got := h.Log(); !slices.Equal(got, want) {
				t.Errorf("log = %q, want %q", got, want)
			}
			if r, acc, f := counts(p); r != 2 || acc != 2 || f != 0 {
				t.Errorf("received %d accepted %d write-fail %d, want 2 2 0", r, acc, f)
			}
		})
	}
}

func TestProcessorRequiredChannelFailureFailsTheBatch(t *testing.T) {
	a, p, h := processorFor(t, testChannelsConf...)
	testChan(t, a, "c2").fail.Store(true)
	err := p.Process(context.Background(), events("a", "b", "c"), sluice.CallAppendBatch)
	if !errors.Is(err, sluice.ErrChannelFull) {
		t.Fatalf("Process = %v, want a channel-full error", err)
	}
	if !strings.Contains(err.Error(), "c2") {
		t.Errorf("error %q does not name the channel", err)
	}
	// c1 committed before c2 refused; c3 was not tried.
	want := []string{"commit c1 a b c", "refuse c2 a b c"}
	if got := h.Log(); !slices.Equal(got, want) {
		t.Errorf("log = %q, want %q", got, want)
	}
	if r, acc, f := counts(p); r != 3 || acc != 0 || f != 1 {
		t.Errorf("received %d accepted %d write-fail %d, want 3 0 1 (one per refused batch)", r, acc, f)
	}
	if n := testChan(t, a, "c2").Len(); n != 0 {
		t.Errorf("refused channel holds %d events", n)
	}
}

func TestProcessorInterceptorsRunInListOrder(t *testing.T) {
	a, p, _ := processorFor(t, plus(testChannelsConf,
		"a1.sources.r1.interceptors = z a m",
		"a1.sources.r1.interceptors.a.type = test-agent-interceptor",
		"a1.sources.r1.interceptors.m.type = test-agent-interceptor",
		"a1.sources.r1.interceptors.z.type = test-agent-interceptor",
	)...)
	if err := p.Process(context.Background(), events("a"), sluice.CallAppendBatch); err != nil {
		t.Fatal(err)
	}
	tx := testChan(t, a, "c1").Begin()
	got, _ := tx.Take(10)
	_ = tx.Commit()
	if len(got) != 1 || got[0].Headers["trail"] != "z,a,m" {
		t.Fatalf("channel got %v, want one event with trail z,a,m", got)
	}
}

func TestProcessorFilterDroppingEverythingIsSuccess(t *testing.T) {
	a, p, h := processorFor(t, plus(testChannelsConf,
		"a1.sources.r1.interceptors = f t",
		"a1.sources.r1.interceptors.f.type = regex_filter",
		"a1.sources.r1.interceptors.f.regex = ^keep$",
		"a1.sources.r1.interceptors.t.type = test-agent-interceptor",
	)...)
	testChan(t, a, "c1").fail.Store(true) // would fail the batch if anything reached it
	if err := p.Process(context.Background(), events("drop1", "drop2"), sluice.CallAppendBatch); err != nil {
		t.Fatalf("an empty batch after filtering must be a success: %v", err)
	}
	if got := h.Log(); len(got) != 0 {
		t.Errorf("channels were touched: %q", got)
	}
	if r, acc, f := counts(p); r != 2 || acc != 2 || f != 0 {
		t.Errorf("received %d accepted %d write-fail %d, want 2 2 0 (Flume counts filtered events as accepted)", r, acc, f)
	}
	// A partly filtered batch counts what the source handed in.
	testChan(t, a, "c1").fail.Store(false)
	if err := p.Process(context.Background(), events("drop", "keep"), sluice.CallAppendBatch); err != nil {
		t.Fatal(err)
	}
	if r, acc, f := counts(p); r != 4 || acc != 4 || f != 0 {
		t.Errorf("received %d accepted %d write-fail %d, want 4 4 0", r, acc, f)
	}
}

// memoryConf has source r1 writing to two real memory channels with a small
// transactionCapacity.
var memoryConf = []string{
	"a1.sources = r1",
	"a1.channels = c1 c2",
	"a1.sources.r1.type = test-agent-source",
	"a1.sources.r1.channels = c1 c2",
	"a1.channels.c1.type = memory",
	"a1.channels.c1.capacity = 100000",
	"a1.channels.c1.transactionCapacity = 10",
	"a1.channels.c2.type = memory",
	"a1.channels.c2.capacity = 100000",
	"a1.channels.c2.transactionCapacity = 7",
}

func TestProcessorSplitsBatchesLargerThanTransactionCapacity(t *testing.T) {
	a, p, _ := processorFor(t, memoryConf...)
	batch := numbered(0, 35)
	if err := p.Process(context.Background(), batch, sluice.CallAppendBatch); err != nil {
		t.Fatalf("a 35-event batch into channels of transactionCapacity 10 and 7: %v", err)
	}
	var want []string
	for i := range 35 {
		want = append(want, fmt.Sprint(i))
	}
	for _, name := range []string{"c1", "c2"} {
		ch := channelNamed(a, name)
		bc := a.channels[slices.IndexFunc(a.channels, func(c *builtChannel) bool { return c.name == name })]
		if n := bc.counters.EventPutSuccess.Load(); n != 35 {
			t.Errorf("%s: EventPutSuccessCount = %d, want 35", name, n)
		}
		if got := takeAll(t, ch); !slices.Equal(got, want) {
			t.Errorf("%s holds %v, want 0..34 in order", name, got)
		}
	}
	if r, acc, f := counts(p); r != 35 || acc != 35 || f != 0 {
		t.Errorf("received %d accepted %d write-fail %d, want 35 35 0", r, acc, f)
	}
}

func TestProcessorConcurrentCallsLoseNothing(t *testing.T) {
	for _, sel := range []struct {
		name  string
		lines []string
	}{
		{"replicating", nil},
		{"multiplexing", []string{
			"a1.sources.r1.selector.type = multiplexing",
			"a1.sources.r1.selector.header = h",
			"a1.sources.r1.selector.mapping.one = c1",
			"a1.sources.r1.selector.default = c1 c2",
		}},
	} {
		t.Run(sel.name, func(t *testing.T) {
			a, p, _ := processorFor(t, plus(memoryConf, sel.lines...)...)
			const workers, batches, size = 16, 40, 25
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for b := range batches {
						first := (w*batches + b) * size
						batch := numbered(first, size)
						for i, e := range batch {
							if (first+i)%2 == 0 {
								e.SetHeader("h", "one")
							}
						}
						if err := p.Process(context.Background(), batch, sluice.CallAppendBatch); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			total := workers * batches * size
			check := func(name string, want int, keep func(i int) bool) {
				got := takeAll(t, channelNamed(a, name))
				if len(got) != want {
					t.Errorf("%s holds %d events, want %d", name, len(got), want)
				}
				seen := map[string]bool{}
				for _, b := range got {
					if seen[b] {
						t.Errorf("%s holds %s twice", name, b)
					}
					seen[b] = true
				}
				for i := range total {
					if keep(i) && !seen[fmt.Sprint(i)] {
						t.Errorf("%s lost event %d", name, i)
						return
					}
				}
			}
			if sel.lines == nil {
				check("c1", total, func(int) bool { return true })
				check("c2", total, func(int) bool { return true })
			} else {
				check("c1", total, func(int) bool { return true })
				check("c2", total/2, func(i int) bool { return i%2 == 1 })
			}
			if r, acc, f := counts(p); r != int64(total) || acc != int64(total) || f != 0 {
				t.Errorf("received %d accepted %d write-fail %d, want %d %d 0", r, acc, f, total, total)
			}
		})
	}
}

func TestProcessorStopsOnCancelledContext(t *testing.T) {
	a, p, _ := processorFor(t, memoryConf...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := p.Process(ctx, numbered(0, 5), sluice.CallAppendBatch)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Process = %v, want context.Canceled", err)
	}
	if got := takeAll(t, channelNamed(a, "c1")); len(got) != 0 {
		t.Errorf("c1 got %v after a cancelled Process", got)
	}
	if _, acc, f := counts(p); acc != 0 || f != 1 {
		t.Errorf("accepted %d write-fail %d, want 0 1", acc, f)
	}
}

// countingSelector sends every event to the same channels and counts how
// often it is asked.
type countingSelector struct {
	req, opt, all      []sluice.Channel
	fixed              bool
	reqCalls, optCalls int
}

func (s *countingSelector) Required(*sluice.Event) []sluice.Channel { s.reqCalls++; return s.req }
func (s *countingSelector) Optional(*sluice.Event) []sluice.Channel { s.optCalls++; return s.opt }
func (s *countingSelector) All() []sluice.Channel                   { return s.all }
func (s *countingSelector) Fixed() bool                             { return s.fixed }

func TestProcessorAsksAFixedSelectorOncePerBatch(t *testing.T) {
	for _, fixed := range []bool{true, false} {
		t.Run(fmt.Sprintf("fixed=%v", fixed), func(t *testing.T) {
			c1, c2, c3 := sluicetest.NewChannel(), sluicetest.NewChannel(), sluicetest.NewChannel()
			sel := &countingSelector{
				req:   []sluice.Channel{c1, c2},
				opt:   []sluice.Channel{c3},
				all:   []sluice.Channel{c1, c2, c3},
				fixed: fixed,
			}
			p := handoff.New("r1", sel, nil, sluice.NewSourceCounters(), sluicetest.Logger())
			const batches, size = 2, 5
			var want []string
			for b := range batches {
				batch := numbered(b*size, size)
				for _, e := range batch {
					want = append(want, string(e.Body))
				}
				if err := p.Process(context.Background(), batch, sluice.CallAppendBatch); err != nil {
					t.Fatal(err)
				}
			}
			// Whole batches either way: one commit per batch and channel.
			for i, ch := range []*sluicetest.Channel{c1, c2, c3} {
				if ch.Commits != batches {
					t.Errorf("c%d: %d commits, want %d", i+1, ch.Commits, batches)
				}
				if got := takeAll(t, ch); !slices.Equal(got, want) {
					t.Errorf("c%d holds %v, want %v", i+1, got, want)
				}
			}
			perBatch := size // a selector that is not fixed is asked about every event
			if fixed {
				perBatch = 1
			}
			if sel.reqCalls != batches*perBatch || sel.optCalls != batches*perBatch {
				t.Errorf("Required called %d times, Optional %d, want %d each", sel.reqCalls, sel.optCalls, batches*perBatch)
			}
			if r, acc, f := counts(p); r != batches*size || acc != batches*size || f != 0 {
				t.Errorf("received %d accepted %d write-fail %d, want %d %d 0", r, acc, f, batches*size, batches*size)
			}
		})
	}
}
