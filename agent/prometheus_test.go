package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sluicetest"
)

// running starts r1 (test source) -> memory c1 -> test sink k1 with the
// test's hook, and stops it when the test ends.
func runningAgent(t *testing.T) (*Agent, *hook) {
	t.Helper()
	h, name := newHook(t)
	a := build(t,
		"a1.sources = r1",
		"a1.channels = c1",
		"a1.sinks = k1",
		"a1.sources.r1.type = test-agent-source",
		"a1.sources.r1.hook = "+name,
		"a1.sources.r1.channels = c1",
		"a1.channels.c1.type = memory",
		"a1.channels.c1.capacity = 200",
		"a1.sinks.k1.type = test-agent-sink",
		"a1.sinks.k1.hook = "+name,
		"a1.sinks.k1.channel = c1",
	)
	if err := a.Start(context.Background(), Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stopAgent(t, a) })
	return a, h
}

// scrape fetches /metrics/prometheus and parses it with Prometheus's own
// text parser (strict legacy metric names).
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, body := get(t, http.MethodGet, url+"/metrics/prometheus")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if got := expfmt.ResponseFormat(resp.Header); got.FormatType() != expfmt.TypeTextPlain {
		t.Errorf("Prometheus reads the Content-Type as %v, not the text format", got)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the Prometheus parser refuses the exposition: %v\n%s", err, body)
	}
	// Every sample's label set appears once in its family.
	for name, f := range fams {
		seen := map[string]bool{}
		for _, m := range f.Metric {
			k := labelKey(m)
			if seen[k] {
				t.Errorf("%s: label set %s twice", name, k)
			}
			seen[k] = true
		}
	}
	return fams
}

