package taildir

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestLinesCRLFAndUnterminatedLastLine(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	appendTo(t, p, "one\r\ntwo\n\nthree")
	h := newHarness(t, dir, `app\.log`, nil)
	h.start()
	if got := h.waitBodies(3); strings.Join(got, "|") != "one|two|" {
		t.Fatalf("got %q", got)
	}
	// The unterminated line waits for its end.
	appendTo(t, p, " and more\nfour\n")
	if got := h.waitBodies(5); strings.Join(got[3:], "|") != "three and more|four" {
		t.Fatalf("got %q", got)
	}
}

func TestOnlyMatchingFiles(t *testing.T) {
	dir := t.TempDir()
	appendTo(t, filepath.Join(dir, "a.log"), "a\n")
	appendTo(t, filepath.Join(dir, "b.txt"), "b\n")
	appendTo(t, filepath.Join(dir, "xa.log"), "xa\n") // the pattern must match the whole name
	os.Mkdir(filepath.Join(dir, "d.log"), 0o755)
	h := newHarness(t, dir, `a\.log`, nil)
	h.start()
	h.waitBodies(1)
	appendTo(t, filepath.Join(dir, "a.log"), "a2\n")
	if got := h.waitBodies(2); strings.Join(got, "|") != "a|a2" {
		t.Fatalf("got %q", got)
	}
}

func TestHeaders(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	appendTo(t, p, "l1\nline2\n")
	h := newHarness(t, dir, `.*\.log`, map[string]string{
		"headers.f1.env": "prod", "headers.f1.team": "core", "byteOffsetHeader": "true",
		"fileHeader": "true", "fileHeaderKey": "path",
	})
	h.start()
	h.waitBodies(2)
	ev, _ := h.rec.snapshot()
	want := map[string]string{"env": "prod", "team": "core", "byteoffset": "3", "path": p}
	if !reflect.DeepEqual(ev[1].Headers, want) {
		t.Fatalf("headers %v, want %v", ev[1].Headers, want)
	}
	if ev[0].Headers["byteoffset"] != "0" {
		t.Fatalf("first offset %q", ev[0].Headers["byteoffset"])
	}
}

func TestNewFilesAreFollowed(t *testing.T) {
	dir := t.TempDir()
	// Long polls: only notifications make this quick, polling still works.
	h := newHarness(t, dir, `.*\.log`, map[string]string{"backoffSleepIncrement": "1000", "maxBackoffSleep": "5000"})
	h.start()
	appendTo(t, filepath.Join(dir, "late.log"), "late\n")
	if got := h.waitBodies(1); got[0] != "late" {
		t.Fatalf("got %q", got)
	}
}

