package peers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// These tests run the real Flume 1.11.0 (fetched by scripts/peers.sh). They
// prove the harness; interop tests against Sluice live elsewhere.

// seq → memory → file_roll (TEXT): Flume writes 0..n-1, one per line.
func TestFlumeSeqToFileRoll(t *testing.T) {
	SkipIfShort(t)
	out := t.TempDir()
	const n = 1000
	f := StartFlume(t, FlumeOptions{
		JVMFlags: FastStartFlags,
		Conf: fmt.Sprintf(`
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = seq
a1.sources.r1.totalEvents = %d
a1.sources.r1.batchSize = 100
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 100
a1.sinks.k1.channel = c1
`, n, out),
	})
	var want strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&want, "%d\n", i)
	}
	waitFor(t, "file_roll output", func() bool {
		s, err := ReadRollText(out)
		return err == nil && len(s) >= want.Len()
	})
	f.Stop()
	got, err := ReadRollText(out)
	if err != nil {
		t.Fatal(err)
	}
	if got != want.String() {
		t.Fatalf("file_roll output: %d bytes, want %d; first bytes %q", len(got), want.Len(), got[:min(len(got), 40)])
	}
	if f.Running() {
		t.Fatal("Flume still running after Stop")
	}
}

// avro source ← FlumeSend and avro-client; file_roll with avro_event; the
// container files decode to exactly what was sent.
func TestFlumeAvroSourceAvroEventFiles(t *testing.T) {
	SkipIfShort(t)
	out := t.TempDir()
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	f := StartFlume(t, FlumeOptions{
		JVMFlags:  FastStartFlags,
		ReadyAddr: addr,
		ReadyLog:  "Component type: SOURCE, name: r1 started",
		Conf: fmt.Sprintf(`
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = avro
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10000
a1.channels.c1.transactionCapacity = 100
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.serializer = avro_event
a1.sinks.k1.channel = c1
`, port, out),
	})

	var sent []Event
	for i := 0; i < 50; i++ {
		e := Event{Headers: map[string]string{"i": strconv.Itoa(i), "host": "ünïcode"}, Body: []byte{byte(i), 0, 255, 'x'}}
		switch i {
		case 7:
			e.Headers = map[string]string{}
		case 8:
			e.Body = []byte{}
		}
		sent = append(sent, e)
	}
	props := FlumeClientProps("default", addr)
	props["batch-size"] = "20"
	if o := FlumeSend(t, props, sent); !strings.Contains(o, "sent 50 events in 3 calls") {
		t.Fatalf("FlumeSend output:\n%s", o)
	}

	// One append RPC per event.
	single := []Event{{Headers: map[string]string{"mode": "append"}, Body: []byte("one")}, {Body: []byte("two")}}
	props["flumesend.mode"] = "append"
	if o := FlumeSend(t, props, single); !strings.Contains(o, "sent 2 events in 2 calls (append)") {
		t.Fatalf("FlumeSend append output:\n%s", o)
	}
	sent = append(sent, single...)

	// Flume's own avro-client: three lines from a file, headers from -R.
	dir := t.TempDir()
	lines, hdrs := filepath.Join(dir, "in.txt"), filepath.Join(dir, "headers.properties")
	os.WriteFile(lines, []byte("alpha\nbeta\ngamma\n"), 0o644)
	os.WriteFile(hdrs, []byte("src = cli\n"), 0o644)
	code, o := RunFlumeAvroClient(t, "127.0.0.1", port, "-F", lines, "-R", hdrs)
	if code != 0 || AvroClientError(o) != nil {
		t.Fatalf("avro-client exit %d, %v:\n%s", code, AvroClientError(o), o)
	}
	for _, b := range []string{"alpha", "beta", "gamma"} {
		sent = append(sent, Event{Headers: map[string]string{"src": "cli"}, Body: []byte(b)})
	}

	// The memory channel is not drained on stop: wait for the sink first.
	waitFor(t, "all events in the avro files", func() bool {
		ev, err := ReadAvroEventDir(out)
		return err == nil && len(ev) >= len(sent)
	})
	f.Stop()
	got, err := ReadAvroEventDir(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(sent) {
		t.Fatalf("decoded %d events, want %d", len(got), len(sent))
	}
	for i := range sent {
		if !reflect.DeepEqual(eventNorm(got[i]), eventNorm(sent[i])) {
			t.Fatalf("event %d:\n got %#v\nwant %#v", i, got[i], sent[i])
		}
	}
}

// eventNorm makes nil and empty maps and bodies compare equal.
func eventNorm(e Event) Event {
	if e.Headers == nil {
		e.Headers = map[string]string{}
	}
	if e.Body == nil {
		e.Body = []byte{}
	}
	return e
}

// The clients report failure: FlumeSend exits non-zero, avro-client exits 0
// but logs the error (which AvroClientError finds).
func TestFlumeClientsReportFailure(t *testing.T) {
	SkipIfShort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t)) // nobody listens
	out, err := TryFlumeSend(t, FlumeClientProps("default", addr), []Event{{Body: []byte("x")}})
	var se *SendError
	if !errors.As(err, &se) || se.Code != 1 || !strings.Contains(out, "FAILED") {
		t.Fatalf("FlumeSend to a closed port: err %v, output:\n%s", err, out)
	}
	port, _ := strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
	in := filepath.Join(t.TempDir(), "in.txt")
	os.WriteFile(in, []byte("x\n"), 0o644)
	code, o := RunFlumeAvroClient(t, "127.0.0.1", port, "-F", in)
	if code != 0 {
		t.Logf("avro-client now exits %d on failure (was 0 in 1.11.0)", code)
	}
	if AvroClientError(o) == nil {
		t.Fatalf("AvroClientError found no error in:\n%s", o)
	}
}

