package agent

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sluicetest"
)

var errDown = errors.New("downstream down")

// twoPipes: r1 → c1 → k1 and r2 → c2 → k2, each pipe on its own.
var twoPipes = []string{
	"a1.sources = r1 r2",
	"a1.channels = c1 c2",
	"a1.sinks = k1 k2",
	"a1.sources.r1.type = test-agent-source",
	"a1.sources.r1.hook = HOOK",
	"a1.sources.r1.channels = c1",
	"a1.sources.r2.type = test-agent-source",
	"a1.sources.r2.hook = HOOK",
	"a1.sources.r2.channels = c2",
	"a1.channels.c1.type = memory",
	"a1.channels.c2.type = memory",
	"a1.sinks.k1.type = test-agent-sink",
	"a1.sinks.k1.hook = HOOK",
	"a1.sinks.k1.channel = c1",
	"a1.sinks.k2.type = test-agent-sink",
	"a1.sinks.k2.hook = HOOK",
	"a1.sinks.k2.channel = c2",
}

func hooked(t *testing.T, lines []string) []string {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	out := slices.Clone(lines)
	for i, l := range out {
		out[i] = strings.ReplaceAll(l, "HOOK", name)
	}
	return out
}

func putInto(t *testing.T, a *Agent, src string, from, n int) {
	t.Helper()
	if err := sourceNamed(a, src).processor.Process(context.Background(), numbered(from, n), sluice.CallAppendBatch); err != nil {
		t.Fatalf("put into %s: %v", src, err)
	}
}

// A reload that changes one sink rebuilds that sink alone: the other
// pipe's source, channel and sink keep running (they are never stopped)
// and every event of both pipes is delivered once.
func TestTakeOverReplacesOnlyWhatChanged(t *testing.T) {
	first, h := agentFor(t, twoPipes...)
	start(t, first, Options{})
	putInto(t, first, "r1", 0, 100)
	putInto(t, first, "r2", 0, 100)
	waitUntil(t, "both pipes delivered", func() bool { return len(h.Delivered("k1")) == 100 && len(h.Delivered("k2")) == 100 })

	changed := hooked(t, append(slices.Clone(twoPipes), "a1.sinks.k2.batchSize = 5"))
	next, problems := BuildReload(parse(changed...), sluicetest.Logger(), first)
	failOnErrors(t, problems)
	if sourceNamed(next, "r1") != sourceNamed(first, "r1") || sourceNamed(next, "r2") != sourceNamed(first, "r2") {
		t.Fatal("unchanged sources were built anew")
	}
	if next.sinks[0] != first.sinks[0] || next.sinks[1] == first.sinks[1] {
		t.Fatal("want k1 kept and k2 rebuilt")
	}
	before := len(h.Log())
	// r1 keeps accepting while the reload runs.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 20; i++ {
			putInto(t, first, "r1", 100+i*10, 10)
		}
	}()
	if err := next.TakeOver(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	<-done
	putInto(t, next, "r2", 100, 100)
	waitUntil(t, "everything delivered", func() bool { return len(h.Delivered("k1")) == 300 && len(h.Delivered("k2")) == 200 })
	during := h.Log()[before:]
	for _, l := range during {
		if strings.Contains(l, "r1") || strings.Contains(l, "r2") || strings.Contains(l, "k1") {
			t.Errorf("an unchanged component was stopped or started by the reload: %q (all: %q)", l, during)
		}
	}
	if !slices.Contains(during, "stop sink k2") || !slices.Contains(during, "start sink k2") {
		t.Errorf("k2 was not replaced: %q", during)
	}
	if err := stopAgent(t, next); err != nil {
		t.Fatal(err)
	}
	// Stopping the replaced agent does nothing: it is the new one's now.
	if err := first.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := h.Delivered("k1")
	if !slices.Equal(got, upTo(300)) {
		t.Errorf("k1 delivered %d events, want 0..299 once, in order", len(got))
	}
}

