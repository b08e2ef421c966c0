package agent

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/health"
)

// component is one source, channel or sink as monitoring sees it.
type component struct {
	kind     string // source, channel, sink
	name     string
	typ      string // the registered type (memory, avro, ...)
	counters *sluice.Counters
	health   *health.State // nil for channels
}

// components lists the agent's sources, channels and sinks in that order.
func (a *Agent) components() []component {
	var out []component
	for _, s := range a.sources {
		out = append(out, component{"source", s.name, s.typ, s.counters.Counters, s.health})
	}
	for _, c := range a.channels {
		out = append(out, component{"channel", c.name, c.typ, c.counters.Counters, nil})
	}
	for _, k := range a.sinks {
		out = append(out, component{"sink", k.name, k.typ, k.counters.Counters, k.health})
	}
	return out
}

// promName turns a Flume attribute name into the snake-case part of a
// Prometheus metric name: EventAcceptedCount -> event_accepted,
// ChannelFillPercentage of a channel -> fill_percentage.
func promName(kind, attr string) string {
	attr = strings.TrimSuffix(attr, "Count")
	if kind == "channel" && strings.HasPrefix(attr, "Channel") && len(attr) > len("Channel") {
		attr = strings.TrimPrefix(attr, "Channel")
	}
	var b strings.Builder
	rs := []rune(attr)
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prevLower := unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || (unicode.IsUpper(rs[i-1]) && nextLower) {
				b.WriteByte('_')
			}
		}
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// sample is one line of a metric family.
type sample struct {
	labels string // already rendered: {a="b",...}
	value  float64
}

type family struct {
	typ, help string
	samples   []sample
}

// exposition collects metric families and writes them in the Prometheus
// text format (version 0.0.4), families sorted by name.
type exposition map[string]*family

func (e exposition) add(name, typ, help, labels string, v float64) {
	f := e[name]
	if f == nil {
		f = &family{typ: typ, help: help}
		e[name] = f
	}
	f.samples = append(f.samples, sample{labels, v})
}

