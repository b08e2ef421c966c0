package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
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
