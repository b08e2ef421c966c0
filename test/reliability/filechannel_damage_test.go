package reliability

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluiceio/sluice/internal/wal"
	"github.com/sluiceio/sluice/test/peers"
)

// damageEvents is how many events the damage scenarios leave in the file
// channel: a few 1 MiB segments' worth.
const damageEvents = 20000

// fillFileChannel runs a1 (avro → file channel under dir → an avro sink
// whose downstream never answers) until n events are acknowledged, then
// stops it cleanly: the events are all in the channel, and a checkpoint
// written at the stop covers them.
func fillFileChannel(t *testing.T, dir string, n int) int {
	t.Helper()
	return fillFileChannelThen(t, dir, n, false)
}

// fillFileChannelThen is fillFileChannel ending the agent with kill -9
// when kill is set; checkpoints are then held off (but for the one at
// start-up) so that the events are only in the log after it.
func fillFileChannelThen(t *testing.T, dir string, n int, kill bool) int {
	t.Helper()
	port, dead := peers.FreePort(t), peers.FreePort(t)
	ch := fileChannel("a1", dir)
	if kill {
		ch = strings.Replace(ch, "checkpointInterval = 1000", "checkpointInterval = 3600000", 1)
	}
	ag := newAgent(t, dir, "a1", avroSource("a1", port)+ch+fmt.Sprintf(`a1.sinks.k1.type = avro
a1.sinks.k1.channel = c1
a1.sinks.k1.hostname = 127.0.0.1
a1.sinks.k1.port = %d
a1.sinks.k1.batch-size = %d
a1.sinks.k1.connect-timeout = 500
`, dead, sinkBatch))
	ag.start()
	load := startAvroLoad(fmt.Sprintf("127.0.0.1:%d", port), clientBatch, 5000)
	deadline := time.Now().Add(3 * time.Minute)
	for load.Acked() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d events acknowledged after 3 minutes", load.Acked(), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	acked, _ := load.Stop()
	if kill {
		ag.kill()
	} else {
		ag.stop()
	}
	return acked
}

// drainAgent is a1 again, on the same file channel, with a file_roll sink
// writing into out.
func drainAgent(t *testing.T, dir, out string) *agent {
	return newAgent(t, dir, "a1", avroSource("a1", peers.FreePort(t))+fileChannel("a1", dir)+fileRoll("a1", out))
}

