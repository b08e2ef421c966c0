package file

import (
	"context"
	"errors"
	"log/slog"
	"math/rand"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sluiceio/sluice/conf"
	"github.com/sluiceio/sluice/internal/wal"
)

// putRecords lists the put records of every segment: where each is and
// its event's body.
func (tc *testChan) putRecords() (paths []string, offs []uint32, bodies []string) {
	tc.t.Helper()
	var sc wal.Scanner
	for _, sf := range tc.segments() {
		_, err := sc.Scan(sf.Path, sf.ID, wal.HeaderSize, 0, func(off uint32, rec wal.Record) error {
			if rec.Type == wal.RecPut {
				var ev = evs(0, 1)[0]
				if err := wal.DecodeEvent(rec.Body, ev); err != nil {
					return err
				}
				paths, offs, bodies = append(paths, sf.Path), append(offs, off), append(bodies, string(ev.Body))
			}
			return nil
		})
		if err != nil {
			tc.t.Fatal(err)
		}
	}
	return paths, offs, bodies
}

// damage flips a byte in the body of the put record of event n.
func (tc *testChan) damage(n int) (string, int64) {
	tc.t.Helper()
	paths, offs, bs := tc.putRecords()
	i := slices.Index(bs, wantBodies(n, 1)[0])
	if i < 0 {
		tc.t.Fatalf("no put record of event %d", n)
	}
	at := int64(offs[i]) + wal.RecordHeaderSize + 4
	flipAt(tc.t, paths[i], at)
	return paths[i], at
}

func salvage(t *testing.T, root string, extra map[string]string) (SalvageReport, string) {
	t.Helper()
	cfg := DefaultConfig()
	var ps []conf.Prop
	for k, v := range dirProps(root, extra) {
		ps = append(ps, conf.Prop{Key: k, FullKey: "a1.channels.c1." + k, Value: v})
	}
	for _, e := range conf.Decode(cfg, ps) {
		if !e.Warning {
			t.Fatal(e)
		}
	}
	logs := &logBuf{}
	rep, err := Salvage(cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatalf("salvage: %v\n%s", err, logs)
	}
	return rep, logs.String()
}

func without(from, n int, gone ...int) []string {
	var out []string
	for i := from; i < from+n; i++ {
		if !slices.Contains(gone, i) {
			out = append(out, wantBodies(i, 1)[0])
		}
	}
	return out
}

// A damaged record in the log after the checkpoint (the agent was killed):
// the channel refuses to start, naming the file, the offset and the
// salvage command; salvage sets the record aside, counts it, and the next
// start delivers every other event.
func TestSalvageAfterCrashDeliversEveryIntactEvent(t *testing.T) {
	c := openChan(t, nil)
	for i := 0; i < 3; i++ {
		mustPut(t, c.Channel, evs(10*i, 10))
	}
	c.crash()
	path, at := c.damage(15)

	err, _ := startErr(t, c.root, nil)
	var ce *wal.CorruptError
	if !errors.As(err, &ce) || ce.Path != path {
		t.Fatalf("start over a damaged record: %v, want a corruption error in %s", err, path)
	}
	for _, want := range []string{path, "offset", "sluice filechannel salvage --dataDirs " + c.dirs[0] + " --checkpointDir " + c.ckptDir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}

	rep, logs := salvage(t, c.root, nil)
	if len(rep.Spans) != 1 || rep.Spans[0].File != path || int64(rep.Spans[0].Start) > at || int64(rep.Spans[0].End) <= at {
		t.Fatalf("spans %+v, want one in %s around offset %d", rep.Spans, path, at)
	}
	if rep.EventsLost != 1 || rep.LostUnknown || rep.Events != 29 {
		t.Errorf("report %+v, want 1 event lost, 29 left", rep)
	}
	if _, err := os.Stat(rep.Spans[0].Saved); err != nil || !strings.HasPrefix(rep.Spans[0].Saved, path) {
		t.Errorf("damaged bytes not saved beside the segment: %q: %v", rep.Spans[0].Saved, err)
	}
	if !strings.Contains(logs, "set aside a damaged stretch") || !strings.Contains(logs, path) {
		t.Errorf("salvage did not log the stretch and file:\n%s", logs)
	}

	c2 := openAt(t, c.root, nil)
	if got := bodies(drain(t, c2.Channel)); !slices.Equal(got, without(0, 30, 15)) {
		t.Fatalf("after salvage took %v", got)
	}
	// A second salvage finds nothing more.
	c2.crash()
	if rep, _ := salvage(t, c.root, nil); len(rep.Spans) != 0 || rep.EventsLost != 0 || rep.Events != 0 {
		t.Errorf("second salvage: %+v", rep)
	}
}

