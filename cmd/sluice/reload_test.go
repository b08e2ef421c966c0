package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
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

func TestPollInterval(t *testing.T) {
	cases := []struct {
		args    []string
		want    time.Duration
		wantErr bool
	}{
		{nil, 30 * time.Second, false},
		{[]string{"--no-reload-conf"}, 0, false},
		{[]string{"--no-reload-conf", "-i", "5"}, 0, false},
		{[]string{"-i", "5"}, 5 * time.Second, false},
		{[]string{"--poll-interval=7"}, 7 * time.Second, false},
		{[]string{"-i", "0"}, 30 * time.Second, false},
		{[]string{"-Dsluice.conf.pollInterval=200ms", "-i", "5"}, 200 * time.Millisecond, false},
		{[]string{"-Dsluice.conf.pollInterval=0s"}, 0, true},
		{[]string{"-Dsluice.conf.pollInterval=soon"}, 0, true},
		{[]string{"-i", "-1"}, 0, true},
		{[]string{"-i", "ten"}, 0, true},
	}
	for _, c := range cases {
		a, err := parseAgentArgs(append([]string{"-n", "a1", "-f", "x.conf"}, c.args...))
		var got time.Duration
		if err == nil {
			got, err = pollInterval(a)
		}
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("%q: %v, %v; want %v (error %v)", c.args, got, err, c.want, c.wantErr)
		}
	}
}
