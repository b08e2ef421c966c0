// Command sluice-bench runs the benchmark workloads against a sluice binary
// and prints one table: events/s, MB/s, the spread over runs, peak RSS and
// startup time.
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
	events := flag.Int("events", 2_000_000, "events per run")
	runs := flag.Int("runs", 3, "runs per workload; the median is reported")
	only := flag.String("only", "", "run only workloads whose name contains this")
	flag.Parse()

	ctx := context.Background()
	if abs, err := filepath.Abs(*binary); err == nil {
		*binary = abs
	}
	fmt.Printf("machine: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	fmt.Printf("events per run: %d, runs per workload: %d (median reported, min–max spread)\n\n", *events, *runs)

	base, err := bench.GeneratorBaseline(ctx, *events, 100, 4)
	if err != nil {
		fmt.Fprintln(os.Stderr, "generator baseline:", err)
		os.Exit(1)
	}
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "workload\tevents/s\tMB/s\tspread events/s\tpeak RSS MB\tstartup ms\t")
	fmt.Fprintf(w, "netcat load generator vs null reader\t%.0f\t%.1f\t\t\t\t\n", base, base*100/1e6)
	r := &bench.Runner{Binary: *binary}
	failed := false
	for _, wl := range bench.Workloads() {
		if *only != "" && !strings.Contains(wl.Name, *only) {
			continue
		}
		res, lo, hi, err := r.Median(ctx, wl, *events, *runs)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: FAILED: %v\n", wl.Name, err)
			failed = true
			continue
		}
		fmt.Fprintf(w, "%s\t%.0f\t%.1f\t%.0f–%.0f\t%.1f\t%d\t\n", wl.Name, res.EventsPerS, res.MBPerS, lo, hi,
			float64(res.PeakRSSKB)/1024, res.StartupTime/time.Millisecond)
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