// A killed Flume is gone: its port is closed and its pid no longer exists.
// Restart brings it back on the same port.
func TestFlumeKillAndRestart(t *testing.T) {
	SkipIfShort(t)
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	f := StartFlume(t, FlumeOptions{
		JVMFlags:  FastStartFlags,
		ReadyAddr: addr,
		Conf: fmt.Sprintf(`
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = avro
a1.sources.r1.bind = 127.0.0.1
a1.sources.r1.port = %d
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = null
a1.sinks.k1.channel = c1
`, port),
	})
	pid := f.PID()
	if pid <= 0 || !f.Running() {
		t.Fatalf("pid %d, running %v", pid, f.Running())
	}
	f.Kill()
	if f.Running() {
		t.Fatal("still running after Kill")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("pid %d after Kill: %v, want ESRCH", pid, err)
	}
	if PortOpen(addr) {
		t.Fatalf("%s still accepts connections after Kill", addr)
	}
	f.Restart()
	if !PortOpen(addr) || f.PID() == pid {
		t.Fatalf("after Restart: port open %v, pid %d (was %d)", PortOpen(addr), f.PID(), pid)
	}
	if n := strings.Count(readFile(t, f.LogPath()), "--- peers: "); n != 2 {
		t.Fatalf("log has %d start markers, want 2", n)
	}
}

// A JVM that dies before it is ready is an error carrying its output.
func TestStartFlumeProcessDiesBeforeReady(t *testing.T) {
	SkipIfShort(t)
	dir := t.TempDir()
	f, err := StartFlumeProcess(context.Background(), FlumeOptions{
		Dir:      dir,
		JVMFlags: []string{"-XX:+NoSuchFlagForPeersTest"},
		Conf:     "a1.sources = r1\n",
	})
	if err == nil {
		f.Kill()
		t.Fatal("started with a bad JVM flag")
	}
	if !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "NoSuchFlagForPeersTest") {
		t.Fatalf("error does not say what happened:\n%v", err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
