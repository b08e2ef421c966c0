// Command sluice-bench runs the benchmark workloads against Sluice and, when
// its jars are present, Apache Flume on the same configuration files, and
// prints one table: events/s, MB/s, spread, peak RSS, startup to first
// event, and Sluice/Flume ratios.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
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
	flag.Parse()

	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	ctx := context.Background()
	targets := []bench.Target{bench.SluiceTarget{Binary: abs(*binary)}}
	if *flumeLib != "" {
		if _, err := os.Stat(*flumeLib); err == nil {
			targets = append(targets, bench.FlumeTarget{LibDir: abs(*flumeLib), Log4j: abs(*log4j), Heap: *heap})
		} else {
			fmt.Fprintf(os.Stderr, "Flume jars not at %s (scripts/peers.sh fetch flume): Sluice only\n", *flumeLib)
		}
	}
	fmt.Printf("machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	fmt.Printf("events per run: %d, runs per workload: %d (median reported, min–max spread); Flume heap -Xmx%s\n\n", *events, *runs, *heap)

	base, err := bench.GeneratorBaseline(ctx, *events, 100, 4)
	if err != nil {
		fmt.Fprintln(os.Stderr, "generator baseline:", err)
		os.Exit(1)
	}
	fmt.Printf("netcat load generator against a null reader: %.0f events/s (the ceiling for netcat workloads)\n\n", base)
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "workload\tagent\tevents/s\tMB/s\tspread events/s\tpeak RSS MB\tfirst event ms\tvs Flume\t")
	failed := false
	for _, wl := range bench.Workloads() {
		if *only != "" && !strings.Contains(wl.Name, *only) {
			continue
		}
		var res []bench.Result
		for _, t := range targets {
			r := &bench.Runner{Target: t}
			m, lo, hi, err := r.Median(ctx, wl, *events, *runs)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s on %s: FAILED: %v\n", wl.Name, t.Name(), err)
				failed = true
				continue
			}
			ratio := ""
			if t.Name() == "Sluice" {
				res = append(res, m)
			} else if len(res) == 1 && m.EventsPerS > 0 {
				s := res[0]
				ratio = fmt.Sprintf("Sluice %.1fx faster, %.1fx less RSS", s.EventsPerS/m.EventsPerS, float64(m.PeakRSSKB)/float64(max(s.PeakRSSKB, 1)))
			}
			fmt.Fprintf(w, "%s\t%s\t%.0f\t%.1f\t%.0f–%.0f\t%.1f\t%d\t%s\t\n", wl.Name, t.Name(), m.EventsPerS, m.MBPerS, lo, hi,
				float64(m.PeakRSSKB)/1024, m.StartupTime/time.Millisecond, ratio)
		}
	}
	_ = w.Flush()
	if failed {
		os.Exit(1)
	}
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
