// Command sluice-filebench measures the file channel: throughput of each
// file-channel workload next to this machine's fsync'd sequential write
// rate at the same commit size (measured in the same run), and the time
// to recover a channel holding a million events after a kill -9.
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
	events := flag.Int("events", 1_000_000, "events per throughput run")
	runs := flag.Int("runs", 3, "runs per workload; the median is reported")
	replay := flag.Int("replay-events", 1_000_000, "events in the channel for the replay measurement (0 skips it)")
	only := flag.String("only", "", "run only workloads whose name contains this")
	flumeLib := flag.String("flume", ".peers/flume/lib", "Flume's jar directory, to run the same workloads on Flume's file channel; empty skips Flume")
	log4j := flag.String("log4j", "test/peers/log4j2.properties", "log4j2 config for Flume")
	heap := flag.String("flume-heap", "1g", "Flume's -Xmx")
	flag.Parse()
	var flume *bench.Runner
	if *flumeLib != "" {
		if _, err := os.Stat(*flumeLib); err == nil {
			abs := func(p string) string { a, _ := filepath.Abs(p); return a }
			flume = &bench.Runner{Target: bench.FlumeTarget{LibDir: abs(*flumeLib), Log4j: abs(*log4j), Heap: *heap}}
		}
	}

	ctx := context.Background()
	if abs, err := filepath.Abs(*binary); err == nil {
		*binary = abs
	}
	fmt.Printf("machine: %s/%s, %d CPUs\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Printf("events per run: %d, runs per workload: %d (median reported, min–max spread)\n", *events, *runs)
	fmt.Println("fsync baseline: append N bytes + fsync in a loop, N = one commit's log bytes (batch × (body + record overhead)),")
	fmt.Println("  on a new file (append) and on a zero-filled one (prealloc, as the channel's segments are).")
	fmt.Println("  'of limit' = channel events/s ÷ the better baseline's commits/s × batch. Group commit can exceed 100%.")
	fmt.Println()

	r := &bench.Runner{Binary: *binary}
	tmp := os.TempDir()
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "workload\tevents/s\tMB/s\tspread events/s\tfsync append ev/s\tfsync prealloc ev/s\tof limit\tpeak RSS MB\tFlume events/s\tvs Flume\t")
	failed := false
	for _, c := range bench.FileChannelCases() {
		if *only != "" && !strings.Contains(c.Workload.Name, *only) {
			continue
		}
		res, lo, hi, err := r.Median(ctx, c.Workload, *events, *runs)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: FAILED: %v\n", c.Workload.Name, err)
			failed = true
			continue
		}
		bytes := c.Batch * (c.Workload.BodySize + bench.RecordOverhead)
		app, err1 := bench.FsyncBaseline(tmp, bytes, 2*time.Second, false)
		pre, err2 := bench.FsyncBaseline(tmp, bytes, 2*time.Second, true)
		if err1 != nil || err2 != nil {
			fmt.Fprintf(os.Stderr, "fsync baseline: %v %v\n", err1, err2)
			failed = true
			continue
		}
		limit := max(app.WritesPerS, pre.WritesPerS) * float64(c.Batch)
		flumeCol, ratio := "–", "–"
		if flume != nil {
			// Flume's file channel fsyncs each commit: fewer events keep
			// its runs short.
			fr, _, _, err := flume.Median(ctx, c.Workload, max(*events/5, 20000), *runs)
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s on Flume: %v\n", c.Workload.Name, err)
				flumeCol = "failed"
			} else {
				flumeCol, ratio = fmt.Sprintf("%.0f", fr.EventsPerS), fmt.Sprintf("%.1f×", res.EventsPerS/fr.EventsPerS)
			}
		}
		fmt.Fprintf(os.Stderr, "done: %s: %.0f events/s (Flume %s)\n", c.Workload.Name, res.EventsPerS, flumeCol)
		fmt.Fprintf(w, "%s\t%.0f\t%.1f\t%.0f–%.0f\t%.0f\t%.0f\t%.0f%%\t%.1f\t%s\t%s\t\n", c.Workload.Name, res.EventsPerS, res.MBPerS, lo, hi,
			app.WritesPerS*float64(c.Batch), pre.WritesPerS*float64(c.Batch), 100*res.EventsPerS/limit, float64(res.PeakRSSKB)/1024, flumeCol, ratio)
	}
	_ = w.Flush()

	if *replay > 0 {
		fmt.Printf("\nrecovery after kill -9 with %d events (100-byte bodies) in the channel:\n", *replay)
		for _, ck := range []bool{false, true} {
			what := "no checkpoint since the fill: the whole log is replayed"
			if ck {
				what = "a checkpoint covers every event"
			}
			res, err := r.FileChannelReplay(ctx, *replay, 100, ck)
			if err != nil {
				fmt.Fprintf(os.Stderr, "replay (%s): FAILED: %v\n", what, err)
				failed = true
				continue
			}
			fmt.Printf("  %s: channel recovery %v (replayed %s log bytes, from %s), process start to agent started %v\n",
				what, res.Recovery, res.Replayed, res.From, res.Startup.Round(time.Millisecond))
		}
	}
	if failed {
		os.Exit(1)
	}
}
