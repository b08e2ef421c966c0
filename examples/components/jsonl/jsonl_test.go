package jsonl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

func TestDeliversThroughTheCoreLoop(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	spec, _ := sluice.Lookup(sluice.KindSink, "example_jsonl")
	cfg := spec.Config()
	if errs := conf.Decode(cfg, []conf.Prop{{Key: "path", Value: path}, {Key: "batchSize", Value: "2"}}); len(errs) > 0 {
		t.Fatal(errs)
	}
	ch := sluicetest.NewChannel(sluice.NewEvent([]byte("a")), sluice.NewEvent([]byte("b")), sluice.NewEvent([]byte("c")))
	env := sluicetest.Env("k1")
	env.Channel = ch
	v, err := spec.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := v.(*Sink)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	loop := sluicetest.SinkLoop(env, s) // what the agent runs
	for ch.Len() > 0 {
		if _, err := loop.Process(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if got := string(b); got != "{\"body\":\"a\"}\n{\"body\":\"b\"}\n{\"body\":\"c\"}\n" {
		t.Errorf("file holds %q", got)
	}
	if c := env.SinkCounters; c.EventDrainSuccess.Load() != 3 || c.BatchComplete.Load() != 1 || c.BatchUnderflow.Load() != 1 {
		t.Errorf("counters %v", c.Snapshot())
	}
}

func TestMissingPathIsAConfigError(t *testing.T) {
	spec, _ := sluice.Lookup(sluice.KindSink, "example_jsonl")
	errs := conf.Decode(spec.Config(), nil)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "path") {
		t.Errorf("got %v", errs)
	}
}
