package wal

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// Salvage keeps every intact record at its offset, whatever was damaged:
// a record (set aside as one skip record), a frame header (rewritten), the
// segment header (rewritten). The repaired segment scans cleanly.
func TestRepairSegmentKeepsIntactRecords(t *testing.T) {
	for _, tc := range []struct {
		name      string
		offset    func(r *Request) int64 // in the second of three frames
		wantRecs  int                    // records scanned after repair (9 before)
		wantSpans int
	}{
		{"record body", func(r *Request) int64 { return int64(r.Off) + 20 }, 8, 1},
		{"record length", func(r *Request) int64 { return int64(r.Off) + 5 }, 8, 1},
		{"frame header", func(r *Request) int64 { return int64(r.Off) - FrameHeaderSize + 9 }, 9, 0},
		{"segment header", func(r *Request) int64 { return 10 }, 9, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			reqs := writeSynced(t, dir, 3)
			path := filepath.Join(dir, SegmentName(reqs[1].Seg))
			before, _, err := scanDir(t, dir)
			if err != nil || len(before) != 9 {
				t.Fatalf("before damage: %d records, %v", len(before), err)
			}
			flip(t, path, tc.offset(reqs[1]))
			if _, _, err := scanDir(t, dir); err == nil {
				t.Fatal("damage not found by the scan")
			}
			res, err := RepairSegment(path, reqs[1].Seg, 0, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Spans) != tc.wantSpans || res.Torn {
				t.Fatalf("repair: %+v", res)
			}
			for _, s := range res.Spans {
				if _, err := os.Stat(s.Saved); err != nil {
					t.Errorf("damaged bytes not saved: %v", err)
				}
			}
			after, ends, err := scanDir(t, dir)
			if err != nil || ends[len(ends)-1].Torn {
				t.Fatalf("scan after repair: %v, %+v", err, ends)
			}
			// Every record that was not damaged is there, at its offset.
			var kept []scanned
			for _, r := range after {
				if r.typ != RecSkip {
					kept = append(kept, r)
				}
			}
			if len(kept) != tc.wantRecs {
				t.Fatalf("%d records after repair, want %d: %+v", len(kept), tc.wantRecs, kept)
			}
			j := 0
			for _, r := range before {
				if j < len(kept) && r == kept[j] {
					j++
				}
			}
			if j != len(kept) {
				t.Errorf("records moved or changed by the repair:\nbefore %+v\nafter  %+v", before, kept)
			}
		})
	}
}

// A frame whose middle sector never reached the disk (a power loss wrote
// its later pages but not that one) is a torn write, even though the
// records after the damaged one check out: it is not refused as damage.
func TestUnwrittenSectorIsTornNotDamage(t *testing.T) {
	dir := t.TempDir()
	w := openWriter(t, dir, 1<<20, nil)
	var last *Request
	for i := 0; i < 2; i++ {
		big := make([]byte, 3000)
		for j := range big {
			big[j] = 'x'
		}
		last = NewRequest(append(payload(uint64(2*i+1), 1, string(big)), payload(uint64(2*i+2), 1, "small")...), true)
		w.Submit(last)
		if err := last.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	w.Abandon()
	path := filepath.Join(dir, SegmentName(last.Seg))
	// Zero one whole 512-byte sector inside the big record of the last frame.
	at := (int64(last.Off) + 1024) &^ 511
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, 512), at); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, ends, err := scanDir(t, dir)
	if err != nil || !ends[len(ends)-1].Torn {
		t.Fatalf("a frame with an unwritten sector: %v, torn %v; want a torn tail", err, ends[len(ends)-1].Torn)
	}
}

// Random damage — a few bytes anywhere, or a zeroed stretch — never makes
// salvage fail or panic, and the repaired log always scans (or ends in a
// torn tail the channel cuts).
func TestRepairSegmentRandomDamage(t *testing.T) {
	dir := t.TempDir()
	reqs := writeSynced(t, dir, 40)
	path := filepath.Join(dir, SegmentName(reqs[0].Seg))
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	end := int(reqs[len(reqs)-1].Off) + len(reqs[len(reqs)-1].Data)
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 120; i++ {
		b := bytes.Clone(orig)
		switch i % 3 {
		case 0:
			for k := 0; k < 1+rng.Intn(4); k++ {
				b[rng.Intn(end)] ^= byte(1 + rng.Intn(255))
			}
		case 1:
			at := HeaderSize + rng.Intn(end-HeaderSize)
			clear(b[at:min(end, at+1+rng.Intn(300))])
		case 2:
			at := HeaderSize + rng.Intn(end-HeaderSize)
			for k := at; k < min(end, at+1+rng.Intn(64)); k++ {
				b[k] = byte(rng.Intn(256))
			}
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, f := range mustGlob(t, path+".damaged-*") {
			os.Remove(f)
		}
		if _, err := RepairSegment(path, reqs[0].Seg, 0, true); err != nil {
			t.Fatalf("case %d: repair: %v", i, err)
		}
		if _, _, err := scanDir(t, dir); err != nil {
			t.Fatalf("case %d: scan after repair: %v", i, err)
		}
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
