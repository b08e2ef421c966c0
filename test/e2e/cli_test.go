package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A broken config is refused before anything starts, and every problem is
// listed at once with its file and line.
func TestBrokenConfigRefusedWithEveryError(t *testing.T) {
	dir := t.TempDir()
	conf := writeConf(t, dir, `a1.sources = r1
a1.channels = c1
a1.sinks = k1 k2
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = notaport
a1.sources.r1.channels = c1 c9
a1.channels.c1.type = memroy
a1.sinks.k1.type = logger
a1.sinks.k1.channel = c1
a1.sinks.k2.type = logger
`)
	for _, cmd := range []string{"agent", "check"} {
		p := run(t, dir, cmd, "-n", "a1", "-f", conf)
		err := p.wait(20 * time.Second)
		out := p.out.String()
		if err == nil {
			t.Fatalf("%s accepted a broken config:\n%s", cmd, out)
		}
		for _, want := range []string{
			`agent.conf:6`, `"notaport"`, // bad number, with its line
			`agent.conf:7`, `c9`, // undeclared channel
			`agent.conf:8`, `"memroy"`, `did you mean "memory"`, // unknown type
			`k2`, // sink without channel
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s output lacks %q:\n%s", cmd, want, out)
			}
		}
		if strings.Contains(out, "agent started") {
			t.Errorf("%s started an agent from a broken config", cmd)
		}
	}
}

func TestUnknownAgentName(t *testing.T) {
	p := run(t, t.TempDir(), "agent", "-n", "a2", "-f", example("netcat-logger.conf"))
	if err := p.wait(20 * time.Second); err == nil {
		t.Fatal("agent started with a name that is not in the file")
	}
	if out := p.out.String(); !strings.Contains(out, "a1") || !strings.Contains(out, "a2") {
		t.Fatalf("message should name the missing agent and the ones present:\n%s", out)
	}
}

func TestVersionAndList(t *testing.T) {
	p := run(t, t.TempDir(), "version")
	if err := p.wait(10 * time.Second); err != nil || !strings.Contains(p.out.String(), "Sluice") {
		t.Fatalf("version: %v %s", err, p.out.String())
	}
	p = run(t, t.TempDir(), "list")
	if err := p.wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"netcat", "memory", "logger", "file_roll", "org.apache.flume.source.NetcatSource"} {
		if !strings.Contains(p.out.String(), want) {
			t.Errorf("list lacks %q", want)
		}
	}
}

// When the channel is full the netcat source answers FAILED instead of OK:
// the sender knows, and nothing acknowledged is lost. Once the sink can
// write again, every acknowledged event arrives.
func TestFullChannelPushesBack(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	port, mport := freePort(t), freePort(t)
	conf := writeConf(t, dir, fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 5
a1.channels.c1.transactionCapacity = 5
a1.channels.c1.keep-alive = 1
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 5
a1.sinks.k1.channel = c1
`, port, out))
	startAgent(t, dir, conf, "-Dflume.monitoring.type=http", "-Dflume.monitoring.port="+strconv.Itoa(mport))
	// A file where the sink's directory was: the sink fails, the channel fills.
	if err := os.RemoveAll(out); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	c := dialRetry(t, fmt.Sprintf("127.0.0.1:%d", port))
	defer c.Close()
	r := bufio.NewReader(c)
	var acked []string
	failed := 0
	for i := 0; i < 8; i++ {
		line := fmt.Sprintf("event %d", i)
		if _, err := fmt.Fprintf(c, "%s\n", line); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
		reply, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reply to %q: %v", line, err)
		}
		switch {
		case reply == "OK\n":
			acked = append(acked, line)
		case strings.HasPrefix(reply, "FAILED"):
			failed++
		default:
			t.Fatalf("unexpected reply %q", reply)
		}
	}
	if len(acked) != 5 || failed != 3 {
		t.Fatalf("acked %d, failed %d; want 5 acked (the channel's capacity) and 3 refused", len(acked), failed)
	}
	m := metrics(t, mport)
	if m["CHANNEL.c1"]["ChannelSize"] != "5" {
		t.Errorf("ChannelSize = %q, want 5", m["CHANNEL.c1"]["ChannelSize"])
	}
	if m["CHANNEL.c1"]["ChannelFillPercentage"] != "100.0" {
		t.Errorf("ChannelFillPercentage = %q, want 100.0", m["CHANNEL.c1"]["ChannelFillPercentage"])
	}
	if fails, _ := strconv.Atoi(m["SOURCE.r1"]["ChannelWriteFail"]); fails < 3 {
		t.Errorf("ChannelWriteFail = %q, want >= 3", m["SOURCE.r1"]["ChannelWriteFail"])
	}
	// Let the sink write: everything that was acknowledged arrives.
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	got := waitLines(t, out, len(acked), 30*time.Second)
	if strings.Join(got, "\n") != strings.Join(acked, "\n") {
		t.Fatalf("after recovery the sink wrote %q, want %q", got, acked)
	}
}

// SIGTERM stops the source, lets the sink drain the channel, then exits 0.
func TestGracefulStopDrains(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	out := filepath.Join(dir, "out")
	conf := writeConf(t, dir, fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = netcat
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 100
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.channel = c1
`, port, out))
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	p := startAgent(t, dir, conf)
	sent := lines("drain", 20000)
	wantAllOK(t, sendLines(t, fmt.Sprintf("127.0.0.1:%d", port), sent), len(sent))
	if err := p.stop(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	got := readDirLines(t, out)
	if len(got) != len(sent) {
		t.Fatalf("after stop the sink had written %d of %d acknowledged events", len(got), len(sent))
	}
}
