package spooldir

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/sluicetest"
)

func TestFilesAreReadInOrderAndRenamed(t *testing.T) {
	h := newHarness(t, nil)
	a := drop(t, h.dir, "a.log", numbered("a", 0, 250), 2*time.Hour)
	b := drop(t, h.dir, "b.log", numbered("b", 0, 10), time.Hour)
	h.start()
	got := h.bodies(260)
	want := append(numberedList("a", 0, 250), numberedList("b", 0, 10)...)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events out of order or wrong: got %d, first %q", len(got), got[:3])
	}
	waitFor(t, "both files renamed", func() bool { return exists(a+".COMPLETED") && exists(b+".COMPLETED") })
	if exists(a) || exists(b) {
		t.Fatal("originals still present")
	}
	waitFor(t, "position file removed", func() bool { return !exists(filepath.Join(h.dir, ".flumespool", metaFileName)) })
	if h.src.counters.AppendBatchAccepted.Load() != 4 { // 100+100+50, then 10
		t.Errorf("AppendBatchAccepted = %d, want 4", h.src.counters.AppendBatchAccepted.Load())
	}
}

func TestDeletePolicyImmediate(t *testing.T) {
	h := newHarness(t, map[string]string{"deletePolicy": "IMMEDIATE"})
	a := drop(t, h.dir, "a.txt", "one\ntwo\n", time.Hour)
	h.start()
	if got := h.bodies(2); strings.Join(got, ",") != "one,two" {
		t.Fatalf("got %q", got)
	}
	waitFor(t, "file deleted", func() bool { return !exists(a) })
	if exists(a + ".COMPLETED") {
		t.Fatal("deleted file was also renamed")
	}
}

func TestTrackerDirPolicyMarksAndDoesNotReread(t *testing.T) {
	dir := t.TempDir()
	props := map[string]string{"spoolDir": dir, "trackingPolicy": "tracker_dir", "recursiveDirectorySearch": "true"}
	h := newHarness(t, props)
	a := drop(t, dir, "sub/a.txt", "x\n", time.Hour)
	h.start()
	h.bodies(1)
	marker := filepath.Join(dir, ".flumespool", "sub", "a.txt.COMPLETED")
	waitFor(t, "marker", func() bool { return exists(marker) })
	if !exists(a) {
		t.Fatal("tracker_dir must leave the file in place")
	}
	h.stop()

	// A restart does not read the marked file again; a new one is read.
	h2 := newHarness(t, props)
	drop(t, dir, "b.txt", "y\n", time.Minute)
	h2.start()
	if got := h2.bodies(1); got[0] != "y" {
		t.Fatalf("got %q", got)
	}
	waitFor(t, "b marker", func() bool { return exists(filepath.Join(dir, ".flumespool", "b.txt.COMPLETED")) })
	if n := len(h2.rec.Events()); n != 1 {
		t.Fatalf("restart delivered %d events, want only b's 1", n)
	}
}

