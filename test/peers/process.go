package peers

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Defaults shared by every peer.
const (
	DefaultHeap         = "256m"
	DefaultReadyTimeout = 90 * time.Second // a cold JVM on 2 busy cores
	DefaultStopGrace    = 30 * time.Second
)

// FastStartFlags shorten a JVM's start and lower its CPU use. They also cap
// the JIT at C1, so never use them for a peer that is being benchmarked.
var FastStartFlags = []string{"-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"}

// Ready says when a started peer is ready. With both set, both must hold.
type Ready struct {
	Addr string // host:port that must accept a TCP connection
	Log  string // substring that must appear in the output of this start
}

// JavaSpec describes one JVM peer process. Peer-specific helpers (StartFlume)
// fill it in; a new peer needs little more than its main class and args.
type JavaSpec struct {
	Peer         string   // folder under test/peers/ and .peers/, e.g. "flume"
	Main         string   // main class, or the path of a .java source file
	Java         string   // the java launcher; Java() if empty
	Args         []string // program arguments
	Heap         string   // -Xmx value; DefaultHeap if empty
	JVMFlags     []string // extra JVM flags, before the main class
	Dir          string   // working dir; the output goes to Dir/<Peer>.log
	Ready        Ready
	ReadyTimeout time.Duration // DefaultReadyTimeout if zero
	StopGrace    time.Duration // SIGTERM to SIGKILL; DefaultStopGrace if zero
}

// Proc is a running (or stopped) peer JVM. Its methods are safe for
// concurrent use. With a Proc made for a test (t != nil), a method that fails
// also fails the test, so tests may ignore the returned errors.
type Proc struct {
	spec    JavaSpec
	t       testing.TB
	logPath string
	argv    []string

	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{} // closed when cmd has been waited for
	werr  error         // cmd.Wait's result
	start int64         // log offset where the current run's output starts
}

// StartJava starts spec's JVM and waits until it is ready. On any failure the
// process is killed and the error carries the tail of its log.
func StartJava(ctx context.Context, spec JavaSpec) (*Proc, error) {
	p, err := newProc(spec)
	if err != nil {
		return nil, err
	}
	if err := p.launch(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// StartJavaT is StartJava for tests: it fails t loudly on error and stops the
// process when the test ends (logging its output if the test failed).
func StartJavaT(t testing.TB, spec JavaSpec) *Proc {
	t.Helper()
	SkipIfShort(t)
	if spec.Dir == "" {
		spec.Dir = t.TempDir()
	}
	p, err := newProc(spec)
	if err != nil {
		t.Fatalf("%v", err)
	}
	p.t = t
	// launch kills the JVM itself when it fails, and its error has the log tail.
	if err := p.launch(context.Background()); err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("%v", err)
		}
		if t.Failed() {
			t.Logf("%s output (%s), last lines:\n%s", spec.Peer, p.logPath, p.LogTail())
		}
	})
	return p
}

// SkipIfShort skips t under `go test -short`, which runs unit tests only and
// must not need Java or Maven. Every helper that starts a JVM for a test
// calls it, so a test that forgot to skip itself is skipped there.
func SkipIfShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: needs Java peers (Flume, Kafka, HDFS); run without -short")
	}
}

func newProc(spec JavaSpec) (*Proc, error) {
	if spec.Heap == "" {
		spec.Heap = DefaultHeap
	}
	if spec.ReadyTimeout == 0 {
		spec.ReadyTimeout = DefaultReadyTimeout
	}
	if spec.StopGrace == 0 {
		spec.StopGrace = DefaultStopGrace
	}
	if spec.Dir == "" {
		d, err := os.MkdirTemp("", "peer-"+spec.Peer+"-")
		if err != nil {
			return nil, fmt.Errorf("peers: %w", err)
		}
		spec.Dir = d
	}
	java := spec.Java
	if java == "" {
		j, err := Java()
		if err != nil {
			return nil, err
		}
		java = j
	}
	lib, err := Lib(spec.Peer)
	if err != nil {
		return nil, err
	}
	l4j, err := log4jConfig()
	if err != nil {
		return nil, err
	}
	argv := []string{java, "-Xmx" + spec.Heap, "-Dlog4j2.configurationFile=" + l4j}
	argv = append(argv, spec.JVMFlags...)
	argv = append(argv, "-cp", filepath.Join(lib, "*"), spec.Main)
	argv = append(argv, spec.Args...)
	return &Proc{spec: spec, logPath: filepath.Join(spec.Dir, spec.Peer+".log"), argv: argv}, nil
}

// launch starts the JVM and waits for readiness; on failure it kills it.
func (p *Proc) launch(ctx context.Context) error {
	if err := p.startProcess(); err != nil {
		return err
	}
	if err := p.waitReady(ctx); err != nil {
		_ = p.signalAndWait(syscall.SIGKILL, 0)
		return fmt.Errorf("%w\n--- %s output (%s), last lines:\n%s", err, p.spec.Peer, p.logPath, p.LogTail())
	}
	return nil
}

