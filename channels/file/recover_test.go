package file

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/wal"
)

// segments lists the log segments of the channel's data directory.
func (tc *testChan) segments() []wal.SegmentFile {
	tc.t.Helper()
	segs, _, err := wal.ListSegments(filepath.Join(tc.root, "data"), false)
	if err != nil {
		tc.t.Fatal(err)
	}
	return segs
}

// lastSegmentEnd is the newest segment and the end of its frames.
func (tc *testChan) lastSegmentEnd() (string, uint32) {
	tc.t.Helper()
	segs := tc.segments()
	last := segs[len(segs)-1]
	var sc wal.Scanner
	end, err := sc.Scan(last.Path, last.ID, wal.HeaderSize, 0, func(uint32, wal.Record) error { return nil })
	if err != nil {
		tc.t.Fatal(err)
	}
	return last.Path, end.End
}

func writeAt(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func startErr(t *testing.T, root string, extra map[string]string) (error, string) {
	t.Helper()
	c, logs, _, err := build(t, dirProps(root, extra))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Start(context.Background())
	if err == nil {
		_ = c.Stop(context.Background())
	}
	return err, logs.String()
}

func TestTornTailCutWithWarning(t *testing.T) {
	c := openChan(t, nil)
	mustPut(t, c.Channel, evs(0, 10))
	mustPut(t, c.Channel, evs(10, 10))
	c.crash()
	// The start of a frame whose write the crash interrupted.
	path, end := c.lastSegmentEnd()
	writeAt(t, path, int64(end), []byte("SLWF\x00\x01\x00\x00\x07\x00\x00\x00half a frame header and then nothing"))

	c2 := openAt(t, c.root, nil)
	logs := c2.logs.String()
	if !strings.Contains(logs, "torn write") || !strings.Contains(logs, path) {
		t.Errorf("no warning naming %s about the torn write:\n%s", path, logs)
	}
	if got := bodies(drain(t, c2.Channel)); !slices.Equal(got, wantBodies(0, 20)) {
		t.Fatalf("after a torn tail took %v", got)
	}
	// It was cut: the next start finds nothing to warn about.
	c3 := c2.restart()
	if strings.Contains(c3.logs.String(), "torn") {
		t.Errorf("torn tail met again after it was cut:\n%s", c3.logs)
	}
}

func TestCorruptRecordInMiddleStopsStart(t *testing.T) {
	c := openChan(t, nil)
	mustPut(t, c.Channel, evs(0, 10))
	mustPut(t, c.Channel, evs(10, 10))
	mustPut(t, c.Channel, evs(20, 10))
	c.crash()
	segs := c.segments()
	// The segment written by that run: its first frame holds events 0-9.
	seg := segs[len(segs)-1]
	off := int64(wal.HeaderSize + wal.FrameHeaderSize + 30)
	writeAt(t, seg.Path, off, []byte{0xde, 0xad})

	err, _ := startErr(t, c.root, nil)
	var ce *wal.CorruptError
	if !errors.As(err, &ce) {
		t.Fatalf("start over a damaged record: %v, want a corruption error", err)
	}
	if ce.Path != seg.Path || ce.Offset > off || ce.Offset < wal.HeaderSize {
		t.Errorf("error names %s at %d; damage is in %s at %d", ce.Path, ce.Offset, seg.Path, off)
	}
	if !strings.Contains(err.Error(), seg.Path) || !strings.Contains(err.Error(), "offset") {
		t.Errorf("message does not name file and offset: %v", err)
	}
}

// A record damaged after it was logged is found when a take reads it
// back: the take fails naming file and offset, and the channel stops
// rather than skip it.
func TestCorruptRecordOnReadBackStopsChannel(t *testing.T) {
	c := openChan(t, nil)
	c.cacheLimit = 0
	mustPut(t, c.Channel, evs(0, 5))
	c.mu.Lock()
	var first entry
	c.q.each(func(e *entry) {
		if first.size == 0 {
			first = *e
		}
	})
	path := segPath(c.dirs[c.segs[first.ptr.Seg()].dir], first.ptr.Seg())
	c.mu.Unlock()
	writeAt(t, path, int64(first.ptr.Off())+int64(first.size)-2, []byte{0xff, 0xff})

	tx := c.Begin()
	_, err := tx.Take(5)
	_ = tx.Rollback()
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "offset") {
		t.Fatalf("take of a damaged event: %v, want an error naming %s and the offset", err, path)
	}
	if c.cnt.Snapshot()["Unhealthy"] != "1" || c.takeErr.Load() == 0 {
		t.Errorf("Unhealthy %s, EventTakeErrorCount %d", c.cnt.Snapshot()["Unhealthy"], c.takeErr.Load())
	}
	tx = c.Begin()
	if _, err2 := tx.Take(5); err2 == nil {
		t.Fatal("the channel kept serving takes after damage was found")
	}
	_ = tx.Rollback()
	if err := put(c.Channel, evs(5, 1)); err == nil {
		t.Fatal("the channel kept accepting puts after damage was found")
	}
}

