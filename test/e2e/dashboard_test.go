package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// devtools is a connection to one page of a headless Chromium, over the
// DevTools protocol.
type devtools struct {
	t  *testing.T
	c  *websocket.Conn
	id int
}

// call sends method and returns its result (events in between are
// skipped).
func (d *devtools) call(ctx context.Context, method string, params any, result any) {
	d.t.Helper()
	d.id++
	msg, _ := json.Marshal(map[string]any{"id": d.id, "method": method, "params": params})
	if err := d.c.Write(ctx, websocket.MessageText, msg); err != nil {
		d.t.Fatalf("devtools %s: %v", method, err)
	}
	for {
		_, b, err := d.c.Read(ctx)
		if err != nil {
			d.t.Fatalf("devtools %s: %v", method, err)
		}
		var r struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &r); err != nil || r.ID != d.id {
			continue
		}
		if r.Error != nil {
			d.t.Fatalf("devtools %s: %s", method, r.Error.Message)
		}
		if result != nil {
			if err := json.Unmarshal(r.Result, result); err != nil {
				d.t.Fatalf("devtools %s: %v", method, err)
			}
		}
		return
	}
}

// eval runs a JavaScript expression in the page and returns its string
// value.
func (d *devtools) eval(ctx context.Context, expr string) string {
	d.t.Helper()
	var r struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	d.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &r)
	if r.Exception != nil {
		d.t.Logf("page script: %s", r.Exception.Text)
	}
	s, _ := r.Result.Value.(string)
	return s
}