func labelKey(m *dto.Metric) string {
	var parts []string
	for _, l := range m.Label {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(parts, ",")
}

// value is the sample of family name whose labels include want; ok false
// when there is none.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue(), true
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue(), true
		default:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

func TestPrometheusExposition(t *testing.T) {
	a, h := runningAgent(t)
	srv := httptest.NewServer(NewMonitor(a, sluicetest.Logger()))
	defer srv.Close()

	src := map[string]string{"agent": "a1", "component": "r1", "kind": "source", "type": "test-agent-source"}
	ch := map[string]string{"agent": "a1", "component": "c1", "kind": "channel", "type": "memory"}
	sk := map[string]string{"agent": "a1", "component": "k1", "kind": "sink", "type": "test-agent-sink"}

	fams := scrape(t, srv.URL)
	// Every Flume counter of every component, with its labels and type.
	want := []struct {
		name   string
		labels map[string]string
		typ    dto.MetricType
	}{
		{"sluice_source_event_received_total", src, dto.MetricType_COUNTER},
		{"sluice_source_event_accepted_total", src, dto.MetricType_COUNTER},
		{"sluice_source_append_batch_accepted_total", src, dto.MetricType_COUNTER},
		{"sluice_source_open_connections", src, dto.MetricType_GAUGE},
		{"sluice_source_event_read_fail_total", src, dto.MetricType_COUNTER},
		{"sluice_source_channel_write_fail_total", src, dto.MetricType_COUNTER},
		{"sluice_source_generic_processing_fail_total", src, dto.MetricType_COUNTER},
		{"sluice_channel_event_put_attempt_total", ch, dto.MetricType_COUNTER},
		{"sluice_channel_event_put_success_total", ch, dto.MetricType_COUNTER},
		{"sluice_channel_event_take_attempt_total", ch, dto.MetricType_COUNTER},
		{"sluice_channel_event_take_success_total", ch, dto.MetricType_COUNTER},
		{"sluice_channel_size", ch, dto.MetricType_GAUGE},
		{"sluice_channel_capacity", ch, dto.MetricType_GAUGE},
		{"sluice_channel_fill_percentage", ch, dto.MetricType_GAUGE},
		{"sluice_sink_connection_created_total", sk, dto.MetricType_COUNTER},
		{"sluice_sink_batch_empty_total", sk, dto.MetricType_COUNTER},
		{"sluice_sink_batch_underflow_total", sk, dto.MetricType_COUNTER},
		{"sluice_sink_event_drain_attempt_total", sk, dto.MetricType_COUNTER},
		{"sluice_sink_event_drain_success_total", sk, dto.MetricType_COUNTER},
		{"sluice_sink_event_write_fail_total", sk, dto.MetricType_COUNTER},
		{"sluice_sink_channel_read_fail_total", sk, dto.MetricType_COUNTER},
		{"sluice_component_up", sk, dto.MetricType_GAUGE},
		{"sluice_component_healthy", src, dto.MetricType_GAUGE},
		{"sluice_component_start_time_seconds", ch, dto.MetricType_GAUGE},
		{"process_resident_memory_bytes", nil, dto.MetricType_GAUGE},
		{"process_start_time_seconds", nil, dto.MetricType_GAUGE},
		{"process_cpu_seconds_total", nil, dto.MetricType_COUNTER},
		{"go_goroutines", nil, dto.MetricType_GAUGE},
		{"go_gc_cycles_total", nil, dto.MetricType_COUNTER},
		{"go_memstats_heap_alloc_bytes", nil, dto.MetricType_GAUGE},
	}
	for _, w := range want {
		f := fams[w.name]
		if f == nil {
			t.Errorf("no %s", w.name)
			continue
		}
		if f.GetType() != w.typ {
			t.Errorf("%s is a %v, want %v", w.name, f.GetType(), w.typ)
		}
		if f.GetHelp() == "" {
			t.Errorf("%s has no HELP", w.name)
		}
		if _, ok := value(fams, w.name, w.labels); !ok {
			t.Errorf("%s has no sample labelled %v", w.name, w.labels)
		}
	}
	if v, _ := value(fams, "sluice_channel_capacity", ch); v != 200 {
		t.Errorf("channel capacity %v, want 200", v)
	}
	if v, _ := value(fams, "sluice_component_up", src); v != 1 {
		t.Errorf("source up = %v, want 1", v)
	}
	if v, _ := value(fams, "process_resident_memory_bytes", nil); v < 1<<20 {
		t.Errorf("RSS %v bytes: implausible", v)
	}
	if v, _ := value(fams, "process_start_time_seconds", nil); v <= 0 || v > float64(time.Now().Unix()+1) {
		t.Errorf("process start %v", v)
	}
	before, _ := value(fams, "sluice_source_event_accepted_total", src)

	// The numbers move as events flow: 50 in, 50 delivered.
	put(t, a, 0, 50)
	waitUntil(t, "50 events delivered", func() bool { return len(h.Delivered("k1")) == 50 })
	waitUntil(t, "the sink's counter to reach 50", func() bool {
		v, _ := value(scrape(t, srv.URL), "sluice_sink_event_drain_success_total", sk)
		return v == 50
	})
	fams = scrape(t, srv.URL)
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sluice_source_event_accepted_total", src, before + 50},
		{"sluice_source_event_received_total", src, 50},
		{"sluice_channel_event_put_success_total", ch, 50},
		{"sluice_channel_event_take_success_total", ch, 50},
		{"sluice_channel_size", ch, 0},
		{"sluice_sink_event_drain_success_total", sk, 50},
	}
	for _, c := range checks {
		if v, ok := value(fams, c.name, c.labels); !ok || v != c.want {
			t.Errorf("%s = %v (found %v), want %v", c.name, v, ok, c.want)
		}
	}

	// Events left in the channel show in its size and fill.
	h.setSinkFn("k1", func(ctx context.Context, s *testSink, events []*sluice.Event) error { return s.fail() })
	put(t, a, 50, 10)
	waitUntil(t, "a failed delivery counted", func() bool {
		v, _ := value(scrape(t, srv.URL), "sluice_sink_event_write_fail_total", sk)
		return v > 0
	})
	fams = scrape(t, srv.URL)
	if v, _ := value(fams, "sluice_channel_size", ch); v != 10 {
		t.Errorf("channel size %v, want 10", v)
	}
	if v, _ := value(fams, "sluice_channel_fill_percentage", ch); v != 5 {
		t.Errorf("channel fill %v%%, want 5", v)
	}
	if v, _ := value(fams, "sluice_component_failing_seconds", sk); v <= 0 {
		t.Errorf("failing sink: sluice_component_failing_seconds = %v, want > 0", v)
	}
}

