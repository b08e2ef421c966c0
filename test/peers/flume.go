package peers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FlumeVersion is the Flume release test/peers/flume/pom.xml pins.
const FlumeVersion = "1.11.0"

// FlumeReadyLog is the line Flume 1.11 logs when a source's counters start.
// Application starts channels, then sinks, then sources, so the first such
// line means the whole agent is up (for the avro source, after it bound).
const FlumeReadyLog = "Component type: SOURCE, name: "

// FlumeOptions configure one Flume agent.
type FlumeOptions struct {
	Agent string // agent name (-n); "a1" if empty
	// Peer is the lib dir the agent runs with: "flume" if empty, or
	// "flume-kafka" for Flume with its Kafka source, sink and channel.
	Peer string
	Conf string // the properties file's text, written to Dir()/flume.conf

	Heap     string   // -Xmx value; DefaultHeap ("256m") if empty
	JVMFlags []string // extra JVM flags, e.g. FastStartFlags, -Dflume.monitoring.type=http
	Args     []string // extra org.apache.flume.node.Application arguments

	// Readiness: ReadyAddr must accept TCP and/or ReadyLog must appear in
	// this run's output. With neither set, ReadyLog defaults to FlumeReadyLog.
	ReadyAddr    string
	ReadyLog     string
	ReadyTimeout time.Duration // DefaultReadyTimeout (90 s) if zero
	StopGrace    time.Duration // DefaultStopGrace (30 s) if zero

	// Dir is the working directory for StartFlumeProcess (a new temporary
	// directory if empty; the caller removes it). StartFlume uses t.TempDir().
	Dir string
}

// Flume is a running Apache Flume agent: a Proc plus where its config is.
// The JVM runs with user.home set to Dir(), so defaults such as the file
// channel's ~/.flume directories stay inside the test's directory.
type Flume struct {
	*Proc
	Agent string
}

// ConfPath is the properties file the agent was started with.
func (f *Flume) ConfPath() string { return filepath.Join(f.Dir(), "flume.conf") }

// StartFlume starts a Flume agent for a test and waits until it is ready.
// It fetches the jars first if needed. Missing Java/Maven/jars, or an agent
// that exits or is not ready within the budget, fail the test with the log
// tail. The agent is stopped (SIGTERM, then SIGKILL) when the test ends.
func StartFlume(t testing.TB, opts FlumeOptions) *Flume {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	spec, err := flumeSpec(opts)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return &Flume{Proc: StartJavaT(t, spec), Agent: agentName(opts)}
}

// StartFlumeProcess is StartFlume for programs that are not tests (the
// benchmark command). The caller must Stop the agent.
func StartFlumeProcess(ctx context.Context, opts FlumeOptions) (*Flume, error) {
	if opts.Dir == "" {
		d, err := os.MkdirTemp("", "peer-flume-")
		if err != nil {
			return nil, fmt.Errorf("peers: %w", err)
		}
		opts.Dir = d
	}
	spec, err := flumeSpec(opts)
	if err != nil {
		return nil, err
	}
	p, err := StartJava(ctx, spec)
	if err != nil {
		return nil, err
	}
	return &Flume{Proc: p, Agent: agentName(opts)}, nil
}

func agentName(opts FlumeOptions) string {
	if opts.Agent == "" {
		return "a1"
	}
	return opts.Agent
}

func flumeSpec(opts FlumeOptions) (JavaSpec, error) {
	if opts.Conf == "" {
		return JavaSpec{}, fmt.Errorf("peers: FlumeOptions.Conf is empty")
	}
	conf := filepath.Join(opts.Dir, "flume.conf")
	if err := os.WriteFile(conf, []byte(opts.Conf), 0o644); err != nil {
		return JavaSpec{}, fmt.Errorf("peers: %w", err)
	}
	ready := Ready{Addr: opts.ReadyAddr, Log: opts.ReadyLog}
	if ready == (Ready{}) {
		ready.Log = FlumeReadyLog
	}
	peer := opts.Peer
	if peer == "" {
		peer = "flume"
	}
	flags := append([]string{"-Duser.home=" + opts.Dir}, opts.JVMFlags...)
	args := append([]string{"-n", agentName(opts), "-f", conf, "--no-reload-conf"}, opts.Args...)
	return JavaSpec{
		Peer:         peer,
		Main:         "org.apache.flume.node.Application",
		Args:         args,
		Heap:         opts.Heap,
		JVMFlags:     flags,
		Dir:          opts.Dir,
		Ready:        ready,
		ReadyTimeout: opts.ReadyTimeout,
		StopGrace:    opts.StopGrace,
	}, nil
}
