package e2e

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestTaildirLoggerExample(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.Mkdir(logs, 0o755)
	p := startAgent(t, dir, example("taildir-logger.conf"))
	f, err := os.OpenFile(filepath.Join(logs, "app.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("hello taildir\nsecond line\n")
	p.waitLog("hello taildir", 20*time.Second)
	p.waitLog("second line", 10*time.Second)
	p.waitLog("service=demo", 10*time.Second)
	// The position file appears in the working directory.
	waitExists(t, filepath.Join(dir, "taildir_position.json"), 10*time.Second)
}

// appLog is an application writing numbered lines to a log file, as
// applications do: through an open descriptor, in append mode.
type appLog struct {
	t    *testing.T
	path string
	f    *os.File
	next int
}

func openAppLog(t *testing.T, path string) *appLog {
	a := &appLog{t: t, path: path}
	a.reopen()
	t.Cleanup(func() { a.f.Close() })
	return a
}

func (a *appLog) reopen() {
	if a.f != nil {
		a.f.Close()
	}
	f, err := os.OpenFile(a.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		a.t.Fatal(err)
	}
	a.f = f
}

func (a *appLog) write(n int) {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "line %07d\n", a.next)
		a.next++
	}
	if _, err := a.f.WriteString(b.String()); err != nil {
		a.t.Fatal(err)
	}
}

func wantNumbered(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("line %07d", i)
	}
	return out
}

func taildirConf(t *testing.T, dir, channel string, extra string) string {
	return writeConf(t, dir, fmt.Sprintf(`
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = TAILDIR
a1.sources.r1.filegroups = g
a1.sources.r1.filegroups.g = %s
a1.sources.r1.positionFile = %s
a1.sources.r1.channels = c1
%s
%s
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.channel = c1
`, filepath.Join(dir, "logs", `app\\.log`), filepath.Join(dir, "pos.json"), channel, extra, filepath.Join(dir, "out")))
}

// Lines written around a logrotate rename rotation and a copytruncate
// rotation all arrive, each once.
func TestTaildirFollowsRotationWithoutLoss(t *testing.T) {
	dir := t.TempDir()
	logs, out := filepath.Join(dir, "logs"), filepath.Join(dir, "out")
	os.Mkdir(logs, 0o755)
	log := filepath.Join(logs, "app.log")
	app := openAppLog(t, log)
	app.write(1000)
	conf := taildirConf(t, dir, "a1.channels.c1.type = memory\na1.channels.c1.capacity = 100000\na1.channels.c1.transactionCapacity = 1000", "")
	p := startAgent(t, dir, conf)
	app.write(1000)

	// Rotation by rename (logrotate's default "create"): the file is
	// renamed, a new one created; the application writes to the old file
	// until it is told to reopen.
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(log, nil, 0o644)
	app.write(500) // into app.log.1, after the rename
	app.reopen()
	app.write(1500)

	// The two files are read oldest first, but a rotated file and its
	// successor may be read in turns: compare as sets.
	got := waitLines(t, out, 4000, 30*time.Second)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(wantNumbered(4000), "\n") {
		t.Fatalf("after rename rotation: %d lines, want the 4000 written, each once", len(got))
	}

	// copytruncate: the file is copied and cut to zero; the application
	// goes on appending. (Lines written between the copy and the cut are
	// only in the copy, for any tailer: none are written here.)
	src, _ := os.Open(log)
	dst, _ := os.Create(log + ".2")
	io.Copy(dst, src)
	src.Close()
	dst.Close()
	if err := os.Truncate(log, 0); err != nil {
		t.Fatal(err)
	}
	app.write(2000)
	got = waitLines(t, out, 6000, 30*time.Second)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(wantNumbered(6000), "\n") {
		t.Fatalf("after copytruncate: %d lines, want the 6000 written, each once", len(got))
	}
	// Nothing more arrives (no duplicates coming late): once the position
	// file says the source read app.log to its end, a graceful stop
	// delivers whatever else it took, and the output is still 6000 lines.
	waitReadToEnd(t, filepath.Join(dir, "pos.json"), log, 30*time.Second)
	if err := p.stop(); err != nil {
		t.Fatalf("agent exit after SIGTERM: %v", err)
	}
	if got := readDirLines(t, out); len(got) != 6000 {
		t.Fatalf("%d lines in the end, want 6000", len(got))
	}
}

// waitReadToEnd polls the position file until its entry for log (same
// path, same inode) is at the file's size.
func waitReadToEnd(t *testing.T, pos, log string, timeout time.Duration) {
	t.Helper()
	fi, err := os.Stat(log)
	if err != nil {
		t.Fatal(err)
	}
	ino := inodeOf(t, log)
	deadline := time.Now().Add(timeout)
	for {
		raw, entries, _ := readTaildirPos(pos)
		for _, e := range entries {
			if e.File == log && e.Inode == ino && e.Pos == fi.Size() {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("position file %s never reached the end of %s (%d bytes, inode %d) within %v: %s", pos, log, fi.Size(), ino, timeout, raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