func TestPromName(t *testing.T) {
	cases := []struct{ kind, attr, want string }{
		{"source", "EventAcceptedCount", "event_accepted"},
		{"source", "EventReadFail", "event_read_fail"},
		{"channel", "ChannelFillPercentage", "fill_percentage"},
		{"channel", "ChannelSize", "size"},
		{"sink", "ChannelReadFail", "channel_read_fail"},
		{"sink", "KafkaEventSendTimer", "kafka_event_send_timer"},
		{"channel", "CheckpointWriteErrorCount", "checkpoint_write_error"},
		{"sink", "HTTPErrors", "http_errors"},
		{"sink", "Odd-name.x", "odd_name_x"},
	}
	for _, c := range cases {
		if got := promName(c.kind, c.attr); got != c.want {
			t.Errorf("promName(%s, %s) = %q, want %q", c.kind, c.attr, got, c.want)
		}
	}
}

func TestHealth(t *testing.T) {
	a, h := runningAgent(t)
	patient := NewMonitor(a, sluicetest.Logger())
	patient.Config.UnhealthyAfter = time.Hour
	strict := NewMonitor(a, sluicetest.Logger())
	strict.Config.UnhealthyAfter = time.Millisecond
	srvP := httptest.NewServer(patient)
	defer srvP.Close()
	srvS := httptest.NewServer(strict)
	defer srvS.Close()

	health := func(url string) (int, HealthReport) {
		t.Helper()
		resp, body := get(t, http.MethodGet, url+"/health")
		var r HealthReport
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("/health body: %v\n%s", err, body)
		}
		return resp.StatusCode, r
	}
	if code, r := health(srvS.URL); code != http.StatusOK || r.Status != "ok" || len(r.Components) != 3 {
		t.Fatalf("all running: %d %+v", code, r)
	}

	// The sink's downstream goes away.
	h.setSinkFn("k1", func(ctx context.Context, s *testSink, events []*sluice.Event) error { return s.fail() })
	put(t, a, 0, 5)
	waitUntil(t, "the strict monitor to report the failing sink", func() bool {
		code, _ := health(srvS.URL)
		return code == http.StatusServiceUnavailable
	})
	_, r := health(srvS.URL)
	if r.Status != "failing" || len(r.Failing) != 1 {
		t.Fatalf("failing report: %+v", r)
	}
	f := r.Failing[0]
	if f.Name != "k1" || f.Kind != "sink" || f.Type != "test-agent-sink" || !f.Running || f.Healthy {
		t.Errorf("failing component: %+v", f)
	}
	if !strings.Contains(f.LastError, "downstream unavailable") || !strings.Contains(f.Reason, "deliveries failing for") || f.FailingSince == nil {
		t.Errorf("failing component does not say why: %+v", f)
	}
	// Within unhealthyAfter the same failure is not yet unhealthy.
	if code, r := health(srvP.URL); code != http.StatusOK || r.Components[2].FailingSince == nil {
		t.Errorf("failing for less than unhealthyAfter: %d %+v", code, r)
	}

	// The downstream is back: healthy again, the last error kept.
	h.setSinkFn("k1", nil)
	waitUntil(t, "the events delivered", func() bool { return len(h.Delivered("k1")) == 5 })
	code, r := health(srvS.URL)
	if code != http.StatusOK {
		t.Fatalf("after recovery: %d %+v", code, r)
	}
	if k := r.Components[2]; k.FailingSince != nil || !strings.Contains(k.LastError, "downstream unavailable") {
		t.Errorf("after recovery the sink reads %+v", k)
	}

	// A stopped agent is not healthy: every component is named.
	if err := stopAgent(t, a); err != nil {
		t.Fatal(err)
	}
	code, r = health(srvP.URL)
	if code != http.StatusServiceUnavailable || len(r.Failing) != 3 || r.Failing[0].Reason != "not running" {
		t.Errorf("stopped agent: %d %+v", code, r)
	}
}

// A channel whose Unhealthy gauge says so (the file channel's, after a
// failed write) is not healthy.
func TestHealthOfAChannelThatReportsItselfUnhealthy(t *testing.T) {
	cnt := sluice.NewChannelCounters()
	unhealthy := "0"
	cnt.Gauge("Unhealthy", func() string { return unhealthy })
	cnt.Started()
	c := component{kind: "channel", name: "fc", typ: "file", counters: cnt.Counters}
	if h := componentState(c, time.Minute, time.Now()); !h.Healthy {
		t.Fatalf("healthy channel: %+v", h)
	}
	unhealthy = "1"
	if h := componentState(c, time.Minute, time.Now()); h.Healthy || !strings.Contains(h.Reason, "unhealthy") {
		t.Errorf("unhealthy channel: %+v", h)
	}
}