func readPositions(t *testing.T, p string) []posEntry {
	t.Helper()
	e, err := loadPositions(p)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestPositionsAdvanceOnlyOnCommit(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	appendTo(t, p, numbered("l", 0, 30))
	h := newHarness(t, dir, `app\.log`, map[string]string{"batchSize": "10"})
	h.rec.setRefuse(true)
	h.start()
	waitFor(t, "a refusal", func() bool { _, c := h.rec.snapshot(); return c >= 1 })
	h.stop()
	if e := readPositions(t, h.pos); len(e) != 1 || e[0].Pos != 0 {
		t.Fatalf("positions after refusals %+v, want 0", e)
	}
	h2 := newHarness(t, dir, `app\.log`, map[string]string{"batchSize": "10"})
	h2.start()
	if got := h2.waitBodies(30); !reflect.DeepEqual(got, numberedList("l", 0, 30)) {
		t.Fatalf("got %q", got)
	}
	h2.stop()
	e := readPositions(t, h2.pos)
	if len(e) != 1 || e[0].Pos != 30*7 || e[0].File != p || e[0].Inode != inode(t, p) {
		t.Fatalf("positions %+v", e)
	}
}

// TestPositionsAreWrittenDuringAStall: what was committed before the
// channels started refusing is in the position file while the source waits
// (Flume writes on its own timer too), not only when it stops, so a kill -9
// during a long stall does not send it back further.
func TestPositionsAreWrittenDuringAStall(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	appendTo(t, p, numbered("l", 0, 30))
	h := newHarness(t, dir, `app\.log`, map[string]string{"batchSize": "10", "writePosInterval": "20"})
	h.rec.accept = 2
	h.start()
	defer h.stop()
	waitFor(t, "the position of two batches in the position file during the stall", func() bool {
		e, err := loadPositions(h.pos)
		return err == nil && len(e) == 1 && e[0].Pos == 20*7
	})
	if _, calls := h.rec.snapshot(); calls < 3 {
		t.Fatalf("%d deliveries: the source was not refused yet", calls)
	}
}

// A source feeding a full channel: each refused batch is counted once, by
// the core (ChannelWriteFail = AppendBatchReceived - AppendBatchAccepted),
// and once the channel takes batches again every line arrives exactly once.
func TestFullChannelCountedOnceNothingLost(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	appendTo(t, a, numbered("a", 0, 45))
	appendTo(t, b, numbered("b", 0, 5))
	h := newHarness(t, dir, `.*\.log`, map[string]string{"batchSize": "10"})
	h.rec.accept = 2
	h.start()
	waitFor(t, "five refusals", func() bool { _, c := h.rec.snapshot(); return c >= 2+5 })
	h.rec.mu.Lock()
	h.rec.accept, h.rec.refuse = 0, false
	h.rec.mu.Unlock()
	got := h.waitBodies(50)
	h.stop()
	if got = h.rec.bodies(); len(got) != 50 {
		t.Fatalf("%d events, want 50 (a duplicate?)", len(got))
	}
	var gotA, gotB []string
	for _, l := range got {
		if strings.HasPrefix(l, "a") {
			gotA = append(gotA, l)
		} else {
			gotB = append(gotB, l)
		}
	}
	if !reflect.DeepEqual(gotA, numberedList("a", 0, 45)) || !reflect.DeepEqual(gotB, numberedList("b", 0, 5)) {
		t.Fatalf("lines lost, repeated or out of order: %q", got)
	}
	sc := h.src.counters
	_, calls := h.rec.snapshot()
	recv, acc, fail := sc.AppendBatchReceived.Load(), sc.AppendBatchAccepted.Load(), sc.ChannelWriteFail.Load()
	if fail < 5 || fail != recv-acc || recv != int64(calls) {
		t.Fatalf("ChannelWriteFail %d, AppendBatchReceived %d, AppendBatchAccepted %d after %d attempts: want ChannelWriteFail = received - accepted",
			fail, recv, acc, calls)
	}
	if sc.EventAccepted.Load() != 50 {
		t.Fatalf("EventAccepted %d, want 50", sc.EventAccepted.Load())
	}
}

func TestResumeFromAFlumePositionFile(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	appendTo(t, a, "a1\na2\na3\n")
	appendTo(t, b, "b1\nb2\n")
	pos := filepath.Join(dir, "state", "taildir_position.json")
	os.MkdirAll(filepath.Dir(pos), 0o755)
	// As Flume writes it (Gson): a at "a2", b under another path (so unused).
	flume := `[{"inode":` + itoa(inode(t, a)) + `,"pos":3,"file":"` + a + `"},` +
		`{"inode":` + itoa(inode(t, b)) + `,"pos":3,"file":"/elsewhere/b.log"}]`
	os.WriteFile(pos, []byte(flume), 0o644)
	h := newHarness(t, dir, `.*\.log`, nil)
	h.start()
	got := h.waitBodies(4)
	sort.Strings(got)
	if strings.Join(got, ",") != "a2,a3,b1,b2" {
		t.Fatalf("got %q", got)
	}
}

func itoa(v uint64) string { b, _ := json.Marshal(v); return string(b) }

func TestSkipToEndOnlyForFilesPresentAtStart(t *testing.T) {
	dir := t.TempDir()
	appendTo(t, filepath.Join(dir, "old.log"), "old1\n")
	h := newHarness(t, dir, `.*\.log`, map[string]string{"skipToEnd": "true"})
	h.start()
	waitFor(t, "following old.log", func() bool { return strings.Contains(h.logs.String(), "following file") })
	appendTo(t, filepath.Join(dir, "old.log"), "old2\n")
	appendTo(t, filepath.Join(dir, "new.log"), "new1\n")
	got := h.waitBodies(2)
	sort.Strings(got)
	if strings.Join(got, ",") != "new1,old2" {
		t.Fatalf("got %q", got)
	}
}

func TestRotationByRenameLosesNothingAndRepeatsNothing(t *testing.T) {
	for _, pattern := range []string{`app\.log`, `app\.log.*`} {
		t.Run(pattern, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "app.log")
			w, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			h := newHarness(t, dir, pattern, nil)
			h.start()
			w.WriteString(numbered("x", 0, 100))
			h.waitBodies(100)
			// logrotate: rename, create the new file; the application
			// goes on writing to the old one until it reopens.
			if err := os.Rename(p, p+".1"); err != nil {
				t.Fatal(err)
			}
			appendTo(t, p, numbered("y", 0, 50))
			w.WriteString(numbered("x", 100, 150))
			got := h.waitBodies(150)
			waitFor(t, "all", func() bool { return len(h.rec.bodies()) >= 150 })
			sorted := append([]string(nil), got...)
			sort.Strings(sorted)
			want := append(numberedList("x", 0, 150), numberedList("y", 0, 50)...)
			sort.Strings(want)
			// Exactly once: wait a little for any duplicate to show.
			waitFor(t, "200 events", func() bool { return len(h.rec.bodies()) >= 200 })
			h.stop()
			got = h.rec.bodies()
			sort.Strings(got)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %d events, want the 200 written once each", len(got))
			}
			// The renamed file is in the position file under its new name.
			found := false
			for _, e := range readPositions(t, h.pos) {
				found = found || (e.File == p+".1" && e.Pos == 150*7)
			}
			if !found {
				t.Fatalf("position file %+v lacks app.log.1", readPositions(t, h.pos))
			}
		})
	}
}

