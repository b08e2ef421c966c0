package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/sluicetest"
)

const wait = 10 * time.Second

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func build(t *testing.T, p *sluicetest.Processor, mod func(*Config)) (*Source, *syncBuf) {
	t.Helper()
	spec, ok := sluice.Lookup(sluice.KindSource, "org.apache.flume.source.ExecSource")
	if !ok {
		t.Fatal("exec not registered under its Flume class name")
	}
	cfg := spec.Config().(*Config)
	mod(cfg)
	env := sluicetest.SourceEnv("r1", p)
	logs := &syncBuf{}
	env.Logger = slog.New(slog.NewTextHandler(logs, nil))
	c, err := spec.New(env, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := c.(*Source)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		s.Stop(ctx)
	})
	return s, logs
}

func start(t *testing.T, p *sluicetest.Processor, mod func(*Config)) (*Source, *syncBuf) {
	t.Helper()
	s, logs := build(t, p, mod)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, logs
}

func finished(t *testing.T, s *Source) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(wait):
		t.Fatal("the source did not finish after the command ended")
	}
}

func bodies(evs []*sluice.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = string(e.Body)
	}
	return out
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func shell(cmd string) func(*Config) {
	return func(c *Config) { c.Shell, c.Command = "/bin/sh -c", cmd }
}

func TestCommands(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"echo split on whitespace", func(c *Config) { c.Command = "  echo   hello  world " }, []string{"hello world"}},
		{"printf line ends like readLine", func(c *Config) { c.Command = `printf a\r\nb\rc\n\nlast` },
			[]string{"a", "b", "c", "", "last"}},
		{"shell mode", shell(`echo $((1+2)) | tr 3 x; echo "two words"`), []string{"x", "two words"}},
		{"no output", func(c *Config) { c.Command = "true" }, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := sluicetest.NewProcessor()
			s, logs := start(t, p, tc.mod)
			finished(t, s)
			if got := bodies(p.Events()); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("bodies %q, want %q", got, tc.want)
			}
			if l := logs.String(); !strings.Contains(l, "command exited") || !strings.Contains(l, "exit status 0") {
				t.Fatalf("exit not logged: %s", l)
			}
		})
	}
}

func TestBatchesBySize(t *testing.T) {
	p := sluicetest.NewProcessor()
	s, _ := start(t, p, func(c *Config) { c.Command = "seq 1 1000"; c.BatchSize = 20 })
	finished(t, s)
	evs := p.Events()
	for i, e := range evs {
		if string(e.Body) != strconv.Itoa(i+1) {
			t.Fatalf("event %d is %q", i, e.Body)
		}
	}
	if len(evs) != 1000 || p.Calls() != 50 {
		t.Fatalf("%d events in %d calls, want 1000 in 50", len(evs), p.Calls())
	}
}

