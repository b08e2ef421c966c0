package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// avroStores is where the test key and trust stores are (made by keytool).
var avroStores = filepath.Join(repoRoot(), "internal", "tlsconf", "testdata")

// avroCollector writes an agent that receives on an avro source and writes
// "{headers} body" lines into dir/out.
func avroCollector(t *testing.T, dir string, port int, extra string) string {
	t.Helper()
	return writeConf(t, dir, fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = avro
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 5000
a1.sinks.k1.type = file_roll
a1.sinks.k1.channel = c1
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.serializer = header_and_text
%s`, port, filepath.Join(dir, "out"), extra))
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestAvroClientToAgent(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "out"), 0o755)
	port := freePort(t)
	startAgent(t, dir, avroCollector(t, dir, port, ""))

	var input strings.Builder
	for i := 0; i < 23; i++ {
		fmt.Fprintf(&input, "line %d\r\n", i)
	}
	input.WriteString("last line without newline")
	in := filepath.Join(dir, "input.txt")
	os.WriteFile(in, []byte(input.String()), 0o644)
	hdr := filepath.Join(dir, "headers.properties")
	os.WriteFile(hdr, []byte("# headers for every event\nhost = web-1\nzone: eu\\u00e9\n"), 0o644)

	p := run(t, dir, "avro-client", "-H", "127.0.0.1", "-p", strconv.Itoa(port), "-F", in, "-R", hdr)
	if err := p.wait(60 * time.Second); err != nil {
		t.Fatalf("avro-client: %v\n%s", err, p.out.String())
	}
	got := waitLines(t, filepath.Join(dir, "out"), 24, 20*time.Second)
	if len(got) != 24 {
		t.Fatalf("got %d lines: %q", len(got), got)
	}
	for i := 0; i < 23; i++ {
		// Header order follows the serializer's map order.
		if !strings.HasSuffix(got[i], fmt.Sprintf("} line %d", i)) || !strings.Contains(got[i], "host=web-1") || !strings.Contains(got[i], "zone=eué") {
			t.Errorf("line %d: %q", i, got[i])
		}
	}
	if !strings.HasSuffix(got[23], "} last line without newline") {
		t.Errorf("last line %q", got[23])
	}
}

func TestAvroClientDirname(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "out"), 0o755)
	spool := filepath.Join(dir, "spool")
	os.MkdirAll(spool, 0o755)
	port := freePort(t)
	startAgent(t, dir, avroCollector(t, dir, port, ""))
	old := time.Now().Add(-time.Hour)
	for i, name := range []string{"b.log", "a.log", ".hidden", "done.log.COMPLETED"} {
		p := filepath.Join(spool, name)
		os.WriteFile(p, []byte(fmt.Sprintf("%s 1\n%s 2\n", name, name)), 0o644)
		os.Chtimes(p, old.Add(time.Duration(i)*time.Minute), old.Add(time.Duration(i)*time.Minute))
	}
	// -P with a properties file, as flume-ng avro-client takes it.
	props := filepath.Join(dir, "rpc.properties")
	os.WriteFile(props, []byte(fmt.Sprintf("hosts = h1\nhosts.h1 = 127.0.0.1:%d\nbatch-size = 1\n", port)), 0o644)
	p := run(t, dir, "avro-client", "-P", props, "--dirname", spool)
	if err := p.wait(60 * time.Second); err != nil {
		t.Fatalf("avro-client: %v\n%s", err, p.out.String())
	}
	got := waitLines(t, filepath.Join(dir, "out"), 4, 20*time.Second)
	want := []string{"{} b.log 1", "{} b.log 2", "{} a.log 1", "{} a.log 2"} // oldest file first
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
	entries, _ := os.ReadDir(spool)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if strings.Join(names, " ") != ".hidden a.log.COMPLETED b.log.COMPLETED done.log.COMPLETED" {
		t.Fatalf("spool directory after: %q", names)
	}
}

func TestAvroClientFailures(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	os.WriteFile(in, []byte(strings.Repeat("x\n", 20)), 0o644)

	// Nobody listening.
	p := run(t, dir, "avro-client", "-H", "127.0.0.1", "-p", strconv.Itoa(freePort(t)), "-F", in)
	err := p.wait(60 * time.Second)
	if exitCode(err) != 1 || !strings.Contains(p.out.String(), "cannot connect to the avro source at 127.0.0.1:") {
		t.Fatalf("unreachable peer: exit %v\n%s", err, p.out.String())
	}

	// A source whose channel has no room answers FAILED: its sink never
	// drains (an avro sink to nowhere).
	port := freePort(t)
	conf := writeConf(t, dir, fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = avro
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 3
a1.channels.c1.transactionCapacity = 3
a1.channels.c1.keep-alive = 100ms
a1.sinks.k1.type = avro
a1.sinks.k1.channel = c1
a1.sinks.k1.hostname = 127.0.0.1
a1.sinks.k1.port = %d
a1.sinks.k1.batch-size = 3
`, port, freePort(t)))
	startAgent(t, dir, conf)
	p = run(t, dir, "avro-client", "-H", "127.0.0.1", "-p", strconv.Itoa(port), "-F", in)
	err = p.wait(60 * time.Second)
	if exitCode(err) != 1 || !strings.Contains(p.out.String(), "refused a batch of 5 events: it answered FAILED") {
		t.Fatalf("full channel: exit %v\n%s", err, p.out.String())
	}

	// Usage errors exit 2.
	p = run(t, dir, "avro-client", "-F", in)
	if err := p.wait(20 * time.Second); exitCode(err) != 2 || !strings.Contains(p.out.String(), "--rpcProps or both --host and --port") {
		t.Fatalf("no host: exit %v\n%s", err, p.out.String())
	}
}

// Two agents: a sink tier sending over TLS and deflate to a collector tier.
func TestAvroSinkToAvroSourceAgents(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "out"), 0o755)
	port := freePort(t)
	startAgent(t, dir, avroCollector(t, dir, port, fmt.Sprintf(`a1.sources.r1.compression-type = deflate
a1.sources.r1.ssl = true
a1.sources.r1.keystore = %s
a1.sources.r1.keystore-password = changeit
a1.sources.r1.keystore-type = PKCS12
`, filepath.Join(avroStores, "server.p12"))))

	sender := t.TempDir()
	conf := writeConf(t, sender, fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.totalEvents = 20000
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 100000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = org.apache.flume.sink.AvroSink
a1.sinks.k1.channel = c1
a1.sinks.k1.hostname = 127.0.0.1
a1.sinks.k1.port = %d
a1.sinks.k1.batch-size = 1000
a1.sinks.k1.compression-type = deflate
a1.sinks.k1.ssl = true
a1.sinks.k1.truststore = %s
a1.sinks.k1.truststore-password = changeit
`, port, filepath.Join(avroStores, "trust.jks")))
	mport := freePort(t)
	startAgent(t, sender, conf, "-Dflume.monitoring.type=http", "-Dflume.monitoring.port="+strconv.Itoa(mport))
	got := waitLines(t, filepath.Join(dir, "out"), 20000, 60*time.Second)
	if len(got) != 20000 {
		t.Fatalf("got %d lines", len(got))
	}
	for i, l := range got {
		if l != "{} "+strconv.Itoa(i) {
			t.Fatalf("line %d: %q", i, l)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		m := metrics(t, mport)["SINK.k1"]
		if m["EventDrainSuccessCount"] == "20000" {
			if m["ConnectionCreatedCount"] != "1" || m["BatchCompleteCount"] == "0" {
				t.Errorf("sink metrics %v", m)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sink metrics %v", m)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
