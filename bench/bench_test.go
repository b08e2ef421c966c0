package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// The harness itself is tested on small counts so it cannot rot: every
// workload must deliver exactly the events sent, or Run fails.
func TestWorkloadsDeliverEveryEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: builds and runs the real binary; run without -short")
	}
	bin, err := peers.BuildSluice(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Binary: bin}
	defer StopKafka()
	defer StopOpenSearch()
	defer StopPlugins()
	defer StopHBase()
	for _, w := range Workloads() {
		if w.Idle {
			w.IdleFor = 200 * time.Millisecond
		}
		w.FixedEvents = 0 // the harness's own test keeps every run small
		res, err := r.Run(context.Background(), w, 20000)
		if err != nil {
			t.Fatalf("%s: %v", w.Name, err)
		}
		if w.Idle {
			if res.PeakRSSKB <= 0 {
				t.Fatalf("%s: no resident set measured", w.Name)
			}
			continue
		}
		if res.Events != 20000 || res.EventsPerS <= 0 {
			t.Fatalf("%s: bad result %+v", w.Name, res)
		}
	}
}

func TestGeneratorBaselineCountsAcks(t *testing.T) {
	rate, err := GeneratorBaseline(context.Background(), 10000, 100, 2)
	if err != nil || rate <= 0 {
		t.Fatalf("baseline: %v %v", rate, err)
	}
}

func TestAvroGeneratorBaselineCountsEvents(t *testing.T) {
	for _, batch := range []int{100, 1000} {
		rate, err := AvroGeneratorBaseline(context.Background(), 10050, 100, 2, batch)
		if err != nil || rate <= 0 {
			t.Fatalf("batch %d: %v %v", batch, rate, err)
		}
	}
}

// The report numbers the workloads, judges them against the
// goals (baselines are not judged) and lists the ceilings.
func TestReportAgainstGoals(t *testing.T) {
	rows := []Row{
		{Workload: "w-fast", Goal: 1, FlumeAvailable: true,
			Sluice: &Result{EventsPerS: 2000, PeakRSSKB: 10 << 10, StartupTime: 20 * time.Millisecond},
			Flume:  &Result{EventsPerS: 100, PeakRSSKB: 50 << 10, StartupTime: 2 * time.Second}},
		{Workload: "w-base", FlumeAvailable: true,
			Sluice: &Result{EventsPerS: 500, PeakRSSKB: 10 << 10, StartupTime: 200 * time.Millisecond},
			Flume:  &Result{EventsPerS: 100, PeakRSSKB: 500 << 10}},
	}
	var b strings.Builder
	WriteMarkdown(&b, []string{"machine: test"}, []string{"generator: 123 events/s"}, rows, "", "")
	out := b.String()
	for _, want := range []string{
		"- generator: 123 events/s",
		"| 1. w-fast | met (20.00x) | **short** (5.00x) | met (20 ms) |",
		"| w-base | baseline, no goal | | |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// The chart leaves room for the longest label: the labels end where the
// bars begin, so that x must exceed the label's width.
func TestChartFitsLabels(t *testing.T) {
	long := strings.Repeat("w", 90)
	rows := []Row{{Workload: long, Goal: 4, Sluice: &Result{EventsPerS: 30}, Flume: &Result{EventsPerS: 1}}}
	var b strings.Builder
	WriteSVG(&b, rows)
	for _, l := range strings.Split(b.String(), "\n") {
		if !strings.Contains(l, long) {
			continue
		}
		var x int
		if _, err := fmt.Sscanf(l, `<text x="%d"`, &x); err != nil {
			t.Fatalf("label line %q: %v", l, err)
		}
		if want := 7 * len("4. "+long); x < want {
			t.Fatalf("label ends at x=%d, narrower than its %d px", x, want)
		}
		return
	}
	t.Fatalf("no label in the chart:\n%s", b.String())
}
