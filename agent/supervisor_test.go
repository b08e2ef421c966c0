package agent

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluiceio/sluice/conf"
)

// lockedBuffer collects log output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func writeFile(t *testing.T, path, body string, mod time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	// Explicit times: the test must not depend on the clock's granularity.
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

// replaceFile puts a new file in place in one rename, with its time set
// first, so a poll never sees it half-made (a poll between the write and
// the time change would see two changes).
func replaceFile(t *testing.T, path, body string, mod time.Time) {
	t.Helper()
	writeFile(t, path+".new", body, mod)
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

func TestConfWatcher(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name   string
		change func(t *testing.T, path string) // between the first and second look
		want   bool
	}{
		{"unchanged", func(*testing.T, string) {}, false},
		{"touched", func(t *testing.T, p string) { writeFile(t, p, "a1.sources = r1\n", t0.Add(time.Second)) }, true},
		{"older time", func(t *testing.T, p string) { writeFile(t, p, "a1.sources = r1\n", t0.Add(-time.Hour)) }, true},
		{"same time, other size", func(t *testing.T, p string) { writeFile(t, p, "a1.sources = r1 r2\n", t0) }, true},
		{"rewritten identically", func(t *testing.T, p string) { writeFile(t, p, "a1.sources = r1\n", t0) }, false},
		{"replaced by rename", func(t *testing.T, p string) {
			tmp := p + ".tmp"
			writeFile(t, tmp, "a1.sources = r9\n", t0.Add(time.Minute))
			if err := os.Rename(tmp, p); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "agent.conf")
			writeFile(t, p, "a1.sources = r1\n", t0)
			w := newConfWatcher([]string{p}, slog.New(slog.NewTextHandler(&lockedBuffer{}, nil)))
			if w.changed() {
				t.Fatal("changed before any change")
			}
			c.change(t, p)
			if got := w.changed(); got != c.want {
				t.Fatalf("changed() = %v, want %v", got, c.want)
			}
			if w.changed() {
				t.Error("a change was reported twice")
			}
		})
	}
}

// Any of several -f files changing is a change.
func TestConfWatcherSeveralFiles(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.conf"), filepath.Join(dir, "b.conf")
	writeFile(t, a, "x = 1\n", t0)
	writeFile(t, b, "y = 1\n", t0)
	w := newConfWatcher([]string{a, b}, slog.New(slog.NewTextHandler(&lockedBuffer{}, nil)))
	if w.changed() {
		t.Fatal("changed before any change")
	}
	writeFile(t, b, "y = 2\n", t0.Add(time.Second))
	if !w.changed() {
		t.Fatal("a change to the second file was not seen")
	}
}

// A file briefly missing (an editor or a deploy replacing it) is warned
// about once and causes no reload; a change made meanwhile is seen once it
// is back, and one that was not made causes nothing.
func TestConfWatcherMissingFile(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, back := range []struct {
		name string
		mod  time.Time
		body string
		want bool
	}{
		{"back unchanged", t0, "a1.sources = r1\n", false},
		{"back changed", t0.Add(time.Second), "a1.sources = r2\n", true},
	} {
		t.Run(back.name, func(t *testing.T) {
			dir := t.TempDir()
			p, other := filepath.Join(dir, "agent.conf"), filepath.Join(dir, "more.conf")
			writeFile(t, p, "a1.sources = r1\n", t0)
			writeFile(t, other, "a1.sinks = k1\n", t0)
			logs := &lockedBuffer{}
			w := newConfWatcher([]string{p, other}, slog.New(slog.NewTextHandler(logs, nil)))
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			// The other file changes while this one is away: still no
			// reload, as the configuration cannot be read whole.
			writeFile(t, other, "a1.sinks = k1 k2\n", t0.Add(time.Second))
			for i := 0; i < 3; i++ {
				if w.changed() {
					t.Fatal("a reload was asked for while a file is missing")
				}
			}
			if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
				t.Errorf("%d warnings about the missing file, want 1:\n%s", n, logs.String())
			}
			if !strings.Contains(logs.String(), "agent.conf") {
				t.Errorf("the warning does not name the file:\n%s", logs.String())
			}
			writeFile(t, p, back.body, back.mod)
			// The other file's change is still pending in either case.
			if !w.changed() {
				t.Fatal("the change made while a file was missing was lost")
			}
			// Only this file away and back.
			writeFile(t, p, "a1.sources = r1\n", t0)
			w2 := newConfWatcher([]string{p, other}, slog.New(slog.NewTextHandler(logs, nil)))
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if w2.changed() {
				t.Fatal("a reload was asked for while a file is missing")
			}
			writeFile(t, p, back.body, back.mod)
			if got := w2.changed(); got != back.want {
				t.Errorf("after the file came back: changed() = %v, want %v", got, back.want)
			}
		})
	}
}

