package spooldir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/handoff"
	"github.com/sluiceio/sluice/sluicetest"
)

// logBuf collects log output safely.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// decodeConfig decodes props over the spec's defaults.
func decodeConfig(t testing.TB, props map[string]string) (*Config, error) {
	t.Helper()
	sp, ok := sluice.Lookup(sluice.KindSource, "spooldir")
	if !ok {
		t.Fatal("spooldir not registered")
	}
	cfg := sp.Config().(*Config)
	var ps []conf.Prop
	for k, v := range props {
		ps = append(ps, conf.Prop{Key: k, FullKey: "a1.sources.r1." + k, Value: v})
	}
	var errs []string
	for _, e := range conf.Decode(cfg, ps) {
		if !e.Warning {
			errs = append(errs, e.Error())
		}
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return cfg, nil
}

type harness struct {
	t    *testing.T
	dir  string
	src  *Source
	proc sluice.ChannelProcessor
	rec  *sluicetest.Processor
	logs *logBuf
	env  sluice.Env
}

// newHarness builds a source over a fresh spool directory (or dir, when
// props has spoolDir) with a short pollDelay.
func newHarness(t *testing.T, props map[string]string) *harness {
	t.Helper()
	p := map[string]string{"pollDelay": "20"}
	for k, v := range props {
		p[k] = v
	}
	if p["spoolDir"] == "" {
		p["spoolDir"] = t.TempDir()
	}
	cfg, err := decodeConfig(t, p)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: p["spoolDir"], rec: sluicetest.NewProcessor(), logs: &logBuf{}}
	h.proc = h.rec
	h.env = sluicetest.SourceEnv("r1", h.rec)
	h.env.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.env.Processor = switchProc{h}
	src, err := New(h.env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.src = src
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("source log:\n%s", h.logs.String())
		}
	})
	return h
}

// switchProc hands off to whatever h.proc is now, so a test can put a gate
// behind the source it built.
type switchProc struct{ h *harness }

func (s switchProc) Process(ctx context.Context, ev []*sluice.Event, call sluice.Call) error {
	return s.h.proc.Process(ctx, ev, call)
}

func (s switchProc) ProcessRetry(ctx context.Context, ev []*sluice.Event, call sluice.Call, r sluice.Retry) error {
	return s.h.proc.ProcessRetry(ctx, ev, call, r)
}

// useGate puts the core's real hand-off over g behind the source, counting
// into the source's counters as in an agent.
func (h *harness) useGate(g *gate) {
	h.proc = handoff.New("r1", gateSelector{g}, nil, h.env.SourceCounters, sluicetest.Logger())
}

// gate is a channel that commits a number of batches and then refuses
// them (a full channel) until opened again.
type gate struct {
	mu     sync.Mutex
	allow  int
	calls  int
	events []*sluice.Event
}

func (g *gate) open(n int) {
	g.mu.Lock()
	g.allow = n
	g.mu.Unlock()
}

// state is how many commits were tried and what was committed.
func (g *gate) state() (calls int, events []*sluice.Event) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls, append([]*sluice.Event(nil), g.events...)
}

func (g *gate) Start(context.Context) error { return nil }
func (g *gate) Stop(context.Context) error  { return nil }
func (g *gate) Begin() sluice.Transaction   { return &gateTxn{g: g} }

type gateTxn struct {
	g    *gate
	puts []*sluice.Event
}

func (t *gateTxn) Put(ev []*sluice.Event) error {
	for _, e := range ev {
		t.puts = append(t.puts, e.Clone())
	}
	return nil
}

func (t *gateTxn) Take(int) ([]*sluice.Event, error) { return nil, errors.New("put-only") }
func (t *gateTxn) Rollback() error                   { t.puts = nil; return nil }

func (t *gateTxn) Commit() error {
	g := t.g
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	if g.allow == 0 {
		return sluicetest.ErrFull
	}
	g.allow--
	g.events = append(g.events, t.puts...)
	t.puts = nil
	return nil
}

type gateSelector struct{ g *gate }

func (s gateSelector) Required(*sluice.Event) []sluice.Channel { return []sluice.Channel{s.g} }
func (s gateSelector) Optional(*sluice.Event) []sluice.Channel { return nil }
func (s gateSelector) All() []sluice.Channel                   { return []sluice.Channel{s.g} }

func (h *harness) start() {
	h.t.Helper()
	if err := h.src.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.src.Stop(ctx); err != nil {
		h.t.Errorf("stop: %v", err)
	}
}

// bodies waits for n events and returns their bodies.
func (h *harness) bodies(n int) []string {
	h.t.Helper()
	ev, err := h.rec.WaitFor(n, 20*time.Second)
	if err != nil {
		h.t.Fatalf("%v (log:\n%s)", err, h.logs.String())
	}
	out := make([]string, len(ev))
	for i, e := range ev {
		out[i] = string(e.Body)
	}
	return out
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// drop writes a file into dir the proper way: elsewhere, then renamed in,
// with a modification time in the past so it is picked up at once.
func drop(t *testing.T, dir, name, content string, age time.Duration) string {
	t.Helper()
	p := filepath.Join(dir, name)
	tmp := filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".tmp")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	mt := time.Now().Add(-age)
	if err := os.Chtimes(tmp, mt, mt); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func numbered(prefix string, from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "%s%06d\n", prefix, i)
	}
	return b.String()
}

func numberedList(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%06d", prefix, i))
	}
	return out
}
