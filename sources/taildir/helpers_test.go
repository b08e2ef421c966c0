package taildir

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

func init() { retryFirst, retryMax = 20*time.Millisecond, 50*time.Millisecond }

func decodeConfig(t testing.TB, props map[string]string) (*Config, error) {
	t.Helper()
	sp, ok := sluice.Lookup(sluice.KindSource, "TAILDIR")
	if !ok {
		t.Fatal("TAILDIR not registered")
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

// recorder is a channel that keeps what it committed and can be told to
// refuse (a full channel); the source writes to it through the core's real
// hand-off, so its counters are as in an agent.
type recorder struct {
	mu     sync.Mutex
	events []*sluice.Event
	refuse bool
	accept int // when > 0, batches accepted before refusing
	calls  int
}

func (r *recorder) Start(context.Context) error { return nil }
func (r *recorder) Stop(context.Context) error  { return nil }
func (r *recorder) Begin() sluice.Transaction   { return &recTxn{r: r} }

type recTxn struct {
	r    *recorder
	puts []*sluice.Event
}

func (t *recTxn) Put(ev []*sluice.Event) error {
	for _, e := range ev {
		t.puts = append(t.puts, e.Clone())
	}
	return nil
}

func (t *recTxn) Take(int) ([]*sluice.Event, error) { return nil, errors.New("put-only") }
func (t *recTxn) Rollback() error                   { t.puts = nil; return nil }

// Commit is one hand-off attempt.
func (t *recTxn) Commit() error {
	r := t.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.accept > 0 && r.calls > r.accept {
		r.refuse = true
	}
	if r.refuse {
		return sluice.ChannelFullError("test", "refusing")
	}
	r.events = append(r.events, t.puts...)
	t.puts = nil
	return nil
}

type recSelector struct{ r *recorder }

func (s recSelector) Required(*sluice.Event) []sluice.Channel { return []sluice.Channel{s.r} }
func (s recSelector) Optional(*sluice.Event) []sluice.Channel { return nil }
func (s recSelector) All() []sluice.Channel                   { return []sluice.Channel{s.r} }

func (r *recorder) setRefuse(v bool) {
	r.mu.Lock()
	r.refuse = v
	r.mu.Unlock()
}

func (r *recorder) snapshot() ([]*sluice.Event, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*sluice.Event(nil), r.events...), r.calls
}

func (r *recorder) bodies() []string {
	ev, _ := r.snapshot()
	out := make([]string, len(ev))
	for i, e := range ev {
		out[i] = string(e.Body)
	}
	return out
}

type harness struct {
	t    *testing.T
	dir  string
	pos  string
	src  *Source
	rec  *recorder
	logs *logBuf
}

// newHarness builds a source with group f1 = <dir>/<pattern> (more groups
// and options through props) and a position file in the temp dir.
func newHarness(t *testing.T, dir, pattern string, props map[string]string) *harness {
	t.Helper()
	pos := filepath.Join(dir, "state", "taildir_position.json")
	p := map[string]string{
		"filegroups":            "f1",
		"filegroups.f1":         filepath.Join(dir, pattern),
		"positionFile":          pos,
		"backoffSleepIncrement": "10",
		"maxBackoffSleep":       "50",
		"writePosInterval":      "50",
	}
	for k, v := range props {
		p[k] = v
	}
	cfg, err := decodeConfig(t, p)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, pos: pos, rec: &recorder{}, logs: &logBuf{}}
	env := sluicetest.Env("r1")
	env.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env.Processor = handoff.New("r1", recSelector{h.rec}, nil, env.SourceCounters, sluicetest.Logger())
	if h.src, err = New(env, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("source log:\n%s", h.logs.String())
		}
	})
	return h
}

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

// waitBodies waits until n events arrived and returns their bodies.
func (h *harness) waitBodies(n int) []string {
	h.t.Helper()
	waitFor(h.t, fmt.Sprintf("%d events", n), func() bool { return len(h.rec.bodies()) >= n })
	return h.rec.bodies()
}

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

func appendTo(t *testing.T, p, s string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func numbered(prefix string, from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "%s%05d\n", prefix, i)
	}
	return b.String()
}

func numberedList(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%05d", prefix, i))
	}
	return out
}
