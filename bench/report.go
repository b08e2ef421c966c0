package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Row is one workload measured on Sluice and, when available, Flume.
type Row struct {
	Workload       string
	Goal           int // Workload.Goal
	Idle           bool
	Sluice, Flume  *Result
	SluiceSpread   [2]float64
	FlumeSpread    [2]float64
	SluiceErr      error
	FlumeErr       error
	FlumeAvailable bool
	Note           string // Workload.Note's sentence, printed under the table
}

// label is the workload's name, numbered as in the performance issue.
func (r Row) label() string {
	if r.Goal == 0 {
		return r.Workload
	}
	return fmt.Sprintf("%d. %s", r.Goal, r.Workload)
}

// Ratio returns Sluice's throughput over Flume's (0 when unknown).
func (r Row) Ratio() float64 {
	if r.Sluice == nil || r.Flume == nil || r.Flume.EventsPerS == 0 {
		return 0
	}
	return r.Sluice.EventsPerS / r.Flume.EventsPerS
}

// RSSRatio returns Flume's peak RSS over Sluice's (0 when unknown).
func (r Row) RSSRatio() float64 {
	if r.Sluice == nil || r.Flume == nil || r.Sluice.PeakRSSKB == 0 {
		return 0
	}
	return float64(r.Flume.PeakRSSKB) / float64(r.Sluice.PeakRSSKB)
}

func fmtRate(r *Result, idle bool) string {
	if r == nil {
		return "–"
	}
	if idle {
		return "idle"
	}
	return fmt.Sprintf("%.0f", r.EventsPerS)
}

func fmtMB(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }

func fmtX(x float64) string {
	if x == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1fx", x)
}

// WriteMarkdown writes the report: the machine, the table, the notes the
// workloads printed, and a reference to the chart.
func WriteMarkdown(w io.Writer, machine, ceilings []string, rows []Row, notes string, chart string) {
	fmt.Fprintf(w, "# Performance: Sluice beside Apache Flume\n\n")
	fmt.Fprintf(w, "<!-- written by `make bench` (go run ./bench/cmd/sluice-bench -report docs/performance.md); do not edit -->\n\n")
	fmt.Fprintf(w, "Measured %s on this machine, one workload at a time, each agent on the same\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, ".conf file with the same load generator and event count. Figures are medians of several runs\n")
	fmt.Fprintf(w, "(the spread is min–max); a run that does not deliver every event fails instead of counting.\n\n")
	for _, m := range machine {
		fmt.Fprintf(w, "- %s\n", m)
	}
	if len(ceilings) > 0 {
		fmt.Fprintf(w, "\nCeilings measured in the same run (a workload's figure means something only below its ceiling):\n\n")
		for _, c := range ceilings {
			fmt.Fprintf(w, "- %s\n", c)
		}
	}
	fmt.Fprintf(w, "\n| Workload | Sluice events/s | Flume events/s | Throughput ratio | Sluice peak RSS | Flume peak RSS | RSS ratio | Sluice first event | Flume first event |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		srss, frss, sst, fst := "–", "–", "–", "–"
		if r.Sluice != nil {
			srss, sst = fmtMB(r.Sluice.PeakRSSKB), fmt.Sprintf("%d ms", r.Sluice.StartupTime/time.Millisecond)
		}
		if r.Flume != nil {
			frss, fst = fmtMB(r.Flume.PeakRSSKB), fmt.Sprintf("%d ms", r.Flume.StartupTime/time.Millisecond)
		}
		flume := fmtRate(r.Flume, r.Idle)
		if r.FlumeErr != nil {
			flume = "failed (see notes)"
		} else if !r.FlumeAvailable {
			flume = "not run"
		}
		sl := fmtRate(r.Sluice, r.Idle)
		if r.SluiceErr != nil {
			sl = "failed (see notes)"
		}
		if r.Sluice != nil && !r.Idle {
			sl += fmt.Sprintf(" (%.0f–%.0f)", r.SluiceSpread[0], r.SluiceSpread[1])
		}
		if r.Flume != nil && !r.Idle {
			flume += fmt.Sprintf(" (%.0f–%.0f)", r.FlumeSpread[0], r.FlumeSpread[1])
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.label(), sl, flume,
			fmtX(r.Ratio()), srss, frss, fmtX(r.RSSRatio()), sst, fst)
	}
	for _, r := range rows {
		if r.Note != "" {
			fmt.Fprintf(w, "\n%s: %s\n", r.label(), r.Note)
		}
	}
	if chart != "" {
		fmt.Fprintf(w, "\n![Sluice throughput as a multiple of Flume's](%s)\n", chart)
	}
	writeGoals(w, rows)
	var failures []string
	for _, r := range rows {
		if r.SluiceErr != nil {
			failures = append(failures, fmt.Sprintf("- %s on Sluice: %v", r.Workload, r.SluiceErr))
		}
		if r.FlumeErr != nil {
			failures = append(failures, fmt.Sprintf("- %s on Flume: %v", r.Workload, r.FlumeErr))
		}
	}
	if len(failures) > 0 {
		fmt.Fprintf(w, "\n## Failed runs\n\n%s\n", strings.Join(failures, "\n"))
	}
	if notes != "" {
		fmt.Fprintf(w, "\n## Output of the run\n\n```\n%s```\n", notes)
	}
}

// Goals of the performance issue, reported against, never asserted.
const (
	goalThroughput = 10.0                   // Sluice events/s over Flume's
	goalRSS        = 10.0                   // Flume's peak RSS over Sluice's
	goalStartup    = 100 * time.Millisecond // Sluice process start to first event
)

func writeGoals(w io.Writer, rows []Row) {
	fmt.Fprintf(w, "\n## Against the goals\n\n")
	fmt.Fprintf(w, "Goals: throughput at least %.0fx Flume's, peak RSS at most 1/%.0f of Flume's, first event (idle: ready) within %d ms.\n\n",
		goalThroughput, goalRSS, goalStartup/time.Millisecond)
	fmt.Fprintf(w, "| Workload | Throughput | Peak RSS | Startup |\n|---|---|---|---|\n")
	verdict := func(ok bool, what string) string {
		if ok {
			return "met (" + what + ")"
		}
		return "**short** (" + what + ")"
	}
	for _, r := range rows {
		if r.Sluice == nil {
			continue
		}
		if r.Goal == 0 {
			fmt.Fprintf(w, "| %s | baseline, no goal | | |\n", r.label())
			continue
		}
		tp, rss := "–", "–"
		// Two decimals: a ratio just under a goal must not print as it.
		if x := r.Ratio(); x > 0 && !r.Idle {
			tp = verdict(x >= goalThroughput, fmt.Sprintf("%.2fx", x))
		}
		if x := r.RSSRatio(); x > 0 {
			rss = verdict(x >= goalRSS, fmt.Sprintf("%.2fx", x))
		}
		st := verdict(r.Sluice.StartupTime < goalStartup, fmt.Sprintf("%d ms", r.Sluice.StartupTime/time.Millisecond))
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.label(), tp, rss, st)
	}
}

