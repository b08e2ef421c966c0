package processor

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

// fakeSink is a sink whose Process results are scripted: queued results
// are returned first, then the standing status/err.
type fakeSink struct {
	name string
	log  *callLog

	mu       sync.Mutex
	queue    []result
	status   sluice.Status
	err      error
	calls    int
	starts   int
	stops    int
	startErr error
	// hook runs inside Process, before the result is returned.
	hook func()
}

type result struct {
	st  sluice.Status
	err error
}

// callLog records which sinks processed, in order, across a group.
type callLog struct {
	mu    sync.Mutex
	names []string
}

func (l *callLog) add(n string) { l.mu.Lock(); l.names = append(l.names, n); l.mu.Unlock() }

func (l *callLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.names
	l.names = nil
	return out
}

func (s *fakeSink) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.startErr != nil {
		return s.startErr
	}
	s.starts++
	return nil
}

func (s *fakeSink) Stop(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stops++
	return nil
}

// Deliver is never called: the processors drive a sink through its Drain
// (here the fake itself, standing for the core loop over a real sink).
func (s *fakeSink) Deliver(context.Context, []*sluice.Event) error { return nil }

func (s *fakeSink) Process(context.Context) (sluice.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.log != nil {
		s.log.add(s.name)
	}
	if s.hook != nil {
		s.hook()
	}
	if len(s.queue) > 0 {
		r := s.queue[0]
		s.queue = s.queue[1:]
		return r.st, r.err
	}
	return s.status, s.err
}

// fail makes every later call fail (nil: succeed with Ready).
func (s *fakeSink) fail(err error) {
	s.mu.Lock()
	s.err, s.status = err, sluice.Ready
	s.mu.Unlock()
}

func (s *fakeSink) setStatus(st sluice.Status) {
	s.mu.Lock()
	s.err, s.status = nil, st
	s.mu.Unlock()
}

func (s *fakeSink) nCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// group makes fake sinks sharing one call log.
func group(names ...string) ([]*fakeSink, *callLog) {
	l := &callLog{}
	out := make([]*fakeSink, len(names))
	for i, n := range names {
		out[i] = &fakeSink{name: n, log: l}
	}
	return out, l
}

// clock is a manual time source.
type clock struct{ t time.Time }

func newClock() *clock                   { return &clock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)} }
func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// build decodes props with the registered spec of typ, as the loader would,
// and builds the processor over sinks. logs receives its log output.
func build(t *testing.T, typ string, props map[string]string, logs *bytes.Buffer, sinks ...*fakeSink) (any, error) {
	t.Helper()
	spec, ok := sluice.Lookup(sluice.KindSinkProcessor, typ)
	if !ok {
		t.Fatalf("sink processor type %q is not registered", typ)
	}
	var cfg any
	if spec.Config != nil {
		cfg = spec.Config()
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var ps []conf.Prop
		for _, k := range keys {
			ps = append(ps, conf.Prop{Key: k, FullKey: "a1.sinkgroups.g1.processor." + k, Value: props[k], File: "test.conf", Line: 1})
		}
		var errs []error
		for _, e := range conf.Decode(cfg, ps) {
			if !e.Warning {
				errs = append(errs, e)
			}
		}
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
	} else if len(props) > 0 {
		t.Fatalf("%s takes no properties", typ)
	}
	env := sluicetest.Env("g1")
	if logs != nil {
		env.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, s := range sinks {
		env.Sinks = append(env.Sinks, sluice.NamedSink{Name: s.name, Sink: s, Drain: s})
	}
	return spec.New(env, cfg)
}

func mustBuild(t *testing.T, typ string, props map[string]string, sinks ...*fakeSink) any {
	t.Helper()
	p, err := build(t, typ, props, nil, sinks...)
	if err != nil {
		t.Fatalf("build %s: %v", typ, err)
	}
	return p
}

// process calls Process and fails the test on an error.
func process(t *testing.T, p sluice.SinkProcessor) sluice.Status {
	t.Helper()
	st, err := p.Process(context.Background())
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	return st
}

func wantErrContains(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}