func (p *Proc) startProcess() error {
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("peers: %w", err)
	}
	defer f.Close() // the child keeps its own copy
	fmt.Fprintf(f, "--- peers: %s: starting %s\n", time.Now().Format(time.RFC3339), strings.Join(p.argv, " "))
	off, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("peers: %w", err)
	}
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Dir = p.spec.Dir
	cmd.Stdout, cmd.Stderr = f, f // an *os.File goes straight to the child: no copy goroutine
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("peers: starting %s: %w", p.spec.Peer, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.start, p.werr = cmd, done, off, nil
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		if p.cmd == cmd {
			p.werr = err
		}
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

func (p *Proc) waitReady(ctx context.Context) error {
	p.mu.Lock()
	done, off := p.done, p.start
	p.mu.Unlock()
	r := p.spec.Ready
	deadline := time.Now().Add(p.spec.ReadyTimeout)
	logOK, addrOK := r.Log == "", r.Addr == ""
	for {
		if !logOK {
			logOK = p.logSince(off, r.Log)
		}
		if logOK && !addrOK {
			if c, err := net.DialTimeout("tcp", r.Addr, time.Second); err == nil {
				c.Close()
				addrOK = true
			}
		}
		if logOK && addrOK {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("peers: %s exited before it was ready (%v)", p.spec.Peer, p.exitErr())
		case <-ctx.Done():
			return fmt.Errorf("peers: waiting for %s: %w", p.spec.Peer, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("peers: %s not ready within %v (log %q seen: %v, %s accepting: %v)",
				p.spec.Peer, p.spec.ReadyTimeout, r.Log, logOK, r.Addr, addrOK)
		}
	}
}

// logSince reports whether s occurs in the log at or after offset off.
func (p *Proc) logSince(off int64, s string) bool {
	b, err := os.ReadFile(p.logPath)
	if err != nil || int64(len(b)) < off {
		return false
	}
	return strings.Contains(string(b[off:]), s)
}

func (p *Proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.werr
}

// signalAndWait signals the process group and waits for the JVM to exit.
// With grace > 0 it sends SIGKILL once grace has passed and reports that.
func (p *Proc) signalAndWait(sig syscall.Signal, grace time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	pid := cmd.Process.Pid
	select {
	case <-done:
		// Reaped: its pid may belong to someone else by now, so signal nothing.
		return nil
	default:
	}
	// Not yet reaped, so the pid is still ours. The JVM leads its own group.
	_ = syscall.Kill(-pid, sig)
	var err error
	if grace > 0 {
		select {
		case <-done:
		case <-time.After(grace):
			err = fmt.Errorf("peers: %s (pid %d) still running %v after %v; killed", p.spec.Peer, pid, grace, sig)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	<-done
	return err
}

func (p *Proc) fail(err error) error {
	if err != nil && p.t != nil {
		p.t.Helper()
		p.t.Fatalf("%v", err)
	}
	return err
}

func (p *Proc) stop() error { return p.signalAndWait(syscall.SIGTERM, p.spec.StopGrace) }

// Stop sends SIGTERM to the process group and waits for the JVM to exit,
// sending SIGKILL after the grace period (which it reports as an error).
// Stopping a stopped peer does nothing.
func (p *Proc) Stop() error {
	if p.t != nil {
		p.t.Helper()
	}
	return p.fail(p.stop())
}

// Kill sends SIGKILL to the process group and waits until the JVM is gone:
// a crash, with no shutdown hooks.
func (p *Proc) Kill() error {
	return p.signalAndWait(syscall.SIGKILL, 0)
}

// Restart stops the peer if it is running (gracefully) and starts it again
// with the same spec, waiting for readiness as at the first start.
func (p *Proc) Restart() error {
	if p.t != nil {
		p.t.Helper()
	}
	if err := p.stop(); err != nil {
		return p.fail(err)
	}
	return p.fail(p.launch(context.Background()))
}

// Running reports whether the JVM has not exited yet.
func (p *Proc) Running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Wait waits until the JVM exits by itself (or ctx ends) and returns
// cmd.Wait's error.
func (p *Proc) Wait(ctx context.Context) error {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return p.exitErr()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PID is the JVM's process id (also its process group id) for the current
// or last run: sample /proc/<pid>/status for RSS.
func (p *Proc) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Dir is the peer's working directory (a t.TempDir() in tests).
func (p *Proc) Dir() string { return p.spec.Dir }

// LogPath is the file holding the JVM's stdout and stderr, all runs appended.
func (p *Proc) LogPath() string { return p.logPath }

// LogTail returns the last 60 lines of the output.
func (p *Proc) LogTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no output: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}

// WaitLog waits until s appears in the output of the current run.
func (p *Proc) WaitLog(s string, timeout time.Duration) error {
	if p.t != nil {
		p.t.Helper()
	}
	p.mu.Lock()
	off, done := p.start, p.done
	p.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for !p.logSince(off, s) {
		if time.Now().After(deadline) {
			return p.fail(fmt.Errorf("peers: %s did not log %q within %v\n%s", p.spec.Peer, s, timeout, p.LogTail()))
		}
		select {
		case <-done:
			if p.logSince(off, s) {
				return nil
			}
			return p.fail(fmt.Errorf("peers: %s exited (%v) before logging %q\n%s", p.spec.Peer, p.exitErr(), s, p.LogTail()))
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}