// damagePut flips one digit of the body of the put record in the middle
// of the middle segment of dir's log, and returns the segment, the offset
// of the flipped byte and the number of the event it belonged to.
func damagePut(t *testing.T, dataDir string) (path string, at int64, seq int, nsegs int) {
	t.Helper()
	segs, _, err := wal.ListSegments(dataDir, false)
	if err != nil || len(segs) == 0 {
		t.Fatalf("segments in %s: %v (%d)", dataDir, err, len(segs))
	}
	var sc wal.Scanner
	type put struct {
		at  int64
		seq int
	}
	for _, sf := range append(segs[len(segs)/2:], segs[:len(segs)/2]...) {
		var puts []put
		_, err := sc.Scan(sf.Path, sf.ID, wal.HeaderSize, 0, func(off uint32, rec wal.Record) error {
			i := bytes.Index(rec.Body, []byte("seq-"))
			if rec.Type != wal.RecPut || i < 0 {
				return nil
			}
			n, ok := parseSeq(rec.Body[i:])
			if ok {
				// The record's body starts after its 9-byte header; the
				// event's last digit is 12 bytes into "seq-".
				puts = append(puts, put{at: int64(off) + wal.RecordHeaderSize + int64(i) + 12, seq: n})
			}
			return nil
		})
		if err != nil {
			t.Fatalf("scan %s: %v", sf.Path, err)
		}
		if len(puts) == 0 {
			continue
		}
		p := puts[len(puts)/2]
		f, err := os.OpenFile(sf.Path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		b := []byte{0}
		if _, err := f.ReadAt(b, p.at); err != nil {
			t.Fatal(err)
		}
		b[0] ^= 1 // still a digit: only the checksum can tell
		if _, err := f.WriteAt(b, p.at); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return sf.Path, p.at, p.seq, len(segs)
	}
	t.Fatalf("no put record in any segment of %s", dataDir)
	return
}

// record stores a scenario's row when its expected loss is not zero (check
// asserts none): the caller has asserted what was lost.
func record(t *testing.T, r result, tl tally) {
	t.Helper()
	r.Lost, r.Duplicated, r.Arrived = tl.missing, tl.dups, tl.lines
	t.Logf("%s: sent %d, arrived %d, lost %d, duplicated %d (bound %d), faults: %s, recovery %v. %s",
		r.Scenario, r.Sent, r.Arrived, r.Lost, r.Duplicated, r.DupBound, r.Faults, r.Recovery.Round(time.Millisecond), r.Notes)
	results.Lock()
	results.m[r.Scenario] = r
	results.Unlock()
	if r.Duplicated > r.DupBound {
		t.Errorf("%s: %d duplicates, more than the bound of %d", r.Scenario, r.Duplicated, r.DupBound)
	}
}

// missingSeqs lists the numbers tl did not see.
func missingSeqs(tl tally) []int {
	var out []int
	for n, c := range tl.seen {
		if c == 0 {
			out = append(out, n)
		}
	}
	return out
}

// TestFileChannelCorruptSegment: events wait in a file channel while the
// agent is stopped, and one byte of a put record in the middle of a
// segment is flipped. By default the channel delivers what comes before
// the damage and then stops with an error naming the file, the offset and
// the salvage command, leaving the log as it was. `sluice filechannel
// salvage` sets the damaged record aside and counts it; the agent then
// delivers every other event. Lost: exactly the damaged event, as
// reported.
func TestFileChannelCorruptSegment(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	dataDir, ckptDir := filepath.Join(dir, "data"), filepath.Join(dir, "checkpoint")
	acked := fillFileChannel(t, dir, damageEvents)
	seg, at, seq, nsegs := damagePut(t, dataDir)
	damaged, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}

	// Default: refuse, naming file, offset and the command; lose nothing.
	ag := drainAgent(t, dir, out)
	ag.start()
	ag.cur.WaitLog("sluice filechannel salvage", 2*time.Minute)
	log := ag.cur.Output()
	ag.stop()
	for _, want := range []string{seg, "offset", "--dataDirs " + dataDir, "--checkpointDir " + ckptDir} {
		if !strings.Contains(log, want) {
			t.Errorf("the channel's error does not say %q:\n%s", want, log)
		}
	}
	before := readOut(t, out, acked)
	if before.dups != 0 || before.missing == 0 {
		t.Errorf("before salvage: %d duplicates, %d missing", before.dups, before.missing)
	}
	// The events queued before the damaged one were delivered, all but
	// those taken in the same batch as it.
	early := 0
	for _, n := range missingSeqs(before) {
		if n < seq {
			early++
		}
	}
	if early > sinkBatch {
		t.Errorf("%d events queued before the damaged one (%d) were not delivered before the channel stopped", early, seq)
	}
	now, err := os.ReadFile(seg)
	if err != nil || !bytes.Equal(now[:at+1], damaged[:at+1]) {
		t.Errorf("the default start changed the damaged segment up to the damage (%v)", err)
	}

	// Salvage.
	cmd := exec.Command(binary, "filechannel", "salvage", "--dataDirs", dataDir, "--checkpointDir", ckptDir)
	salv, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("salvage: %v\n%s", err, salv)
	}
	t.Logf("salvage:\n%s", salv)
	m := regexp.MustCompile(`events lost: (\d+)`).FindSubmatch(salv)
	if m == nil || !bytes.Contains(salv, []byte("set aside "+seg)) {
		t.Fatalf("salvage output names no stretch of %s and no count:\n%s", seg, salv)
	}
	reported, _ := strconv.Atoi(string(m[1]))

	ag.start()
	restarted := time.Now()
	var tl tally
	deadline := time.Now().Add(3 * time.Minute)
	for {
		tl = readOut(t, out, acked)
		if tl.missing <= reported || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	arrived := time.Now()
	ag.stop()
	tl = readOut(t, out, acked)
	if miss := missingSeqs(tl); tl.missing != reported || len(miss) != 1 || miss[0] != seq {
		t.Errorf("after salvage missing %v (%d), want only the damaged event %d, as salvage reported (%d)", miss, tl.missing, seq, reported)
	}
	record(t, result{
		Scenario: "filechannel-corrupt-segment",
		Sent:     acked,
		DupBound: sinkBatch,
		Faults: fmt.Sprintf("one byte flipped in a put record in the middle of segment %s (of %d) while the agent was stopped; default start: %d delivered, then the channel stopped naming the file, offset %d and the salvage command; salvage run",
			filepath.Base(seg), nsegs, acked-before.missing, at),
		Recovery: since(restarted, arrived),
		Notes:    fmt.Sprintf("Lost: the damaged event only (#%d), as salvage reported (events lost: %d); its bytes saved beside the segment.", seq, reported),
	}, tl)
}