func (e exposition) write(w io.Writer) error {
	names := make([]string, 0, len(e))
	for n := range e {
		names = append(names, n)
	}
	sort.Strings(names)
	bw := bufio.NewWriter(w)
	for _, n := range names {
		f := e[n]
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", n, escapeHelp(f.help), n, f.typ)
		for _, s := range f.samples {
			bw.WriteString(n)
			bw.WriteString(s.labels)
			bw.WriteByte(' ')
			bw.WriteString(formatFloat(s.value))
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
var labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

func escapeHelp(s string) string { return helpEscaper.Replace(s) }

// labels renders label pairs (name, value, name, value, ...).
func labels(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// gaugeValue reads a gauge's string as a number: Flume's decimals, Java's
// Double.MAX_VALUE, true/false as 1/0. ok is false for anything else.
func gaugeValue(s string) (float64, bool) {
	switch s {
	case "true":
		return 1, true
	case "false":
		return 0, true
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// levelAttrs are the Flume attributes kept in counters that go down as
// well as up, and so are Prometheus gauges, with their metric names.
var levelAttrs = map[string]string{
	"OpenConnectionCount": "open_connections",
}

// promComponents adds every component's counters and gauges, and whether
// it runs and is healthy.
func promComponents(e exposition, agentName string, comps []component, unhealthyAfter time.Duration, now time.Time) {
	for _, c := range comps {
		l := labels("agent", agentName, "component", c.name, "kind", c.kind, "type", c.typ)
		c.counters.Each(func(attr string, v *atomic.Int64, gauge func() string) {
			base := "sluice_" + c.kind + "_" + promName(c.kind, attr)
			if g, ok := levelAttrs[attr]; ok && gauge == nil {
				e.add("sluice_"+c.kind+"_"+g, "gauge", fmt.Sprintf("Flume's %s attribute of a %s (a level, not a count).", attr, c.kind), l, float64(v.Load()))
				return
			}
			if gauge == nil {
				e.add(base+"_total", "counter", fmt.Sprintf("Flume's %s attribute of a %s.", attr, c.kind), l, float64(v.Load()))
				return
			}
			if f, ok := gaugeValue(gauge()); ok {
				e.add(base, "gauge", fmt.Sprintf("Flume's %s attribute of a %s.", attr, c.kind), l, f)
			}
		})
		st := componentState(c, unhealthyAfter, now)
		e.add("sluice_component_up", "gauge", "1 while the component is started and not stopped.", l, boolFloat(st.Running))
		e.add("sluice_component_healthy", "gauge", "1 while the component runs and has not been failing for longer than unhealthyAfter.", l, boolFloat(st.Healthy))
		e.add("sluice_component_failing_seconds", "gauge", "How long the component's current run of failures has lasted (0 when it is not failing).", l, st.failingFor.Seconds())
		if start := c.counters.StartTime(); start > 0 {
			e.add("sluice_component_start_time_seconds", "gauge", "When the component last started, in seconds since the Unix epoch.", l, float64(start)/1000)
		}
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// processStart stands for the process's start time: the package is
// initialised as the process starts.
var processStart = time.Now()

// promProcess adds the process's and Go runtime's metrics under the names
// Prometheus's own Go client uses, where it has them.
func promProcess(e exposition) {
	none := ""
	e.add("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds.", none, float64(processStart.UnixNano())/1e9)
	if rss, vsz, ok := memoryOfProcess(); ok {
		e.add("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", none, float64(rss))
		e.add("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", none, float64(vsz))
	}
	if cpu, ok := cpuSeconds(); ok {
		e.add("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", none, cpu)
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		e.add("process_open_fds", "gauge", "Number of open file descriptors.", none, float64(len(fds)))
	}
	e.add("go_goroutines", "gauge", "Number of goroutines that currently exist.", none, float64(runtime.NumGoroutine()))
	e.add("go_info", "gauge", "Information about the Go environment.", labels("version", runtime.Version()), 1)
	// runtime/metrics reads these without stopping the world.
	samples := []metrics.Sample{
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/gc/heap/goal:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/cpu/classes/gc/total:cpu-seconds"},
		{Name: "/sched/gomaxprocs:threads"},
	}
	metrics.Read(samples)
	out := []struct{ name, typ, help string }{
		{"go_gc_cycles_total", "counter", "Completed GC cycles."},
		{"go_gc_heap_goal_bytes", "gauge", "Heap size the collector aims to finish the current cycle at."},
		{"go_memstats_heap_alloc_bytes", "gauge", "Bytes of heap objects, live and not yet swept."},
		{"go_memstats_sys_bytes", "gauge", "Bytes of memory mapped by the Go runtime."},
		{"go_gc_cpu_seconds_total", "counter", "Estimated CPU time spent in the garbage collector."},
		{"go_sched_gomaxprocs_threads", "gauge", "GOMAXPROCS."},
	}
	for i, s := range samples {
		var v float64
		switch s.Value.Kind() {
		case metrics.KindUint64:
			v = float64(s.Value.Uint64())
		case metrics.KindFloat64:
			v = s.Value.Float64()
		default:
			continue // not known to this Go version
		}
		e.add(out[i].name, out[i].typ, out[i].help, none, v)
	}
}

// memoryOfProcess reads the resident and virtual size from /proc (Linux).
func memoryOfProcess() (rss, vsz int64, ok bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, 0, false
	}
	pages, err1 := strconv.ParseInt(f[0], 10, 64)
	res, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	ps := int64(os.Getpagesize())
	return res * ps, pages * ps, true
}

// writePrometheus writes the agent's and the process's metrics.
func writePrometheus(w io.Writer, a *Agent, unhealthyAfter time.Duration) error {
	e := exposition{}
	promComponents(e, a.name, a.components(), unhealthyAfter, time.Now())
	promProcess(e)
	return e.write(w)
}