// A changed channel takes its sources and sinks with it; the memory
// channel's events move into the new one.
func TestTakeOverOfAChangedChannelCarriesItsEvents(t *testing.T) {
	first, h := agentFor(t, twoPipes...)
	h.setSinkFn("k2", func(context.Context, *testSink, []*sluice.Event) error { return errDown })
	start(t, first, Options{})
	putInto(t, first, "r2", 0, 50)
	changed := hooked(t, append(slices.Clone(twoPipes), "a1.channels.c2.capacity = 500"))
	next, problems := BuildReload(parse(changed...), sluicetest.Logger(), first)
	failOnErrors(t, problems)
	if sourceNamed(next, "r2") == sourceNamed(first, "r2") || next.sinks[1] == first.sinks[1] || sourceNamed(next, "r1") != sourceNamed(first, "r1") {
		t.Fatal("want r2 and k2 rebuilt with c2, r1 kept")
	}
	h.setSinkFn("k2", nil)
	if err := next.TakeOver(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the carried events delivered", func() bool { return len(h.Delivered("k2")) >= 50 })
	if err := stopAgent(t, next); err != nil {
		t.Fatal(err)
	}
	if got := h.Delivered("k2"); !slices.Equal(got, upTo(50)) {
		t.Errorf("k2 delivered %v, want 0..49", got)
	}
}

// stream hands batches of 10 numbered events to source src until stop is
// closed and at least min events went in; a refused batch (channel full)
// is offered again. It returns how many events went in.
func stream(a *Agent, src string, stop <-chan struct{}, min int) (int, error) {
	p := sourceNamed(a, src).processor
	n := 0
	for {
		select {
		case <-stop:
			if n >= min {
				return n, nil
			}
		default:
		}
		if err := p.Process(context.Background(), numbered(n, 10), sluice.CallAppendBatch); err != nil {
			if !strings.Contains(err.Error(), "full") && !strings.Contains(err.Error(), "capacity") {
				return n, err
			}
			time.Sleep(time.Millisecond)
			continue
		}
		n += 10
	}
}

// The reload test of issue 18: one sink changes while both sources stream;
// the sources and the other pipe are never stopped, and at the end every
// event of both streams was delivered exactly once, in order.
func TestReloadOfOneSinkWhileTwoSourcesStream(t *testing.T) {
	conf := append(slices.Clone(twoPipes), "a1.channels.c1.capacity = 1000", "a1.channels.c2.capacity = 1000")
	first, h := agentFor(t, conf...)
	start(t, first, Options{})
	stop := make(chan struct{})
	type result struct {
		n   int
		err error
	}
	res := map[string]chan result{"r1": make(chan result, 1), "r2": make(chan result, 1)}
	for src, ch := range res {
		go func() {
			n, err := stream(first, src, stop, 2000)
			ch <- result{n, err}
		}()
	}
	waitUntil(t, "both streams flowing", func() bool { return len(h.Delivered("k1")) >= 200 && len(h.Delivered("k2")) >= 200 })

	before := len(h.Log())
	next, problems := BuildReload(parse(hooked(t, append(slices.Clone(conf), "a1.sinks.k2.batchSize = 7"))...), sluicetest.Logger(), first)
	failOnErrors(t, problems)
	if err := next.TakeOver(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	// Both streams go on after the reload for a while.
	k1, k2 := len(h.Delivered("k1")), len(h.Delivered("k2"))
	waitUntil(t, "both streams flowing after the reload", func() bool {
		return len(h.Delivered("k1")) >= k1+200 && len(h.Delivered("k2")) >= k2+200
	})
	close(stop)
	r1, r2 := <-res["r1"], <-res["r2"]
	if r1.err != nil || r2.err != nil {
		t.Fatalf("a source's hand-off failed during the reload: %v / %v", r1.err, r2.err)
	}
	waitUntil(t, "every event delivered", func() bool {
		return len(h.Delivered("k1")) >= r1.n && len(h.Delivered("k2")) >= r2.n
	})
	if err := stopAgent(t, next); err != nil {
		t.Fatal(err)
	}
	if got := h.Delivered("k1"); !slices.Equal(got, upTo(r1.n)) {
		t.Errorf("k1 delivered %d events, want 0..%d once each, in order", len(got), r1.n-1)
	}
	if got := h.Delivered("k2"); !slices.Equal(got, upTo(r2.n)) {
		t.Errorf("k2 delivered %d events, want 0..%d once each, in order", len(got), r2.n-1)
	}
	during := h.Log()[before:]
	var lifecycle []string
	for _, l := range during {
		if strings.HasPrefix(l, "start ") || strings.HasPrefix(l, "stop ") {
			lifecycle = append(lifecycle, l)
		}
	}
	// Only k2 was replaced until the final stop of the whole agent.
	want := []string{"stop sink k2", "start sink k2"}
	if len(lifecycle) < 2 || !slices.Equal(lifecycle[:2], want) {
		t.Errorf("lifecycle during the reload: %q, want it to begin %q", lifecycle, want)
	}
	t.Logf("streamed %d (r1) and %d (r2) events through the reload", r1.n, r2.n)
}

// A reload that changes a memory channel while its sink's downstream is
// down loses none of the events the channel held: they move into the new
// channel and are delivered once the downstream is back.
func TestReloadOfAChangedChannelWithTheDownstreamDown(t *testing.T) {
	first, h := agentFor(t, twoPipes...)
	h.setSinkFn("k2", func(context.Context, *testSink, []*sluice.Event) error { return errDown })
	start(t, first, Options{})
	putInto(t, first, "r2", 0, 50)
	next, problems := BuildReload(parse(hooked(t, append(slices.Clone(twoPipes), "a1.channels.c2.capacity = 500"))...), sluicetest.Logger(), first)
	failOnErrors(t, problems)
	if err := next.TakeOver(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	c2 := channelNamed(next, "c2")
	waitUntil(t, "the 50 events in the new c2", func() bool { return c2.(sluice.Sized).Size() == 50 })
	if channelNamed(first, "c2") == c2 {
		t.Fatal("c2 was not replaced")
	}
	putInto(t, next, "r2", 50, 10)
	h.setSinkFn("k2", nil) // the downstream is back
	waitUntil(t, "every event delivered", func() bool { return len(h.Delivered("k2")) >= 60 })
	if err := stopAgent(t, next); err != nil {
		t.Fatal(err)
	}
	if got := h.Delivered("k2"); !slices.Equal(got, upTo(60)) {
		t.Errorf("k2 delivered %v, want 0..59 once each", got)
	}
}

// A reload of the same configuration (a SIGHUP with nothing changed)
// stops and starts nothing.
func TestReloadOfTheSameConfigurationKeepsEverything(t *testing.T) {
	first, h := agentFor(t, twoPipes...)
	start(t, first, Options{})
	before := len(h.Log())
	next, problems := BuildReload(parse(hooked(t, twoPipes)...), sluicetest.Logger(), first)
	failOnErrors(t, problems)
	if err := next.TakeOver(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	if during := h.Log()[before:]; len(during) != 0 {
		t.Errorf("the same configuration stopped or started components: %q", during)
	}
	putInto(t, next, "r1", 0, 10)
	waitUntil(t, "delivery after the reload", func() bool { return len(h.Delivered("k1")) == 10 })
	if err := stopAgent(t, next); err != nil {
		t.Fatal(err)
	}
}
