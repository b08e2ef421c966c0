package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// numberedFile writes n lines "<8-digit number> <padding>" of width bytes
// each (newline included), so a reader can tell every line by its number.
func numberedFile(t *testing.T, path string, n, width int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	line := bytes.Repeat([]byte{'.'}, width)
	line[width-1] = '\n'
	for i := 0; i < n; i++ {
		copy(line, fmt.Sprintf("%08d ", i))
		w.Write(line)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// coverage reads every file in dir and counts how often each numbered line
// came out; it also checks each line is intact.
func coverage(t *testing.T, dir string, n, width int) (seen []uint8, dups int) {
	t.Helper()
	seen = make([]uint8, n)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReaderSize(f, 1<<20)
		for {
			l, err := r.ReadSlice('\n')
			if err != nil {
				break
			}
			if len(l) != width || l[8] != ' ' {
				t.Fatalf("%s: damaged line %q", e.Name(), l)
			}
			i, err := strconv.Atoi(string(l[:8]))
			if err != nil || i >= n {
				t.Fatalf("%s: bad line %q", e.Name(), l)
			}
			if seen[i] < 255 {
				seen[i]++
			}
			if seen[i] > 1 {
				dups++
			}
		}
		f.Close()
	}
	return seen, dups
}

func dirSize(dir string) int64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// A kill -9 in the middle of a 200 MB file, and a restart, lose nothing:
// the file channel keeps what was committed, the source's position file
// says where to go on.
func TestSpoolDirKill9MidFileLosesNothing(t *testing.T) {
	const n, width = 2_000_000, 100
	dir := t.TempDir()
	spool, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	os.Mkdir(spool, 0o755)
	staged := filepath.Join(dir, "big.stage")
	numberedFile(t, staged, n, width)
	conf := writeConf(t, dir, fmt.Sprintf(`
a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = spooldir
a1.sources.r1.spoolDir = %s
a1.sources.r1.batchSize = 1000
a1.sources.r1.channels = c1
a1.channels.c1.type = file
a1.channels.c1.checkpointDir = %s
a1.channels.c1.dataDirs = %s
a1.channels.c1.capacity = 200000
a1.channels.c1.transactionCapacity = 1000
a1.sinks.k1.type = file_roll
a1.sinks.k1.sink.directory = %s
a1.sinks.k1.sink.rollInterval = 0
a1.sinks.k1.sink.batchSize = 1000
a1.sinks.k1.channel = c1
`, spool, filepath.Join(dir, "cp"), filepath.Join(dir, "data"), out))
	p := startAgent(t, dir, conf)
	big := filepath.Join(spool, "big.log")
	old := time.Now().Add(-time.Hour)
	os.Chtimes(staged, old, old)
	if err := os.Rename(staged, big); err != nil {
		t.Fatal(err)
	}
	// Kill once a fifth of the file is through, mid-file.
	deadline := time.Now().Add(3 * time.Minute)
	for dirSize(out) < n*width/5 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d bytes out after 3 minutes", dirSize(out))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(20 * time.Second)
	if _, err := os.Stat(filepath.Join(spool, ".flumespool", ".flumespool-main.meta")); err != nil {
		t.Fatalf("no position file after the kill (the file was not mid-way?): %v", err)
	}
	if _, err := os.Stat(big + ".COMPLETED"); err == nil {
		t.Fatal("the file was complete before the kill; make it bigger")
	}

	p2 := startAgent(t, dir, conf)
	p2.waitLog("spooldir: resuming a file", 20*time.Second)
	waitExists(t, big+".COMPLETED", 5*time.Minute)
	deadline = time.Now().Add(3 * time.Minute)
	for {
		seen, dups := coverage(t, out, n, width)
		missing, first := 0, -1
		for i, c := range seen {
			if c == 0 {
				missing++
				if first < 0 {
					first = i
				}
			}
		}
		if missing == 0 {
			// Re-read lines: at most the source batch committed to the
			// channel before its position was recorded, plus the sink batch
			// written before its commit.
			if dups > 2000 {
				t.Fatalf("%d lines delivered twice, more than a source and a sink batch", dups)
			}
			t.Logf("all %d lines delivered after kill -9 and restart; %d twice", n, dups)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d lines missing (first: %d)", missing, n, first)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