// The queue is the same whichever way recovery goes: checkpoint, backup
// (checkpoint damaged), or the whole log (both damaged) — including after
// used-up segments were deleted.
func TestDamagedCheckpointFallsBack(t *testing.T) {
	dual := map[string]string{"useDualCheckpoints": "true", "maxFileSize": "65536"}
	for _, tc := range []struct {
		name     string
		damage   []string
		wantLog  string
		wantFrom string
	}{
		{"checkpoint", nil, "", "checkpoint"},
		{"backup", []string{"checkpoint"}, "using the backup checkpoint", "backup checkpoint"},
		{"full replay", []string{"checkpoint", "backup"}, "replaying the whole log", "none (damaged; full replay)"},
		{"full replay: no checkpoint files", []string{"-checkpoint", "-backup"}, "", "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dual["backupCheckpointDir"] = filepath.Join(root, "backup")
			c := openAt(t, root, dual)
			big := evs(0, 600)
			for _, e := range big {
				e.Body = append(e.Body, make([]byte, 200)...)
			}
			for i := 0; i < 600; i += 100 {
				mustPut(t, c.Channel, big[i:i+100])
			}
			took := drain(t, c.Channel)[:0]
			_ = took
			mustPut(t, c.Channel, evs(1000, 7))
			if err := c.checkpoint(); err != nil { // deletes the drained segments
				t.Fatal(err)
			}
			if n := len(c.segments()); n > 3 {
				t.Fatalf("%d segments left after draining and a checkpoint", n)
			}
			takeN(t, c.Channel, 2) // logged after the checkpoint
			c.crash()
			for _, d := range tc.damage {
				if name, ok := strings.CutPrefix(d, "-"); ok {
					os.Remove(filepath.Join(root, name, checkpointFile))
					continue
				}
				writeAt(t, filepath.Join(root, d, checkpointFile), 40, []byte("damage"))
			}
			c2 := openAt(t, root, dual)
			if tc.wantLog != "" && !strings.Contains(c2.logs.String(), tc.wantLog) {
				t.Errorf("log does not say %q:\n%s", tc.wantLog, c2.logs)
			}
			if !strings.Contains(c2.logs.String(), `checkpoint="`+tc.wantFrom+`"`) && !strings.Contains(c2.logs.String(), "checkpoint="+tc.wantFrom+" ") {
				t.Errorf("recovery did not start from %q:\n%s", tc.wantFrom, c2.logs)
			}
			if got := bodies(drain(t, c2.Channel)); !slices.Equal(got, wantBodies(1002, 5)) {
				t.Fatalf("recovered %v, want events 1002-1006 only", got)
			}
		})
	}
}

