// Command sluice-bench runs the benchmark workloads against Sluice and, when
// its jars are present, Apache Flume on the same configuration files, prints
// one table (events/s, MB/s, spread, peak RSS, time to first event, ratios)
// and, with -report, writes docs/performance.md and its chart.
package main

import (
	"bytes"
	"context"
	"debug/elf"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluiceio/sluice/bench"
)

func main() {
	binary := flag.String("sluice", "bin/sluice", "path to the sluice binary")
	flumeLib := flag.String("flume", ".peers/flume/lib", "Flume's jar directory; empty skips Flume")
	log4j := flag.String("log4j", "test/peers/log4j2.properties", "log4j2 config for Flume")
	heap := flag.String("flume-heap", "1g", "Flume's -Xmx")
	events := flag.Int("events", 2_000_000, "events per run")
	runs := flag.Int("runs", 3, "runs per workload; the median is reported")
	only := flag.String("only", "", "run only workloads whose name contains this")
	report := flag.String("report", "", "write a markdown report (and an .svg chart beside it)")
	pprofDir := flag.String("pprof", "", "save a CPU profile of every Sluice agent run in this directory")
	agentLog := flag.Bool("agent-log", false, "pass the agents' own output through to stderr")
	flag.Parse()
	if *agentLog {
		agentOut = os.Stderr
	}

	// Everything printed also goes into the report's notes.
	var notes bytes.Buffer
	realOut := os.Stdout
	if pr, pw, err := os.Pipe(); err == nil {
		os.Stdout = pw
		done := make(chan struct{})
		go func() { _, _ = io.Copy(io.MultiWriter(realOut, &notes), pr); close(done) }()
		defer func() { pw.Close(); <-done; os.Stdout = realOut }()
	}
	code := run(*binary, *flumeLib, *log4j, *heap, *events, *runs, *only, *report, *pprofDir, &notes)
	if code != 0 {
		os.Stdout.Close()
		time.Sleep(100 * time.Millisecond) // let the copier drain to the terminal
		os.Exit(code)
	}
}

// agentOut receives the agents' output (-agent-log).
var agentOut io.Writer

