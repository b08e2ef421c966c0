// Package bench measures Sluice end to end: it starts the real binary on a
// generated configuration, drives load into it, and times until the sink's
// counters (read from the agent's monitoring endpoint) show that every event
// arrived. A run that does not deliver every event fails instead of
// reporting a number.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Workload is one benchmark configuration.
type Workload struct {
	Name string
	// Conf renders the agent config; ports are filled in by the runner.
	Conf func(p Ports) string
	// Load drives the events in (nil when the source generates them).
	Load func(ctx context.Context, p Ports, events, bodySize int) error
	// BodySize is the body size in bytes, for MB/s.
	BodySize int
	// Idle workloads send nothing: the run measures the resident set of an
	// agent that has been up for IdleFor with no traffic.
	Idle    bool
	IdleFor time.Duration
	// Agents are the agents of the conf file to run, downstream last; nil
	// means just "a1". Delivery is counted at the last one. Each agent
	// but the last sends to Ports.Hop, and starts once that port listens.
	Agents []string
	// SinkKey is the monitoring key whose delivery count must reach the
	// event count: for "SINK.x" its EventDrainSuccessCount, for "CHANNEL.x"
	// its EventTakeSuccessCount (Flume's null sink and several others
	// report no counters, so workloads that must run on Flume too count
	// committed takes at the channel).
	SinkKey string
	// MaxEvents, when set, caps the event count of every run of this
	// workload (on every target alike), for workloads whose slower target
	// would otherwise take many minutes.
	MaxEvents int
	// FixedEvents, when set, is the event count of every run of this
	// workload whatever the command line asks (the spooldir workload is
	// defined as 1 GB of lines).
	FixedEvents int
	// Note, when set, says in a sentence what the Sluice result means
	// beside something the workload measured itself (a read rate, say).
	Note func(sluice Result) string
	// Verify, when set, checks after the count was reached that the far
	// end really holds every event (an output file's lines, say).
	Verify func(p Ports) error
	// Goal is which of the performance issue's six workloads this is
	// (1–6); 0 marks a baseline the goals do not cover.
	Goal int
	// Prepare, when set, runs before each run's agents start (a topic
	// to create, say); an error fails the run.
	Prepare func(ctx context.Context, p Ports) error
	// Count, when set, replaces SinkKey: the number of events delivered
	// so far, read at the far end (a topic's end offsets, say), so that
	// both targets are counted the same way whatever their metrics.
	Count func(ctx context.Context, p Ports) (int64, error)
	// FlumePeer, when set, is the peer lib dir Flume runs from instead of
	// "flume" (e.g. "flume-kafka": Flume with its Kafka components).
	FlumePeer string
	// SluiceOnly marks a workload Flume 1.11 cannot run (a component it no
	// longer has, such as the Elasticsearch sink): it is not run on Flume.
	SluiceOnly bool
	// SluiceCommand, when set, adjusts each Sluice agent's command before
	// it starts: another binary, or extra flags such as --plugins-path.
	SluiceCommand func(cmd *exec.Cmd)
}

// EventsFor is the event count a run of w uses when events are asked for.
func (w Workload) EventsFor(events int) int {
	if w.FixedEvents > 0 {
		return w.FixedEvents
	}
	if w.MaxEvents > 0 && w.MaxEvents < events {
		return w.MaxEvents
	}
	return events
}

// Ports are the loopback ports one run uses.
type Ports struct {
	Source  int
	Hop     int // the second tier's source port, for multi-agent workloads
	Monitor int
	Events  int
	Dir     string // the run's scratch directory (for file channels, spool dirs, output)
}

// Result is one measured run.
type Result struct {
	Workload    string
	Events      int
	Elapsed     time.Duration
	EventsPerS  float64
	MBPerS      float64
	StartupTime time.Duration // process start to agent started
	PeakRSSKB   int64
}

// Target is an agent implementation under test: Sluice, or Apache Flume
// run on the same .conf file.
type Target interface {
	Name() string
	// Command returns the process that runs the named agent from confPath
	// with Flume's HTTP monitoring on monitorPort.
	Command(confPath, agent string, monitorPort int) (*exec.Cmd, error)
}

// SluiceTarget runs the sluice binary.
type SluiceTarget struct{ Binary string }

// Name implements Target.
func (SluiceTarget) Name() string { return "Sluice" }

// Command implements Target.
func (t SluiceTarget) Command(confPath, agent string, monitorPort int) (*exec.Cmd, error) {
	return exec.Command(t.Binary, "agent", "-n", agent, "-f", confPath,
		"-Dflume.monitoring.type=http", "-Dflume.monitoring.port="+strconv.Itoa(monitorPort),
		"-Dflume.root.logger=WARN,console"), nil
}

// Runner runs workloads against a target (by default the sluice binary).
type Runner struct {
	Binary string // used when Target is nil
	Target Target
	Out    io.Writer // agent output, for debugging; nil discards
	// ProfileDir, for Sluice targets, has every agent write a CPU profile
	// of its whole run (SLUICE_CPUPROFILE) to
	// <dir>/<workload>-<agent>-<run>.pprof.
	ProfileDir string
	runs       int
}