// A queued event pins its own segment and the segments holding takes of
// its neighbours, not every newer segment.
func TestStuckEventPinsFewSegments(t *testing.T) {
	c := openChan(t, map[string]string{"maxFileSize": "65536"})
	mustPut(t, c.Channel, evs(0, 1))
	stuck := c.Begin()
	if got, err := stuck.Take(1); err != nil || len(got) != 1 {
		t.Fatalf("take: %v %v", got, err)
	}
	made := map[uint32]bool{}
	for round := 0; round < 20; round++ {
		batch := evs(1+round*100, 100)
		for _, e := range batch {
			e.Body = append(e.Body, make([]byte, 300)...)
		}
		mustPut(t, c.Channel, batch)
		takeN(t, c.Channel, 100)
		for _, s := range c.segments() {
			made[s.ID] = true
		}
	}
	if err := c.checkpoint(); err != nil {
		t.Fatal(err)
	}
	left := c.segments()
	if len(made) < 8 || len(left) > 4 {
		t.Fatalf("%d segments made, %d left while one event is in flight: %v", len(made), len(left), left)
	}
	_ = stuck.Rollback()
	c2 := c.restart()
	if got := bodies(drain(t, c2.Channel)); !slices.Equal(got, wantBodies(0, 1)) {
		t.Fatalf("after restart took %v", got)
	}
}

// Producers, consumers that sometimes roll back, two data directories,
// checkpoints every few milliseconds and small segments, all at once:
// every event is delivered exactly once, and nothing comes back after a
// restart.
func TestConcurrentNoLossNoDuplication(t *testing.T) {
	root := t.TempDir()
	extra := map[string]string{
		"dataDirs":            filepath.Join(root, "d1") + "," + filepath.Join(root, "d2"),
		"capacity":            "500",
		"transactionCapacity": "50",
		"keep-alive":          "10m",
		"checkpointInterval":  "5",
		"maxFileSize":         "65536",
	}
	c := openAt(t, root, extra)
	c.cacheLimit = 4 << 10 // most takes read back from the log
	const (
		producers = 4
		consumers = 3
		perProd   = 2000
		batch     = 25
		total     = producers * perProd
	)
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < perProd; i += batch {
				es := make([]*sluice.Event, batch)
				for j := range es {
					b := make([]byte, 8+(i+j)%300)
					binary.BigEndian.PutUint64(b, uint64(p*perProd+i+j))
					es[j] = &sluice.Event{Body: b, Headers: map[string]string{}}
				}
				if err := put(c.Channel, es); err != nil {
					t.Errorf("producer %d: %v", p, err)
					return
				}
			}
		}(p)
	}
	seen := make([]atomic.Int32, total)
	var received atomic.Int64
	done := make(chan struct{})
	var once sync.Once
	for k := 0; k < consumers; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			for round := 0; ; round++ {
				ready := c.Ready()
				tx := c.Begin()
				got, err := tx.Take(1 + (round+k)%50)
				if err != nil {
					t.Errorf("consumer %d: %v", k, err)
					_ = tx.Rollback()
					return
				}
				if len(got) == 0 {
					_ = tx.Commit()
					select {
					case <-ready:
					case <-done:
						return
					}
					continue
				}
				if round%7 == 3 {
					_ = tx.Rollback()
					continue
				}
				if err := tx.Commit(); err != nil {
					t.Errorf("consumer %d commit: %v", k, err)
					return
				}
				for _, e := range got {
					seen[binary.BigEndian.Uint64(e.Body)].Add(1)
				}
				if received.Add(int64(len(got))) == total {
					once.Do(func() { close(done) })
				}
			}
		}(k)
	}
	wg.Wait()
	for id := range seen {
		if n := seen[id].Load(); n != 1 {
			t.Fatalf("event %d delivered %d times", id, n)
		}
	}
	c2 := c.restart()
	if n := c2.Size(); n != 0 {
		t.Fatalf("%d events came back after a restart", n)
	}
	if c.ckptErr.Load() != 0 {
		t.Errorf("%d checkpoint errors", c.ckptErr.Load())
	}
}