func run(binary, flumeLib, log4j, heap string, events, runs int, only, report, pprofDir string, notes *bytes.Buffer) int {
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	ctx := context.Background()
	defer bench.StopKafka() // started by the first Kafka workload, if any
	defer bench.StopOpenSearch()
	defer bench.StopPlugins()
	defer bench.StopHDFS()
	defer bench.StopHBase()
	sluiceT := bench.SluiceTarget{Binary: abs(binary)}
	var flumeT bench.Target
	if flumeLib != "" {
		if _, err := os.Stat(flumeLib); err == nil {
			flumeT = bench.FlumeTarget{LibDir: abs(flumeLib), Log4j: abs(log4j), Heap: heap}
		} else {
			fmt.Printf("Flume jars not at %s (scripts/peers.sh fetch flume): Sluice only\n", flumeLib)
		}
	}
	machine := describeMachine(sluiceT.Binary, heap, events, runs)
	for _, m := range machine {
		fmt.Println(m)
	}
	ceilings, err := measureCeilings(ctx, events)
	if err != nil {
		fmt.Fprintln(os.Stderr, "generator baseline:", err)
		return 1
	}
	for _, c := range ceilings {
		fmt.Println("ceiling:", c)
	}

	var rows []bench.Row
	for _, wl := range bench.Workloads() {
		if only != "" && !strings.Contains(wl.Name, only) {
			continue
		}
		row := bench.Row{Workload: wl.Name, Goal: wl.Goal, Idle: wl.Idle, FlumeAvailable: flumeT != nil && !wl.SluiceOnly}
		if n := wl.EventsFor(events); n != events && !wl.Idle {
			row.Workload += fmt.Sprintf(" [%d events]", n)
		}
		sr := &bench.Runner{Target: sluiceT, Out: agentOut, ProfileDir: pprofDir}
		m, lo, hi, err := sr.Median(ctx, wl, events, runs)
		if err != nil {
			row.SluiceErr = err
			fmt.Printf("%s on Sluice: FAILED: %v\n", wl.Name, err)
		} else {
			row.Sluice, row.SluiceSpread = &m, [2]float64{lo, hi}
		}
		if flumeT != nil && !wl.SluiceOnly {
			m, lo, hi, err := (&bench.Runner{Target: flumeT, Out: agentOut}).Median(ctx, wl, events, runs)
			if err != nil {
				row.FlumeErr = err
				fmt.Printf("%s on Flume: FAILED: %v\n", wl.Name, err)
			} else {
				row.Flume, row.FlumeSpread = &m, [2]float64{lo, hi}
			}
		}
		if wl.Note != nil && row.Sluice != nil {
			row.Note = wl.Note(*row.Sluice)
			fmt.Printf("%s: %s\n", wl.Name, row.Note)
		}
		rows = append(rows, row)
		printRow(row)
		// Written after every workload, so that a long run cut short still
		// leaves what it measured.
		if err := writeReport(report, machine, ceilings, rows, notes.String()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	fmt.Println()
	printTable(rows)
	if report != "" {
		if err := writeReport(report, machine, ceilings, rows, notes.String()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("wrote %s and its chart\n", report)
	}
	for _, r := range rows {
		if r.SluiceErr != nil {
			return 1
		}
	}
	return 0
}

// writeReport writes the markdown report and the .svg chart beside it;
// nothing without a report path.
func writeReport(report string, machine, ceilings []string, rows []bench.Row, notes string) error {
	if report == "" {
		return nil
	}
	chart := strings.TrimSuffix(report, filepath.Ext(report)) + ".svg"
	var svg bytes.Buffer
	bench.WriteSVG(&svg, rows)
	if err := os.WriteFile(chart, svg.Bytes(), 0o644); err != nil {
		return err
	}
	var md bytes.Buffer
	bench.WriteMarkdown(&md, machine, ceilings, rows, notes, filepath.Base(chart))
	return os.WriteFile(report, md.Bytes(), 0o644)
}

// measureCeilings measures what the load generators can do against
// servers that do nothing but answer (so each lies above both agents'
// figures, or the workload measures the generator), and this machine's
// fsync'd write rate at the durable workload's commit size.
func measureCeilings(ctx context.Context, events int) ([]string, error) {
	var out []string
	nc, err := bench.GeneratorBaseline(ctx, events, 100, 4)
	if err != nil {
		return nil, fmt.Errorf("netcat: %w", err)
	}
	out = append(out, fmt.Sprintf("netcat load generator (4 connections) against a null reader that acks every line: %.0f events/s", nc))
	for _, batch := range []int{100, 1000} {
		av, err := bench.AvroGeneratorBaseline(ctx, events, 100, 4, batch)
		if err != nil {
			return nil, fmt.Errorf("avro batch %d: %w", batch, err)
		}
		out = append(out, fmt.Sprintf("avro load generator (4 connections, batch %d) against a null avro server that answers OK: %.0f events/s", batch, av))
	}
	fc := bench.DurableWorkload()
	size := fc.Batch * (fc.Workload.BodySize + bench.RecordOverhead)
	var best bench.FsyncResult
	for _, pre := range []bool{false, true} {
		r, err := bench.FsyncBaseline(os.TempDir(), size, 2*time.Second, pre)
		if err != nil {
			return nil, fmt.Errorf("fsync baseline: %w", err)
		}
		if r.WritesPerS > best.WritesPerS {
			best = r
		}
	}
	out = append(out, fmt.Sprintf("this machine's fsync'd writes of one %d-event commit (%d bytes, write+fdatasync in a loop, in %s): %.0f/s = %.0f events/s "+
		"for a log that fsyncs each commit alone (group commit of concurrent commits can exceed it)",
		fc.Batch, size, os.TempDir(), best.WritesPerS, best.WritesPerS*float64(fc.Batch)))
	return out, nil
}

func printRow(r bench.Row) {
	for _, x := range []struct {
		name string
		res  *bench.Result
	}{{"Sluice", r.Sluice}, {"Flume", r.Flume}} {
		if x.res == nil {
			continue
		}
		if r.Idle {
			fmt.Printf("%s / %s: idle RSS %.1f MB, ready in %d ms\n", r.Workload, x.name, float64(x.res.PeakRSSKB)/1024, x.res.StartupTime/time.Millisecond)
			continue
		}
		fmt.Printf("%s / %s: %.0f events/s, %.1f MB/s, peak RSS %.1f MB, first event after %d ms\n", r.Workload, x.name,
			x.res.EventsPerS, x.res.MBPerS, float64(x.res.PeakRSSKB)/1024, x.res.StartupTime/time.Millisecond)
	}
}

func printTable(rows []bench.Row) {
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "workload\tSluice ev/s\tFlume ev/s\tratio\tSluice RSS MB\tFlume RSS MB\tRSS ratio\tSluice 1st ms\tFlume 1st ms\t")
	for _, r := range rows {
		val := func(res *bench.Result, f func(*bench.Result) string) string {
			if res == nil {
				return "–"
			}
			return f(res)
		}
		rate := func(res *bench.Result) string {
			if r.Idle {
				return "idle"
			}
			return fmt.Sprintf("%.0f", res.EventsPerS)
		}
		rss := func(res *bench.Result) string { return fmt.Sprintf("%.1f", float64(res.PeakRSSKB)/1024) }
		st := func(res *bench.Result) string { return fmt.Sprintf("%d", res.StartupTime/time.Millisecond) }
		ratio, rssRatio := "–", "–"
		if x := r.Ratio(); x > 0 && !r.Idle {
			ratio = fmt.Sprintf("%.1fx", x)
		}
		if x := r.RSSRatio(); x > 0 {
			rssRatio = fmt.Sprintf("%.1fx", x)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Workload, val(r.Sluice, rate), val(r.Flume, rate), ratio,
			val(r.Sluice, rss), val(r.Flume, rss), rssRatio, val(r.Sluice, st), val(r.Flume, st))
	}
	_ = w.Flush()
}

func describeMachine(binary, heap string, events, runs int) []string {
	out := []string{
		fmt.Sprintf("machine: %s/%s, %d CPUs (%s), %s, kernel %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), memTotal(), kernel()),
		fmt.Sprintf("Sluice %s built with %s, %s; Flume 1.11.0 on %s, -Xmx%s, otherwise default JVM settings",
			filepath.Base(binary), runtime.Version(), linkMode(binary), javaVersion(), heap),
		fmt.Sprintf("events per run: %d; runs per workload: %d (median reported, min–max spread)", events, runs),
	}
	return out
}

// linkMode tells a static binary (CGO_ENABLED=0) from one that loads libc
// at start, which costs it about 1.5 MB of resident memory.
func linkMode(binary string) string {
	f, err := elf.Open(binary)
	if err != nil {
		return "link mode unknown"
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "dynamically linked (cgo; libc loaded at start)"
		}
	}
	return "statically linked (CGO_ENABLED=0)"
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if _, v, ok := strings.Cut(l, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown memory"
	}
	f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0])
	if len(f) >= 2 {
		var kb float64
		fmt.Sscan(f[1], &kb)
		return fmt.Sprintf("%.0f GiB RAM", kb/1024/1024)
	}
	return "unknown memory"
}

func javaVersion() string {
	out, err := exec.Command("java", "-version").CombinedOutput()
	if err != nil {
		return "no java"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}
