package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGHUP reloads at once, with the poll off (--no-reload-conf).
func TestReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	portA, portB := freePort(t), freePort(t)
	conf := writeConf(t, dir, reloadConf("rA", portA, out))
	p := startAgent(t, dir, conf, "--no-reload-conf")
	if r := sendLines(t, fmt.Sprintf("127.0.0.1:%d", portA), []string{"a1"}); len(r) != 1 {
		t.Fatalf("replies on A: %q", r)
	}
	replaceConf(t, conf, reloadConf("rB", portB, out))
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog("reloading the configuration on SIGHUP", 20*time.Second)
	p.waitLog("msg=reloaded", 30*time.Second)
	if r := sendLines(t, fmt.Sprintf("127.0.0.1:%d", portB), []string{"b1", "b2"}); len(r) != 2 {
		t.Fatalf("replies on B: %q", r)
	}
	if got := waitLines(t, out, 3, 20*time.Second); strings.Join(got, ",") != "a1,b1,b2" {
		t.Errorf("lines = %q, want a1 b1 b2", got)
	}
	if err := p.stop(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// The real binary's monitoring port: loopback only by default, the
// Prometheus text and /health answer.
func TestMonitoringPrometheusAndHealth(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	port, mport := freePort(t), freePort(t)
	conf := writeConf(t, dir, reloadConf("r1", port, out))
	p := startAgent(t, dir, conf, "-Dflume.monitoring.type=http", fmt.Sprintf("-Dflume.monitoring.port=%d", mport))
	p.waitLog("addr=127.0.0.1:", 10*time.Second)
	if r := sendLines(t, fmt.Sprintf("127.0.0.1:%d", port), []string{"x1", "x2", "x3"}); len(r) != 3 {
		t.Fatalf("replies: %q", r)
	}
	waitLines(t, out, 3, 20*time.Second)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", mport, path))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/metrics/prometheus")
	want := `sluice_source_event_accepted_total{agent="a1",component="r1",kind="source",type="netcat"} 3`
	if code != http.StatusOK || !strings.Contains(body, want) || !strings.Contains(body, "process_resident_memory_bytes ") {
		t.Errorf("/metrics/prometheus: %d, want a line %q and process metrics:\n%s", code, want, body)
	}
	code, body = get("/health")
	if code != http.StatusOK || !strings.Contains(body, `"status": "ok"`) {
		t.Errorf("/health: %d %s", code, body)
	}
	if err := p.stop(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// twoNetcatPipes: rA on portA -> c1 -> file_roll k1 into outA, rB on
// portB -> c2 -> file_roll k2 into outB; k2Extra is added to k2.
func twoNetcatPipes(portA, portB int, outA, outB, k2Extra string) string {
	return fmt.Sprintf(`a1.sources = rA rB
a1.channels = c1 c2
a1.sinks = k1 k2
a1.sources.rA.type = netcat
a1.sources.rA.bind = 127.0.0.1
a1.sources.rA.port = %d
a1.sources.rA.channels = c1
a1.sources.rB.type = netcat
a1.sources.rB.bind = 127.0.0.1
a1.sources.rB.port = %d
a1.sources.rB.channels = c2
a1.channels.c1.type = memory
a1.channels.c2.type = memory
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k2.type = file_roll
a1.sinks.k2.channel = c2
a1.sinks.k2.sink.directory = %s
a1.sinks.k2.sink.rollInterval = 0
%s
`, portA, portB, outA, outB, k2Extra)
}

// lineConn is one open netcat connection: each line sent gets its OK.
type lineConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func (l *lineConn) send(line string) {
	l.t.Helper()
	if _, err := fmt.Fprintf(l.c, "%s\n", line); err != nil {
		l.t.Fatalf("send %q: %v", line, err)
	}
	_ = l.c.SetReadDeadline(time.Now().Add(15 * time.Second))
	reply, err := l.r.ReadString('\n')
	if err != nil || strings.TrimSpace(reply) != "OK" {
		l.t.Fatalf("reply to %q: %q %v (the connection did not survive)", line, reply, err)
	}
}

// With the real binary, a reload that changes one sink keeps both
// sources running: their open connections survive it and every line sent
// before, during and after it is written once.
func TestReloadKeepsUnchangedSourcesConnected(t *testing.T) {
	dir := t.TempDir()
	outA, outB := filepath.Join(dir, "outA"), filepath.Join(dir, "outB")
	for _, d := range []string{outA, outB} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	portA, portB := freePort(t), freePort(t)
	conf := writeConf(t, dir, twoNetcatPipes(portA, portB, outA, outB, ""))
	p := startAgent(t, dir, conf, "--no-reload-conf")
	connA := &lineConn{t: t, c: dialRetry(t, fmt.Sprintf("127.0.0.1:%d", portA))}
	connA.r = bufio.NewReader(connA.c)
	defer connA.c.Close()
	connB := &lineConn{t: t, c: dialRetry(t, fmt.Sprintf("127.0.0.1:%d", portB))}
	connB.r = bufio.NewReader(connB.c)
	defer connB.c.Close()

	var wantA, wantB []string
	sendBoth := func(tag string, n int) {
		for i := 0; i < n; i++ {
			a, b := fmt.Sprintf("a-%s-%d", tag, i), fmt.Sprintf("b-%s-%d", tag, i)
			connA.send(a)
			connB.send(b)
			wantA, wantB = append(wantA, a), append(wantB, b)
		}
	}
	sendBoth("before", 50)
	replaceConf(t, conf, twoNetcatPipes(portA, portB, outA, outB, "a1.sinks.k2.sink.batchSize = 7"))
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// Keep sending while the reload runs, on the same connections.
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.waitLog("msg=reloaded", 30*time.Second)
	}()
	i := 0
	for reloading := true; reloading; i++ {
		select {
		case <-done:
			reloading = false
		default:
		}
		sendBoth(fmt.Sprintf("during%d", i), 1)
	}
	sendBoth("after", 50)
	if !strings.Contains(p.out.String(), "kept_running=5 replaced=1") {
		t.Errorf("the reload did not replace k2 alone:\n%s", p.out.String())
	}
	gotA := waitLines(t, outA, len(wantA), 20*time.Second)
	gotB := waitLines(t, outB, len(wantB), 20*time.Second)
	if strings.Join(gotA, ",") != strings.Join(wantA, ",") {
		t.Errorf("pipe A wrote %d lines, want %d in order", len(gotA), len(wantA))
	}
	if strings.Join(sortedCopy(gotB), ",") != strings.Join(sortedCopy(wantB), ",") {
		t.Errorf("pipe B wrote %d lines, want the %d sent, once each", len(gotB), len(wantB))
	}
	if err := p.stop(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
