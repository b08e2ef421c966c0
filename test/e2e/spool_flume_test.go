package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"

	"github.com/sluiceio/sluice/sinks/serializer"
	"github.com/sluiceio/sluice/test/peers"
)

// These tests run the real Apache Flume 1.11.0 beside Sluice.

// stallConf is a spooldir agent whose channel fills after two batches of
// ten: its sink sends to a port where nobody listens. The source stops in
// the middle of a file with 20 lines committed.
func stallConf(spool string, deadPort int) string {
	return fmt.Sprintf(`
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = spooldir
a1.sources.r1.spoolDir = %s
a1.sources.r1.batchSize = 10
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 20
a1.channels.c1.transactionCapacity = 10
a1.sinks.k1.type = avro
a1.sinks.k1.hostname = 127.0.0.1
a1.sinks.k1.port = %d
a1.sinks.k1.batch-size = 10
a1.sinks.k1.channel = c1
`, spool, deadPort)
}

// drainConf reads the spool directory into file_roll (TEXT) under out.
func drainConf(spool, out string, extra string) string {
	return fmt.Sprintf(`
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = spooldir
a1.sources.r1.spoolDir = %s
a1.sources.r1.batchSize = 10
a1.sources.r1.channels = c1
%s
a1.channels.c1.type = memory
a1.channels.c1.capacity = 1000
a1.channels.c1.transactionCapacity = 100
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.channel = c1
`, spool, extra, out)
}

// metaOffset reads the last position a spool position file records.
func metaOffset(t *testing.T, spool string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(spool, ".flumespool", ".flumespool-main.meta"))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := ocf.NewDecoder(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("position file: %v", err)
	}
	var rec struct {
		Offset int64 `avro:"offset"`
	}
	for dec.HasNext() {
		if err := dec.Decode(&rec); err != nil {
			t.Fatal(err)
		}
	}
	return rec.Offset
}