// TestFileChannelTruncatedCheckpoint: events wait in a file channel while
// the agent is stopped and its checkpoint file is cut in half. The
// channel says so and replays the whole log instead: every event arrives.
func TestFileChannelTruncatedCheckpoint(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	acked := fillFileChannel(t, dir, damageEvents)
	ck := filepath.Join(dir, "checkpoint", "checkpoint")
	st, err := os.Stat(ck)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(ck, st.Size()/2); err != nil {
		t.Fatal(err)
	}
	ag := drainAgent(t, dir, out)
	ag.start()
	restarted := time.Now()
	tl, at := waitArrived(t, out, acked, 3*time.Minute)
	log := ag.cur.Output()
	ag.stop()
	if !strings.Contains(log, "checkpoint unusable") || !strings.Contains(log, "replaying the whole log") {
		t.Errorf("no warning about the damaged checkpoint and the full replay:\n%s", log)
	}
	check(t, result{
		Scenario: "filechannel-truncated-checkpoint",
		Sent:     acked,
		DupBound: sinkBatch,
		Faults:   fmt.Sprintf("checkpoint file cut from %d to %d bytes while the agent was stopped with %d events queued", st.Size(), st.Size()/2, acked),
		Recovery: since(restarted, at),
		Notes:    "The channel warns that the checkpoint is unusable and replays the whole log.",
	}, tl)
}

