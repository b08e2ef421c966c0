//go:build linux

package e2e

import (
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// topConf is seq (endless) -> memory -> null, with monitoring on mport.
func topConf(t *testing.T, dir string) string {
	return writeConf(t, dir, `a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
a1.sinks.k1.batchSize = 1000
`)
}

// lastFrame is what the screen shows now: the text after the last clear.
func lastFrame(screen string) string {
	if i := strings.LastIndex(screen, "\x1b[2J"); i >= 0 {
		return screen[i+len("\x1b[2J"):]
	}
	return screen
}

// rowField is field i of the line of component key in frame ("" if none).
func rowField(frame, key string, i int) string {
	for _, l := range strings.Split(frame, "\n") {
		f := strings.Fields(l)
		if len(f) > i && f[0] == key {
			return f[i]
		}
	}
	return ""
}

// sluice top in a pseudo-terminal: the table shows the agent's components
// with moving rates, a key changes the order, q quits.
func TestTopInATerminal(t *testing.T) {
	dir := t.TempDir()
	mport := freePort(t)
	startAgent(t, dir, topConf(t, dir), "-Dflume.monitoring.type=http", "-Dflume.monitoring.port="+strconv.Itoa(mport))

	term, screenSide := openPTY(t)
	cmd := exec.Command(binary, "top", "-i", "200ms", fmt.Sprintf("127.0.0.1:%d", mport))
	cmd.Stdin, cmd.Stdout = term, term
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	screen := &syncBuffer{}
	go io.Copy(screen, screenSide)

	waitScreen := func(what string, cond func(frame string) bool) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			f := lastFrame(screen.String())
			if cond(f) {
				return f
			}
			if time.Now().After(deadline) {
				t.Fatalf("the screen never showed %s; it shows:\n%s\nstderr: %s", what, f, stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	moving := func(key string, field int) func(string) bool {
		return func(f string) bool {
			v, err := strconv.ParseFloat(rowField(f, key, field), 64)
			return err == nil && v > 0
		}
	}
	frame := waitScreen("events/s on the source, channel and sink", func(f string) bool {
		return moving("SOURCE.r1", 1)(f) && moving("CHANNEL.c1", 1)(f) && moving("SINK.k1", 2)(f)
	})
	for _, want := range []string{"COMPONENT", "IN/s", "OUT/s", "FILL%", "ERRORS", "STATUS", "sort: name"} {
		if !strings.Contains(frame, want) {
			t.Errorf("the screen lacks %q:\n%s", want, frame)
		}
	}
	if rowField(frame, "SINK.k1", 6) != "ok" {
		t.Errorf("the sink's status is not ok:\n%s", frame)
	}
	first, _ := strconv.ParseInt(rowField(frame, "SINK.k1", 3), 10, 64)
	waitScreen("the sink's total growing", func(f string) bool {
		n, _ := strconv.ParseInt(rowField(f, "SINK.k1", 3), 10, 64)
		return n > first
	})

	if _, err := screenSide.Write([]byte("r")); err != nil {
		t.Fatal(err)
	}
	waitScreen("the rate order", func(f string) bool { return strings.Contains(f, "sort: rate") })
	if _, err := screenSide.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("top after q: %v; stderr %s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("top did not quit on q")
	}
}

// Piped, top prints one plain table and exits.
func TestTopPiped(t *testing.T) {
	dir := t.TempDir()
	mport := freePort(t)
	startAgent(t, dir, topConf(t, dir), "-Dflume.monitoring.type=http", "-Dflume.monitoring.port="+strconv.Itoa(mport))
	out, err := exec.Command(binary, "top", "-i", "300ms", fmt.Sprintf("127.0.0.1:%d", mport)).CombinedOutput()
	if err != nil {
		t.Fatalf("top: %v\n%s", err, out)
	}
	s := string(out)
	if strings.Contains(s, "\x1b[") {
		t.Errorf("piped output has terminal escapes: %q", s)
	}
	for _, key := range []string{"SOURCE.r1", "CHANNEL.c1", "SINK.k1"} {
		if v, err := strconv.ParseFloat(rowField(s, key, 1+boolInt(key == "SINK.k1")), 64); err != nil || v <= 0 {
			t.Errorf("%s shows no rate:\n%s", key, s)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