// openInChromium starts headless Chromium (Debian's chromium package) on
// url and connects to its page. A missing browser fails the test.
func openInChromium(t *testing.T, ctx context.Context, url string) *devtools {
	t.Helper()
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Fatal("no chromium on PATH (apt-get install chromium)")
	}
	cmd := exec.CommandContext(ctx, bin, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--hide-scrollbars", "--window-size=1280,720", "--remote-debugging-port=0",
		"--user-data-dir="+t.TempDir(), url)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// Chromium says where its DevTools listen on stderr.
	port := make(chan string, 1)
	var tail []string
	go func() {
		re := regexp.MustCompile(`DevTools listening on ws://127\.0\.0\.1:(\d+)/`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				port <- m[1]
			}
			if len(tail) < 50 {
				tail = append(tail, sc.Text())
			}
		}
	}()
	var p string
	select {
	case p = <-port:
	case <-time.After(60 * time.Second):
		t.Fatalf("chromium did not open its DevTools port; its output:\n%s", strings.Join(tail, "\n"))
	}
	var wsURL string
	deadline := time.Now().Add(30 * time.Second)
	for wsURL == "" {
		if time.Now().After(deadline) {
			t.Fatal("chromium's page never appeared in /json/list")
		}
		var targets []struct {
			Type, URL            string
			WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
		}
		if resp, err := http.Get("http://127.0.0.1:" + p + "/json/list"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
		}
		for _, tg := range targets {
			if tg.Type == "page" && strings.Contains(tg.URL, "/dashboard") {
				wsURL = tg.WebSocketDebuggerURL
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	c, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatalf("devtools: %v", err)
	}
	c.SetReadLimit(64 << 20) // screenshots
	t.Cleanup(func() { c.CloseNow() })
	return &devtools{t: t, c: c}
}

// The dashboard in a real browser: the page draws the topology, and the
// numbers on it move as events flow; a screenshot is kept (in docs/ when
// SLUICE_DASHBOARD_SCREENSHOT names the file).
func TestDashboardInChromium(t *testing.T) {
	dir := t.TempDir()
	mport := freePort(t)
	// seq copies into three channels: c1 -> null k1; c2 -> failover group
	// g1 of avro k2 (peer down) and null k3; c3 -> avro k4 (peer down),
	// filling.
	conf := writeConf(t, dir, fmt.Sprintf(`a1.sources = r1
a1.channels = c1 c2 c3
a1.sinks = k1 k2 k3 k4
a1.sinkgroups = g1
a1.sources.r1.type = seq
a1.sources.r1.channels = c1 c2 c3
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10000
a1.channels.c1.transactionCapacity = 1000
a1.channels.c2.type = memory
a1.channels.c2.capacity = 10000
a1.channels.c2.transactionCapacity = 1000
a1.channels.c3.type = memory
a1.channels.c3.capacity = 2000000
a1.channels.c3.transactionCapacity = 1000
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
a1.sinks.k1.batchSize = 1000
a1.sinks.k2.type = avro
a1.sinks.k2.hostname = 127.0.0.1
a1.sinks.k2.port = %[1]d
a1.sinks.k2.channel = c2
a1.sinks.k3.type = null
a1.sinks.k3.channel = c2
a1.sinks.k3.batchSize = 1000
a1.sinks.k4.type = avro
a1.sinks.k4.hostname = 127.0.0.1
a1.sinks.k4.port = %[1]d
a1.sinks.k4.channel = c3
a1.sinkgroups.g1.sinks = k2 k3
a1.sinkgroups.g1.processor.type = failover
a1.sinkgroups.g1.processor.priority.k2 = 10
a1.sinkgroups.g1.processor.priority.k3 = 5
`, freePort(t)))
	startAgent(t, dir, conf, "-Dflume.monitoring.type=http", "-Dflume.monitoring.port="+strconv.Itoa(mport),
		"-Dsluice.monitoring.unhealthyAfter=1s")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := openInChromium(t, ctx, fmt.Sprintf("http://127.0.0.1:%d/dashboard", mport))

	type page struct {
		Ticks             int
		Nodes             []string
		RateIn, RateOut   string
		Delivered, Fill   string
		Status, Errors    string
		FailingSinkReason string
		Group             string
	}
	read := func() page {
		var p page
		js := `!document.getElementById("ticks") ? "" : JSON.stringify({
			Ticks: +document.getElementById("ticks").textContent,
			Nodes: [...document.querySelectorAll(".node")].map(n => n.id),
			RateIn: (document.getElementById("rate-r1-c1") || {}).textContent || "",
			RateOut: (document.getElementById("rate-c1-k1") || {}).textContent || "",
			Delivered: ((document.getElementById("sinks-k1") || document).querySelector(".stats b") || {}).textContent || "",
			Fill: ((document.getElementById("channels-c3") || document).querySelector(".fill") || {}).textContent || "",
			Group: (document.getElementById("group-g1") || {}).textContent || "",
			Status: document.getElementById("status").textContent,
			Errors: document.getElementById("errlist").textContent,
			FailingSinkReason: (document.getElementById("sinks-k4") || {}).textContent || ""})`
		v := d.eval(ctx, js)
		if v == "" {
			return p // not loaded yet
		}
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			t.Fatalf("reading the page: %v: %q", err, v)
		}
		return p
	}
	waitPage := func(what string, cond func(p page) bool) page {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			p := read()
			if cond(p) {
				return p
			}
			if time.Now().After(deadline) {
				t.Fatalf("the page never showed %s: %+v", what, p)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	positive := func(s string) bool {
		n, err := strconv.ParseFloat(strings.TrimRight(strings.TrimSuffix(s, "/s"), "kM"), 64)
		return err == nil && n > 0
	}
	p := waitPage("live rates on the edges", func(p page) bool { return p.Ticks >= 2 && positive(p.RateIn) && positive(p.RateOut) })
	want := []string{"sources-r1", "channels-c1", "channels-c2", "channels-c3", "sinks-k2", "sinks-k3", "sinks-k1", "sinks-k4"}
	if strings.Join(p.Nodes, ",") != strings.Join(want, ",") {
		t.Errorf("the page shows %v, want %v", p.Nodes, want)
	}
	if !strings.Contains(p.Group, "group g1 (failover)") || !strings.Contains(p.Group, "k2") || !strings.Contains(p.Group, "k3") {
		t.Errorf("the sink group box reads %q", p.Group)
	}
	// The numbers move: later updates show more delivered, c2 filling.
	first := p
	p = waitPage("the numbers moving", func(p page) bool {
		// (c3 may be full already on a fast machine.)
		return p.Ticks >= first.Ticks+2 && p.Delivered != first.Delivered && (p.Fill != first.Fill || first.Fill == "100.0%")
	})
	p = waitPage("the failing sink and its error", func(p page) bool {
		return strings.Contains(p.Status, "2 failing") && strings.Contains(p.Errors, "k2:") && strings.Contains(p.Errors, "k4:") &&
			strings.Contains(p.FailingSinkReason, "deliveries failing")
	})
	t.Logf("page after %d updates: %+v", p.Ticks, p)

	var shot struct {
		Data string `json:"data"`
	}
	d.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil || len(png) < 1000 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot: %v (%d bytes)", err, len(png))
	}
	out := t.TempDir() + "/dashboard.png"
	if f := os.Getenv("SLUICE_DASHBOARD_SCREENSHOT"); f != "" {
		out = f
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