// supervisedConf is a file with source src (the test source, on hook)
// -> memory c1 -> null k1, plus extra lines.
func supervisedConf(hook, src string, extra ...string) string {
	return strings.Join(append([]string{
		"a1.sources = " + src,
		"a1.channels = c1",
		"a1.sinks = k1",
		"a1.sources." + src + ".type = test-agent-source",
		"a1.sources." + src + ".hook = " + hook,
		"a1.sources." + src + ".channels = c1",
		"a1.channels.c1.type = memory",
		"a1.sinks.k1.type = null",
		"a1.sinks.k1.channel = c1",
	}, extra...), "\n") + "\n"
}

// The supervisor's three reload outcomes, in one run: a broken file keeps
// the running agent, a valid one replaces it (the old sources stopped
// before the new ones start), and one that cannot start brings the
// previous configuration back. Cancelling the context stops what runs.
func TestSupervisorReloads(t *testing.T) {
	h, hook := newHook(t)
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "agent.conf")
	confFor := func(src string, extra ...string) string { return supervisedConf(hook, src, extra...) }
	writeFile(t, path, confFor("r1"), t0)
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	var stderr lockedBuffer
	s := NewSupervisor(SupervisorConfig{
		Files:    []string{path},
		Interval: 5 * time.Millisecond,
		Read: func() (*conf.AgentConfig, error) {
			return conf.Load([]string{path}, "a1", nil, func(string) (string, bool) { return "", false })
		},
		Log:    log,
		Stderr: &stderr,
	})
	cfg, err := conf.Load([]string{path}, "a1", nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	ag, nerr := BuildReported(cfg, log, nil, false, func(warning bool, msg string) { t.Logf("problem: %s", msg) })
	if nerr > 0 {
		t.Fatalf("%d errors in the first configuration", nerr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- s.Run(ctx, ag, cfg) }()
	sources := func() []string {
		var out []string
		for _, l := range h.Log() {
			if strings.Contains(l, " source ") {
				out = append(out, l)
			}
		}
		return out
	}
	has := func(want ...string) func() bool {
		return func() bool { return strings.Join(sources(), ",") == strings.Join(want, ",") }
	}
	waitUntil(t, "r1 to start", has("start source r1"))

	replaceFile(t, path, strings.Replace(confFor("r9"), "type = memory", "type = memroy", 1), t0.Add(time.Second))
	waitUntil(t, "the broken file to be refused", func() bool {
		return strings.Contains(logs.String(), "configuration reload failed; the running agent is kept")
	})
	if !strings.Contains(logs.String(), `memroy`) {
		t.Errorf("the refused reload does not name the problem:\n%s", logs.String())
	}

	replaceFile(t, path, confFor("r2"), t0.Add(2*time.Second))
	waitUntil(t, "r2 to replace r1", has("start source r1", "stop source r1", "start source r2"))
	waitUntil(t, "the reload to be logged", func() bool { return strings.Contains(logs.String(), "msg=reloaded") })

	replaceFile(t, path, confFor("r3", "a1.sources.r3.failStart = true"), t0.Add(3*time.Second))
	waitUntil(t, "r2 to be started again after r3 failed", has("start source r1", "stop source r1", "start source r2",
		"stop source r2", "refuse source r3", "start source r2"))
	waitUntil(t, "the fallback to be logged", func() bool {
		return strings.Contains(logs.String(), "running the previous configuration again")
	})

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("Run returned %d after a clean shutdown, want 0; stderr %q", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if got := sources(); got[len(got)-1] != "stop source r2" {
		t.Errorf("the running agent was not stopped at shutdown: %q", got)
	}
}

// A reload request (SIGHUP in the command) reloads at once, with the poll
// off, even when the file's time and size did not change.
func TestSupervisorReloadsOnRequest(t *testing.T) {
	h, hook := newHook(t)
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "agent.conf")
	confFor := func(src string, extra ...string) string { return supervisedConf(hook, src, extra...) }
	read := func() (*conf.AgentConfig, error) {
		return conf.Load([]string{path}, "a1", nil, func(string) (string, bool) { return "", false })
	}
	writeFile(t, path, confFor("r1"), t0)
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	reload := make(chan os.Signal, 1)
	s := NewSupervisor(SupervisorConfig{Files: []string{path}, Read: read, Log: log, Stderr: &lockedBuffer{}, Reload: reload})
	cfg, err := read()
	if err != nil {
		t.Fatal(err)
	}
	ag, nerr := BuildReported(cfg, log, nil, false, func(bool, string) {})
	if nerr > 0 {
		t.Fatal("errors in the first configuration")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- s.Run(ctx, ag, cfg) }()
	waitUntil(t, "r1 to start", func() bool { return slices.Contains(h.Log(), "start source r1") })

	// Same size, same time: a poll would not see it; the request does.
	writeFile(t, path, confFor("r2"), t0)
	reload <- syscall.SIGHUP
	waitUntil(t, "r2 to replace r1", func() bool { return slices.Contains(h.Log(), "start source r2") })
	if !slices.Contains(h.Log(), "stop source r1") {
		t.Errorf("r1 was not stopped: %q", h.Log())
	}
	if !strings.Contains(logs.String(), "reloading the configuration on SIGHUP") {
		t.Errorf("the reload does not say why:\n%s", logs.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("Run returned %d", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
}
