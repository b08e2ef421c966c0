package reliability

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeSeqFile writes lines from..to-1 ("seq-<n> <padding>") to path.
func writeSeqFile(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for n := from; n < to; n++ {
		w.Write(seqBody(n))
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// stageSeqFiles creates the spool and stage directories and writes files
// f00.log, f01.log... of perFile numbered lines each into stage, to be
// moved into spool one by one.
func stageSeqFiles(t *testing.T, spool, stage string, files, perFile int) {
	t.Helper()
	for _, d := range []string{spool, stage} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < files; i++ {
		writeSeqFile(t, filepath.Join(stage, fmt.Sprintf("f%02d.log", i)), i*perFile, (i+1)*perFile)
	}
}

// spoolSource is agent a1's spooldir source r1 reading spool into c1,
// with extra properties of r1 ("deletePolicy = immediate").
func spoolSource(spool string, batch int, extra ...string) string {
	s := fmt.Sprintf(`a1.sources = r1
a1.channels = c1
a1.sinks = k1
a1.sources.r1.type = spooldir
a1.sources.r1.spoolDir = %s
a1.sources.r1.batchSize = %d
a1.sources.r1.pollDelay = 100
a1.sources.r1.channels = c1
`, spool, batch)
	for _, e := range extra {
		s += "a1.sources.r1." + e + "\n"
	}
	return s
}

// TestSpoolDirKill9: numbered files dropped one by one into a spooling
// directory (spooldir → file channel → file_roll); each kill -9 is aimed
// at a moment a file is half read (the source's position file exists).
// Every line arrives; duplicates are at most a source batch and a sink
// batch per kill.
func TestSpoolDirKill9(t *testing.T) {
	needBinary(t)
	b := durations()
	const files, perFile, srcBatch = 10, 30000, 100
	dir := t.TempDir()
	spool, stage, out := filepath.Join(dir, "spool"), filepath.Join(dir, "stage"), filepath.Join(dir, "out")
	stageSeqFiles(t, spool, stage, files, perFile)
	ag := newAgent(t, dir, "a1", spoolSource(spool, srcBatch)+fileChannel("a1", dir)+fileRoll("a1", out))
	ag.start()

	// Drop the files one by one over the fault window.
	dropped := make(chan struct{})
	go func() {
		defer close(dropped)
		for i := 0; i < files; i++ {
			name := fmt.Sprintf("f%02d.log", i)
			if err := os.Rename(filepath.Join(stage, name), filepath.Join(spool, name)); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(b.faultFor / files)
		}
	}()
	meta := filepath.Join(spool, ".flumespool", ".flumespool-main.meta")
	midFile := 0
	aim := func() { // wait (a little) for a file to be half read
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(meta); err == nil {
				midFile++
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	kills := killLoop(t, ag, b, newRand(t), hooks{before: aim})
	restarted := time.Now()
	<-dropped
	tl, at := waitArrived(t, out, files*perFile, 3*time.Minute)
	ag.stop()
	if midFile == 0 {
		t.Errorf("no kill landed while a file was half read: the scenario did not test resuming")
	}
	check(t, result{
		Scenario: "spooldir-kill9",
		Sent:     files * perFile,
		DupBound: kills * (srcBatch + sinkBatch),
		Faults:   fmt.Sprintf("%d × kill -9 in %v, %d of them with a file half read", kills, b.faultFor, midFile),
		Recovery: since(restarted, at),
		Notes:    fmt.Sprintf("%d files of %d lines dropped one by one.", files, perFile),
	}, tl)
}
