package spooldir

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2/ocf"
)

type metaRec struct {
	Offset int64 `avro:"offset"`
}

// writeFlumeTracker writes a position file the way Flume's
// DurablePositionTracker does: its schema, the file name in the metadata,
// and one block per stored position.
func writeFlumeTracker(t *testing.T, path, target string, offsets ...int64) {
	t.Helper()
	var buf bytes.Buffer
	enc, err := ocf.NewEncoder(trackerSchema, &buf, ocf.WithMetadata(map[string][]byte{"file": []byte(target)}))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range offsets {
		if err := enc.Encode(metaRec{Offset: o}); err != nil {
			t.Fatal(err)
		}
		if err := enc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTrackerFileIsAFlumePositionFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), metaFileName)
	st := trackerState{target: "/spool/a.log", ident: fileIdent{dev: 1, ino: 2, size: 3, mtime: 4}, hasIdent: true}
	tr, err := createTracker(p, st, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []int64{10, 20, 300000} {
		if err := tr.store(position{off: o}); err != nil {
			t.Fatal(err)
		}
	}
	tr.close()
	b, _ := os.ReadFile(p)
	dec, err := ocf.NewDecoder(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not an Avro container file: %v", err)
	}
	if got := string(dec.Metadata()["avro.schema"]); got != trackerSchema {
		t.Errorf("schema %s", got)
	}
	if got := string(dec.Metadata()["file"]); got != "/spool/a.log" {
		t.Errorf("file %q", got)
	}
	var last metaRec
	n := 0
	for dec.HasNext() {
		if err := dec.Decode(&last); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 || last.Offset != 300000 {
		t.Fatalf("%d records, last %d", n, last.Offset)
	}
	got, err := loadTracker(p)
	if err != nil || got.pos.off != 300000 || got.target != st.target || got.ident != st.ident || !got.hasIdent {
		t.Fatalf("load: %+v %v", got, err)
	}
}

func TestTrackerReadsFlumesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), metaFileName)
	writeFlumeTracker(t, p, "/spool/x", 5, 50, 500)
	st, err := loadTracker(p)
	if err != nil || st.target != "/spool/x" || st.pos.off != 500 || st.hasIdent {
		t.Fatalf("%+v %v", st, err)
	}
	writeFlumeTracker(t, p, "/spool/x") // header only: the start
	if st, err := loadTracker(p); err != nil || st.pos != (position{}) {
		t.Fatalf("%+v %v", st, err)
	}
}

func TestTrackerSurvivesATornAppend(t *testing.T) {
	p := filepath.Join(t.TempDir(), metaFileName)
	tr, err := createTracker(p, trackerState{target: "f"}, true)
	if err != nil {
		t.Fatal(err)
	}
	tr.store(position{off: 100, skip: 2})
	tr.store(position{off: 200, skip: 7})
	tr.close()
	b, _ := os.ReadFile(p)
	for cut := 1; cut < 19; cut++ {
		os.WriteFile(p, b[:len(b)-cut], 0o644)
		st, err := loadTracker(p)
		if err != nil || st.pos != (position{off: 100, skip: 2}) {
			t.Fatalf("cut %d: %+v %v", cut, st, err)
		}
	}
}

func TestTrackerCompacts(t *testing.T) {
	p := filepath.Join(t.TempDir(), metaFileName)
	tr, err := createTracker(p, trackerState{target: "f"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 150000; i++ {
		if err := tr.store(position{off: i * 1000}); err != nil {
			t.Fatal(err)
		}
	}
	tr.close()
	fi, _ := os.Stat(p)
	if fi.Size() > compactAt+64 {
		t.Fatalf("position file grew to %d bytes", fi.Size())
	}
	if st, err := loadTracker(p); err != nil || st.pos.off != 150000000 {
		t.Fatalf("%+v %v", st, err)
	}
}

func TestSourceTakesOverFlumesPositionFile(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, map[string]string{"spoolDir": dir})
	f := drop(t, dir, "a.log", numbered("a", 0, 10), time.Hour)
	os.MkdirAll(filepath.Join(dir, ".flumespool"), 0o755)
	writeFlumeTracker(t, filepath.Join(dir, ".flumespool", metaFileName), f, 8, 8*7)
	h.start()
	got := h.bodies(3)
	if strings.Join(got, ",") != "a000007,a000008,a000009" {
		t.Fatalf("got %q", got)
	}
}

func TestUnreadablePositionFileStartsOver(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, map[string]string{"spoolDir": dir})
	drop(t, dir, "a.log", "x\n", time.Hour)
	os.MkdirAll(filepath.Join(dir, ".flumespool"), 0o755)
	os.WriteFile(filepath.Join(dir, ".flumespool", metaFileName), []byte("garbage"), 0o644)
	h.start()
	if got := h.bodies(1); got[0] != "x" {
		t.Fatalf("got %q", got)
	}
	if !strings.Contains(h.logs.String(), "position file unreadable") {
		t.Fatal("not logged")
	}
}
