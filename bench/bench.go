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
	// SinkKey is the monitoring key whose EventDrainSuccessCount must reach the event count.
	SinkKey string
}

// Ports are the loopback ports one run uses.
type Ports struct {
	Source  int
	Monitor int
	Events  int
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

// Runner runs workloads against a sluice binary.
type Runner struct {
	Binary string
	Out    io.Writer // agent output, for debugging; nil discards
}

// Run measures one workload once.
func (r *Runner) Run(ctx context.Context, w Workload, events int) (Result, error) {
	dir, err := os.MkdirTemp("", "sluice-bench")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	ports := Ports{Source: freePort(), Monitor: freePort(), Events: events}
	confPath := filepath.Join(dir, "bench.conf")
	if err := os.WriteFile(confPath, []byte(w.Conf(ports)), 0o644); err != nil {
		return Result{}, err
	}
	cmd := exec.Command(r.Binary, "agent", "-n", "a1", "-f", confPath,
		"-Dflume.monitoring.type=http", "-Dflume.monitoring.port="+strconv.Itoa(ports.Monitor),
		"-Dflume.root.logger=WARN,console")
	cmd.Dir = dir
	out := r.Out
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("start %s: %w", r.Binary, err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()
	if err := waitMetrics(ctx, ports.Monitor, 30*time.Second); err != nil {
		return Result{}, err
	}
	startup := time.Since(begin)

	rss := &rssWatcher{pid: cmd.Process.Pid}
	stopRSS := rss.start()
	start := time.Now()
	loadErr := make(chan error, 1)
	if w.Load != nil {
		go func() { loadErr <- w.Load(ctx, ports, events, w.BodySize) }()
	} else {
		loadErr <- nil
	}
	if err := waitCount(ctx, ports.Monitor, w.SinkKey, int64(events), 10*time.Minute, loadErr); err != nil {
		stopRSS()
		return Result{}, fmt.Errorf("%s: %w", w.Name, err)
	}
	elapsed := time.Since(start)
	stopRSS()
	return Result{
		Workload:    w.Name,
		Events:      events,
		Elapsed:     elapsed,
		EventsPerS:  float64(events) / elapsed.Seconds(),
		MBPerS:      float64(events) * float64(w.BodySize) / elapsed.Seconds() / 1e6,
		StartupTime: startup,
		PeakRSSKB:   rss.peak,
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

func waitMetrics(ctx context.Context, port int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := fetchMetrics(port); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("agent monitoring on port %d never answered: %w", port, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// waitCount polls the sink's EventDrainSuccessCount until it reaches want.
// A load generator error, or no progress for 30 s, fails the run.
func waitCount(ctx context.Context, port int, key string, want int64, timeout time.Duration, loadErr <-chan error) error {
	deadline := time.Now().Add(timeout)
	var last int64 = -1
	lastMove := time.Now()
	for {
		select {
		case err := <-loadErr:
			if err != nil {
				return fmt.Errorf("load generator: %w", err)
			}
			loadErr = nil
		default:
		}
		m, err := fetchMetrics(port)
		if err == nil {
			n, _ := strconv.ParseInt(m[key]["EventDrainSuccessCount"], 10, 64)
			if n >= want {
				if n > want {
					return fmt.Errorf("%s delivered %d events, more than the %d sent", key, n, want)
				}
				return nil
			}
			if n != last {
				last, lastMove = n, time.Now()
			}
		}
		if time.Since(lastMove) > 30*time.Second || time.Now().After(deadline) {
			return fmt.Errorf("%s delivered %d of %d events and stopped making progress", key, last, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// rssWatcher samples VmHWM (peak resident set) from /proc.
type rssWatcher struct {
	pid  int
	peak int64
}

func (w *rssWatcher) start() func() {
	return func() { w.peak = readHWM(w.pid) }
}

func readHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n
			}
		}
	}
	return 0
}
