package seq

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

const wait = 10 * time.Second

func start(t *testing.T, p *sluicetest.Processor, batch int, total int64) *Source {
	t.Helper()
	spec, ok := sluice.Lookup(sluice.KindSource, "org.apache.flume.source.SequenceGeneratorSource")
	if !ok {
		t.Fatal("seq not registered under its Flume class name")
	}
	cfg := spec.Config().(*Config)
	cfg.BatchSize, cfg.TotalEvents = batch, total
	env := sluicetest.SourceEnv("r1", p)
	c, err := spec.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := c.(*Source)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	return s
}

func finished(t *testing.T, s *Source) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(wait):
		t.Fatal("generator did not finish")
	}
}

func checkSequence(t *testing.T, evs []*sluice.Event, n int) {
	t.Helper()
	if len(evs) != n {
		t.Fatalf("%d events, want %d", len(evs), n)
	}
	for i, e := range evs {
		if string(e.Body) != strconv.Itoa(i) {
			t.Fatalf("event %d has body %q", i, e.Body)
		}
	}
}

func TestCountsAndTotal(t *testing.T) {
	for _, tc := range []struct {
		batch       int
		total       int64
		calls       int
		batchCounts int64
	}{
		{1, 5, 5, 0},
		{3, 10, 4, 4},
		{100, 250, 3, 3},
		{4, 0, 0, 0},
	} {
		t.Run(fmt.Sprintf("batch%d_total%d", tc.batch, tc.total), func(t *testing.T) {
			p := sluicetest.NewProcessor()
			s := start(t, p, tc.batch, tc.total)
			finished(t, s)
			checkSequence(t, p.Events(), int(tc.total))
			if p.Calls() != tc.calls {
				t.Fatalf("%d Process calls, want %d", p.Calls(), tc.calls)
			}
			if got := s.counters.AppendBatchAccepted.Load(); got != tc.batchCounts {
				t.Fatalf("AppendBatchAcceptedCount %d, want %d", got, tc.batchCounts)
			}
			sc := s.counters
			if sc.AppendBatchReceived.Load() != tc.batchCounts || sc.EventReceived.Load() != tc.total || sc.EventAccepted.Load() != tc.total {
				t.Fatalf("counters %v", sc.Snapshot())
			}
		})
	}
}

// A refused batch is retried by the core with the same numbers: no gap, no
// duplicate, and each refusal counted once.
func TestRetryWithoutGaps(t *testing.T) {
	p := sluicetest.NewProcessor()
	p.SetFail(sluicetest.ErrFull)
	s := start(t, p, 2, 7)
	waitFor(t, func() bool { return p.Calls() >= 2 }, "two refused attempts")
	p.SetFail(nil)
	finished(t, s)
	checkSequence(t, p.Events(), 7)
	refused := int64(p.Calls() - 4) // 4 batches were taken
	sc := s.counters
	if refused < 2 || sc.ChannelWriteFail.Load() != refused ||
		sc.AppendBatchReceived.Load()-sc.AppendBatchAccepted.Load() != refused || sc.AppendBatchAccepted.Load() != 4 {
		t.Fatalf("counters %v after %d refusals", sc.Snapshot(), refused)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStopEndsUnboundedGenerator(t *testing.T) {
	p := sluicetest.NewProcessor()
	s := start(t, p, 10, math.MaxInt64)
	if _, err := p.WaitFor(1000, wait); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	finished(t, s)
	evs := p.Events()
	checkSequence(t, evs, len(evs))
	if err := s.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestStopDuringBackoff(t *testing.T) {
	p := sluicetest.NewProcessor()
	p.SetFail(sluicetest.ErrFull)
	s := start(t, p, 1, 10)
	waitFor(t, func() bool { return p.Calls() >= 2 }, "a retry")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	finished(t, s)
	if len(p.Events()) != 0 {
		t.Fatal("refused events recorded")
	}
}

func TestStopWithoutStart(t *testing.T) {
	env := sluicetest.SourceEnv("r1", sluicetest.NewProcessor())
	s, err := New(env, &Config{BatchSize: 1, TotalEvents: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestConfig(t *testing.T) {
	spec, _ := sluice.Lookup(sluice.KindSource, "seq")
	cfg := spec.Config().(*Config)
	if *cfg != (Config{BatchSize: 1, TotalEvents: math.MaxInt64}) {
		t.Fatalf("defaults %+v", *cfg)
	}
	if errs := conf.Decode(cfg, []conf.Prop{{Key: "batchSize", Value: "50"}, {Key: "totalEvents", Value: "9223372036854775807"}}); len(errs) != 0 {
		t.Fatal(errs)
	}
	for _, p := range []conf.Prop{{Key: "batchSize", Value: "0"}, {Key: "totalEvents", Value: "-1"}} {
		errs := conf.Decode(spec.Config(), []conf.Prop{{Key: p.Key, FullKey: "a1.sources.r1." + p.Key, Value: p.Value}})
		if len(errs) == 0 || !strings.Contains(errs[0].Error(), p.Key) {
			t.Errorf("%s=%s: %v", p.Key, p.Value, errs)
		}
	}
}
