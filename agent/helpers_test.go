package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	_ "github.com/sluiceio/sluice/all"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

// Test-only component types. The registry is global and rejects duplicate
// names, so they carry a "test-agent-" prefix no real component uses. Each
// instance finds its test through the "hook" property, which names an entry
// in hooks.
func init() {
	sluice.Register(sluice.Spec{Kind: sluice.KindSource, Name: "test-agent-source",
		Config: func() any { return &testConfig{} },
		New: func(env sluice.Env, cfg any) (any, error) {
			return &testSource{testPart: newPart(env, cfg, "source")}, nil
		}})
	sluice.Register(sluice.Spec{Kind: sluice.KindSource, Name: "test-agent-pollable",
		Config: func() any { return &testConfig{} },
		New: func(env sluice.Env, cfg any) (any, error) {
			return &testPollable{testSource{testPart: newPart(env, cfg, "source")}}, nil
		}})
	sluice.Register(sluice.Spec{Kind: sluice.KindChannel, Name: "test-agent-channel",
		Config: func() any { return &testConfig{} },
		New: func(env sluice.Env, cfg any) (any, error) {
			return &testChannel{testPart: newPart(env, cfg, "channel"), Channel: sluicetest.NewChannel()}, nil
		}})
	sluice.Register(sluice.Spec{Kind: sluice.KindSink, Name: "test-agent-sink",
		Config: func() any { return &testConfig{BatchSize: 10} },
		New: func(env sluice.Env, cfg any) (any, error) {
			return &testSink{testPart: newPart(env, cfg, "sink")}, nil
		}})
	// A selector whose defaults fail Validate with an error naming no property.
	sluice.Register(sluice.Spec{Kind: sluice.KindSelector, Name: "test-agent-selector",
		Config: func() any { return &testConfig{BatchSize: -1} },
		New: func(env sluice.Env, cfg any) (any, error) {
			return nil, errors.New("not reached")
		}})
	// Types whose constructor makes something of another kind.
	for _, k := range []sluice.Kind{sluice.KindSource, sluice.KindInterceptor} {
		sluice.Register(sluice.Spec{Kind: k, Name: "test-agent-wrongkind",
			New: func(env sluice.Env, cfg any) (any, error) { return struct{}{}, nil }})
	}
	sluice.Register(sluice.Spec{Kind: sluice.KindInterceptor, Name: "test-agent-interceptor",
		Config: func() any { return &testConfig{} },
		New: func(env sluice.Env, cfg any) (any, error) {
			return &testInterceptor{tag: env.Name}, nil
		}})
}

type testConfig struct {
	Hook      string `flume:"hook" doc:"name of the test's hook"`
	FailStart bool   `flume:"failStart" doc:"make Start fail"`
	BatchSize int    `flume:"batchSize" doc:"events a sink takes per call"`
}

// Validate returns a plain error (not conf.Invalid), as some components do.
func (c *testConfig) Validate() error {
	if c.BatchSize < 0 {
		return errors.New("a negative batch size makes no sense")
	}
	return nil
}

// hook is one test's view of the components built from its configuration.
type hook struct {
	mu        sync.Mutex
	log       []string            // lifecycle and commit events, in order
	delivered map[string][]string // sink name -> bodies it committed
	sinks     map[string]*testSink
	sources   map[string]*testSource
	// sinkFn, when set for a sink name, replaces that sink's Deliver.
	sinkFn map[string]func(ctx context.Context, s *testSink, events []*sluice.Event) error
	// poll is the pollable source's Process.
	poll func(ctx context.Context) (sluice.Status, error)
}

var hooks sync.Map // hook name -> *hook

// newHook registers a hook named after the test and returns it with its name.
func newHook(t *testing.T) (*hook, string) {
	t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	h := &hook{delivered: map[string][]string{}, sinks: map[string]*testSink{}, sources: map[string]*testSource{},
		sinkFn: map[string]func(context.Context, *testSink, []*sluice.Event) error{}}
	hooks.Store(name, h)
	t.Cleanup(func() { hooks.Delete(name) })
	return h, name
}

