package seq

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

const wait = 10 * time.Second

func start(t *testing.T, p sluice.ChannelProcessor, batch int, total int64) *Source {
	t.Helper()
	spec, ok := sluice.Lookup(sluice.KindSource, "org.apache.flume.source.SequenceGeneratorSource")
	if !ok {
		t.Fatal("seq not registered under its Flume class name")
	}
	cfg := spec.Config().(*Config)
	cfg.BatchSize, cfg.TotalEvents = batch, total
	env := sluicetest.Env("r1")
	env.Processor = p
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
		})
	}
}

// flaky refuses the calls whose numbers (1-based) it is given.
type flaky struct {
	mu     sync.Mutex
	calls  int
	refuse map[int]bool
	inner  *sluicetest.Processor
}

func (f *flaky) Process(ctx context.Context, evs []*sluice.Event) error {
	f.mu.Lock()
	f.calls++
	refuse := f.refuse[f.calls]
	f.mu.Unlock()
	if refuse {
		// An interceptor-like change that must not leak into the retry.
		for _, e := range evs {
			e.Body = append(e.Body, 'X')
		}
		return sluicetest.ErrFull
	}
	return f.inner.Process(ctx, evs)
}

func TestRetryWithoutGaps(t *testing.T) {
	f := &flaky{refuse: map[int]bool{2: true, 3: true, 5: true}, inner: sluicetest.NewProcessor()}
	s := start(t, f, 2, 7)
	finished(t, s)
	checkSequence(t, f.inner.Events(), 7)
	if f.calls != 4+3 {
		t.Fatalf("%d calls, want 7 (4 batches + 3 refusals)", f.calls)
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
	deadline := time.Now().Add(wait)
	for p.Calls() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no retry")
		}
		time.Sleep(5 * time.Millisecond)
	}
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
	env := sluicetest.Env("r1")
	env.Processor = sluicetest.NewProcessor()
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
