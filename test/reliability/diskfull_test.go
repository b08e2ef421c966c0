package reliability

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluiceio/sluice/test/peers"
)

// dfSmallFS mounts a tmpfs of size (mount's syntax: "16m") on dir: the
// disk-full scenarios need a real file system that fills up. Mounting
// needs root, or a user and mount namespace (`unshare -rm go test ...`,
// where the test runs as root of its namespace); without either the
// scenario fails, saying so, rather than skipping.
func dfSmallFS(t *testing.T, dir, size string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("disk-full scenarios need a small real file system: mount -t tmpfs -o size=%s on %s failed (uid %d): %v: %s\n"+
			"run the suite as root, or inside a user and mount namespace: unshare -rm go test ./test/reliability",
			size, dir, os.Geteuid(), err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// dfFill writes a file into dir until its file system is full, and returns
// its path: deleting it gives the space back.
func dfFill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			break
		}
	}
	// Bytes too few for a 64 KiB write may remain: take them too.
	for {
		if _, err := f.Write(chunk[:512]); err != nil {
			break
		}
	}
	return path
}

// dfLogCount counts the lines of an agent's log containing s.
func dfLogCount(ag *agent, s string) int { return strings.Count(ag.cur.Output(), s) }

// dfWaitAcked waits until the load's acknowledgements pass n, and returns
// when (zero if never within timeout).
func dfWaitAcked(l *avroLoad, n int, timeout time.Duration) time.Time {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if l.Acked() > n {
			return time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Time{}
}

// dfHold is how long each disk stays full.
func dfHold() time.Duration {
	if *long {
		return time.Minute
	}
	return 10 * time.Second
}

// TestFileChannelDiskFull: avro → file channel → file_roll, with the
// channel's data directory and then its checkpoint directory each on a
// small tmpfs that is filled up while a client streams. Data disk full:
// puts are refused (the client is pushed back), said once with the
// directory and the free space, takes go on; the filler deleted, puts are
// accepted again by themselves. Checkpoint disk full: checkpoints fail,
// said once, events keep flowing; space back, a checkpoint is written
// again. Everything acknowledged arrives.
func TestFileChannelDiskFull(t *testing.T) {
	needBinary(t)
	b := durations()
	hold := dfHold()
	dir := t.TempDir()
	dataFS, ckptFS, out := filepath.Join(dir, "datafs"), filepath.Join(dir, "ckptfs"), filepath.Join(dir, "out")
	dfSmallFS(t, dataFS, "32m")
	dfSmallFS(t, ckptFS, "4m")
	data, ckpt := filepath.Join(dataFS, "data"), filepath.Join(ckptFS, "checkpoint")
	port := peers.FreePort(t)
	ag := newAgent(t, dir, "a1", avroSource("a1", port)+dfFileChannel(ckpt, data)+fileRoll("a1", out))
	ag.start()
	load := startAvroLoad(fmt.Sprintf("127.0.0.1:%d", port), clientBatch, b.rate)
	time.Sleep(3 * time.Second)

	// The data disk fills.
	filler := dfFill(t, dataFS)
	ag.cur.WaitLog("disk almost full: refusing puts", 30*time.Second)
	time.Sleep(time.Second) // a batch in flight when it filled may still be acknowledged
	ackedFull := load.Acked()
	time.Sleep(hold)
	ackedDuring := load.Acked() - ackedFull
	if ackedDuring > 0 {
		t.Errorf("%d events acknowledged while the data disk was full: the source was not pushed back", ackedDuring)
	}
	if n, most := dfLogCount(ag, "channels refused a batch"), 2+int(hold/(10*time.Second)); n > most {
		t.Errorf("the avro source logged %d refused batches in %v, more than one per 10 s", n, hold)
	}
	if n := dfLogCount(ag, "disk almost full: refusing puts"); n != 1 {
		t.Errorf("the full data disk was logged %d times in %v, want once", n, hold)
	}
	if line := dfLogLine(ag, "disk almost full"); !strings.Contains(line, data) || !strings.Contains(line, "free_mib=0") {
		t.Errorf("the log line does not say where and how much is free: %s", line)
	}
	os.Remove(filler)
	freed := time.Now()
	back := dfWaitAcked(load, ackedFull, time.Minute)
	if back.IsZero() {
		t.Fatalf("puts still refused a minute after the data disk got its space back\n%s", dfTail(ag))
	}
	ag.cur.WaitLog("disk space is back: accepting puts again", 10*time.Second)
	recovery := since(freed, back)

	// The checkpoint disk fills: checkpoints fail, events keep flowing.
	time.Sleep(2 * time.Second)
	filler = dfFill(t, ckptFS)
	ag.cur.WaitLog("checkpoint failed", 30*time.Second)
	ackedCkptFull := load.Acked()
	time.Sleep(hold)
	ackedCkpt := load.Acked() - ackedCkptFull
	if ackedCkpt <= 0 {
		t.Errorf("no event acknowledged in %v while only the checkpoint disk was full", hold)
	}
	if n := dfLogCount(ag, "checkpoint failed"); n != 1 {
		t.Errorf("failing checkpoints logged %d times in %v, want once", n, hold)
	}
	os.Remove(filler)
	ag.cur.WaitLog("checkpoint written again", 30*time.Second)
	time.Sleep(2 * time.Second)

	acked, failures := load.Stop()
	tl, _ := waitArrived(t, out, acked, 3*time.Minute)
	dfLogNotable(t, ag)
	ag.stop()
	check(t, result{
		Scenario: "filechannel-disk-full",
		Sent:     acked,
		DupBound: clientBatch + sinkBatch,
		Faults: fmt.Sprintf("data disk (tmpfs 32 MiB) filled for %v, then the checkpoint disk (tmpfs 4 MiB) for %v; the client's batches refused %d times",
			hold, hold, failures),
		Recovery: recovery,
		Notes: fmt.Sprintf("Data disk full: 0 events acknowledged, refusal logged once; recovery is until the agent accepted batches again. Checkpoint disk full: %d events acknowledged meanwhile, the failure logged once.",
			ackedCkpt),
	}, tl)
}

// dfFileChannel is agent a1's file channel c1 on the given directories,
// with 4 MiB segments, a checkpoint a second, the 1 MiB floor of
// minimumRequiredSpace and extra properties ("capacity = 10000").
func dfFileChannel(ckpt, data string, extra ...string) string {
	s := fmt.Sprintf(`a1.channels.c1.type = file
a1.channels.c1.checkpointDir = %s
a1.channels.c1.dataDirs = %s
a1.channels.c1.checkpointInterval = 1000
a1.channels.c1.maxFileSize = 4194304
a1.channels.c1.minimumRequiredSpace = 1048576
a1.channels.c1.transactionCapacity = 1000
`, ckpt, data)
	for _, e := range extra {
		s += "a1.channels.c1." + e + "\n"
	}
	return s
}

// dfLogLine returns the first line of the agent's log containing s.
func dfLogLine(ag *agent, s string) string {
	for _, l := range strings.Split(ag.cur.Output(), "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// dfLogNotable logs the agent's warnings, errors and what it said about
// space and recovery: the lines an operator would read.
func dfLogNotable(t *testing.T, ag *agent) {
	t.Helper()
	var keep []string
	for _, l := range strings.Split(ag.cur.Output(), "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") ||
			strings.Contains(l, "again") || strings.Contains(l, "is back") {
			if len(l) > 600 {
				l = l[:600] + "…"
			}
			keep = append(keep, l)
		}
	}
	t.Logf("agent log (warnings, errors, recoveries):\n%s", strings.Join(keep, "\n"))
}

func dfTail(ag *agent) string {
	out := ag.cur.Output()
	if len(out) > 4000 {
		out = out[len(out)-4000:]
	}
	return out
}

// TestFileRollDiskFull: avro → file channel (capacity 10000) → file_roll
// writing to a small tmpfs that is filled up. The sink's batches fail
// (said once, with the directory and its free space) and stay in the
// channel; the channel fills and the client is pushed back; the filler
// deleted, everything is written.
func TestFileRollDiskFull(t *testing.T) {
	needBinary(t)
	b := durations()
	hold := dfHold()
	dir := t.TempDir()
	outFS := filepath.Join(dir, "outfs")
	dfSmallFS(t, outFS, "16m")
	out := filepath.Join(outFS, "out")
	port := peers.FreePort(t)
	const capacity = 10000
	ag := newAgent(t, dir, "a1", avroSource("a1", port)+dfFileChannel(filepath.Join(dir, "checkpoint"), filepath.Join(dir, "data"),
		fmt.Sprintf("capacity = %d", capacity), "keep-alive = 1")+fileRoll("a1", out))
	ag.start()
	load := startAvroLoad(fmt.Sprintf("127.0.0.1:%d", port), clientBatch, b.rate)
	time.Sleep(3 * time.Second)

	filler := dfFill(t, outFS)
	ag.cur.WaitLog("no space left on device", 30*time.Second)
	ackedFull := load.Acked()
	time.Sleep(hold)
	ackedDuring := load.Acked() - ackedFull
	if ackedDuring > capacity+clientBatch {
		t.Errorf("%d events acknowledged while the sink could write nothing, more than the channel holds (%d)", ackedDuring, capacity)
	}
	if n := dfLogCount(ag, "delivery failed"); n != 1 {
		t.Errorf("the failing sink was logged %d times in %v, want once", n, hold)
	}
	if line := dfLogLine(ag, "no space left on device"); !strings.Contains(line, "KiB free in "+out) {
		t.Errorf("the log line does not say where and how much is free: %s", line)
	}
	ackedAtFree := load.Acked()
	os.Remove(filler)
	freed := time.Now()
	_, at := waitArrived(t, out, ackedAtFree, 3*time.Minute)
	time.Sleep(2 * time.Second)
	acked, failures := load.Stop()
	tl, _ := waitArrived(t, out, acked, 3*time.Minute)
	dfLogNotable(t, ag)
	ag.stop()
	check(t, result{
		Scenario: "fileroll-disk-full",
		Sent:     acked,
		DupBound: sinkBatch,
		Faults:   fmt.Sprintf("sink.directory's disk (tmpfs 16 MiB) filled for %v; the client's batches refused %d times", hold, failures),
		Recovery: since(freed, at),
		Notes: fmt.Sprintf("While full: %d events acknowledged (the channel holds %d), then the client was pushed back; the sink's failure logged once.",
			ackedDuring, capacity),
	}, tl)
}

// TestSpoolDirDiskFull: a spooling directory on a small tmpfs (the
// .flumespool position file and the completed renames live there) →
// file channel → file_roll, once with the default rename and once with
// deletePolicy = immediate. The disk is filled, then files are moved into
// the spool (a rename needs no space): their position file cannot be
// written, which is said once; the filler deleted, they are read, and
// renamed or deleted.
func TestSpoolDirDiskFull(t *testing.T) {
	needBinary(t)
	hold := dfHold()
	const files, perFile = 6, 10000
	var sent, recovery = 0, time.Duration(0)
	all := tally{first: -1}
	for _, policy := range []string{"never", "immediate"} {
		tl, rec := spoolDiskFull(t, policy, hold, files, perFile)
		sent += files * perFile
		recovery = max(recovery, rec)
		all.lines += tl.lines
		all.missing += tl.missing
		all.dups += tl.dups
		all.torn += tl.torn
		all.extra += tl.extra
		if all.first < 0 {
			all.first = tl.first
		}
	}
	check(t, result{
		Scenario: "spooldir-disk-full",
		Sent:     sent,
		DupBound: 2 * (100 + sinkBatch),
		Faults:   fmt.Sprintf("the spool directory's disk (tmpfs 8 MiB) filled for %v while %d files were moved in; twice: completed files renamed, then deletePolicy = immediate", hold, files-1),
		Recovery: recovery,
		Notes:    fmt.Sprintf("%d files of %d lines each time; the first read before the disk filled. The position file's failure logged once each time; every file renamed .COMPLETED (or deleted) in the end.", files, perFile),
	}, all)
}

// spoolDiskFull runs one part of TestSpoolDirDiskFull with deletePolicy
// policy and returns what arrived and the time from the freeing of space
// until all of it had.
func spoolDiskFull(t *testing.T, policy string, hold time.Duration, files, perFile int) (tally, time.Duration) {
	t.Helper()
	dir := t.TempDir()
	fsDir := filepath.Join(dir, "spoolfs")
	dfSmallFS(t, fsDir, "8m")
	spool, stage, out := filepath.Join(fsDir, "spool"), filepath.Join(fsDir, "stage"), filepath.Join(dir, "out")
	stageSeqFiles(t, spool, stage, files, perFile)
	ag := newAgent(t, dir, "a1", spoolSource(spool, 100, "deletePolicy = "+policy)+fileChannel("a1", dir)+fileRoll("a1", out))
	ag.start()
	move := func(i int) {
		name := fmt.Sprintf("f%02d.log", i)
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(spool, name)); err != nil {
			t.Fatal(err)
		}
	}
	done := func(i int) {
		path := filepath.Join(spool, fmt.Sprintf("f%02d.log", i))
		if policy == "immediate" {
			dfWaitGone(t, path, time.Minute)
		} else {
			dfWaitFile(t, path+".COMPLETED", time.Minute)
		}
	}
	move(0)
	done(0)

	filler := dfFill(t, fsDir)
	for i := 1; i < files; i++ {
		move(i)
	}
	const full = "disk full: cannot write the position file"
	ag.cur.WaitLog(full, 30*time.Second)
	time.Sleep(hold)
	if n := dfLogCount(ag, full); n != 1 {
		t.Errorf("deletePolicy %s: the full disk was logged %d times in %v, want once", policy, n, hold)
	}
	if line := dfLogLine(ag, full); !strings.Contains(line, spool) || !strings.Contains(line, "free_bytes=") {
		t.Errorf("the log line does not say where and how much is free: %s", line)
	}
	os.Remove(filler)
	freed := time.Now()
	tl, at := waitArrived(t, out, files*perFile, 3*time.Minute)
	ag.cur.WaitLog("space is back", 10*time.Second)
	for i := 0; i < files; i++ {
		done(i)
	}
	dfLogNotable(t, ag)
	ag.stop()
	t.Logf("deletePolicy %s: %d of %d lines arrived (%d duplicated), %v after the space came back", policy, tl.lines, files*perFile, tl.dups, since(freed, at))
	return tl, since(freed, at)
}

func dfWaitGone(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still there after %v", path, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func dfWaitFile(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %v", path, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dfCopyOut writes the content of f (an open file, perhaps deleted) into
// path.
func dfCopyOut(t *testing.T, f *os.File, path string) {
	t.Helper()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dfCPUSeconds is the CPU time a process used so far.
func dfCPUSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+2:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	var ut, st float64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return (ut + st) / 100 // USER_HZ
}

// TestFileChannelTinyDisk: a file channel whose data disk (tmpfs 16 MiB,
// checkpoints there too) is smaller than one log segment (64 MiB by
// default). First the sink cannot write (its own disk is full), so the
// channel's disk fills with queued events: puts are refused and the
// client pushed back. Then the sink's disk gets its space back: the
// events stored drain although puts were refused (takes use the segment
// kept for them), and streaming goes on faster than the 30 s checkpoints
// free segments: segments are sized to the space there is, puts pause
// while a checkpoint (asked for at once) deletes used-up ones. Nothing is
// lost, no take is refused (so nothing is delivered twice), and the lack
// of room is said at most once a minute. Before, the first roll wanted a
// 64 MiB segment: takes could not commit and the pipeline stopped.
func TestFileChannelTinyDisk(t *testing.T) {
	needBinary(t)
	b := durations()
	dir := t.TempDir()
	fsDir, outFS := filepath.Join(dir, "tinyfs"), filepath.Join(dir, "outfs")
	dfSmallFS(t, fsDir, "16m")
	dfSmallFS(t, outFS, "128m")
	out := filepath.Join(outFS, "out")
	port := peers.FreePort(t)
	ag := newAgent(t, dir, "a1", avroSource("a1", port)+fmt.Sprintf(`a1.channels.c1.type = file
a1.channels.c1.checkpointDir = %[1]s/checkpoint
a1.channels.c1.dataDirs = %[1]s/data
a1.channels.c1.minimumRequiredSpace = 1048576
a1.channels.c1.transactionCapacity = 1000
`, fsDir)+fileRoll("a1", out))
	ag.start()
	cpu0, t0 := dfCPUSeconds(ag.pid()), time.Now()
	const rate, batch = 20000, 1000

	// The sink's disk is full: the channel's fills with queued events.
	filler := dfFill(t, outFS)
	load := startAvroLoad(fmt.Sprintf("127.0.0.1:%d", port), batch, rate)
	ag.cur.WaitLogFunc("puts refused for lack of space", func(s string) bool {
		return strings.Contains(s, "file channel: no room for a new log segment") || strings.Contains(s, "file channel: disk almost full")
	}, time.Minute)
	time.Sleep(time.Second) // a batch in flight may still be acknowledged
	queued := load.Acked()
	time.Sleep(3 * time.Second)
	if d := load.Acked() - queued; d > 0 {
		t.Errorf("%d events acknowledged after the channel's disk was full of queued events: not pushed back", d)
	}
	os.Remove(filler)
	drained := time.Now()
	_, at := waitArrived(t, out, queued, 3*time.Minute)
	if at.IsZero() {
		t.Fatalf("the %d events queued on the full disk did not drain once the sink could write\n%s", queued, dfTail(ag))
	}
	drain := at.Sub(drained)

	// Then stream through it: twice and more the disk's size.
	time.Sleep(b.faultFor)
	acked, failures := load.Stop()
	stopped := time.Now()
	tl, done := waitArrived(t, out, acked, 3*time.Minute)
	cpu := (dfCPUSeconds(ag.pid()) - cpu0) / time.Since(t0).Seconds()
	refusedTakes := dfLogCount(ag, "log take of")
	noRoom := dfLogCount(ag, "file channel: no room for a new log segment")
	dfLogNotable(t, ag)
	ag.stop()
	if refusedTakes > 0 {
		t.Errorf("%d take commits refused: takes must go on when puts are refused\n%s", refusedTakes, dfTail(ag))
	}
	logged := int64(acked) * int64(len(seqBody(0))+20)
	if logged < 2*16<<20 {
		t.Errorf("only about %d MiB went through the 16 MiB disk: the scenario did not fill it", logged>>20)
	}
	if noRoom > 1 {
		t.Errorf("the lack of room was logged %d times in %v, want at most once a minute", noRoom, time.Since(t0).Round(time.Second))
	}
	check(t, result{
		Scenario: "filechannel-tiny-disk",
		Sent:     acked,
		DupBound: 0,
		Faults: fmt.Sprintf("data and checkpoint dirs on a 16 MiB tmpfs (segments 64 MiB by default); the sink's disk full until %d events were queued and puts refused, then %d events/s offered in batches of %d for %v; the client's batches refused %d times",
			queued, rate, batch, b.faultFor, failures),
		Recovery: since(stopped, done),
		Notes: fmt.Sprintf("The %d events queued on the full disk drained in %v once the sink could write, puts refused meanwhile. About %d MiB logged through the 16 MiB disk in all; %d take commits refused; \"no room for a new log segment\" logged %d time(s); agent CPU %.0f%% of one core on average. Before the fix (streaming alone, binary of 79705ac^): stuck after 49,000 events acknowledged, take commits failing to prepare a 64 MiB segment, 300 never delivered in 3 min.",
			queued, drain.Round(time.Millisecond), logged>>20, refusedTakes, noRoom, 100*cpu),
	}, tl)
}

// TestFileRollDirDeleted: avro → file channel → file_roll; the sink's
// directory is deleted (rm -r) three times under the running agent. Each
// time the sink notices before committing that its file is gone, keeps
// the batch in the channel, says so, creates the directory again and goes
// on in a new file. The content of the deleted files (kept readable by
// the test's open handles, as an operator's copy would) and the new files
// together hold every acknowledged event.
func TestFileRollDirDeleted(t *testing.T) {
	needBinary(t)
	b := durations()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	port := peers.FreePort(t)
	ag := newAgent(t, dir, "a1", avroSource("a1", port)+fileChannel("a1", dir)+fileRoll("a1", out))
	ag.start()
	load := startAvroLoad(fmt.Sprintf("127.0.0.1:%d", port), clientBatch, b.rate)
	const deletions = 3
	var recovery time.Duration
	for k := 0; k < deletions; k++ {
		time.Sleep(3 * time.Second)
		ents, err := os.ReadDir(out)
		if err != nil {
			t.Fatal(err)
		}
		var held []*os.File
		for _, e := range ents {
			f, err := os.Open(filepath.Join(out, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, f)
		}
		if err := os.RemoveAll(out); err != nil {
			t.Fatal(err)
		}
		deleted := time.Now()
		ag.cur.WaitLogFunc("the directory created again", func(s string) bool {
			return strings.Count(s, "sink.directory had disappeared; created it again") > k
		}, time.Minute)
		recovery = max(recovery, time.Since(deleted))
		for i, f := range held {
			dfCopyOut(t, f, filepath.Join(out, fmt.Sprintf("rescued-%d-%d", k, i)))
			f.Close()
		}
	}
	time.Sleep(2 * time.Second)
	acked, failures := load.Stop()
	tl, _ := waitArrived(t, out, acked, 3*time.Minute)
	gone := dfLogCount(ag, "was deleted (or its directory) while being written; the batch stays in the channel")
	dfLogNotable(t, ag)
	ag.stop()
	if gone < deletions {
		t.Errorf("the deleted file was reported %d times for %d deletions", gone, deletions)
	}
	check(t, result{
		Scenario: "fileroll-dir-deleted",
		Sent:     acked,
		DupBound: deletions * sinkBatch,
		Faults:   fmt.Sprintf("sink.directory deleted (rm -r) %d times, 3 s apart, while a client streams (its batches refused %d times)", deletions, failures),
		Recovery: recovery,
		Notes:    "Each time the batch being written was kept in the channel and the loss logged (\"was deleted ... the batch stays in the channel\"), the directory created again; the deleted files' content was read back through handles the test held open. Recovery is the longest time from a deletion to the new file.",
	}, tl)
}