func (h *hook) record(format string, args ...any) {
	if h == nil {
		return
	}
	h.mu.Lock()
	h.log = append(h.log, fmt.Sprintf(format, args...))
	h.mu.Unlock()
}

func (h *hook) Log() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.log...)
}

func (h *hook) Delivered(sink string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.delivered[sink]...)
}

func (h *hook) setSinkFn(name string, f func(ctx context.Context, s *testSink, events []*sluice.Event) error) {
	h.mu.Lock()
	h.sinkFn[name] = f
	h.mu.Unlock()
}

func (h *hook) source(name string) *testSource {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sources[name]
}

// testPart is what every test component shares: its name, kind, config and hook.
type testPart struct {
	kind, name string
	cfg        testConfig
	h          *hook
	env        sluice.Env
}

func newPart(env sluice.Env, cfg any, kind string) testPart {
	c := *cfg.(*testConfig)
	var h *hook
	if v, ok := hooks.Load(c.Hook); ok {
		h = v.(*hook)
	}
	return testPart{kind: kind, name: env.Name, cfg: c, h: h, env: env}
}

func (p *testPart) Start(context.Context) error {
	if p.cfg.FailStart {
		p.h.record("refuse %s %s", p.kind, p.name)
		return errors.New("refused to start")
	}
	p.h.record("start %s %s", p.kind, p.name)
	return nil
}

func (p *testPart) Stop(context.Context) error {
	p.h.record("stop %s %s", p.kind, p.name)
	return nil
}

// testSource does nothing by itself; tests push batches through Processor.
type testSource struct{ testPart }

func (s *testSource) Start(ctx context.Context) error {
	if s.h != nil {
		s.h.mu.Lock()
		s.h.sources[s.name] = s
		s.h.mu.Unlock()
	}
	return s.testPart.Start(ctx)
}

func (s *testSource) Processor() sluice.ChannelProcessor { return s.env.Processor }

// testPollable is a PollableSource whose Process is the hook's poll.
type testPollable struct{ testSource }

func (s *testPollable) Process(ctx context.Context) (sluice.Status, error) {
	s.h.mu.Lock()
	f := s.h.poll
	s.h.mu.Unlock()
	return f(ctx)
}

// testChannel is an unbounded FIFO channel whose commits can be made to fail
// and are recorded in the hook's log.
type testChannel struct {
	testPart
	*sluicetest.Channel
	fail atomic.Bool
}

func (c *testChannel) Start(ctx context.Context) error { return c.testPart.Start(ctx) }
func (c *testChannel) Stop(ctx context.Context) error  { return c.testPart.Stop(ctx) }

func (c *testChannel) Begin() sluice.Transaction {
	return &testTxn{Transaction: c.Channel.Begin(), c: c}
}

type testTxn struct {
	sluice.Transaction
	c    *testChannel
	puts []*sluice.Event
}

func (t *testTxn) Put(events []*sluice.Event) error {
	t.puts = append(t.puts, events...)
	return t.Transaction.Put(events)
}

func (t *testTxn) Commit() error {
	if t.c.fail.Load() {
		_ = t.Transaction.Rollback()
		t.c.h.record("refuse %s %s", t.c.name, bodies(t.puts))
		return sluice.ChannelFullError(t.c.name, "test failure")
	}
	if len(t.puts) > 0 {
		t.c.h.record("commit %s %s", t.c.name, bodies(t.puts))
	}
	return t.Transaction.Commit()
}

// testSink records the bodies it is given, unless the hook gives it
// another Deliver.
type testSink struct {
	testPart
}

func (s *testSink) BatchSize() int { return s.cfg.BatchSize }

func (s *testSink) Start(ctx context.Context) error {
	if s.h != nil {
		s.h.mu.Lock()
		s.h.sinks[s.name] = s
		s.h.mu.Unlock()
	}
	return s.testPart.Start(ctx)
}

