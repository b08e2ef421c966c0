package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// These tests run the real Apache Flume 1.11.0 beside Sluice: one TAILDIR
// source stops in the middle of a file, the other takes over its position
// file and must deliver exactly the rest.

// taildirFlumeConf is a TAILDIR agent following log with its position file
// at pos. With deadPort > 0 its avro sink sends where nobody listens and the
// channel holds two batches of ten: the source stops 20 lines into the file.
// Otherwise it drains into file_roll (TEXT) under out.
func taildirFlumeConf(log, pos string, deadPort int, out string) string {
	dir, name := filepath.Split(log)
	c := fmt.Sprintf(`
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = TAILDIR
a1.sources.r1.filegroups = f1
a1.sources.r1.filegroups.f1 = %s%s
a1.sources.r1.positionFile = %s
a1.sources.r1.writePosInterval = 200
a1.sources.r1.batchSize = 10
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.channel = c1
`, dir, strings.ReplaceAll(name, ".", `\\.`), pos)
	if deadPort > 0 {
		return c + fmt.Sprintf(`a1.channels.c1.capacity = 20
a1.channels.c1.transactionCapacity = 10
a1.sinks.k1.type = avro
a1.sinks.k1.hostname = 127.0.0.1
a1.sinks.k1.port = %d
a1.sinks.k1.batch-size = 10
`, deadPort)
	}
	return c + fmt.Sprintf(`a1.channels.c1.capacity = 1000
a1.channels.c1.transactionCapacity = 100
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
`, out)
}

type taildirPos struct {
	Inode uint64 `json:"inode"`
	Pos   int64  `json:"pos"`
	File  string `json:"file"`
}

// readTaildirPos parses a position file; ok is false while it is missing,
// empty or half written (Flume rewrites it in place).
func readTaildirPos(path string) (raw string, entries []taildirPos, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &entries) != nil {
		return string(b), nil, false
	}
	return string(b), entries, true
}

// onlyEntry checks that the position file has exactly one entry, for log
// (same path, same inode), and returns its position.
func onlyEntry(t *testing.T, who, pos, log string) int64 {
	t.Helper()
	raw, e, ok := readTaildirPos(pos)
	if !ok || len(e) != 1 {
		t.Fatalf("%s's position file %s is not one entry: %q", who, pos, raw)
	}
	if e[0].File != log || e[0].Inode != inodeOf(t, log) {
		t.Fatalf("%s's position file %s: %s; want file %q, inode %d", who, pos, raw, log, inodeOf(t, log))
	}
	t.Logf("%s's position file: %s", who, raw)
	return e[0].Pos
}

func inodeOf(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// committedLines turns a position into whole lines of all; a position
// inside a line, at 0 or at the end means the stall did not happen as
// planned.
func committedLines(t *testing.T, who string, pos int64, all []string) int {
	t.Helper()
	var off int64
	for i, l := range all {
		if off == pos && i > 0 {
			return i
		}
		off += int64(len(l) + 1)
	}
	t.Fatalf("%s's position %d is not the end of a line inside the file (0 < pos < %d)", who, pos, off)
	return 0
}

// waitRollText polls a file_roll directory until it holds want.
func waitRollText(t *testing.T, out, want string) string {
	t.Helper()
	var got string
	deadline := time.Now().Add(60 * time.Second)
	for got != want && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		got, _ = peers.ReadRollText(out)
	}
	return got
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func TestTaildirPositionFileHandedBetweenFlumeAndSluice(t *testing.T) {
	all := lines("line", 100) // "line 00000"
	body := strings.Join(all, "\n") + "\n"
	setup := func(t *testing.T) (dir, log, pos, out string) {
		dir = t.TempDir()
		log, pos, out = filepath.Join(dir, "logs", "app.log"), filepath.Join(dir, "taildir_position.json"), filepath.Join(dir, "out")
		os.Mkdir(filepath.Dir(log), 0o755)
		if err := os.WriteFile(log, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}

	t.Run("Flume stops mid-file, Sluice goes on", func(t *testing.T) {
		dir, log, pos, out := setup(t)
		fl := peers.StartFlume(t, peers.FlumeOptions{JVMFlags: peers.FastStartFlags, Conf: taildirFlumeConf(log, pos, freePort(t), "")})
		if err := fl.WaitLog("The channel is full", 60*time.Second); err != nil {
			t.Fatal(err)
		}
		// Flume's position writer runs on its own thread (first after 5 s).
		deadline := time.Now().Add(60 * time.Second)
		for {
			if _, e, ok := readTaildirPos(pos); ok && len(e) == 1 && e[0].Pos > 0 {
				break
			}
			if time.Now().After(deadline) {
				raw, _, _ := readTaildirPos(pos)
				t.Fatalf("Flume's position file never recorded progress: %q", raw)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := fl.Stop(); err != nil {
			t.Fatal(err)
		}
		done := committedLines(t, "Flume", onlyEntry(t, "Flume", pos, log), all)
		t.Logf("Flume stopped after %d lines; Sluice takes over its position file", done)

		p := startAgent(t, dir, writeConf(t, dir, taildirFlumeConf(log, pos, 0, out)))
		want := strings.Join(all[done:], "\n") + "\n"
		waitRollText(t, out, want)
		if err := p.stop(); err != nil {
			t.Fatalf("sluice stop: %v", err)
		}
		// Read again after the stop: nothing may have come late, twice.
		if got, _ := peers.ReadRollText(out); got != want {
			t.Fatalf("Sluice delivered %d lines starting %q; want the %d lines from %d on (Flume had committed those before)",
				strings.Count(got, "\n"), firstLine(got), len(all)-done, done)
		}
		if end := onlyEntry(t, "Sluice", pos, log); end != int64(len(body)) {
			t.Fatalf("Sluice's final position %d, want the file's end %d", end, len(body))
		}
	})

	t.Run("Sluice stops mid-file, Flume goes on", func(t *testing.T) {
		dir, log, pos, out := setup(t)
		p := startAgent(t, dir, writeConf(t, dir, taildirFlumeConf(log, pos, freePort(t), "")))
		p.waitLog("the channels refused a batch", 60*time.Second)
		// Sluice writes its position file between reads; blocked on a full
		// channel it writes it when it stops.
		if err := p.stop(); err != nil {
			t.Fatalf("sluice stop: %v", err)
		}
		done := committedLines(t, "Sluice", onlyEntry(t, "Sluice", pos, log), all)
		t.Logf("Sluice stopped after %d lines; Flume takes over its position file", done)

		os.Mkdir(out, 0o755) // Flume's file_roll does not create it
		fl := peers.StartFlume(t, peers.FlumeOptions{JVMFlags: peers.FastStartFlags, Conf: taildirFlumeConf(log, pos, 0, out)})
		want := strings.Join(all[done:], "\n") + "\n"
		waitRollText(t, out, want)
		if err := fl.Stop(); err != nil {
			t.Fatal(err)
		}
		if got, _ := peers.ReadRollText(out); got != want {
			t.Fatalf("Flume delivered %d lines starting %q; want the %d lines from %d on (Sluice had committed those before)",
				strings.Count(got, "\n"), firstLine(got), len(all)-done, done)
		}
		if end := onlyEntry(t, "Flume", pos, log); end != int64(len(body)) {
			t.Fatalf("Flume's final position %d, want the file's end %d", end, len(body))
		}
	})
}
