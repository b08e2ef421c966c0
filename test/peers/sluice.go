package peers

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Sluice is a sluice process a test started (StartSluice): its output is
// kept in memory so a test can wait for a log line and print it on failure.
type Sluice struct {
	t    testing.TB
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
	mu   sync.Mutex
	over bool
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// StartSluice runs `binary args...` in dir. It is stopped (SIGTERM, SIGKILL
// after 40 s) when the test ends, and its output is logged if the test
// failed.
func StartSluice(t testing.TB, binary, dir string, args ...string) *Sluice {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("peers: start sluice: %v", err)
	}
	s := &Sluice{t: t, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { s.err = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("sluice %s output:\n%s", strings.Join(args, " "), out.String())
		}
	})
	return s
}

// StartSluiceAgent writes conf into dir/<name>.conf, runs `sluice agent -n
// <agent> -f` on it, and waits until the agent logged that it started.
func StartSluiceAgent(t testing.TB, binary, dir, agent, conf string, extra ...string) *Sluice {
	t.Helper()
	path := filepath.Join(dir, agent+".conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	s := StartSluice(t, binary, dir, append([]string{"agent", "-n", agent, "-f", path}, extra...)...)
	s.WaitLog("agent started", 60*time.Second)
	return s
}

// Output is everything the process wrote so far.
func (s *Sluice) Output() string { return s.out.String() }

// PID is the process id.
func (s *Sluice) PID() int { return s.cmd.Process.Pid }

// WaitLog waits until the output contains str; it fails the test when the
// process exits first or timeout passes.
func (s *Sluice) WaitLog(str string, timeout time.Duration) {
	s.t.Helper()
	if err := s.waitFor(func(out string) bool { return strings.Contains(out, str) }, timeout); err != nil {
		s.t.Fatalf("sluice: waiting for %q: %v\n%s", str, err, s.Output())
	}
}

// WaitLogFunc waits until ok(output) holds, as WaitLog does.
func (s *Sluice) WaitLogFunc(what string, ok func(string) bool, timeout time.Duration) {
	s.t.Helper()
	if err := s.waitFor(ok, timeout); err != nil {
		s.t.Fatalf("sluice: waiting for %s: %v\n%s", what, err, s.Output())
	}
}

func (s *Sluice) waitFor(ok func(string) bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !ok(s.Output()) {
		select {
		case <-s.done:
			if ok(s.Output()) {
				return nil
			}
			return fmt.Errorf("exited (%v)", s.err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// Stop sends SIGTERM and waits (SIGKILL after 40 s); it returns the exit
// error. Calling it again returns the same.
func (s *Sluice) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.over {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(40 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		s.over = true
	}
	return s.err
}

// Kill sends SIGKILL (a crash: nothing is flushed) and waits for the exit.
func (s *Sluice) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.over {
		_ = s.cmd.Process.Kill()
		<-s.done
		s.over = true
	}
}

// Wait waits up to timeout for the process to exit by itself and returns
// its exit error; it fails the test on timeout.
func (s *Sluice) Wait(timeout time.Duration) error {
	s.t.Helper()
	select {
	case <-s.done:
		s.mu.Lock()
		s.over = true
		s.mu.Unlock()
		return s.err
	case <-time.After(timeout):
		s.t.Fatalf("sluice did not exit within %v:\n%s", timeout, s.Output())
	}
	return nil
}