// Damage to a record a checkpoint already covers is found when a take
// reads it back: the channel stops, the error names the salvage command;
// salvage drops the event from the checkpoint (counted exactly) and every
// other event is delivered, those before the damage and those after.
func TestSalvageCheckpointedDamageReadBack(t *testing.T) {
	root := t.TempDir()
	extra := map[string]string{"useDualCheckpoints": "true", "backupCheckpointDir": root + "/backup"}
	c := openAt(t, root, extra)
	for i := 0; i < 5; i++ {
		mustPut(t, c.Channel, evs(100*i, 100))
	}
	c2 := c.restart() // checkpoint on close: it covers all 500
	c2.cacheLimit = 0
	if err := c2.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	path, _ := c2.damage(250)

	c3 := openAt(t, root, extra)
	var got []string
	var err error
	for err == nil {
		tx := c3.Begin()
		es, terr := tx.Take(50)
		if terr != nil {
			_ = tx.Rollback()
			err = terr
			break
		}
		got = append(got, bodies(es)...)
		if cerr := tx.Commit(); cerr != nil {
			t.Fatal(cerr)
		}
		if len(es) == 0 {
			t.Fatal("drained a damaged channel without an error")
		}
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "sluice filechannel salvage") {
		t.Fatalf("take over the damaged record: %v", err)
	}
	if !slices.Equal(got, without(0, 250)) {
		t.Fatalf("before the damage took %d events, want the 250 before it", len(got))
	}
	if err := c3.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	rep, _ := salvage(t, root, extra)
	if len(rep.Spans) != 1 || rep.Spans[0].Queued != 1 || rep.EventsLost != 1 || rep.Events != 249 {
		t.Fatalf("report %+v, want one stretch holding 1 queued event, 249 left", rep)
	}
	c4 := openAt(t, root, extra)
	want := without(0, 500, 250)[250:]
	if got := bodies(drain(t, c4.Channel)); !slices.Equal(got, want) {
		t.Fatalf("after salvage took %d events, want the %d after the damage", len(got), len(want))
	}
}

// The newest frame of the log written in full, with one record damaged
// and the records after it intact, is damage, not a torn write: whether
// its commit had returned is not known, so the start refuses rather than
// cut it off as never acknowledged.
func TestDamagedWholeLastFrameIsNotCalledTorn(t *testing.T) {
	c := openChan(t, nil)
	mustPut(t, c.Channel, evs(0, 10))
	mustPut(t, c.Channel, evs(10, 10))
	c.crash()
	c.damage(13)
	err, logs := startErr(t, c.root, nil)
	var ce *wal.CorruptError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "written in full") {
		t.Fatalf("start over a damaged last frame: %v, want a corruption error", err)
	}
	if strings.Contains(logs, "torn") {
		t.Errorf("a damaged whole frame was logged as torn:\n%s", logs)
	}
	rep, _ := salvage(t, c.root, nil)
	if rep.EventsLost != 1 || rep.Events != 19 {
		t.Fatalf("report %+v, want 1 lost, 19 left", rep)
	}
	c2 := openAt(t, c.root, nil)
	if got := bodies(drain(t, c2.Channel)); !slices.Equal(got, without(0, 20, 13)) {
		t.Fatalf("after salvage took %v", got)
	}
}

// A torn write says what is known: with fsyncPerTransaction its puts had
// not been acknowledged; without, they may have been.
func TestTornTailMessageSaysWhatIsKnown(t *testing.T) {
	for _, tc := range []struct {
		fsync string
		want  string
	}{
		{"true", "had not been acknowledged"},
		{"false", "may have been acknowledged"},
	} {
		t.Run("fsyncPerTransaction="+tc.fsync, func(t *testing.T) {
			extra := map[string]string{"fsyncPerTransaction": tc.fsync}
			c := openChan(t, extra)
			mustPut(t, c.Channel, evs(0, 10))
			c.crash()
			path, end := c.lastSegmentEnd()
			// Half a frame: the rest never reached the disk (zeros).
			writeAt(t, path, int64(end), []byte("SLWF\x00\x01\x00\x00\x07\x00\x00\x00half a frame header"))
			c2 := openAt(t, c.root, extra)
			logs := c2.logs.String()
			if !strings.Contains(logs, "torn write") || !strings.Contains(logs, tc.want) || !strings.Contains(logs, path) {
				t.Errorf("torn-write message does not say %q about %s:\n%s", tc.want, path, logs)
			}
			if got := bodies(drain(t, c2.Channel)); !slices.Equal(got, wantBodies(0, 10)) {
				t.Fatalf("took %v", got)
			}
		})
	}
}

