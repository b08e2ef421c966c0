package agent

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	_ "github.com/sluiceio/sluice/channels/memory"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

// TestBuildNextKeepsAnUnchangedMemoryChannel: across a reload an unchanged
// memory channel is the same instance, with the events it held, as in
// Flume; one whose properties changed is built anew.
func TestBuildNextKeepsAnUnchangedMemoryChannel(t *testing.T) {
	base := []string{
		"a1.channels = c1 c2",
		"a1.channels.c1.type = memory",
		"a1.channels.c2.type = memory",
		"a1.sources = r1",
		"a1.sources.r1.type = test-agent-source",
		"a1.sources.r1.channels = c1 c2",
		"a1.channels.c2.capacity = 500",
	}
	first, problems := Build(parse(base...), sluicetest.Logger())
	failOnErrors(t, problems)
	ctx := context.Background()
	for _, c := range first.channels {
		if err := c.ch.Start(ctx); err != nil {
			t.Fatal(err)
		}
		tx := c.ch.Begin()
		if err := tx.Put([]*sluice.Event{{Body: []byte("kept")}, {Body: []byte("too")}}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := c.ch.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// c1 unchanged; c2's capacity changed.
	changed := append(append([]string(nil), base[:6]...), "a1.channels.c2.capacity = 600")
	next, problems := BuildNext(parse(changed...), sluicetest.Logger(), first)
	failOnErrors(t, problems)
	if next.channels[0].ch != first.channels[0].ch || next.channels[0].counters != first.channels[0].counters {
		t.Fatal("unchanged channel c1 was built anew")
	}
	if next.channels[1].ch == first.channels[1].ch {
		t.Fatal("channel c2, whose capacity changed, was kept")
	}
	c1 := next.channels[0].ch
	if err := c1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	tx := c1.Begin()
	got, err := tx.Take(10)
	if err != nil || len(got) != 2 || string(got[0].Body) != "kept" {
		t.Fatalf("kept channel gave %d events (%v), want its 2", len(got), err)
	}
	tx.Commit()
	if n := next.channels[1].ch.(sluice.Sized).Size(); n != 0 {
		t.Fatalf("new c2 holds %d events", n)
	}
}

func failOnErrors(t *testing.T, problems []*conf.Error) {
	t.Helper()
	for _, p := range problems {
		if !p.Warning {
			t.Fatal(p)
		}
	}
}

// A reload that changes a memory channel while its sink's downstream is
// down must not lose what the channel held: the new channel takes the
// events over, as room allows (here it is smaller than what is carried).
func TestReloadCarriesAChangedMemoryChannelsEvents(t *testing.T) {
	first, h := agentFor(t, memSinkConf...)
	h.setSinkFn("k1", func(context.Context, *testSink, []*sluice.Event) error { return errors.New("downstream down") })
	start(t, first, Options{DrainTimeout: 10 * time.Millisecond})
	put(t, first, 0, 500)
	if err := stopAgent(t, first); err != nil {
		t.Fatal(err)
	}
	if n := channelNamed(first, "c1").(sluice.Sized).Size(); n != 500 {
		t.Fatalf("old channel holds %d, want 500", n)
	}
	changed := append(slices.Clone(memSinkConf), "a1.channels.c1.capacity = 100")
	for i, l := range changed {
		changed[i] = strings.ReplaceAll(l, "HOOK", strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	}
	next, problems := BuildNext(parse(changed...), sluicetest.Logger(), first)
	failOnErrors(t, problems)
	if channelNamed(next, "c1") == channelNamed(first, "c1") {
		t.Fatal("the changed channel was kept")
	}
	h.setSinkFn("k1", nil)
	start(t, next, Options{})
	waitUntil(t, "500 events delivered after the reload", func() bool { return len(h.Delivered("k1")) >= 500 })
	if err := stopAgent(t, next); err != nil {
		t.Fatal(err)
	}
	got := h.Delivered("k1")
	slices.Sort(got)
	want := upTo(500)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("delivered %d events, want each of the 500 once", len(got))
	}
}

// A reload (BuildReload) that removes a memory channel still holding
// events (its sink's downstream down) is refused with an error naming the channel and the
// count, rather than drop them when the old configuration stops; once the
// channel is empty the same reload goes through.
func TestReloadRemovingAMemoryChannelThatHoldsEventsIsRefused(t *testing.T) {
	first, h := agentFor(t, memSinkConf...)
	h.setSinkFn("k1", func(context.Context, *testSink, []*sluice.Event) error { return errors.New("downstream down") })
	start(t, first, Options{DrainTimeout: 10 * time.Millisecond})
	put(t, first, 0, 300)
	if err := stopAgent(t, first); err != nil {
		t.Fatal(err)
	}
	without := []string{
		"a1.sources = r1",
		"a1.channels = c2",
		"a1.sinks = k2",
		"a1.sources.r1.type = test-agent-source",
		"a1.sources.r1.channels = c2",
		"a1.channels.c2.type = memory",
		"a1.sinks.k2.type = test-agent-sink",
		"a1.sinks.k2.channel = c2",
	}
	_, problems := BuildReload(parse(without...), sluicetest.Logger(), first)
	var refused *conf.Error
	for _, p := range problems {
		if !p.Warning && strings.Contains(p.Msg, `channel "c1" holds 300 events`) && strings.Contains(p.Msg, "refusing the reload") {
			refused = p
		}
	}
	if refused == nil {
		t.Fatalf("a reload removing c1 with 300 events was not refused: %v", problems)
	}
	// Drained: the same configuration is accepted.
	c1 := channelNamed(first, "c1")
	for taken := 0; taken < 300; {
		tx := c1.Begin()
		got, err := tx.Take(100)
		if err != nil || len(got) == 0 {
			t.Fatalf("drain after %d: %d, %v", taken, len(got), err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		taken += len(got)
	}
	_, problems = BuildReload(parse(without...), sluicetest.Logger(), first)
	failOnErrors(t, problems)
}
