// Package e2e runs the built sluice binary on real configuration files and
// checks what comes out: acks over TCP, files written, log lines, the
// monitoring JSON.
package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

var binary string

// TestMain builds the binary; under -short it runs nothing (RunWithSluice).
func TestMain(m *testing.M) { os.Exit(peers.RunWithSluice(m.Run, &binary)) }

func repoRoot() string {
	root, err := peers.RepoRoot()
	if err != nil {
		panic(err) // TestMain built the binary from this checkout: it is there
	}
	return root
}

// example returns the absolute path of examples/<name>.
func example(name string) string { return filepath.Join(repoRoot(), "examples", name) }

// syncBuffer collects a process's output safely across goroutines.
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

// proc is a running sluice process.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan struct{}
	err    error
	waited bool
}

// run starts `sluice args...` in dir and stops it (SIGTERM) at test end.
func run(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	return runWith(t, dir, nil, args...)
}

// runWith is run with the environment env (nil: this process's).
func runWith(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir, cmd.Env = dir, env
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sluice: %v", err)
	}
	p := &proc{t: t, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("sluice output:\n%s", out.String())
		}
	})
	return p
}

// startAgent runs an agent and waits until it logged that it started.
func startAgent(t *testing.T, dir, conf string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"agent", "-n", "a1", "-f", conf}, extra...)
	p := run(t, dir, args...)
	p.waitLog("agent started", 20*time.Second)
	return p
}

// waitLog waits until the output contains s.
func (p *proc) waitLog(s string, timeout time.Duration) {
	p.t.Helper()
	p.waitOut(fmt.Sprintf("%q", s), timeout, func(out string) bool { return strings.Contains(out, s) })
}

// waitOut waits until ok accepts the output; what says what was awaited.
func (p *proc) waitOut(what string, timeout time.Duration, ok func(out string) bool) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok(p.out.String()) {
		select {
		case <-p.done:
			p.t.Fatalf("sluice exited (%v) before logging %s:\n%s", p.err, what, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("sluice did not log %s within %v:\n%s", what, timeout, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits; returns the exit error.
func (p *proc) stop() error {
	if !p.waited {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(40 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		p.waited = true
	}
	return p.err
}

// wait waits for the process to exit by itself.
func (p *proc) wait(timeout time.Duration) error {
	p.t.Helper()
	select {
	case <-p.done:
		p.waited = true
		return p.err
	case <-time.After(timeout):
		p.t.Fatalf("sluice did not exit within %v", timeout)
	}
	return nil
}

// dialRetry connects to addr, retrying while the listener comes up.
func dialRetry(t *testing.T, addr string) net.Conn {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("connect %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sendLines writes each line to a netcat source and returns the replies.
func sendLines(t *testing.T, addr string, lines []string) []string {
	t.Helper()
	c := dialRetry(t, addr)
	defer c.Close()
	var replies []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := bufio.NewReader(c)
		for range lines {
			_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			replies = append(replies, strings.TrimRight(l, "\n"))
		}
	}()
	w := bufio.NewWriter(c)
	for _, l := range lines {
		if _, err := w.WriteString(l + "\n"); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("write: %v", err)
	}
	wg.Wait()
	return replies
}

// readDirLines concatenates every file under dir, in name order, and
// returns its complete lines.
func readDirLines(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var all []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		// Only complete lines: a file's unterminated tail is a write in
		// progress, or one cut short by a kill -9 (its batch was not
		// committed and comes again).
		s := string(b)
		s = s[:strings.LastIndexByte(s, '\n')+1]
		s = strings.TrimSuffix(s, "\n")
		if s == "" {
			continue
		}
		all = append(all, strings.Split(s, "\n")...)
	}
	return all
}

// waitLines polls until dir holds at least n lines.
func waitLines(t *testing.T, dir string, n int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := readDirLines(t, dir)
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metrics fetches Flume's monitoring JSON.
func metrics(t *testing.T, port int) map[string]map[string]string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]map[string]string
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("metrics JSON %q: %v", body, err)
	}
	return m
}

// freePort is a port for a process the test starts later (see
// peers.FreePort: it stays free until then).
func freePort(t *testing.T) int {
	t.Helper()
	return peers.FreePort(t)
}

// writeConf writes a config file into dir.
func writeConf(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "agent.conf")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