// flipAt flips the byte at off of path.
func flipAt(t testing.TB, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// Damage to a commit record (and the put before it) in the log after the
// checkpoint: the intact puts of that transaction are still delivered,
// and the count of lost events is exact (the damaged stretch's records
// are walked by their length fields).
func TestSalvageDamagedCommitRecord(t *testing.T) {
	for _, tc := range []struct {
		name     string
		putsToo  bool
		wantLost int
	}{
		{"commit only", false, 0},
		{"last put and commit", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := openChan(t, nil)
			for i := 0; i < 3; i++ {
				mustPut(t, c.Channel, evs(10*i, 10))
			}
			c.crash()
			// The commit record of the second transaction follows the
			// put record of event 19.
			paths, offs, bs := c.putRecords()
			i := slices.Index(bs, wantBodies(19, 1)[0])
			j := slices.Index(bs, wantBodies(20, 1)[0])
			commitAt := int64(offs[j]) - (wal.RecordHeaderSize + wal.CommitBodySize) - wal.FrameHeaderSize
			if offs[j]-offs[i] < wal.RecordHeaderSize+wal.CommitBodySize+wal.FrameHeaderSize {
				t.Fatalf("events 19 and 20 are %d bytes apart: not in separate frames", offs[j]-offs[i])
			}
			flipAt(t, paths[i], commitAt+12) // the commit's count
			if tc.putsToo {
				flipAt(t, paths[i], int64(offs[i])+wal.RecordHeaderSize+4)
			}
			if err, _ := startErr(t, c.root, nil); err == nil {
				t.Fatal("the channel started over a damaged commit record")
			}
			rep, _ := salvage(t, c.root, nil)
			if rep.EventsLost != tc.wantLost || rep.LostUnknown || rep.Events != 30-tc.wantLost {
				t.Fatalf("report %+v, want %d lost (exact), %d left", rep, tc.wantLost, 30-tc.wantLost)
			}
			c2 := openAt(t, c.root, nil)
			gone := []int{}
			if tc.putsToo {
				gone = append(gone, 19)
			}
			got := bodies(drain(t, c2.Channel))
			slices.Sort(got)
			want := without(0, 30, gone...)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("after salvage took %v", got)
			}
		})
	}
}

// A checkpoint cut short (at any length) is reported and the whole log is
// replayed instead: the queue is the same, nothing lost or repeated.
func TestTruncatedCheckpointReplaysTheWholeLog(t *testing.T) {
	for _, cut := range []string{"empty", "10 bytes", "half", "all but the checksum's last byte"} {
		t.Run(cut, func(t *testing.T) {
			c := openChan(t, nil)
			for i := 0; i < 5; i++ {
				mustPut(t, c.Channel, evs(100*i, 100))
			}
			takeN(t, c.Channel, 150)
			c2 := c.restart() // stopped with a checkpoint on close
			if err := c2.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			path := c2.ckptDir + string(os.PathSeparator) + checkpointFile
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			size := map[string]int64{"empty": 0, "10 bytes": 10, "half": st.Size() / 2, "all but the checksum's last byte": st.Size() - 1}[cut]
			if err := os.Truncate(path, size); err != nil {
				t.Fatal(err)
			}
			c3 := openAt(t, c.root, nil)
			logs := c3.logs.String()
			if !strings.Contains(logs, "checkpoint unusable") || !strings.Contains(logs, "replaying the whole log") {
				t.Errorf("no warning about the cut checkpoint:\n%s", logs)
			}
			if got := bodies(drain(t, c3.Channel)); !slices.Equal(got, without(0, 500)[150:]) {
				t.Fatalf("after a full replay took %d events, want the 350 not taken", len(got))
			}
		})
	}
}