func (r *Runner) target() Target {
	if r.Target != nil {
		return r.Target
	}
	return SluiceTarget{Binary: r.Binary}
}

// Run measures one workload once. The load starts together with the agent
// process (generators retry until the agent listens); startup is the time
// from process start to the first event counted at the sink, and throughput
// is measured from that first event to the last.
func (r *Runner) Run(ctx context.Context, w Workload, events int) (Result, error) {
	events = w.EventsFor(events)
	dir, err := os.MkdirTemp("", "sluice-bench")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	ports := Ports{Source: freePort(), Hop: freePort(), Monitor: freePort(), Events: events, Dir: dir}
	if w.Prepare != nil {
		if err := w.Prepare(ctx, ports); err != nil {
			return Result{}, fmt.Errorf("%s: prepare: %w", w.Name, err)
		}
	}
	confPath := filepath.Join(dir, "bench.conf")
	if err := os.WriteFile(confPath, []byte(w.Conf(ports)), 0o644); err != nil {
		return Result{}, err
	}
	tgt := r.target()
	if ft, ok := tgt.(FlumeTarget); ok && w.FlumePeer != "" {
		// .peers/flume/lib → .peers/<FlumePeer>/lib
		ft.LibDir = filepath.Join(filepath.Dir(filepath.Dir(ft.LibDir)), w.FlumePeer, "lib")
		tgt = ft
	}
	agents := w.Agents
	if len(agents) == 0 {
		agents = []string{"a1"}
	}
	out := r.Out
	if out == nil {
		out = io.Discard
	}
	_, profiling := tgt.(SluiceTarget)
	profiling = profiling && r.ProfileDir != ""
	if profiling {
		if err := os.MkdirAll(r.ProfileDir, 0o755); err != nil {
			return Result{}, err
		}
		r.runs++
	}
	// Downstream agents first, so upstream sinks find their peer.
	var cmds []*exec.Cmd
	defer func() {
		for _, cmd := range cmds {
			stopGroup(cmd)
		}
	}()
	var begin time.Time
	countPort := ports.Monitor
	for i := len(agents) - 1; i >= 0; i-- {
		if i < len(agents)-1 {
			// A tier is deployed downstream first: the next agent starts
			// once the one it sends to listens, and startup is timed
			// from there, for both targets alike.
			if err := waitListening(ctx, ports.Hop, 3*time.Minute); err != nil {
				return Result{}, fmt.Errorf("%s on %s: agent %s: %w", w.Name, tgt.Name(), agents[i+1], err)
			}
		}
		if i == 0 {
			begin = time.Now()
		}
		mport := ports.Monitor
		if i < len(agents)-1 {
			mport = freePort()
		} else {
			countPort = mport
		}
		cmd, err := tgt.Command(confPath, agents[i], mport)
		if err != nil {
			return Result{}, err
		}
		if _, ok := tgt.(SluiceTarget); ok && w.SluiceCommand != nil {
			w.SluiceCommand(cmd)
		}
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if profiling {
			prof := filepath.Join(r.ProfileDir, fmt.Sprintf("%s-%s-%d.pprof", slug(w.Name), agents[i], r.runs))
			cmd.Env = append(os.Environ(), "SLUICE_CPUPROFILE="+prof)
		}
		if err := cmd.Start(); err != nil {
			return Result{}, fmt.Errorf("start %s agent %s: %w", tgt.Name(), agents[i], err)
		}
		cmds = append(cmds, cmd)
	}
	ports.Monitor = countPort
	if w.Idle {
		return idleRun(ctx, w, cmds, ports.Monitor, begin)
	}
	loadErr := make(chan error, 1)
	if w.Load != nil {
		go func() { loadErr <- w.Load(ctx, ports, events, w.BodySize) }()
	} else {
		loadErr <- nil
	}
	count := metricsCount(ports.Monitor, w.SinkKey)
	if w.Count != nil {
		count = func() (int64, error) { return w.Count(ctx, ports) }
	}
	first, err := waitCount(ctx, count, w.SinkKey, 1, 3*time.Minute, 2*time.Millisecond, loadErr, true)
	if err != nil {
		return Result{}, fmt.Errorf("%s on %s: first event: %w", w.Name, tgt.Name(), err)
	}
	startup := first.at.Sub(begin)
	// Polled less often than the first event: each poll costs the agent
	// a monitoring request, and 5 ms is under 1% of a run.
	last, err := waitCount(ctx, count, w.SinkKey, int64(events), 10*time.Minute, 5*time.Millisecond, loadErr, false)
	if err != nil {
		return Result{}, fmt.Errorf("%s on %s: %w", w.Name, tgt.Name(), err)
	}
	if w.Verify != nil {
		if err := w.Verify(ports); err != nil {
			return Result{}, fmt.Errorf("%s on %s: counted %d events, but %w", w.Name, tgt.Name(), events, err)
		}
	}
	elapsed := last.at.Sub(first.at)
	counted := int64(events) - first.n // events delivered after the first observation
	if elapsed <= 0 || counted <= 0 {
		elapsed, counted = last.at.Sub(begin), int64(events)
	}
	return Result{
		Workload:    w.Name,
		Events:      events,
		Elapsed:     elapsed,
		EventsPerS:  float64(counted) / elapsed.Seconds(),
		MBPerS:      float64(counted) * float64(w.BodySize) / elapsed.Seconds() / 1e6,
		StartupTime: startup,
		PeakRSSKB:   peakRSS(cmds),
	}, nil
}