// WriteSVG draws one bar per workload: Sluice's throughput as a multiple of
// Flume's, on a log scale, with the 10x goal marked.
func WriteSVG(w io.Writer, rows []Row) {
	var rs []Row
	for _, r := range rows {
		if r.Ratio() > 0 {
			rs = append(rs, r)
		}
	}
	const barH, gap, plot = 22, 10, 470
	// Labels are right-aligned against the bars: leave room for the
	// longest (about 7 px a character at 13 px sans-serif).
	left := 300
	for _, r := range rs {
		left = max(left, 7*utf8.RuneCountInString(r.label())+16)
	}
	width := left + plot
	height := 60 + len(rs)*(barH+gap)
	maxX := 100.0
	for _, r := range rs {
		maxX = math.Max(maxX, r.Ratio()*1.2)
	}
	scale := func(x float64) float64 { // log10 from 1 to maxX
		return float64(width-left-40) * math.Log10(math.Max(x, 1)) / math.Log10(maxX)
	}
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="13">`+"\n", width, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(w, `<text x="10" y="20" font-size="15">Sluice throughput as a multiple of Apache Flume's (log scale; dashed: 10x goal)</text>`+"\n")
	for i, r := range rs {
		y := 40 + i*(barH+gap)
		bw := scale(r.Ratio())
		color := "#2b7bba"
		if r.Ratio() < 10 {
			color = "#e08a2b"
		}
		fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+15, html.EscapeString(r.label()))
		fmt.Fprintf(w, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, y, bw, barH, color)
		fmt.Fprintf(w, `<text x="%.1f" y="%d">%.1fx</text>`+"\n", float64(left)+bw+5, y+15, r.Ratio())
	}
	gx := float64(left) + scale(10)
	fmt.Fprintf(w, `<line x1="%.1f" y1="30" x2="%.1f" y2="%d" stroke="#555" stroke-dasharray="4 3"/>`+"\n", gx, gx, height-10)
	fmt.Fprintf(w, "</svg>\n")
}
