package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// reloadConf is netcat on port -> memory -> file_roll into out; the source
// is named src so /metrics shows which configuration runs.
func reloadConf(src string, port int, out string) string {
	return fmt.Sprintf(`a1.sources = %[1]s
a1.channels = c1
a1.sinks = k1
a1.sources.%[1]s.type = netcat
a1.sources.%[1]s.bind = 127.0.0.1
a1.sources.%[1]s.port = %[2]d
a1.sources.%[1]s.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = %[3]s
a1.sinks.k1.sink.rollInterval = 0
`, src, port, out)
}

// replaceConf swaps the file in one rename, as deploy tools do, so the
// agent never reads half a file.
func replaceConf(t *testing.T, path, body string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	// A time clearly after the first write's, whatever the clock's grain.
	later := time.Now().Add(2 * time.Second)
	if err := os.Chtimes(tmp, later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

const fastPoll = "-Dsluice.conf.pollInterval=100ms"

// A changed file is picked up: the new source listens, the old one is gone,
// and the monitoring server (kept) reports the new components.
func TestReloadOnChange(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	portA, portB, mport := freePort(t), freePort(t), freePort(t)
	conf := writeConf(t, dir, reloadConf("rA", portA, out))
	p := startAgent(t, dir, conf, fastPoll,
		"-Dflume.monitoring.type=http", fmt.Sprintf("-Dflume.monitoring.port=%d", mport))
	addrA, addrB := fmt.Sprintf("127.0.0.1:%d", portA), fmt.Sprintf("127.0.0.1:%d", portB)
	if r := sendLines(t, addrA, []string{"a1", "a2"}); len(r) != 2 {
		t.Fatalf("replies on A: %q", r)
	}
	if got := waitLines(t, out, 2, 20*time.Second); len(got) != 2 {
		t.Fatalf("lines before the reload: %q", got)
	}
	if _, ok := metrics(t, mport)["SOURCE.rA"]; !ok {
		t.Fatalf("metrics before the reload lack SOURCE.rA: %v", metrics(t, mport))
	}

	replaceConf(t, conf, reloadConf("rB", portB, out))
	p.waitLog("configuration changed; reloading", 20*time.Second)
	p.waitLog("msg=reloaded", 30*time.Second)

	if r := sendLines(t, addrB, []string{"b1", "b2", "b3"}); len(r) != 3 {
		t.Fatalf("replies on B: %q", r)
	}
	got := waitLines(t, out, 5, 20*time.Second)
	if strings.Join(got, ",") != "a1,a2,b1,b2,b3" {
		t.Errorf("lines = %q, want a1 a2 b1 b2 b3", got)
	}
	if !refused(addrA) {
		t.Error("the old source still listens on A after the reload")
	}
	m := metrics(t, mport)
	if _, ok := m["SOURCE.rB"]; !ok {
		t.Errorf("metrics after the reload lack SOURCE.rB: %v", m)
	}
	if _, ok := m["SOURCE.rA"]; ok {
		t.Errorf("metrics after the reload still report SOURCE.rA: %v", m)
	}
	if err := p.stop(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// A broken new configuration is reported with file:line and the running
// agent keeps serving.
func TestReloadBrokenConfKeepsAgent(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	conf := writeConf(t, dir, reloadConf("r1", port, out))
	p := startAgent(t, dir, conf, fastPoll)
	broken := strings.Replace(reloadConf("r1", port, out), "type = memory", "type = memroy", 1)
	replaceConf(t, conf, broken)
	p.waitLog("configuration reload failed; the running agent is kept", 20*time.Second)
	log := p.out.String()
	for _, want := range []string{"level=ERROR", "a1.channels.c1.type", "agent.conf:8", "memroy"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "msg=reloaded") {
		t.Error("a broken configuration was reported as reloaded")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if r := sendLines(t, addr, []string{"x1", "x2"}); len(r) != 2 || r[0] != "OK" {
		t.Fatalf("replies from the old agent: %q", r)
	}
	if got := waitLines(t, out, 2, 20*time.Second); strings.Join(got, ",") != "x1,x2" {
		t.Errorf("lines = %q, want x1 x2", got)
	}
	if err := p.stop(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// A new configuration that cannot start (its port is taken) gives way to
// the previous one, started again.
func TestReloadStartFailureRestoresOld(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	portA := freePort(t)
	conf := writeConf(t, dir, reloadConf("r1", portA, out))
	p := startAgent(t, dir, conf, fastPoll)
	replaceConf(t, conf, reloadConf("r1", taken.Addr().(*net.TCPAddr).Port, out))
	p.waitLog("running the previous configuration again", 30*time.Second)
	if log := p.out.String(); !strings.Contains(log, "the new configuration failed to start") {
		t.Errorf("the log does not say the new configuration failed:\n%s", log)
	}
	addrA := fmt.Sprintf("127.0.0.1:%d", portA)
	if r := sendLines(t, addrA, []string{"y1"}); len(r) != 1 || r[0] != "OK" {
		t.Fatalf("replies from the restarted agent: %q", r)
	}
	if got := waitLines(t, out, 1, 20*time.Second); strings.Join(got, ",") != "y1" {
		t.Errorf("lines = %q, want y1", got)
	}
	if err := p.stop(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// With --no-reload-conf a change is never looked at. A second agent that
// does reload, changed at the same moment, shows that the first had time
// to notice.
func TestNoReloadConf(t *testing.T) {
	dir, ctlDir := t.TempDir(), t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	portA, portB := freePort(t), freePort(t)
	conf := writeConf(t, dir, reloadConf("r1", portA, out))
	ctlConf := writeConf(t, ctlDir, reloadConf("r1", freePort(t), ctlDir))
	p := startAgent(t, dir, conf, fastPoll, "--no-reload-conf")
	ctl := startAgent(t, ctlDir, ctlConf, fastPoll)
	replaceConf(t, conf, reloadConf("r1", portB, out))
	replaceConf(t, ctlConf, reloadConf("r1", freePort(t), ctlDir))
	ctl.waitLog("msg=reloaded", 30*time.Second)
	// And once more, so that several poll periods surely passed.
	replaceConf(t, ctlConf, reloadConf("r2", freePort(t), ctlDir))
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(ctl.out.String(), "msg=reloaded") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the control agent did not reload twice:\n%s", ctl.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if log := p.out.String(); strings.Contains(log, "reloading") {
		t.Errorf("--no-reload-conf reloaded:\n%s", log)
	}
	if !refused(fmt.Sprintf("127.0.0.1:%d", portB)) {
		t.Error("something listens on B")
	}
	addrA := fmt.Sprintf("127.0.0.1:%d", portA)
	if r := sendLines(t, addrA, []string{"n1"}); len(r) != 1 || r[0] != "OK" {
		t.Fatalf("replies on A: %q", r)
	}
	if err := p.stop(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

// SIGTERM while a reload waits for a replaced sink's delivery to finish
// ends the process cleanly, without starting the new configuration.
func TestReloadInterruptedBySigterm(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	// The avro sink's peer accepts connections and never answers, so the
	// sink's delivery hangs until its request timeout.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	mutePort := mute.Addr().(*net.TCPAddr).Port
	stuck := func(batch int) string {
		return fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = avro
a1.sinks.k1.hostname = 127.0.0.1
a1.sinks.k1.port = %d
a1.sinks.k1.batch-size = %d
a1.sinks.k1.request-timeout = 60000
a1.sinks.k1.channel = c1
`, port, mutePort, batch)
	}
	conf := writeConf(t, dir, stuck(100))
	p := startAgent(t, dir, conf, fastPoll)
	if r := sendLines(t, fmt.Sprintf("127.0.0.1:%d", port), []string{"z"}); len(r) != 1 || r[0] != "OK" {
		t.Fatalf("replies: %q", r)
	}
	p.waitLog("avro sink connected", 20*time.Second) // its delivery now hangs
	replaceConf(t, conf, stuck(50))                  // the sink changes: the reload waits for it
	p.waitLog("configuration changed; reloading", 20*time.Second)
	if err := p.stop(); err != nil {
		t.Errorf("exit after SIGTERM during a reload: %v", err)
	}
	log := p.out.String()
	if strings.Contains(log, "msg=reloaded") || strings.Count(log, "agent started") != 1 {
		t.Errorf("the new configuration was started after SIGTERM:\n%s", log)
	}
	if !strings.Contains(log, "shutting down") {
		t.Errorf("no shutdown logged:\n%s", log)
	}
}