// TestReloadMemoryChannel: tier 1 (avro → memory channel → avro sink)
// holds 10,000 acknowledged events while tier 2 is down. Its
// configuration is edited so the channel changes (capacity) and reloaded
// by SIGHUP: the new channel takes the events over. A second edit that
// removes the channel while it still holds them is refused, saying why.
// Then tier 2 starts: every event arrives.
func TestReloadMemoryChannel(t *testing.T) {
	needBinary(t)
	const held = 10000
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	p1, p2 := peers.FreePort(t), peers.FreePort(t)
	a1 := newAgent(t, dir, "t1", forwarder("t1", p1, 20000, p2))
	a2 := newAgent(t, dir, "t2", avroSource("t2", p2)+`t2.channels.c1.type = memory
t2.channels.c1.capacity = 100000
t2.channels.c1.transactionCapacity = 1000
`+fileRoll("t2", out))
	a1.start()
	load := startAvroLoad(fmt.Sprintf("127.0.0.1:%d", p1), clientBatch, 5000)
	deadline := time.Now().Add(2 * time.Minute)
	for load.Acked() < held {
		if time.Now().After(deadline) {
			t.Fatalf("only %d events acknowledged", load.Acked())
		}
		time.Sleep(50 * time.Millisecond)
	}
	acked, _ := load.Stop()

	reload := func(conf string, wait string, n int) {
		t.Helper()
		if err := os.WriteFile(a1.path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(a1.pid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		a1.cur.WaitLogFunc(fmt.Sprintf("%d× %q", n, wait), func(s string) bool { return strings.Count(s, wait) >= n }, time.Minute)
	}
	changed := forwarder("t1", p1, 30000, p2)
	reload(changed, "msg=reloaded", 1)
	removed := strings.NewReplacer("channels = c1", "channels = c2", "channels.c1.", "channels.c2.", "channel = c1", "channel = c2").Replace(changed)
	reload(removed, "configuration reload failed; the running agent is kept", 1)
	log := a1.cur.Output()
	if !strings.Contains(log, `channel \"c1\" holds`) || !strings.Contains(log, "refusing the reload") {
		t.Errorf("the reload removing c1 was not refused with the reason:\n%s", log)
	}
	if err := os.WriteFile(a1.path, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}

	a2.start()
	restarted := time.Now()
	tl, at := waitArrived(t, out, acked, 3*time.Minute)
	a1.stop()
	a2.stop()
	check(t, result{
		Scenario: "reload-memory-channel",
		Sent:     acked,
		DupBound: sinkBatch,
		Faults:   fmt.Sprintf("tier 2 down; tier 1's memory channel holding %d acknowledged events changed by a reload (capacity 20000 → 30000, SIGHUP), then a reload removing it refused", acked),
		Recovery: since(restarted, at),
		Notes:    "The changed channel hands its events to the new one; the removal is refused while the channel holds events, naming the channel and the count.",
	}, tl)
}

// TestFileChannelCorruptAfterKill: the agent is killed -9 with events in
// its file channel that no checkpoint covers, and a put record in the log
// is damaged. The next start refuses: the process exits 1 naming the
// file, the offset and the salvage command. Salvage, given the agent's
// configuration, sets the record aside; the agent then delivers every
// other event.
func TestFileChannelCorruptAfterKill(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	// No checkpoint while the events go in: the log holds them all.
	acked := fillFileChannelThen(t, dir, 5000, true)
	seg, at, seq, _ := damagePut(t, filepath.Join(dir, "data"))

	ag := drainAgent(t, dir, out)
	ag.startNoWait()
	err := ag.cur.Wait(time.Minute)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("start over a damaged log: %v, want exit status 1\n%s", err, ag.cur.Output())
	}
	msg := ag.cur.Output()
	for _, want := range []string{seg, "sluice filechannel salvage --dataDirs"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, msg)
		}
	}
	// The offset named is that of the damaged record (the flipped byte is
	// in its body).
	if m := regexp.MustCompile(`at offset (\d+)`).FindStringSubmatch(msg); m == nil {
		t.Errorf("the refusal names no offset:\n%s", msg)
	} else if off, _ := strconv.ParseInt(m[1], 10, 64); off > at || at-off > 200 {
		t.Errorf("the refusal names offset %d; the damaged byte is at %d", off, at)
	}
	if tl := readOut(t, out, acked); tl.lines != 0 {
		t.Errorf("%d events delivered by a channel that refused to start", tl.lines)
	}

	salv, err := exec.Command(binary, "filechannel", "salvage", "-f", ag.path, "-n", "a1").CombinedOutput()
	if err != nil || !bytes.Contains(salv, []byte("events lost: 1\n")) {
		t.Fatalf("salvage: %v\n%s", err, salv)
	}
	ag.start()
	tl := readOut(t, out, acked)
	for deadline := time.Now().Add(2 * time.Minute); tl.missing > 1 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		tl = readOut(t, out, acked)
	}
	ag.stop()
	if miss := missingSeqs(tl); len(miss) != 1 || miss[0] != seq || tl.dups != 0 {
		t.Errorf("after salvage missing %v, %d duplicates; want only the damaged event %d", miss, tl.dups, seq)
	}
}
