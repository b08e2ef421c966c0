package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sluiceio/sluice/sluicetest"
)

// The page is served whole from the binary: no script, style or font from
// elsewhere, so it works offline.
func TestDashboardPageIsSelfContained(t *testing.T) {
	a, _ := runningAgent(t)
	srv := httptest.NewServer(NewMonitor(a, sluicetest.Logger()))
	defer srv.Close()
	resp, body := get(t, http.MethodGet, srv.URL+"/dashboard")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/dashboard: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`).MatchString(body) || strings.Contains(body, "@import") {
		t.Error("the page loads something from another host")
	}
	if !strings.Contains(body, `"/dashboard/ws"`) {
		t.Error("the page does not open the dashboard's WebSocket")
	}
}

// The WebSocket sends the topology and counters at once and then every
// second; the counts follow the events.
func TestDashboardWebSocket(t *testing.T) {
	a, h := runningAgent(t)
	m := NewMonitor(a, sluicetest.Logger())
	srv := httptest.NewServer(m)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/dashboard/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	read := func() DashSnapshot {
		t.Helper()
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var s DashSnapshot
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		return s
	}
	first := read()
	if first.Agent != "a1" || len(first.Sources) != 1 || len(first.Channels) != 1 || len(first.Sinks) != 1 {
		t.Fatalf("topology: %+v", first)
	}
	if src := first.Sources[0]; src.Name != "r1" || len(src.Channels) != 1 || src.Channels[0] != "c1" || !src.Running || !src.Healthy {
		t.Errorf("source: %+v", src)
	}
	if k := first.Sinks[0]; k.Name != "k1" || k.Channels[0] != "c1" || k.Type != "test-agent-sink" {
		t.Errorf("sink: %+v", k)
	}
	if ch := first.Channels[0]; ch.Capacity != 200 || ch.Type != "memory" {
		t.Errorf("channel: %+v", ch)
	}
	put(t, a, 0, 40)
	waitUntil(t, "40 delivered", func() bool { return len(h.Delivered("k1")) == 40 })
	var s DashSnapshot
	for s = read(); s.Sinks[0].Count < 40; s = read() {
	}
	if s.Sources[0].Count != 40 || s.Channels[0].Count != 40 || s.Channels[0].Out != 40 {
		t.Errorf("after 40 events: %+v", s)
	}
	if s.Time-first.Time < 900 {
		t.Errorf("snapshots %d ms apart, want about a second", s.Time-first.Time)
	}
}

// The WebSocket is behind the same basic authentication as the rest.
func TestDashboardWebSocketNeedsTheCredentials(t *testing.T) {
	a, _ := runningAgent(t)
	m := NewMonitor(a, sluicetest.Logger())
	m.Config.User, m.Config.Password = "ops", "pw"
	srv := httptest.NewServer(m)
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/dashboard/ws"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, resp, err := websocket.Dial(ctx, url, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without credentials: %v %v", err, resp)
	}
	hdr := http.Header{}
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.SetBasicAuth("ops", "pw")
	hdr.Set("Authorization", req.Header.Get("Authorization"))
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatalf("with credentials: %v", err)
	}
	c.CloseNow()
	// Another site's page cannot open it (the browser sends its Origin).
	hdr.Set("Origin", "http://evil.example")
	if _, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr}); err == nil {
		t.Error("a WebSocket from another origin was accepted")
	}
}

// Sink groups appear with their processor type and members, and each
// member sink names its group.
func TestDashboardShowsSinkGroups(t *testing.T) {
	a, _ := agentFor(t, append(slices.Clone(memSinkConf),
		"a1.sinks = k1 k2",
		"a1.sinks.k2.type = test-agent-sink",
		"a1.sinks.k2.hook = HOOK",
		"a1.sinks.k2.channel = c1",
		"a1.sinkgroups = g1",
		"a1.sinkgroups.g1.sinks = k1 k2",
		"a1.sinkgroups.g1.processor.type = failover",
	)...)
	s := a.Dashboard(time.Minute)
	if len(s.Groups) != 1 || s.Groups[0].Name != "g1" || s.Groups[0].Type != "failover" || strings.Join(s.Groups[0].Sinks, ",") != "k1,k2" {
		t.Errorf("groups: %+v", s.Groups)
	}
	for _, k := range s.Sinks {
		if k.Group != "g1" {
			t.Errorf("sink %s in group %q, want g1", k.Name, k.Group)
		}
	}
}