// waitMeta waits until the position file names want.
func waitMeta(t *testing.T, spool string, want string) {
	t.Helper()
	meta := filepath.Join(spool, ".flumespool", ".flumespool-main.meta")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if b, err := os.ReadFile(meta); err == nil && bytes.Contains(b, []byte(want)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("position file %s never named %q", meta, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSpoolPositionFileHandedBetweenFlumeAndSluice(t *testing.T) {
	all := lines("line", 100) // "line 00000"
	t.Run("Sluice stops mid-file, Flume goes on", func(t *testing.T) {
		dir := t.TempDir()
		spool, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
		os.Mkdir(spool, 0o755)
		f := spoolDrop(t, spool, "data.txt", all, time.Hour)
		p := startAgent(t, dir, writeConf(t, dir, stallConf(spool, freePort(t))))
		p.waitLog("the channels refused a batch", 30*time.Second)
		waitMeta(t, spool, f)
		if err := p.stop(); err != nil {
			t.Fatalf("sluice stop: %v", err)
		}
		done := int(metaOffset(t, spool)) / len("line 00000\n")
		if done == 0 || done >= len(all) {
			t.Fatalf("Sluice's position file says %d lines were committed", done)
		}
		t.Logf("Sluice stopped after %d lines; Flume takes over its position file", done)
		os.Mkdir(out, 0o755)
		fl := peers.StartFlume(t, peers.FlumeOptions{JVMFlags: peers.FastStartFlags, Conf: drainConf(spool, out, "")})
		waitExists(t, f+".COMPLETED", 60*time.Second)
		var got string
		deadline := time.Now().Add(30 * time.Second)
		want := strings.Join(all[done:], "\n") + "\n"
		for got != want && time.Now().Before(deadline) {
			got, _ = peers.ReadRollText(out)
			time.Sleep(50 * time.Millisecond)
		}
		fl.Stop()
		if got != want {
			t.Fatalf("Flume delivered %q...; want the lines from %d on (Sluice had committed those before)", got[:min(40, len(got))], done)
		}
	})
	t.Run("Flume stops mid-file, Sluice goes on", func(t *testing.T) {
		dir := t.TempDir()
		spool, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
		os.Mkdir(spool, 0o755)
		f := spoolDrop(t, spool, "data.txt", all, time.Hour)
		fl := peers.StartFlume(t, peers.FlumeOptions{JVMFlags: peers.FastStartFlags, Conf: stallConf(spool, freePort(t))})
		if err := fl.WaitLog("The channel is full", 60*time.Second); err != nil {
			t.Fatal(err)
		}
		waitMeta(t, spool, f)
		fl.Stop()
		done := int(metaOffset(t, spool)) / len("line 00000\n")
		if done == 0 || done >= len(all) {
			t.Fatalf("Flume's position file says %d lines were committed", done)
		}
		t.Logf("Flume stopped after %d lines; Sluice takes over its position file", done)
		startAgent(t, dir, writeConf(t, dir, drainConf(spool, out, "")))
		got := waitLines(t, out, len(all)-done, 30*time.Second)
		waitExists(t, f+".COMPLETED", 30*time.Second)
		if strings.Join(got, "\n") != strings.Join(all[done:], "\n") {
			t.Fatalf("Sluice delivered %d lines starting %q; want the lines from %d on (Flume had committed those before)", len(got), got[:min(1, len(got))], done)
		}
	})
}

// Sluice's avro_event files are read by Flume's AVRO deserializer, which
// gives the same schema fingerprint Sluice's gives; Flume's avro_event
// files carry the same schema text as Sluice's.
func TestSpoolAvroEventFilesBetweenFlumeAndSluice(t *testing.T) {
	dir := t.TempDir()
	in, sluiceOut, spool2, flumeOut := filepath.Join(dir, "in"), filepath.Join(dir, "s-out"), filepath.Join(dir, "in2"), filepath.Join(dir, "f-out")
	for _, d := range []string{in, spool2, flumeOut} {
		os.Mkdir(d, 0o755)
	}
	// Sluice: lines → avro_event container file.
	p := startAgent(t, dir, writeConf(t, dir, drainConf(in, sluiceOut,
		"a1.sources.r1.basenameHeader = true")+"a1.sinks.k1.sink.serializer = avro_event\n"))
	sent := lines("avro", 30)
	src := spoolDrop(t, in, "events.txt", sent, time.Hour)
	waitExists(t, src+".COMPLETED", 30*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ev, err := peers.ReadAvroEventDir(sluiceOut)
		if err == nil && len(ev) == len(sent) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Sluice's avro_event output: %d events, %v", len(ev), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	files, _ := peers.RollFiles(sluiceOut)
	if len(files) != 1 {
		t.Fatalf("Sluice wrote %v", files)
	}
	b, _ := os.ReadFile(files[0])
	os.WriteFile(filepath.Join(dir, "sluice.avro"), b, 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(dir, "sluice.avro"), old, old)
	os.Rename(filepath.Join(dir, "sluice.avro"), filepath.Join(spool2, "sluice.avro"))

	// Flume: AVRO deserializer → avro_event serializer.
	fl := peers.StartFlume(t, peers.FlumeOptions{JVMFlags: peers.FastStartFlags,
		Conf: drainConf(spool2, flumeOut, "a1.sources.r1.deserializer = AVRO") + "a1.sinks.k1.sink.serializer = avro_event\n"})
	var got []peers.Event
	deadline = time.Now().Add(60 * time.Second)
	for len(got) < len(sent) {
		if time.Now().After(deadline) {
			t.Fatalf("Flume read %d of %d records", len(got), len(sent))
		}
		time.Sleep(50 * time.Millisecond)
		got, _ = peers.ReadAvroEventDir(flumeOut)
	}
	fl.Stop()
	schema := avro.MustParse(serializer.EventSchema)
	for i, e := range got {
		if h := e.Headers["flume.avro.schema.hash"]; h != "8a878e615f1bfc26" {
			t.Fatalf("event %d: Flume's schema hash %q, want Sluice's 8a878e615f1bfc26", i, h)
		}
		var rec struct {
			Headers map[string]string `avro:"headers"`
			Body    []byte            `avro:"body"`
		}
		if err := avro.Unmarshal(schema, e.Body, &rec); err != nil {
			t.Fatalf("event %d: Flume's body is not the record: %v", i, err)
		}
		if string(rec.Body) != sent[i] || !reflect.DeepEqual(rec.Headers, map[string]string{"basename": "events.txt"}) {
			t.Fatalf("event %d: record %q %v", i, rec.Body, rec.Headers)
		}
	}
	// Flume's own avro_event file has the schema text Sluice writes.
	ff, _ := peers.RollFiles(flumeOut)
	fb, _ := os.ReadFile(ff[0])
	dec, err := ocf.NewDecoder(bytes.NewReader(fb))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(dec.Metadata()["avro.schema"]); s != serializer.EventSchema {
		t.Fatalf("Flume's avro.schema %s\nSluice's        %s", s, serializer.EventSchema)
	}
}
