package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// spoolDrop writes a file next to the spool directory and moves it in, as
// files must arrive in a spool directory: complete. Its modification time
// is set age in the past (the oldest file is read first).
func spoolDrop(t *testing.T, spool, name string, lines []string, age time.Duration) string {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(spool), "."+name+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		w.WriteString(l + "\n")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	mt := time.Now().Add(-age)
	os.Chtimes(tmp, mt, mt)
	dst := filepath.Join(spool, name)
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// waitExists polls until p exists.
func waitExists(t *testing.T, p string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Lstat(p); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %v", p, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSpoolDirFileRollExample(t *testing.T) {
	dir := t.TempDir()
	startAgent(t, dir, example("spooldir-file_roll.conf"))
	spool := filepath.Join(dir, "spool") // created by the source
	waitExists(t, spool, 10*time.Second)
	a := spoolDrop(t, spool, "a.txt", lines("alpha", 1500), 2*time.Hour)
	b := spoolDrop(t, spool, "b.txt", lines("beta", 700), time.Hour)
	got := waitLines(t, filepath.Join(dir, "out", "spool"), 2200, 30*time.Second)
	want := append(lines("alpha", 1500), lines("beta", 700)...)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %d lines, want the %d written, line for line, oldest file first", len(got), len(want))
	}
	waitExists(t, a+".COMPLETED", 10*time.Second)
	waitExists(t, b+".COMPLETED", 10*time.Second)
	for _, p := range []string{a, b} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s still there after completion", p)
		}
	}
}

func TestSpoolDirDeletePolicyImmediate(t *testing.T) {
	dir := t.TempDir()
	spool := filepath.Join(dir, "in")
	os.Mkdir(spool, 0o755)
	conf := writeConf(t, dir, fmt.Sprintf(`
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = spooldir
a1.sources.r1.spoolDir = %s
a1.sources.r1.deletePolicy = immediate
a1.sources.r1.fileHeader = true
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.serializer = header_and_text
a1.sinks.k1.channel = c1
`, spool, filepath.Join(dir, "out")))
	startAgent(t, dir, conf)
	f := spoolDrop(t, spool, "data.csv", []string{"x,1", "y,2"}, time.Hour)
	got := waitLines(t, filepath.Join(dir, "out"), 2, 20*time.Second)
	want := []string{"{file=" + f + "} x,1", "{file=" + f + "} y,2"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q, want %q", got, want)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(f); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("file not deleted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if left, _ := filepath.Glob(filepath.Join(spool, "[^.]*")); len(left) != 0 {
		t.Fatalf("left in the spool directory: %v", left)
	}
}

func TestSpoolDirQuarantinesAChangedFileAndGoesOn(t *testing.T) {
	dir := t.TempDir()
	spool, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	os.Mkdir(spool, 0o755)
	conf := writeConf(t, dir, fmt.Sprintf(`
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = spooldir
a1.sources.r1.spoolDir = %s
a1.sources.r1.batchSize = 10
a1.sources.r1.maxBackoff = 100
a1.sources.r1.channels = c1
a1.channels.c1.type = memory
a1.channels.c1.capacity = 10
a1.channels.c1.transactionCapacity = 10
a1.channels.c1.keep-alive = 0
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 10
a1.sinks.k1.channel = c1
`, spool, out))
	p := startAgent(t, dir, conf)
	// Break the sink (a plain file where it keeps its files), so the
	// channel fills and the source stops in the middle of the file.
	os.RemoveAll(out)
	os.WriteFile(out, []byte("not a directory"), 0o644)
	a := spoolDrop(t, spool, "a.log", lines("a", 200), 2*time.Hour)
	p.waitLog("the channels refused a batch", 20*time.Second)
	// The file changes while it is being read.
	fa, err := os.OpenFile(a, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fa.WriteString("appended late\n")
	fa.Close()
	b := spoolDrop(t, spool, "b.log", lines("b", 5), time.Hour)
	os.Remove(out)
	os.Mkdir(out, 0o755)
	p.waitLog("spooldir: quarantined file "+a+": changed size", 30*time.Second)
	waitExists(t, b+".COMPLETED", 20*time.Second)
	q, _ := filepath.Glob(a + ".QUARANTINED-*")
	if len(q) != 1 {
		t.Fatalf("quarantined files %v", q)
	}
	if _, err := os.Stat(a + ".COMPLETED"); err == nil {
		t.Fatal("the changed file was completed")
	}
	// a's lines (some or all) come first, then b's: wait for b's last line,
	// not just for any five lines, since a's may be written first.
	want := lines("b", 5)
	var got []string
	deadline := time.Now().Add(20 * time.Second)
	for {
		got = readDirLines(t, out)
		if (len(got) > 0 && got[len(got)-1] == want[4]) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got) < 5 || strings.Join(got[len(got)-5:], ",") != strings.Join(want, ",") {
		t.Fatalf("b's lines not delivered after the quarantine: %q", got)
	}
	if a := got[:len(got)-5]; len(a) > 200 || strings.Join(a, ",") != strings.Join(lines("a", 200)[:len(a)], ",") {
		t.Fatalf("a's lines before b's are not a's first %d lines in order: %q", len(a), a)
	}
}