func TestBatchTimeoutFlushesWhileRunning(t *testing.T) {
	p := sluicetest.NewProcessor()
	start(t, p, func(c *Config) {
		shell("echo early; exec sleep 1000")(c)
		c.BatchTimeout = 50 * time.Millisecond
	})
	evs, err := p.WaitFor(1, wait)
	if err != nil {
		t.Fatal(err)
	}
	if string(evs[0].Body) != "early" {
		t.Fatalf("body %q", evs[0].Body)
	}
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func TestStopKillsProcessGroup(t *testing.T) {
	p := sluicetest.NewProcessor()
	s, _ := start(t, p, func(c *Config) {
		// The shell starts a grandchild and waits for it.
		shell("sleep 1000 & echo $!; wait")(c)
		c.BatchTimeout = 20 * time.Millisecond
	})
	evs, err := p.WaitFor(1, wait)
	if err != nil {
		t.Fatal(err)
	}
	grandchild, err := strconv.Atoi(string(evs[0].Body))
	if err != nil {
		t.Fatal(err)
	}
	leader := s.curPid()
	if !alive(grandchild) || !alive(leader) {
		t.Fatal("processes not running before Stop")
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	finished(t, s)
	waitFor(t, func() bool { return !alive(grandchild) && !alive(leader) }, "the process group to die")
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestRestart(t *testing.T) {
	p := sluicetest.NewProcessor()
	start(t, p, func(c *Config) {
		c.Command = "echo tick"
		c.Restart = true
		c.RestartThrottle = 10 * time.Millisecond
	})
	evs, err := p.WaitFor(3, wait)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if string(e.Body) != "tick" {
			t.Fatalf("body %q", e.Body)
		}
	}
}

func TestCommandNotFound(t *testing.T) {
	for _, restart := range []bool{false, true} {
		s, _ := build(t, sluicetest.NewProcessor(), func(c *Config) {
			c.Command = "no-such-command-sluice --flag"
			c.Restart = restart
		})
		err := s.Start(context.Background())
		if err == nil || !strings.Contains(err.Error(), `"no-such-command-sluice --flag"`) ||
			!strings.Contains(err.Error(), "not found") {
			t.Fatalf("restart=%v: want an error naming the command and the cause, got %v", restart, err)
		}
		if err := s.Stop(context.Background()); err != nil {
			t.Fatalf("Stop after failed Start: %v", err)
		}
	}
}

func TestRestartOfVanishedCommandIsLoggedAndRetried(t *testing.T) {
	script := filepath.Join(t.TempDir(), "once.sh")
	// The script deletes itself: the first run works, restarts cannot start.
	if err := os.WriteFile(script, []byte("#!/bin/sh\nrm -f \"$0\"\necho once\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := sluicetest.NewProcessor()
	s, logs := start(t, p, func(c *Config) {
		c.Command = script
		c.Restart = true
		c.RestartThrottle = 10 * time.Millisecond
	})
	waitFor(t, func() bool { return s.counters.GenericProcessingFail.Load() >= 2 }, "two failed restarts")
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "cannot restart") ||
		!strings.Contains(l, script) {
		t.Fatalf("restart failure not logged with the command: %s", l)
	}
	if got := fmt.Sprint(bodies(p.Events())); got != "[once]" {
		t.Fatalf("bodies %s", got)
	}
}

func TestFailedExitLogsStatusAndStderr(t *testing.T) {
	s, logs := start(t, sluicetest.NewProcessor(), shell("echo something broke >&2; exit 3"))
	finished(t, s)
	l := logs.String()
	if !strings.Contains(l, "level=WARN") || !strings.Contains(l, "exit status 3") || !strings.Contains(l, "something broke") {
		t.Fatalf("failure not reported: %s", l)
	}
}

func TestLogStdErr(t *testing.T) {
	for _, on := range []bool{true, false} {
		s, logs := start(t, sluicetest.NewProcessor(), func(c *Config) {
			shell("echo to-stderr >&2")(c)
			c.LogStdErr = on
		})
		finished(t, s)
		logged := strings.Contains(logs.String(), "level=INFO msg=\"exec source: command stderr\" command=\"echo to-stderr >&2\" line=1 text=to-stderr")
		if logged != on {
			t.Fatalf("logStdErr=%v but stderr logged=%v: %s", on, logged, logs.String())
		}
	}
}

// A refused batch is retried by the core until the channel takes it:
// nothing lost, nothing twice, each refusal counted once.
func TestRefusedBatchIsRetriedWithoutLoss(t *testing.T) {
	p := sluicetest.NewProcessor()
	p.SetFail(sluicetest.ErrFull)
	s, _ := start(t, p, func(c *Config) { c.Command = "seq 1 100"; c.BatchSize = 10 })
	waitFor(t, func() bool { return p.Calls() >= 3 }, "three refused attempts")
	p.SetFail(nil)
	finished(t, s)
	evs := p.Events()
	if len(evs) != 100 {
		t.Fatalf("%d events, want 100", len(evs))
	}
	for i, e := range evs {
		if string(e.Body) != strconv.Itoa(i+1) || len(e.Headers) != 0 {
			t.Fatalf("event %d: %q %v", i, e.Body, e.Headers)
		}
	}
	sc := s.counters
	refused := int64(p.Calls()) - 10 // every attempt reaches the channel; 10 batches were taken
	if sc.EventAccepted.Load() != 100 || sc.ChannelWriteFail.Load() != refused || refused < 3 {
		t.Fatalf("counters %v after %d refusals", sc.Snapshot(), refused)
	}
	if sc.EventReceived.Load()-sc.EventAccepted.Load() != 10*refused {
		t.Fatalf("EventReceived %d: each refused attempt of 10 lines counts 10", sc.EventReceived.Load())
	}
}

func TestStopDeadlineWithRefusingChannel(t *testing.T) {
	p := sluicetest.NewProcessor()
	p.SetFail(sluicetest.ErrFull)
	s, logs := start(t, p, func(c *Config) { c.Command = "seq 1 5"; c.BatchSize = 100; c.BatchTimeout = 10 * time.Millisecond })
	waitFor(t, func() bool { return p.Calls() >= 2 }, "a retried batch")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := s.Stop(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop: %v, want the deadline reported", err)
	}
	finished(t, s)
	if !strings.Contains(logs.String(), "not delivered") {
		t.Fatalf("lost lines not logged: %s", logs.String())
	}
}

func TestStopWithoutStart(t *testing.T) {
	s, _ := build(t, sluicetest.NewProcessor(), func(c *Config) { c.Command = "true" })
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSplitter(t *testing.T) {
	for _, tc := range []struct {
		chunks []string
		want   string // lines joined by |, then the unconsumed rest after #
	}{
		{[]string{"a\nb\n"}, "a|b|#"},
		{[]string{"a\r\nb\rc"}, "a|b|#c"},
		{[]string{"a\r", "\nb\n"}, "a|b|#"},
		{[]string{"a\r", "b\n"}, "a|b|#"},
		{[]string{"ab", "c", "d\ne"}, "abcd|#e"},
		{[]string{"\n\r\n\r"}, "|||#"},
		{[]string{"x\ry\rz\n"}, "x|y|z|#"},
	} {
		var sp splitter
		var lines []string
		var pending []byte
		for _, c := range tc.chunks {
			pending = append(pending, c...)
			n := sp.split(pending, func(l []byte) bool { lines = append(lines, string(l)); return true })
			pending = pending[n:]
		}
		got := strings.Join(lines, "|") + "|#" + string(pending)
		if len(lines) == 0 {
			got = "#" + string(pending)
		}
		if got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.chunks, got, tc.want)
		}
	}
}

func TestConfig(t *testing.T) {
	spec, _ := sluice.Lookup(sluice.KindSource, "exec")
	cfg := spec.Config().(*Config)
	errs := conf.Decode(cfg, []conf.Prop{
		{Key: "command", Value: "tail -F /var/log/x"},
		{Key: "restartThrottle", Value: "500"},
		{Key: "batchTimeout", Value: "250"},
	})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	want := Config{Command: "tail -F /var/log/x", RestartThrottle: 500 * time.Millisecond, BatchSize: 20,
		BatchTimeout: 250 * time.Millisecond, Charset: "UTF-8"}
	if *cfg != want {
		t.Fatalf("decoded %+v, want %+v", *cfg, want)
	}
	if got := fmt.Sprint((&Config{Command: "a  b", Shell: "/bin/bash -c"}).argv()); got != "[/bin/bash -c a  b]" {
		t.Fatalf("shell argv %s", got)
	}
	for _, tc := range []struct{ key, val, want string }{
		{"command", " ", "is empty"},
		{"batchSize", "0", "must be at least 1"},
		{"batchTimeout", "0", "must be more than 0"},
		{"charset", "UTF-16", "not a supported character set"},
	} {
		props := []conf.Prop{{Key: "command", FullKey: "a1.sources.r1.command", Value: "x"},
			{Key: tc.key, FullKey: "a1.sources.r1." + tc.key, Value: tc.val}}
		errs := conf.Decode(spec.Config(), props)
		if len(errs) == 0 || !strings.Contains(fmt.Sprint(errs), tc.want) || !strings.Contains(fmt.Sprint(errs), tc.key) {
			t.Errorf("%s=%q: %v", tc.key, tc.val, errs)
		}
	}
	for _, ok := range []string{"UTF-8", "iso-8859-15", "windows-1252", "US-ASCII", "ISO_8859_1"} {
		if !knownCharset(ok) {
			t.Errorf("%s refused", ok)
		}
	}
	if errs := conf.Decode(spec.Config(), nil); len(errs) == 0 || !strings.Contains(errs[0].Error(), `"command"`) {
		t.Fatalf("missing command: %v", errs)
	}
}

func (s *Source) curPid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur.pid
}