// A salvage that stopped after repairing the log but before rewriting the
// checkpoint (the process killed) is finished by running it again: the
// checkpoint stops listing the events set aside, and they are counted.
func TestSalvageInterruptedBeforeCheckpointIsFinishedByTheNextRun(t *testing.T) {
	c := openChan(t, nil)
	for i := 0; i < 3; i++ {
		mustPut(t, c.Channel, evs(100*i, 100))
	}
	c2 := c.restart()
	if err := c2.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	ck := c2.ckptDir + string(os.PathSeparator) + checkpointFile
	before, err := os.ReadFile(ck)
	if err != nil {
		t.Fatal(err)
	}
	c2.damage(150)
	if rep, _ := salvage(t, c.root, nil); rep.EventsLost != 1 {
		t.Fatalf("first salvage: %+v", rep)
	}
	// As if it had been killed before the checkpoint was rewritten.
	if err := os.WriteFile(ck, before, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, _ := salvage(t, c.root, nil)
	if len(rep.Spans) != 0 || rep.EventsLost != 1 || rep.Events != 299 {
		t.Fatalf("second salvage: %+v, want no new stretch, the 1 event counted, 299 left", rep)
	}
	c3 := openAt(t, c.root, nil)
	if got := bodies(drain(t, c3.Channel)); !slices.Equal(got, without(0, 300, 150)) {
		t.Fatalf("took %d events, want the 299 intact ones", len(got))
	}
}

// Random damage to the log after a crash: salvage always leaves a channel
// that starts; it delivers each intact event once, and when salvage says
// its count is exact, what is missing is exactly that count.
func TestSalvageRandomDamage(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 40; i++ {
		c := openChan(t, nil)
		for k := 0; k < 8; k++ {
			mustPut(t, c.Channel, evs(10*k, 10))
		}
		takeN(t, c.Channel, 15)
		if i%2 == 0 {
			c.crash() // the damage is in the log after the checkpoint
		} else {
			// Stopped cleanly, then started and stopped again: the
			// checkpoint covers the damaged segment.
			c2 := c.restart()
			if err := c2.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		first := c.segments()[0]
		var sc wal.Scanner
		scanned, err := sc.Scan(first.Path, first.ID, wal.HeaderSize, 0, func(uint32, wal.Record) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		path, end := first.Path, scanned.End
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 1+rng.Intn(3); k++ {
			at := int64(wal.HeaderSize + rng.Intn(int(end)-wal.HeaderSize))
			b := []byte{0}
			f.ReadAt(b, at)
			b[0] ^= byte(1 + rng.Intn(255))
			f.WriteAt(b, at)
		}
		f.Close()
		rep, logs := salvage(t, c.root, nil)
		c2 := openAt(t, c.root, nil)
		got := bodies(drain(t, c2.Channel))
		seen := map[string]bool{}
		for _, b := range got {
			if seen[b] {
				t.Fatalf("case %d: %s delivered twice", i, b)
			}
			seen[b] = true
		}
		// Events 0-14 were taken before the crash; damage to the take
		// record can bring some back, which is not a loss.
		missing := 0
		for _, b := range without(15, 65) {
			if !seen[b] {
				missing++
			}
		}
		switch {
		case rep.LostUnknown:
		case rep.TakesDamaged:
			if missing > rep.EventsLost {
				t.Fatalf("case %d: %d events missing, salvage reported at most %d: %+v\n%s", i, missing, rep.EventsLost, rep, logs)
			}
		case missing != rep.EventsLost:
			t.Fatalf("case %d: %d events missing, salvage reported %d lost: %+v\n%s", i, missing, rep.EventsLost, rep, logs)
		}
		c2.crash()
	}
}

// Salvage refuses to touch the directories of a running channel.
func TestSalvageRefusesARunningChannel(t *testing.T) {
	c := openChan(t, nil)
	mustPut(t, c.Channel, evs(0, 10))
	cfg := DefaultConfig()
	cfg.DataDirs, cfg.CheckpointDir = []string{c.dirs[0]}, c.ckptDir
	_, err := Salvage(cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("salvage beside a running channel: %v, want a refusal", err)
	}
	if got := bodies(drain(t, c.Channel)); !slices.Equal(got, wantBodies(0, 10)) {
		t.Fatalf("the running channel then took %v", got)
	}
}
