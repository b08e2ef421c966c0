// Package interop runs the sluice binary against the real Apache Flume
// 1.11.0 (internal/peers starts it) in both directions, over Avro RPC with
// and without deflate and TLS, and checks byte for byte what arrives at the
// far end. It also runs the three-tier fan-in example with a collector
// crash. See docs/interop.md.
package interop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

var binary string

// TestMain builds the binary; under -short it runs nothing (RunWithSluice).
// It stops the Flume agent the tests share (sharedFlume) once all ran.
func TestMain(m *testing.M) {
	os.Exit(peers.RunWithSluice(func() int { defer stopShared(); return m.Run() }, &binary))
}

func repoRoot() string {
	root, err := peers.RepoRoot()
	if err != nil {
		panic(err) // TestMain built the binary from this checkout: it is there
	}
	return root
}

// TLS stores shared with internal/tlsconf's tests (password changeit):
// server.* hold a self-signed key for localhost/127.0.0.1, trust.* trust it.
func tlsFile(name string) string {
	return filepath.Join(repoRoot(), "internal", "tlsconf", "testdata", name)
}

const storePass = "changeit"

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
	name   string
	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan struct{}
	err    error
	waited bool
}

// run starts `sluice args...` in dir; it is stopped (SIGTERM) at test end
// and its output is shown if the test failed.
func run(t *testing.T, dir, name string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = sysProcAttr()
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sluice: %v", err)
	}
	p := &proc{t: t, name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s output (last 80 lines):\n%s", name, tail(out.String(), 80))
		}
	})
	return p
}

// startAgent runs `sluice agent -n name -f conf extra...` in dir and waits
// until it logged that it started.
func startAgent(t *testing.T, dir, name, conf string, extra ...string) *proc {
	t.Helper()
	p := run(t, dir, name, append([]string{"agent", "-n", name, "-f", conf}, extra...)...)
	p.waitLog("agent started", 30*time.Second)
	return p
}

func (p *proc) waitLog(s string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.out.String(), s) {
		select {
		case <-p.done:
			p.t.Fatalf("%s exited (%v) before logging %q:\n%s", p.name, p.err, s, tail(p.out.String(), 80))
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s did not log %q within %v:\n%s", p.name, s, timeout, tail(p.out.String(), 80))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits; it returns the exit error.
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

// kill sends SIGKILL (a crash: nothing is flushed) and waits.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
	p.waited = true
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// monitorFlags turns on Flume's (and Sluice's) HTTP monitoring on port.
func monitorFlags(port int) []string {
	return []string{"-Dflume.monitoring.type=http", "-Dflume.monitoring.port=" + strconv.Itoa(port)}
}

// counter reads one counter from the monitoring JSON at port; -1 when the
// server or the counter is not there (yet).
func counter(port int, component, name string) int {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return -1
	}
	var m map[string]map[string]string
	if json.Unmarshal(body, &m) != nil {
		return -1
	}
	v, err := strconv.Atoi(m[component][name])
	if err != nil {
		return -1
	}
	return v
}

// waitDrained polls until the sink's EventDrainSuccessCount (from the
// monitoring JSON at port) reaches want. It fails when the count stops
// moving for stall, and when it passes want: something was delivered twice.
func waitDrained(t *testing.T, port int, sink string, want int, stall time.Duration) {
	t.Helper()
	last, moved := -1, time.Now()
	for {
		n := counter(port, "SINK."+sink, "EventDrainSuccessCount")
		if n == want {
			return
		}
		if n > want {
			t.Fatalf("SINK.%s drained %d events, more than the %d sent", sink, n, want)
		}
		if n != last {
			last, moved = n, time.Now()
		}
		if time.Since(moved) > stall {
			t.Fatalf("SINK.%s drained %d of %d events, then nothing for %v", sink, last, want, stall)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitPorts polls until every address accepts TCP connections.
func waitPorts(t *testing.T, addrs ...string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, a := range addrs {
		for !peers.PortOpen(a) {
			if time.Now().After(deadline) {
				t.Fatalf("nothing listens on %s", a)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// waitFlumeSources waits until Flume started the source of every pipe.
// Flume logs a source's counters as started only once the source bound its
// port; a source that could not bind leaves Flume running without it, and
// waitPorts alone would be satisfied by whatever else holds that port.
func waitFlumeSources(t *testing.T, f *peers.Flume, pipes []pipe) {
	t.Helper()
	for _, p := range pipes {
		f.WaitLog("Component type: SOURCE, name: r_"+p.name+" started", 60*time.Second)
	}
}

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