// Median runs a workload n times and returns the median run and the spread
// (min and max events/s).
func (r *Runner) Median(ctx context.Context, w Workload, events, n int) (Result, float64, float64, error) {
	var rs []Result
	for i := 0; i < n; i++ {
		res, err := r.Run(ctx, w, events)
		if err != nil {
			return Result{}, 0, 0, err
		}
		rs = append(rs, res)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].EventsPerS < rs[j].EventsPerS })
	return rs[len(rs)/2], rs[0].EventsPerS, rs[len(rs)-1].EventsPerS, nil
}

// waitListening waits until something accepts TCP connections on port.
func waitListening(ctx context.Context, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on port %d after %v", port, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// slug makes a workload name a file name.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func fetchMetrics(port int) (map[string]map[string]string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var m map[string]map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

type observation struct {
	n  int64
	at time.Time
}

// metricsCount reads the delivery count of key (see Workload.SinkKey) from
// the agent's monitoring endpoint.
func metricsCount(port int, key string) func() (int64, error) {
	return func() (int64, error) {
		m, err := fetchMetrics(port)
		if err != nil {
			return 0, err
		}
		attr := "EventDrainSuccessCount"
		if strings.HasPrefix(key, "CHANNEL.") {
			attr = "EventTakeSuccessCount"
		}
		n, _ := strconv.ParseInt(m[key][attr], 10, 64)
		return n, nil
	}
}

// waitCount polls the delivery count (named key in errors) every
// interval until it reaches want (exactly, unless atLeast). A load generator error, or no progress for
// 60 s once events flow, fails the run, as does delivering more events than
// were sent.
func waitCount(ctx context.Context, count func() (int64, error), key string, want int64, timeout, every time.Duration, loadErr chan error, atLeast bool) (observation, error) {
	deadline := time.Now().Add(timeout)
	var last int64 = -1
	lastMove := time.Now()
	for {
		select {
		case err := <-loadErr:
			if err != nil {
				return observation{}, fmt.Errorf("load generator: %w", err)
			}
			loadErr <- nil // keep the verdict for the next wait
		default:
		}
		n, err := count()
		now := time.Now()
		if err == nil {
			if n >= want {
				if !atLeast && n > want {
					return observation{}, fmt.Errorf("%s delivered %d events, more than the %d sent", key, n, want)
				}
				return observation{n: n, at: now}, nil
			}
			if n != last {
				last, lastMove = n, now
			}
		}
		if (last > 0 && time.Since(lastMove) > 60*time.Second) || time.Now().After(deadline) {
			return observation{}, fmt.Errorf("%s delivered %d of %d events and stopped making progress", key, last, want)
		}
		select {
		case <-ctx.Done():
			return observation{}, ctx.Err()
		case <-time.After(every):
		}
	}
}

// idleRun waits until the agent's monitoring answers, lets it sit idle,
// then reads its current resident set (VmRSS, not the peak).
func idleRun(ctx context.Context, w Workload, cmds []*exec.Cmd, port int, begin time.Time) (Result, error) {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if _, err := fetchMetrics(port); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return Result{}, fmt.Errorf("%s: monitoring on port %d never answered", w.Name, port)
		}
		time.Sleep(2 * time.Millisecond)
	}
	startup := time.Since(begin)
	idle := w.IdleFor
	if idle == 0 {
		idle = 5 * time.Second
	}
	select {
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-time.After(idle):
	}
	var rss int64
	for _, c := range cmds {
		rss += readStatusKB(c.Process.Pid, "VmRSS:")
	}
	return Result{Workload: w.Name, StartupTime: startup, PeakRSSKB: rss}, nil
}

func stopGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// peakRSS adds the peak resident sets of every agent process of a run.
func peakRSS(cmds []*exec.Cmd) int64 {
	var sum int64
	for _, c := range cmds {
		sum += readHWM(c.Process.Pid)
	}
	return sum
}

// readHWM returns the peak resident set (VmHWM) of a process, in KiB.
func readHWM(pid int) int64 { return readStatusKB(pid, "VmHWM:") }

// readStatusKB reads one kB field of /proc/<pid>/status.
func readStatusKB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field) {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n
			}
		}
	}
	return 0
}
