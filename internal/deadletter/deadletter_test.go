package deadletter

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluiceio/sluice"
	"github.com/sluiceio/sluice/internal/sinkloop"
	"github.com/sluiceio/sluice/sluicetest"
)

func TestDirWritesOneRecordPerEventAndRolls(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dead")
	d := &Dir{Path: dir, Sink: "k1", MaxFileSize: 200}
	text := &sluice.Event{Headers: map[string]string{"id": "7"}, Body: []byte("not json")}
	bin := &sluice.Event{Body: []byte{0xff, 0x00, 0xfe}}
	for range 3 {
		if err := d.Put(context.Background(), []sinkloop.Rejected{{Event: text, Reason: "mapper_parsing_exception"}, {Event: bin, Reason: "too large"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "k1-*.jsonl"))
	if len(files) < 2 {
		t.Fatalf("want the file rolled past 200 bytes, got %v", files)
	}
	var recs []Record
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var r Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			recs = append(recs, r)
		}
		fh.Close()
	}
	if len(recs) != 6 {
		t.Fatalf("%d records, want 6", len(recs))
	}
	if r := recs[0]; r.Sink != "k1" || r.Reason != "mapper_parsing_exception" || r.Body == nil || *r.Body != "not json" || r.Headers["id"] != "7" {
		t.Errorf("first record %+v", r)
	}
	if r := recs[1]; r.Body != nil || r.BodyBase64 != "/wD+" {
		t.Errorf("binary body record %+v", r)
	}
}

func TestChannelCopiesWithTheReason(t *testing.T) {
	ch := sluicetest.NewChannel()
	c := &Channel{Name: "dlq", Channel: ch, Sink: "k1"}
	e := sluice.NewEvent([]byte("x"))
	if err := c.Put(context.Background(), []sinkloop.Rejected{{Event: e, Reason: "bad"}}); err != nil {
		t.Fatal(err)
	}
	tx := ch.Begin()
	got, _ := tx.Take(10)
	_ = tx.Commit()
	if len(got) != 1 || got[0].Headers[ReasonHeader] != "bad" || got[0].Headers[SinkHeader] != "k1" {
		t.Fatalf("got %+v", got)
	}
	if len(e.Headers) != 0 {
		t.Error("the original event was changed")
	}
}

func TestConfigRefusesBoth(t *testing.T) {
	c := Defaults()
	c.Directory, c.Channel = "/tmp/x", "c2"
	if c.Validate() == nil {
		t.Error("directory and channel together accepted")
	}
}