func TestCopyTruncate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	appendTo(t, p, numbered("a", 0, 20))
	h := newHarness(t, dir, `app\.log`, map[string]string{"batchSize": "5"})
	h.start()
	h.waitBodies(20)
	// Truncated, then a few lines (shorter than the old position).
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	appendTo(t, p, "b1\nb2\n")
	if got := h.waitBodies(22); strings.Join(got[20:], ",") != "b1,b2" {
		t.Fatalf("after a truncation: %q", got[20:])
	}
	// Truncated and written past the old position before the source
	// looks: the bytes before the position tell.
	h.rec.setRefuse(true)
	appendTo(t, p, numbered("c", 0, 5)) // one full batch, held
	waitFor(t, "a held batch", func() bool { _, c := h.rec.snapshot(); return c >= 7 })
	os.Truncate(p, 0)
	appendTo(t, p, numbered("d", 0, 40))
	h.rec.setRefuse(false)
	got := h.waitBodies(22 + 5 + 40)
	if !reflect.DeepEqual(got[27:], numberedList("d", 0, 40)) {
		t.Fatalf("after truncate and regrowth: %q...", got[27:29])
	}
	if !strings.Contains(h.logs.String(), "reading it again from the start") {
		t.Fatal("restart not logged")
	}
}

func TestIdleFileDeliversItsLastLineAndCloses(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	appendTo(t, p, "done\npartial")
	h := newHarness(t, dir, `app\.log`, map[string]string{"idleTimeout": "100"})
	h.start()
	if got := h.waitBodies(2); strings.Join(got, "|") != "done|partial" {
		t.Fatalf("got %q", got)
	}
	waitFor(t, "closed", func() bool { return strings.Contains(h.logs.String(), "closed idle file") })
	appendTo(t, p, "after\n")
	if got := h.waitBodies(3); got[2] != "after" {
		t.Fatalf("after reopening: %q", got)
	}
}

func TestDeletedFileIsDrained(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	w, _ := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	defer w.Close()
	w.WriteString("1\n")
	h := newHarness(t, dir, `app\.log`, nil)
	h.start()
	h.waitBodies(1)
	os.Remove(p)
	w.WriteString("2\n3\n")
	if got := h.waitBodies(3); strings.Join(got, ",") != "1,2,3" {
		t.Fatalf("got %q", got)
	}
}

func TestRestartResumesARotatedFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	appendTo(t, p, "1\n2\n")
	h := newHarness(t, dir, `app\.log`, nil)
	h.start()
	h.waitBodies(2)
	os.Rename(p, p+".1")
	waitFor(t, "noticed", func() bool { return strings.Contains(h.logs.String(), "no longer matches") })
	h.stop()
	appendTo(t, p+".1", "3\n") // written after the stop, to the rotated file
	h2 := newHarness(t, dir, `app\.log`, nil)
	h2.start()
	if got := h2.waitBodies(1); got[0] != "3" {
		t.Fatalf("got %q", got)
	}
}

