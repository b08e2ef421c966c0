package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

// logBuf collects log output for assertions.
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

// testChan is a channel under test with its directories and log.
type testChan struct {
	*Channel
	t     testing.TB
	root  string
	props map[string]string
	logs  *logBuf
	cnt   *sluice.ChannelCounters
}

// dirProps puts checkpoint and data directories under root.
func dirProps(root string, extra map[string]string) map[string]string {
	p := map[string]string{
		"checkpointDir":        filepath.Join(root, "checkpoint"),
		"dataDirs":             filepath.Join(root, "data"),
		"minimumRequiredSpace": "1048576",
		"keep-alive":           "100ms",
		"maxFileSize":          "1048576",
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func build(t testing.TB, props map[string]string) (*Channel, *logBuf, *sluice.ChannelCounters, error) {
	t.Helper()
	cfg := DefaultConfig()
	var ps []conf.Prop
	for k, v := range props {
		ps = append(ps, conf.Prop{Key: k, FullKey: "a1.channels.c1." + k, Value: v})
	}
	for _, e := range conf.Decode(cfg, ps) {
		if !e.Warning {
			return nil, nil, nil, e
		}
	}
	logs := &logBuf{}
	env := sluicetest.Env("c1")
	env.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := New(env, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return c, logs, env.ChannelCounters, nil
}

// openChan builds and starts a channel in a new temporary root.
func openChan(t testing.TB, extra map[string]string) *testChan {
	t.Helper()
	return openAt(t, t.TempDir(), extra)
}

func openAt(t testing.TB, root string, extra map[string]string) *testChan {
	t.Helper()
	props := dirProps(root, extra)
	c, logs, cnt, err := build(t, props)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("start: %v\nlog:\n%s", err, logs)
	}
	tc := &testChan{Channel: c, t: t, root: root, props: extra, logs: logs, cnt: cnt}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return tc
}

// restart stops the channel cleanly and starts a new one on the same
// directories.
func (tc *testChan) restart() *testChan {
	tc.t.Helper()
	if err := tc.Stop(context.Background()); err != nil {
		tc.t.Fatalf("stop: %v", err)
	}
	return openAt(tc.t, tc.root, tc.props)
}

// crash abandons the channel as a killed process would: no checkpoint,
// no flush beyond what already reached the kernel, locks released.
func (tc *testChan) crash() {
	tc.t.Helper()
	c := tc.Channel
	c.life.Lock()
	defer c.life.Unlock()
	close(c.ckptStop)
	<-c.ckptDone
	c.stopped.Store(true)
	c.gate.Lock()
	for _, w := range c.writers {
		w.Abandon()
	}
	c.writers = nil
	c.files.closeAll()
	for _, f := range c.locks {
		f.Close()
	}
	c.locks = nil
	c.gate.Unlock()
	c.started = false
}

func evs(from, n int) []*sluice.Event {
	out := make([]*sluice.Event, n)
	for i := range out {
		out[i] = &sluice.Event{Headers: map[string]string{"n": strconv.Itoa(from + i)}, Body: []byte(fmt.Sprintf("event-%d", from+i))}
	}
	return out
}

func put(c *Channel, events []*sluice.Event) error {
	tx := c.Begin()
	if err := tx.Put(events); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		_ = tx.Rollback()
		return err
	}
	return nil
}

func mustPut(t testing.TB, c *Channel, events []*sluice.Event) {
	t.Helper()
	if err := put(c, events); err != nil {
		t.Fatalf("put: %v", err)
	}
}

// takeN takes up to n events in one committed transaction.
func takeN(t testing.TB, c *Channel, n int) []*sluice.Event {
	t.Helper()
	tx := c.Begin()
	got, err := tx.Take(n)
	if err != nil {
		t.Fatalf("take: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("commit take: %v", err)
	}
	return got
}

// drain takes everything, in batches of 100.
func drain(t testing.TB, c *Channel) []*sluice.Event {
	t.Helper()
	var all []*sluice.Event
	for {
		got := takeN(t, c, min(100, c.cfg.TransactionCapacity))
		if len(got) == 0 {
			return all
		}
		all = append(all, got...)
	}
}

func bodies(events []*sluice.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = string(e.Body)
	}
	return out
}

func wantBodies(from, n int) []string { return bodies(evs(from, n)) }

var errAny = errors.New("any")
