package stress

import (
	"bytes"
	"context"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

func build(t *testing.T, props map[string]string) (*Source, *sluicetest.Processor) {
	t.Helper()
	spec, ok := sluice.Lookup(sluice.KindSource, "org.apache.flume.source.StressSource")
	if !ok {
		t.Fatal("stress source not registered under Flume's class name")
	}
	cfg := spec.Config()
	var ps []conf.Prop
	for k, v := range props {
		ps = append(ps, conf.Prop{Key: k, FullKey: "a1.sources.r1." + k, Value: v})
	}
	for _, e := range conf.Decode(cfg, ps) {
		t.Fatalf("decode: %v", e)
	}
	env := sluicetest.Env("r1")
	p := sluicetest.NewProcessor()
	env.Processor = p
	v, err := spec.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := v.(*Source)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, p
}

func TestStopsAtMaxTotalEvents(t *testing.T) {
	s, p := build(t, map[string]string{"size": "100", "batchSize": "300", "maxTotalEvents": "1000"})
	ctx := context.Background()
	calls := 0
	for {
		st, err := s.Process(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st == sluice.Backoff {
			break
		}
		calls++
	}
	ev := p.Events()
	if len(ev) != 1000 || calls != 4 {
		t.Fatalf("got %d events in %d batches, want 1000 in 4", len(ev), calls)
	}
	for _, e := range ev {
		if !bytes.Equal(e.Body, bytes.Repeat([]byte{0x7F}, 100)) {
			t.Fatalf("body %x", e.Body)
		}
	}
}

func TestRefusedBatchIsRetriedNotCounted(t *testing.T) {
	s, p := build(t, map[string]string{"batchSize": "10", "maxTotalEvents": "20"})
	ctx := context.Background()
	p.SetFail(sluicetest.ErrFull)
	if st, _ := s.Process(ctx); st != sluice.Backoff {
		t.Fatalf("refused batch returned %v, want BACKOFF", st)
	}
	p.SetFail(nil)
	for i := 0; i < 5; i++ {
		_, _ = s.Process(ctx)
	}
	if n := len(p.Events()); n != 20 {
		t.Fatalf("delivered %d, want exactly 20 despite the refusal", n)
	}
}

func TestValidate(t *testing.T) {
	c := &Config{Size: -1, BatchSize: 0, MaxEventsPerSecond: -5}
	if err := c.Validate(); err == nil {
		t.Fatal("bad config accepted")
	}
}
