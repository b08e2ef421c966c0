package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func lines(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %05d", prefix, i)
	}
	return out
}

func wantAllOK(t *testing.T, replies []string, n int) {
	t.Helper()
	if len(replies) != n {
		t.Fatalf("got %d replies, want %d: %q", len(replies), n, replies)
	}
	for i, r := range replies {
		if r != "OK" {
			t.Fatalf("reply %d = %q, want OK", i, r)
		}
	}
}

func TestNetcatLoggerExample(t *testing.T) {
	port := freePort(t)
	p := startAgent(t, t.TempDir(), example("netcat-logger.conf"),
		"-Dflume.monitoring.type=http", "-Dflume.monitoring.port="+strconv.Itoa(port))
	replies := sendLines(t, "localhost:44444", []string{"hello world", "second line"})
	wantAllOK(t, replies, 2)
	// The logger sink shows headers, a hex dump of the first 16 bytes and their text.
	p.waitLog("68 65 6C 6C 6F 20 77 6F 72 6C 64", 10*time.Second)
	p.waitLog("second line", 10*time.Second)

	deadline := time.Now().Add(10 * time.Second)
	for {
		m := metrics(t, port)
		if m["SINK.k1"]["EventDrainSuccessCount"] == "2" {
			if got := m["SOURCE.r1"]["EventAcceptedCount"]; got != "2" {
				t.Errorf("SOURCE.r1 EventAcceptedCount = %q, want 2", got)
			}
			if got := m["CHANNEL.c1"]["ChannelCapacity"]; got != "1000" {
				t.Errorf("CHANNEL.c1 ChannelCapacity = %q, want 1000", got)
			}
			if got := m["CHANNEL.c1"]["Type"]; got != "CHANNEL" {
				t.Errorf("CHANNEL.c1 Type = %q", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink never drained 2 events: %v", m)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.stop(); err != nil {
		t.Fatalf("agent exit after SIGTERM: %v", err)
	}
}

func TestSeqFileRollExample(t *testing.T) {
	dir := t.TempDir()
	startAgent(t, dir, example("seq-file_roll.conf"))
	got := waitLines(t, filepath.Join(dir, "out", "seq"), 10000, 30*time.Second)
	if len(got) != 10000 {
		t.Fatalf("got %d lines, want 10000", len(got))
	}
	for i, l := range got {
		if l != strconv.Itoa(i) {
			t.Fatalf("line %d = %q, want %d", i, l, i)
		}
	}
}

func TestExecLoggerExample(t *testing.T) {
	p := startAgent(t, t.TempDir(), example("exec-logger.conf"))
	for i := 1; i <= 5; i++ {
		p.waitLog(fmt.Sprintf("exec line %d", i), 10*time.Second)
	}
}

func TestReplicatingExample(t *testing.T) {
	dir := t.TempDir()
	startAgent(t, dir, example("replicating-fanout.conf"))
	sent := lines("fan", 500)
	wantAllOK(t, sendLines(t, "127.0.0.1:44445", sent), len(sent))
	for _, sub := range []string{"copy1", "copy2"} {
		got := waitLines(t, filepath.Join(dir, "out", sub), len(sent), 10*time.Second)
		if strings.Join(got, "\n") != strings.Join(sent, "\n") {
			t.Fatalf("%s: got %d lines, want the %d sent, in order", sub, len(got), len(sent))
		}
	}
}

func TestMultiplexingExample(t *testing.T) {
	dir := t.TempDir()
	startAgent(t, dir, example("multiplexing.conf"))
	sent := []string{"ERROR disk full", "INFO all good", "WARN slow", "ERROR out of memory"}
	wantAllOK(t, sendLines(t, "127.0.0.1:44446", sent), len(sent))
	errs := waitLines(t, filepath.Join(dir, "out", "errors"), 2, 10*time.Second)
	other := waitLines(t, filepath.Join(dir, "out", "other"), 2, 10*time.Second)
	if strings.Join(errs, "|") != "ERROR disk full|ERROR out of memory" {
		t.Errorf("errors channel got %q", errs)
	}
	if strings.Join(other, "|") != "INFO all good|WARN slow" {
		t.Errorf("other channel got %q", other)
	}
}

func TestFailoverExample(t *testing.T) {
	dir := t.TempDir()
	startAgent(t, dir, example("failover.conf"))
	// A plain file where the primary sink keeps its files makes k1 fail
	// (it opens its first file lazily); the group fails over to k2.
	primary := filepath.Join(dir, "out", "primary")
	if err := os.RemoveAll(primary); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(primary, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	sent := lines("failover", 200)
	wantAllOK(t, sendLines(t, "127.0.0.1:44447", sent), len(sent))
	got := waitLines(t, filepath.Join(dir, "out", "backup"), len(sent), 15*time.Second)
	if strings.Join(got, "\n") != strings.Join(sent, "\n") {
		t.Fatalf("backup got %d lines, want the %d sent, in order", len(got), len(sent))
	}
}

func TestEveryExampleChecks(t *testing.T) {
	confs, err := filepath.Glob(filepath.Join(repoRoot(), "examples", "*.conf"))
	if err != nil || len(confs) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, c := range confs {
		data, err := os.ReadFile(c)
		if err != nil {
			t.Fatal(err)
		}
		// A file may hold several agents (a tier topology): check each.
		agents := exampleAgents.FindAllStringSubmatch(string(data), -1)
		if len(agents) == 0 {
			t.Errorf("examples/%s names no agent's sources", filepath.Base(c))
		}
		for _, m := range agents {
			t.Run(filepath.Base(c)+"/"+m[1], func(t *testing.T) {
				p := run(t, t.TempDir(), "check", "-n", m[1], "-f", c)
				if err := p.wait(30 * time.Second); err != nil {
					t.Fatalf("check failed: %v\n%s", err, p.out.String())
				}
				if !strings.Contains(p.out.String(), "configuration OK") {
					t.Fatalf("check output: %s", p.out.String())
				}
			})
		}
	}
}

// exampleAgents finds the agents of a properties file by their sources line.
var exampleAgents = regexp.MustCompile(`(?m)^\s*([A-Za-z0-9_-]+)\.sources\s*[=:]`)

// Every example must be run by a test here; a new example without one fails.
func TestEveryExampleHasARunTest(t *testing.T) {
	covered := map[string]string{
		"netcat-logger.conf":        "TestNetcatLoggerExample",
		"seq-file_roll.conf":        "TestSeqFileRollExample",
		"exec-logger.conf":          "TestExecLoggerExample",
		"replicating-fanout.conf":   "TestReplicatingExample",
		"multiplexing.conf":         "TestMultiplexingExample",
		"failover.conf":             "TestFailoverExample",
		"spooldir-file_roll.conf":   "TestSpoolDirFileRollExample",
		"taildir-logger.conf":       "TestTaildirLoggerExample",
		"syslog-fileroll.conf":      "TestSyslogFileRollExample",
		"http-collector.conf":       "TestHTTPCollectorExample",
		"http-relay.conf":           "TestHTTPRelayExample",
		"fan-in.conf":               "TestFanInExample",         // in test/interop
		"thrift-tier.conf":          "TestThriftTierExample",    // in test/interop
		"kafka-fileroll.conf":       "TestKafkaFileRollExample", // in test/kafka
		"kafka-channel.conf":        "TestKafkaChannelExample",  // in test/kafka
		"http-kafka.conf":           "TestHTTPKafkaExample",     // in test/kafka
		"spooldir-hdfs.conf":        "TestHDFSSpoolDirExampleAndKill9",
		"taildir-kafka.conf":        "TestTaildirKafkaExample",        // in sinks/kafka
		"netcat-elasticsearch.conf": "TestNetcatElasticsearchExample", // in sinks/elasticsearch
		"netcat-hbase.conf":         "TestNetcatHBaseExample",         // in sinks/hbase
	}
	confs, _ := filepath.Glob(filepath.Join(repoRoot(), "examples", "*.conf"))
	for _, c := range confs {
		if _, ok := covered[filepath.Base(c)]; !ok {
			t.Errorf("examples/%s has no end-to-end test that runs it", filepath.Base(c))
		}
	}
}
