package agent

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sluiceio/sluice/sluicetest"
)

// monitored builds r1 (test source) -> memory c1 -> null k1 and puts three
// events through the source's processor, without starting anything.
func monitored(t *testing.T) *Agent {
	t.Helper()
	a := build(t,
		"a1.sources = r1",
		"a1.channels = c1",
		"a1.sinks = k1",
		"a1.sources.r1.type = test-agent-source",
		"a1.sources.r1.channels = c1",
		"a1.channels.c1.type = memory",
		"a1.channels.c1.capacity = 200",
		"a1.sinks.k1.type = null",
		"a1.sinks.k1.channel = c1",
	)
	put(t, a, 0, 3)
	return a
}

func get(t *testing.T, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestMonitorMetricsJSON(t *testing.T) {
	srv := httptest.NewServer(NewMonitor(monitored(t), sluicetest.Logger()))
	defer srv.Close()
	for _, path := range []string{"/metrics", "/METRICS", "/Metrics"} {
		resp, body := get(t, http.MethodGet, srv.URL+path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json;charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		// Decode loosely first: every value must be a JSON string.
		var loose map[string]map[string]any
		if err := json.Unmarshal([]byte(body), &loose); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, body)
		}
		var keys []string
		for k, attrs := range loose {
			keys = append(keys, k)
			for name, v := range attrs {
				if _, ok := v.(string); !ok {
					t.Errorf("%s.%s = %v (%T), want a string", k, name, v, v)
				}
			}
		}
		sort.Strings(keys)
		if want := []string{"CHANNEL.c1", "SINK.k1", "SOURCE.r1"}; !slices.Equal(keys, want) {
			t.Fatalf("keys %v, want %v", keys, want)
		}
	}

	_, body := get(t, http.MethodGet, srv.URL+"/metrics")
	var m map[string]map[string]string
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	// Flume's attribute names, and only those, for each type.
	attrs := map[string][]string{
		"SOURCE.r1": {"EventReceivedCount", "EventAcceptedCount", "AppendReceivedCount", "AppendAcceptedCount",
			"AppendBatchReceivedCount", "AppendBatchAcceptedCount", "OpenConnectionCount", "EventReadFail",
			"ChannelWriteFail", "GenericProcessingFail", "StartTime", "StopTime", "Type"},
		"CHANNEL.c1": {"ChannelSize", "ChannelCapacity", "ChannelFillPercentage", "EventPutAttemptCount",
			"EventPutSuccessCount", "EventTakeAttemptCount", "EventTakeSuccessCount", "StartTime", "StopTime", "Type"},
		"SINK.k1": {"ConnectionCreatedCount", "ConnectionClosedCount", "ConnectionFailedCount", "BatchEmptyCount",
			"BatchUnderflowCount", "BatchCompleteCount", "EventDrainAttemptCount", "EventDrainSuccessCount",
			"EventWriteFail", "ChannelReadFail", "StartTime", "StopTime", "Type"},
	}
	for k, want := range attrs {
		var got []string
		for name := range m[k] {
			got = append(got, name)
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s attributes:\n got %v\nwant %v", k, got, want)
		}
	}
	checks := []struct{ key, attr, want string }{
		{"SOURCE.r1", "Type", "SOURCE"},
		{"CHANNEL.c1", "Type", "CHANNEL"},
		{"SINK.k1", "Type", "SINK"},
		{"SOURCE.r1", "EventReceivedCount", "3"},
		{"SOURCE.r1", "EventAcceptedCount", "3"},
		{"SOURCE.r1", "StartTime", "0"},
		{"CHANNEL.c1", "EventPutSuccessCount", "3"},
		{"CHANNEL.c1", "ChannelSize", "3"},
		{"CHANNEL.c1", "ChannelCapacity", "200"},
		{"CHANNEL.c1", "ChannelFillPercentage", "1.5"},
		{"SINK.k1", "EventDrainSuccessCount", "0"},
	}
	for _, c := range checks {
		if got := m[c.key][c.attr]; got != c.want {
			t.Errorf("%s.%s = %q, want %q", c.key, c.attr, got, c.want)
		}
	}
}

func TestMonitorOtherRequests(t *testing.T) {
	srv := httptest.NewServer(NewMonitor(monitored(t), sluicetest.Logger()))
	defer srv.Close()
	cases := []struct {
		method, path string
		status       int
		ctype        string
	}{
		{http.MethodGet, "/", http.StatusOK, "text/html;charset=utf-8"},
		{http.MethodGet, "/nope", http.StatusNotFound, ""},
		{http.MethodGet, "/metrics/x", http.StatusNotFound, ""},
		{http.MethodTrace, "/metrics", http.StatusForbidden, ""},
		{http.MethodOptions, "/metrics", http.StatusForbidden, ""},
		{http.MethodOptions, "/", http.StatusForbidden, ""},
	}
	for _, c := range cases {
		resp, body := get(t, c.method, srv.URL+c.path)
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, resp.StatusCode, c.status)
		}
		if c.ctype != "" {
			if ct := resp.Header.Get("Content-Type"); ct != c.ctype {
				t.Errorf("%s %s: Content-Type %q, want %q", c.method, c.path, ct, c.ctype)
			}
			if !strings.Contains(body, `href="/metrics"`) {
				t.Errorf("%s %s: body %q has no link to /metrics", c.method, c.path, body)
			}
		}
	}
}

func TestMonitorStartAddrStop(t *testing.T) {
	m := NewMonitor(monitored(t), sluicetest.Logger())
	if m.Addr() != nil {
		t.Fatal("Addr before Start is not nil")
	}
	if err := m.Stop(context.Background()); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	if err := m.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	addr := m.Addr().String()
	resp, body := get(t, http.MethodGet, "http://"+addr+"/metrics")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"SOURCE.r1"`) {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, body)
	}
	// A second monitor cannot take the same port, and says where.
	m2 := NewMonitor(monitored(t), sluicetest.Logger())
	if err := m2.Start(addr); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("second Start on %s = %v, want an error naming the address", addr, err)
		_ = m2.Stop(context.Background())
	}
	if err := m.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("monitor still answers after Stop")
	}
}

// A reloaded configuration's agent replaces the old one in /metrics.
func TestMonitorSetAgent(t *testing.T) {
	m := NewMonitor(monitored(t), sluicetest.Logger())
	srv := httptest.NewServer(m)
	defer srv.Close()
	_, body := get(t, http.MethodGet, srv.URL+"/metrics")
	if !strings.Contains(body, `"SOURCE.r1"`) {
		t.Fatalf("before SetAgent: %s", body)
	}
	m.SetAgent(build(t,
		"a1.sources = r2",
		"a1.channels = c2",
		"a1.sinks = k2",
		"a1.sources.r2.type = test-agent-source",
		"a1.sources.r2.channels = c2",
		"a1.channels.c2.type = memory",
		"a1.sinks.k2.type = null",
		"a1.sinks.k2.channel = c2",
	))
	_, body = get(t, http.MethodGet, srv.URL+"/metrics")
	var got map[string]map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(maps.Keys(got))
	want := []string{"CHANNEL.c2", "SINK.k2", "SOURCE.r2"}
	if !slices.Equal(keys, want) {
		t.Errorf("after SetAgent: components %v, want %v", keys, want)
	}
}