func TestMaxBatchCountInterleavesFiles(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	appendTo(t, a, numbered("a", 0, 30))
	appendTo(t, b, numbered("b", 0, 30))
	old := time.Now().Add(-time.Hour)
	os.Chtimes(a, old, old)
	h := newHarness(t, dir, `.*\.log`, map[string]string{"batchSize": "10", "maxBatchCount": "1"})
	h.start()
	got := h.waitBodies(60)
	var firsts []string
	for i := 0; i < 60; i += 10 {
		firsts = append(firsts, got[i][:1])
	}
	if strings.Join(firsts, "") != "ababab" {
		t.Fatalf("batches from %v, want alternating (oldest first)", firsts)
	}
}

func TestPositionFileIsFlumeJSONWrittenAtomically(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	appendTo(t, p, "x\n")
	h := newHarness(t, dir, `app\.log`, nil)
	h.start()
	h.waitBodies(1)
	h.stop()
	b, _ := os.ReadFile(h.pos)
	want := `[{"inode":` + itoa(inode(t, p)) + `,"pos":2,"file":"` + p + `"}]`
	if string(b) != want {
		t.Fatalf("position file %s\nwant %s", b, want)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(h.pos), ".*tmp*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestUnreadablePositionFileIsSetAside(t *testing.T) {
	dir := t.TempDir()
	appendTo(t, filepath.Join(dir, "app.log"), "x\n")
	h := newHarness(t, dir, `app\.log`, nil)
	os.MkdirAll(filepath.Dir(h.pos), 0o755)
	os.WriteFile(h.pos, []byte(`[{"inode":1,"pos":`), 0o644)
	h.start()
	h.waitBodies(1)
	if _, err := os.Stat(h.pos + ".unreadable"); err != nil {
		t.Fatal("bad position file not kept aside")
	}
}

func TestMissingDirectoryIsWaitedFor(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "later")
	h := newHarness(t, sub, `.*\.log`, map[string]string{"positionFile": filepath.Join(dir, "pos.json")})
	h.start()
	os.Mkdir(sub, 0o755)
	appendTo(t, filepath.Join(sub, "x.log"), "hello\n")
	if got := h.waitBodies(1); got[0] != "hello" {
		t.Fatalf("got %q", got)
	}
}

func TestStartFailsOnAnUnwritablePositionFile(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	h := newHarness(t, dir, `.*\.log`, map[string]string{"positionFile": filepath.Join(blocker, "pos.json")})
	if err := h.src.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Fatalf("Start: %v", err)
	}
}

func TestWithoutPatternCacheNewFilesAreFound(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, dir, `.*\.log`, map[string]string{"cachePatternMatching": "false"})
	h.start()
	for i := 0; i < 3; i++ {
		appendTo(t, filepath.Join(dir, "f"+itoa(uint64(i))+".log"), "x\n")
	}
	if got := h.waitBodies(3); strings.Join(got, "") != "xxx" {
		t.Fatalf("got %q", got)
	}
}

// A file renamed while the agent was stopped, once or twice (app.log →
// app.log.1 → app.log.2), with lines written to it after the stop and a
// new app.log: the rest of the old file is found by its inode and read
// before the new file, nothing lost, nothing read twice.
func TestRestartFinishesAFileRenamedWhileStopped(t *testing.T) {
	for _, renames := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d renames", renames), func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "app.log")
			appendTo(t, p, numbered("a", 0, 5))
			h := newHarness(t, dir, `app\.log`, map[string]string{"writePosInterval": "10"})
			h.start()
			h.waitBodies(5)
			h.stop()
			appendTo(t, p, numbered("a", 5, 8)) // written while stopped, then rotated away
			for i := 1; i <= renames; i++ {
				from := p
				if i > 1 {
					from = fmt.Sprintf("%s.%d", p, i-1)
				}
				if err := os.Rename(from, fmt.Sprintf("%s.%d", p, i)); err != nil {
					t.Fatal(err)
				}
			}
			appendTo(t, p, numbered("b", 0, 3)) // the new file
			h2 := newHarness(t, dir, `app\.log`, nil)
			h2.start()
			got := h2.waitBodies(6)
			want := append(numberedList("a", 5, 8), numberedList("b", 0, 3)...)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("got %q, want %q", got, want)
			}
			if !strings.Contains(h2.logs.String(), "renamed while the agent was stopped") {
				t.Errorf("no log line saying where the file went:\n%s", h2.logs.String())
			}
		})
	}
}