func (s *testSink) Deliver(ctx context.Context, events []*sluice.Event) error {
	s.h.mu.Lock()
	f := s.h.sinkFn[s.name]
	s.h.mu.Unlock()
	if f != nil {
		return f(ctx, s, events)
	}
	return s.deliver(events)
}

// deliver records the batch.
func (s *testSink) deliver(events []*sluice.Event) error {
	s.h.mu.Lock()
	for _, e := range events {
		s.h.delivered[s.name] = append(s.h.delivered[s.name], string(e.Body))
	}
	s.h.mu.Unlock()
	return nil
}

// fail refuses the batch, as a sink whose downstream is down.
func (s *testSink) fail() error {
	return errors.New("downstream unavailable")
}

// testInterceptor appends its name to the "trail" header.
type testInterceptor struct{ tag string }

func (i *testInterceptor) Intercept(events []*sluice.Event) []*sluice.Event {
	for _, e := range events {
		if t := e.Headers["trail"]; t != "" {
			e.SetHeader("trail", t+","+i.tag)
		} else {
			e.SetHeader("trail", i.tag)
		}
	}
	return events
}

// parse builds the graph of agent a1 from property lines; line i of the
// slice is line i+1 of "agent.conf".
func parse(lines ...string) *conf.AgentConfig {
	props := conf.ParseProperties([]byte(strings.Join(lines, "\n")+"\n"), "agent.conf")
	return conf.Build(props, "a1", nil, func(string) (string, bool) { return "", false })
}

// build builds an agent and fails the test on any error (warnings are fine).
func build(t *testing.T, lines ...string) *Agent {
	t.Helper()
	a, problems := Build(parse(lines...), sluicetest.Logger())
	for _, p := range problems {
		if !p.Warning {
			t.Fatalf("unexpected build error: %v", p)
		}
	}
	return a
}

// errorsOf returns the errors (not warnings) among problems.
func errorsOf(problems []*conf.Error) []*conf.Error {
	var out []*conf.Error
	for _, p := range problems {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

func events(bodies ...string) []*sluice.Event {
	out := make([]*sluice.Event, len(bodies))
	for i, b := range bodies {
		out[i] = sluice.NewEvent([]byte(b))
	}
	return out
}

func numbered(from, n int) []*sluice.Event {
	out := make([]*sluice.Event, n)
	for i := range out {
		out[i] = sluice.NewEvent([]byte(fmt.Sprint(from + i)))
	}
	return out
}

func bodies(events []*sluice.Event) string {
	s := make([]string, len(events))
	for i, e := range events {
		s[i] = string(e.Body)
	}
	return strings.Join(s, " ")
}

// takeAll empties a channel, transactionCapacity-sized takes at a time.
func takeAll(t *testing.T, ch sluice.Channel) []string {
	t.Helper()
	max := 100
	if tc, ok := ch.(sluice.TxnCapacitor); ok {
		max = tc.TransactionCapacity()
	}
	var out []string
	for {
		tx := ch.Begin()
		got, err := tx.Take(max)
		if err != nil {
			t.Fatalf("take: %v", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit take: %v", err)
		}
		if len(got) == 0 {
			return out
		}
		for _, e := range got {
			out = append(out, string(e.Body))
		}
	}
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stopAgent stops a within a bounded time, failing the test if Stop hangs.
func stopAgent(t *testing.T, a *Agent) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- a.Stop(context.Background()) }()
	select {
	case err := <-done:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("Stop did not return")
		return nil
	}
}

func channelNamed(a *Agent, name string) sluice.Channel {
	for _, c := range a.channels {
		if c.name == name {
			return c.ch
		}
	}
	return nil
}

func sourceNamed(a *Agent, name string) *builtSource {
	for _, s := range a.sources {
		if s.name == name {
			return s
		}
	}
	return nil
}