func TestFileAndBasenameHeaders(t *testing.T) {
	h := newHarness(t, map[string]string{"fileHeader": "true", "fileHeaderKey": "path",
		"basenameHeader": "true", "basenameHeaderKey": "name"})
	p := drop(t, h.dir, "data.csv", "1\n", time.Hour)
	h.start()
	ev, err := h.rec.WaitFor(1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(p)
	if ev[0].Headers["path"] != abs || ev[0].Headers["name"] != "data.csv" || len(ev[0].Headers) != 2 {
		t.Fatalf("headers %v", ev[0].Headers)
	}
}

func TestCandidateRules(t *testing.T) {
	h := newHarness(t, map[string]string{"includePattern": `.*\.log`, "ignorePattern": `skip.*`})
	for _, n := range []string{"a.log", "b.txt", "skip.log", ".hidden.log", "done.log.COMPLETED",
		"q.log.QUARANTINED-20240101T000000Z"} {
		drop(t, h.dir, n, n+"\n", time.Hour)
	}
	if err := os.Mkdir(filepath.Join(h.dir, "sub.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	drop(t, h.dir, "sub.log/inner.log", "inner\n", time.Hour) // not recursive
	h.start()
	h.bodies(1)
	waitFor(t, "a.log completed", func() bool { return exists(filepath.Join(h.dir, "a.log.COMPLETED")) })
	var names []string
	for _, c := range h.src.scan() {
		names = append(names, c.name)
	}
	if len(names) != 0 {
		t.Fatalf("left as candidates: %v", names)
	}
	if got := h.rec.Events(); len(got) != 1 || string(got[0].Body) != "a.log" {
		t.Fatalf("events %v", got)
	}
}

func TestConsumeOrder(t *testing.T) {
	base := time.Now().Add(-time.Hour)
	files := []struct {
		name  string
		mtime time.Time
	}{{"c", base}, {"b", base}, {"a", base.Add(time.Minute)}, {"d", base.Add(-time.Minute)}}
	tests := []struct {
		order string
		want  string
	}{
		{"oldest", "d,b,c,a"},   // by time, ties by name
		{"YOUNGEST", "a,b,c,d"}, // newest first, ties by smaller name
	}
	for _, tt := range tests {
		t.Run(tt.order, func(t *testing.T) {
			h := newHarness(t, map[string]string{"consumeOrder": tt.order, "deletePolicy": "immediate"})
			for _, f := range files {
				p := drop(t, h.dir, f.name, f.name+"\n", 0)
				if err := os.Chtimes(p, f.mtime, f.mtime); err != nil {
					t.Fatal(err)
				}
			}
			h.start()
			if got := strings.Join(h.bodies(4), ","); got != tt.want {
				t.Fatalf("order %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("random reads every file once", func(t *testing.T) {
		h := newHarness(t, map[string]string{"consumeOrder": "random"})
		for _, f := range files {
			drop(t, h.dir, f.name, f.name+"\n", time.Hour)
		}
		h.start()
		got := h.bodies(4)
		sort.Strings(got)
		if strings.Join(got, ",") != "a,b,c,d" {
			t.Fatalf("got %v", got)
		}
	})
}

func TestRecursiveDirectorySearch(t *testing.T) {
	h := newHarness(t, map[string]string{"recursiveDirectorySearch": "true", "ignorePattern": "ign"})
	drop(t, h.dir, "x/y/deep.txt", "deep\n", time.Hour)
	drop(t, h.dir, ".hid/h.txt", "hidden\n", time.Hour)
	drop(t, h.dir, "ign/i.txt", "ignored\n", time.Hour)
	h.start()
	if got := h.bodies(1); got[0] != "deep" {
		t.Fatalf("got %q", got)
	}
	waitFor(t, "deep completed", func() bool { return exists(filepath.Join(h.dir, "x/y/deep.txt.COMPLETED")) })
	// A directory created later is watched and read too.
	drop(t, h.dir, "later/new.txt", "new\n", time.Hour)
	if got := h.bodies(2); got[1] != "new" {
		t.Fatalf("got %q", got)
	}
	if n := len(h.rec.Events()); n != 2 {
		t.Fatalf("%d events; hidden or ignored directories were read", n)
	}
}

func TestRestartResumesAfterTheLastCommittedBatch(t *testing.T) {
	dir := t.TempDir()
	props := map[string]string{"spoolDir": dir, "batchSize": "100"}
	h := newHarness(t, props)
	g := &gate{allow: 3}
	h.useGate(g)
	drop(t, dir, "big.txt", numbered("l", 0, 1000), time.Hour)
	h.start()
	// Three batches accepted, the fourth refused (and retried).
	waitFor(t, "a refused batch", func() bool { c, _ := g.state(); return c >= 4 })
	h.stop()
	st, err := loadTracker(filepath.Join(dir, ".flumespool", metaFileName))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(300 * len("l000000\n")); st.pos.off != want {
		t.Fatalf("position %d, want %d (after 3 batches)", st.pos.off, want)
	}

	h2 := newHarness(t, props)
	h2.start()
	got := h2.bodies(700)
	if !reflect.DeepEqual(got, numberedList("l", 300, 1000)) {
		t.Fatalf("resumed with %q..., want l000300...", got[:2])
	}
	if !strings.Contains(h2.logs.String(), "resuming a file") {
		t.Error("resume not logged")
	}
}

func TestRefusedBatchIsRetriedNotReread(t *testing.T) {
	h := newHarness(t, map[string]string{"maxBackoff": "40"})
	g := &gate{}
	h.useGate(g)
	drop(t, h.dir, "f", "a\nb\n", time.Hour)
	h.start()
	waitFor(t, "three refusals", func() bool { c, _ := g.state(); return c >= 3 })
	g.open(10)
	waitFor(t, "delivery", func() bool { _, ev := g.state(); return len(ev) == 2 })
	waitFor(t, "completed", func() bool { return exists(filepath.Join(h.dir, "f.COMPLETED")) })
	if _, ev := g.state(); len(ev) != 2 {
		t.Fatalf("%d events delivered", len(ev))
	}
	sc := h.src.counters
	if calls, _ := g.state(); sc.ChannelWriteFail.Load() != int64(calls-1) {
		t.Errorf("ChannelWriteFail = %d after %d attempts of one batch, want one per refusal", sc.ChannelWriteFail.Load(), calls)
	}
}

// A source feeding a full channel: the core counts each refused batch once
// (Flume's ChannelWriteFail, AppendBatchReceived and AppendBatchAccepted
// agree), and once the channel takes batches again every line arrives
// exactly once, in order. (Before the core hand-off, spooldir counted a
// refusal twice.)
func TestFullChannelCountedOnceNothingLost(t *testing.T) {
	h := newHarness(t, map[string]string{"batchSize": "10", "maxBackoff": "20"})
	h.rec.SetFail(sluicetest.ErrFull)
	drop(t, h.dir, "a.log", numbered("a", 0, 95), 2*time.Hour)
	drop(t, h.dir, "b.log", numbered("b", 0, 5), time.Hour)
	h.start()
	waitFor(t, "five refusals", func() bool { return h.rec.Calls() >= 5 })
	h.rec.SetFail(nil)
	got := h.bodies(100)
	waitFor(t, "both files completed", func() bool {
		return exists(filepath.Join(h.dir, "a.log.COMPLETED")) && exists(filepath.Join(h.dir, "b.log.COMPLETED"))
	})
	want := append(numberedList("a", 0, 95), numberedList("b", 0, 5)...)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %d events %q..., want a000000..a000094, b000000..b000004 once each", len(got), got[:3])
	}
	if n := len(h.rec.Events()); n != 100 {
		t.Fatalf("%d events committed, want 100 (a duplicate?)", n)
	}
	sc := h.src.counters
	recv, acc, fail := sc.AppendBatchReceived.Load(), sc.AppendBatchAccepted.Load(), sc.ChannelWriteFail.Load()
	if fail < 5 || fail != recv-acc {
		t.Fatalf("ChannelWriteFail %d, AppendBatchReceived %d, AppendBatchAccepted %d: want ChannelWriteFail = received - accepted", fail, recv, acc)
	}
	if acc != 11 || fail != int64(h.rec.Calls())-acc { // 10 batches of a, 1 of b
		t.Fatalf("AppendBatchAccepted %d, ChannelWriteFail %d after %d attempts", acc, fail, h.rec.Calls())
	}
	if sc.EventAccepted.Load() != 100 {
		t.Fatalf("EventAccepted %d, want 100", sc.EventAccepted.Load())
	}
}

func TestFileChangedAfterPickupIsQuarantined(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, p string)
		reason string
	}{
		{"grown", func(t *testing.T, p string) {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("appended\n")
			f.Close()
		}, "changed size (240 bytes then, 249 now) after it was picked up; its first 240 bytes were delivered"},
		{"touched", func(t *testing.T, p string) {
			now := time.Now()
			os.Chtimes(p, now, now)
		}, "was modified (modification time"},
		{"replaced", func(t *testing.T, p string) {
			os.Remove(p)
			os.WriteFile(p, []byte("other\n"), 0o644)
		}, "was replaced by another file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, map[string]string{"batchSize": "10", "maxBackoff": "20"})
			g := &gate{allow: 1}
			h.useGate(g)
			a := drop(t, h.dir, "a.log", numbered("a", 0, 30), 2*time.Hour)
			h.start()
			waitFor(t, "a held mid-file", func() bool { c, _ := g.state(); return c >= 2 })
			tt.change(t, a)
			drop(t, h.dir, "b.log", "b\n", time.Hour)
			g.open(1000)
			waitFor(t, "b completed", func() bool { return exists(filepath.Join(h.dir, "b.log.COMPLETED")) })
			q, _ := filepath.Glob(a + ".QUARANTINED-*")
			if len(q) != 1 {
				t.Fatalf("quarantined files: %v", q)
			}
			if exists(a + ".COMPLETED") {
				t.Fatal("changed file was completed")
			}
			logs := h.logs.String()
			if !strings.Contains(logs, "quarantined file "+a) || !strings.Contains(logs, tt.reason) {
				t.Fatalf("no clear quarantine log line with %q:\n%s", tt.reason, logs)
			}
			_, ev := g.state()
			if last := string(ev[len(ev)-1].Body); last != "b" {
				t.Fatalf("last event %q, want b's", last)
			}
		})
	}
}

func TestCompletedNameTakenIsQuarantinedUnread(t *testing.T) {
	h := newHarness(t, nil)
	a := drop(t, h.dir, "a.log", "new content\n", 2*time.Hour)
	if err := os.WriteFile(a+".COMPLETED", []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	drop(t, h.dir, "b.log", "b\n", time.Hour)
	h.start()
	if got := h.bodies(1); got[0] != "b" {
		t.Fatalf("got %q", got)
	}
	waitFor(t, "b completed", func() bool { return exists(filepath.Join(h.dir, "b.log.COMPLETED")) })
	if q, _ := filepath.Glob(a + ".QUARANTINED-*"); len(q) != 1 {
		t.Fatalf("quarantined: %v", q)
	}
	if len(h.rec.Events()) != 1 {
		t.Fatal("the file with a taken completed name was read")
	}
	if !strings.Contains(h.logs.String(), "already exists") {
		t.Fatal("reason not logged")
	}
}

func TestReplacedWhileStoppedIsQuarantined(t *testing.T) {
	dir := t.TempDir()
	props := map[string]string{"spoolDir": dir, "batchSize": "10"}
	h := newHarness(t, props)
	g := &gate{allow: 1}
	h.useGate(g)
	a := drop(t, dir, "a.log", numbered("a", 0, 30), time.Hour)
	h.start()
	waitFor(t, "held", func() bool { c, _ := g.state(); return c >= 2 })
	h.stop()
	os.Remove(a)
	drop(t, dir, "a.log", numbered("z", 0, 30), time.Hour)

	h2 := newHarness(t, props)
	h2.start()
	// The inode may be reused by the new file; its time and size tell.
	waitFor(t, "quarantine log", func() bool {
		return strings.Contains(h2.logs.String(), "while the agent was stopped, after its first 80 bytes were delivered")
	})
	if q, _ := filepath.Glob(a + ".QUARANTINED-*"); len(q) != 1 {
		t.Fatalf("quarantined: %v", q)
	}
	if n := len(h2.rec.Events()); n != 0 {
		t.Fatalf("%d events from the replaced file", n)
	}
}

func TestEmptyFileYieldsOneEmptyEvent(t *testing.T) {
	h := newHarness(t, nil)
	drop(t, h.dir, "empty", "", time.Hour)
	h.start()
	if got := h.bodies(1); got[0] != "" {
		t.Fatalf("got %q", got)
	}
	waitFor(t, "completed", func() bool { return exists(filepath.Join(h.dir, "empty.COMPLETED")) })
}

func TestDecodeFailQuarantinesAfterDeliveringGoodLines(t *testing.T) {
	h := newHarness(t, nil)
	a := drop(t, h.dir, "bad.txt", "good\nbad \xff line\nnever\n", time.Hour)
	h.start()
	if got := h.bodies(1); got[0] != "good" {
		t.Fatalf("got %q", got)
	}
	// The log line names the byte; it is written after the file moved.
	waitFor(t, "quarantine log", func() bool {
		return strings.Contains(h.logs.String(), "bytes FF are not valid UTF-8 (decodeErrorPolicy FAIL) at byte 9")
	})
	if q, _ := filepath.Glob(a + ".QUARANTINED-*"); len(q) != 1 {
		t.Fatalf("quarantined: %v", q)
	}
	if len(h.rec.Events()) != 1 {
		t.Fatalf("events %d", len(h.rec.Events()))
	}
}

func TestNewFileNoticedWithoutWaitingForPoll(t *testing.T) {
	// pollDelay is an hour: only a file notification can wake the source.
	h := newHarness(t, map[string]string{"pollDelay": "3600000"})
	h.start()
	waitFor(t, "idle", func() bool { return strings.Contains(h.logs.String(), "spooldir source started") })
	// An old modification time, so settling does not hold it back.
	drop(t, h.dir, "late.txt", "late\n", 2*time.Hour)
	if got := h.bodies(1); got[0] != "late" {
		t.Fatalf("got %q", got)
	}
}

func TestSettlingHoldsBackFreshFiles(t *testing.T) {
	h := newHarness(t, map[string]string{"pollDelay": "60000"})
	drop(t, h.dir, "old", "x\n", time.Hour)
	drop(t, h.dir, "fresh", "y\n", 0)
	drop(t, h.dir, "future", "z\n", -time.Hour)
	cands := h.src.scan()
	h.src.seen = map[string]seenFile{}
	names := func(cs []candidate) string {
		var n []string
		for _, c := range cs {
			n = append(n, c.name)
		}
		sort.Strings(n)
		return strings.Join(n, ",")
	}
	if got := names(h.src.settled(append([]candidate(nil), cands...))); got != "old" {
		t.Fatalf("first scan: %s, want old", got)
	}
	// A minute later (pretend): the unchanged ones have settled.
	for p, sf := range h.src.seen {
		sf.at = sf.at.Add(-time.Minute)
		h.src.seen[p] = sf
	}
	if got := names(h.src.settled(append([]candidate(nil), cands...))); got != "fresh,future,old" {
		t.Fatalf("after settling: %s", got)
	}
}

func TestStartFailsOnAFileAsSpoolDir(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	h := newHarness(t, map[string]string{"spoolDir": f})
	err := h.src.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Fatalf("Start: %v", err)
	}
}

func TestMissingSpoolDirIsCreated(t *testing.T) {
	d := filepath.Join(t.TempDir(), "a", "b")
	h := newHarness(t, map[string]string{"spoolDir": d})
	h.start()
	if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
		t.Fatalf("not created: %v", err)
	}
}

func TestStopIsIdempotentAndSafeWithoutStart(t *testing.T) {
	h := newHarness(t, nil)
	h.stop()
	h.start()
	h.stop()
	h.stop()
	if err := h.src.Start(context.Background()); err != nil {
		t.Fatalf("restart after stop: %v", err)
	}
	if err := h.src.Start(context.Background()); err == nil {
		t.Fatal("second Start should fail")
	}
}

func TestCustomSuffixTrackerDirAndBlobs(t *testing.T) {
	tracker := filepath.Join(t.TempDir(), "state")
	h := newHarness(t, map[string]string{"fileSuffix": ".done", "trackerDir": tracker,
		"deserializer":               "org.apache.flume.sink.solr.morphline.BlobDeserializer$Builder",
		"deserializer.maxBlobLength": "4"})
	h.proc = checkProc{ChannelProcessor: h.rec, check: func() {
		// The position file lives in the configured tracker directory.
		if !exists(filepath.Join(tracker, metaFileName)) {
			t.Error("no position file in trackerDir while reading")
		}
	}}
	f := drop(t, h.dir, "img.bin", "\x00\x01\x02\x03\x04\x05", time.Hour)
	h.start()
	if got := h.bodies(2); got[0] != "\x00\x01\x02\x03" || got[1] != "\x04\x05" {
		t.Fatalf("blobs %q", got)
	}
	waitFor(t, "renamed with the suffix", func() bool { return exists(f + ".done") })
	if exists(filepath.Join(h.dir, ".flumespool")) {
		t.Error("default tracker directory created although trackerDir is set")
	}
}

// checkProc runs check before each hand-off.
type checkProc struct {
	sluice.ChannelProcessor
	check func()
}

func (c checkProc) ProcessRetry(ctx context.Context, ev []*sluice.Event, call sluice.Call, r sluice.Retry) error {
	c.check()
	return c.ChannelProcessor.ProcessRetry(ctx, ev, call, r)
}
