package wal

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluiceio/sluice"
)

func openWriter(t *testing.T, dir string, size int64, tweak func(*Options)) *Writer {
	t.Helper()
	var id atomic.Uint32
	opts := Options{Dir: dir, SegmentSize: size, NextID: func() uint32 { return id.Add(1) }, FirstSeq: 1, SyncEvery: time.Hour}
	if tweak != nil {
		tweak(&opts)
	}
	w, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// payload builds one transaction's records: n puts and a commit.
func payload(txn uint64, n int, body string) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		b = AppendPut(b, &sluice.Event{Headers: map[string]string{"i": fmt.Sprint(i)}, Body: []byte(body)})
	}
	return AppendCommit(b, RecPut, n, txn)
}

type scanned struct {
	seg  uint32
	off  uint32
	typ  byte
	body string
}

func scanDir(t *testing.T, dir string) ([]scanned, []ScanEnd, error) {
	t.Helper()
	segs, _, err := ListSegments(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	var out []scanned
	var ends []ScanEnd
	var sc Scanner
	var seq uint64
	for _, s := range segs {
		end, err := sc.Scan(s.Path, s.ID, HeaderSize, seq, func(off uint32, r Record) error {
			out = append(out, scanned{seg: s.ID, off: off, typ: r.Type, body: string(r.Body)})
			return nil
		})
		ends = append(ends, end)
		if err != nil {
			return out, ends, err
		}
		if end.Frames > 0 {
			seq = end.LastSeq
		}
	}
	return out, ends, nil
}

// Requests that arrive while an fsync is in progress share the next one.
func TestGroupCommitSharesFsync(t *testing.T) {
	release := make(chan struct{})
	var syncs atomic.Int32
	w := openWriter(t, t.TempDir(), 1<<20, func(o *Options) {
		o.beforeSync = func() {
			if syncs.Add(1) == 1 {
				<-release
			}
		}
	})
	first := NewRequest(payload(1, 3, "a"), true)
	w.Submit(first)
	for syncs.Load() == 0 {
		time.Sleep(time.Millisecond) // until the writer sits in the first fsync
	}
	const n = 10
	reqs := make([]*Request, n)
	for i := range reqs {
		reqs[i] = NewRequest(payload(uint64(i+2), 2, "b"), true)
		w.Submit(reqs[i])
	}
	close(release)
	for _, r := range append(reqs, first) {
		if err := r.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if got := syncs.Load(); got != 2 {
		t.Fatalf("%d fsyncs for 1+%d commits that arrived during the first one, want 2", got, n)
	}
	// All ten went into one frame, back to back, in submission order.
	for i := 1; i < n; i++ {
		if reqs[i].Seg != reqs[0].Seg || reqs[i].Off != reqs[i-1].Off+uint32(len(reqs[i-1].Data)) {
			t.Fatalf("request %d at %d/%d, not right after %d/%d", i, reqs[i].Seg, reqs[i].Off, reqs[i-1].Seg, reqs[i-1].Off)
		}
	}
	recs, ends, err := scanDir(t, w.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if ends[0].Frames != 2 || len(recs) != 3+1+n*3 {
		t.Fatalf("%d frames, %d records", ends[0].Frames, len(recs))
	}
}

// A request that does not ask for an fsync is acknowledged after the
// write, and fsync'd within SyncEvery.
func TestUnsyncedRequestsSyncedWithinInterval(t *testing.T) {
	synced := make(chan struct{}, 10)
	w := openWriter(t, t.TempDir(), 1<<20, func(o *Options) {
		o.SyncEvery = 50 * time.Millisecond
		o.afterSync = func(*os.File) { synced <- struct{}{} }
	})
	r := NewRequest(AppendCommit(AppendTake(nil, []Ptr{MakePtr(1, 40)}), RecTake, 1, 7), false)
	w.Submit(r)
	if err := r.Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-synced:
	case <-time.After(30 * time.Second):
		t.Fatal("an unsynced write was never fsync'd")
	}
}

// Model of a power loss: what an fsync covered is on disk; of what was
// written after the last fsync, any subset of 512-byte sectors may be.
// Recovery must keep every record acknowledged after an fsync, and never
// call the result corruption.
func TestPowerLossKeepsSyncedRecords(t *testing.T) {
	for trial := 0; trial < 8; trial++ {
		seed := time.Now().UnixNano() + int64(trial)
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			dir := t.TempDir()
			const segSize = 64 << 10
			var mu sync.Mutex
			durable := map[string][]byte{}
			w := openWriter(t, dir, segSize, func(o *Options) {
				o.afterSync = func(f *os.File) {
					b, err := os.ReadFile(f.Name())
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					durable[filepath.Base(f.Name())] = b
					mu.Unlock()
				}
			})
			type acked struct {
				r    *Request
				sync bool
			}
			var amu sync.Mutex
			var done []acked
			var wg sync.WaitGroup
			var txn atomic.Uint64
			for g := 0; g < 6; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < 40; i++ {
						sync := (g+i)%3 != 0
						r := NewRequest(payload(txn.Add(1), 1+(g*7+i)%9, fmt.Sprintf("g%d-i%d-%s", g, i, bytes.Repeat([]byte{'x'}, (g*31+i*17)%700))), sync)
						w.Submit(r)
						if err := r.Wait(); err != nil {
							t.Error(err)
							return
						}
						amu.Lock()
						done = append(done, acked{r, sync})
						amu.Unlock()
					}
				}(g)
			}
			wg.Wait()
			w.Abandon() // the power goes: nothing more is written or synced

			// Build the disk as the power loss left it.
			lost := t.TempDir()
			segs, _, _ := ListSegments(dir, false)
			for _, s := range segs {
				now, _ := os.ReadFile(s.Path)
				name := filepath.Base(s.Path)
				img, ok := durable[name]
				if !ok {
					// Never fsync'd after activation: header and zeros.
					img = append(appendSegHeader(nil, s.ID), make([]byte, len(now)-HeaderSize)...)
				}
				img = append([]byte(nil), img...)
				for sec := 0; sec < len(now); sec += 512 {
					end := min(sec+512, len(now))
					if !bytes.Equal(img[sec:end], now[sec:end]) && rng.Intn(2) == 0 {
						copy(img[sec:end], now[sec:end])
					}
				}
				if err := os.WriteFile(filepath.Join(lost, name), img, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			recs, ends, err := scanDir(t, lost)
			if err != nil {
				t.Fatalf("recovery after a power loss reported damage: %v", err)
			}
			for i, e := range ends[:len(ends)-1] {
				if e.Torn {
					t.Fatalf("segment %d of %d torn (%s): only the newest may be", i+1, len(ends), e.TornReason)
				}
			}
			at := map[[2]uint32]bool{}
			for _, r := range recs {
				at[[2]uint32{r.seg, r.off}] = true
			}
			for _, a := range done {
				if a.sync && !at[[2]uint32{a.r.Seg, a.r.Off}] {
					t.Fatalf("record of an fsync'd request at segment %d offset %d lost", a.r.Seg, a.r.Off)
				}
			}
			// Cutting the torn tail makes the log clean for the next run.
			if last := ends[len(ends)-1]; last.Torn {
				if err := CutTail(filepath.Join(lost, SegmentName(segs[len(segs)-1].ID)), last.End); err != nil {
					t.Fatal(err)
				}
				again, ends2, err := scanDir(t, lost)
				if err != nil || ends2[len(ends2)-1].Torn || len(again) != len(recs) {
					t.Fatalf("after cutting: %d records (was %d), %v, torn %v", len(again), len(recs), err, ends2[len(ends2)-1].Torn)
				}
			}
		})
	}
}

// writeSynced writes n fsync'd one-transaction frames and returns the
// requests.
func writeSynced(t *testing.T, dir string, n int) []*Request {
	t.Helper()
	w := openWriter(t, dir, 1<<20, nil)
	var out []*Request
	for i := 0; i < n; i++ {
		r := NewRequest(payload(uint64(i+1), 2, fmt.Sprintf("frame-%d", i)), true)
		w.Submit(r)
		if err := r.Wait(); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	w.Abandon()
	return out
}

func flip(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	f.ReadAt(b, off)
	b[0] ^= 0x5a
	f.WriteAt(b, off)
}

func TestDamageBeforeDurableDataIsCorruption(t *testing.T) {
	for _, tc := range []struct {
		name   string
		offset func(r *Request) int64 // within the first frame
	}{
		{"record body", func(r *Request) int64 { return int64(r.Off) + 20 }},
		{"record checksum", func(r *Request) int64 { return int64(r.Off) }},
		{"frame header", func(r *Request) int64 { return int64(r.Off) - FrameHeaderSize + 9 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			reqs := writeSynced(t, dir, 3)
			path := filepath.Join(dir, SegmentName(reqs[0].Seg))
			off := tc.offset(reqs[0])
			flip(t, path, off)
			_, _, err := scanDir(t, dir)
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("scan of a log damaged in its first frame: %v, want a CorruptError", err)
			}
			if ce.Path != path {
				t.Errorf("error names %s, want %s", ce.Path, path)
			}
			frameStart := int64(reqs[0].Off) - FrameHeaderSize
			if ce.Offset < frameStart || ce.Offset > off {
				t.Errorf("error at offset %d, want within [%d, %d]", ce.Offset, frameStart, off)
			}
			if want := fmt.Sprintf("%s at offset %d", path, ce.Offset); !bytes.Contains([]byte(err.Error()), []byte(want)) {
				t.Errorf("message %q does not contain %q", err, want)
			}
		})
	}
}

func TestTornTailIsCut(t *testing.T) {
	for _, tc := range []struct {
		name  string
		wreck func(t *testing.T, path string, last *Request)
	}{
		{"half-written last frame", func(t *testing.T, path string, last *Request) {
			// Zero the second half of the last frame: its pages never made it.
			f, _ := os.OpenFile(path, os.O_RDWR, 0)
			defer f.Close()
			half := int64(last.Off) + int64(len(last.Data))/2
			f.WriteAt(make([]byte, len(last.Data)/2+1), half)
		}},
		{"garbage after the last frame", func(t *testing.T, path string, last *Request) {
			f, _ := os.OpenFile(path, os.O_RDWR, 0)
			defer f.Close()
			f.WriteAt([]byte("SLWF\x10\x00\x00\x00garbage-garbage"), int64(last.Off)+int64(len(last.Data)))
		}},
		{"bit flip in the last frame", func(t *testing.T, path string, last *Request) {
			flip(t, path, int64(last.Off)+5)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			reqs := writeSynced(t, dir, 3)
			last := reqs[len(reqs)-1]
			path := filepath.Join(dir, SegmentName(last.Seg))
			tc.wreck(t, path, last)
			recs, ends, err := scanDir(t, dir)
			if err != nil {
				t.Fatal(err)
			}
			end := ends[len(ends)-1]
			wantFrames := 2
			if tc.name == "garbage after the last frame" {
				wantFrames = 3
			}
			if !end.Torn || end.Frames != wantFrames || len(recs) != wantFrames*3 {
				t.Fatalf("torn %v, %d frames, %d records; want torn, %d frames", end.Torn, end.Frames, len(recs), wantFrames)
			}
			if err := CutTail(path, end.End); err != nil {
				t.Fatal(err)
			}
			_, ends, err = scanDir(t, dir)
			if err != nil || ends[len(ends)-1].Torn {
				t.Fatalf("after cutting: %v, torn %v", err, ends[len(ends)-1].Torn)
			}
		})
	}
}

func TestRecordRoundTrip(t *testing.T) {
	ev := &sluice.Event{Headers: map[string]string{"host": "h1", "": "empty key", "k": ""}, Body: bytes.Repeat([]byte{0, 1, 0xff}, 300)}
	b := AppendPut(nil, ev)
	if len(b) != PutSize(ev) {
		t.Fatalf("PutSize %d, AppendPut wrote %d", PutSize(ev), len(b))
	}
	rec, err := ParseRecord(b)
	if err != nil || rec.Type != RecPut || rec.Size != len(b) {
		t.Fatalf("%+v %v", rec, err)
	}
	var got sluice.Event
	if err := DecodeEvent(rec.Body, &got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Body, ev.Body) || fmt.Sprint(got.Headers) != fmt.Sprint(ev.Headers) {
		t.Fatalf("round trip changed the event: %+v", got)
	}
	for i := range b {
		c := append([]byte(nil), b...)
		c[i] ^= 1
		if _, err := ParseRecord(c); err == nil {
			t.Fatalf("flipping a bit of byte %d went unnoticed", i)
		}
	}
	ptrs := []Ptr{MakePtr(3, 100), MakePtr(4, 1<<31)}
	tk, err := ParseRecord(AppendTake(nil, ptrs))
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseTake(nil, tk.Body)
	if err != nil || fmt.Sprint(back) != fmt.Sprint(ptrs) {
		t.Fatalf("take round trip: %v %v", back, err)
	}
}

// A request larger than a segment gets a segment of its own.
func TestOversizeRequestGetsOwnSegment(t *testing.T) {
	w := openWriter(t, t.TempDir(), 64<<10, nil)
	small := NewRequest(payload(1, 1, "s"), true)
	w.Submit(small)
	big := NewRequest(payload(2, 1, string(bytes.Repeat([]byte{'b'}, 100<<10))), true)
	w.Submit(big)
	after := NewRequest(payload(3, 1, "a"), true)
	w.Submit(after)
	for _, r := range []*Request{small, big, after} {
		if err := r.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if big.Seg == small.Seg || after.Seg == big.Seg {
		t.Fatalf("segments: small %d, big %d, after %d", small.Seg, big.Seg, after.Seg)
	}
	recs, _, err := scanDir(t, w.Dir())
	if err != nil || len(recs) != 6 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
}

// An event logged without headers is read back without allocating a map.
func TestDecodeHeaderlessEventAllocatesNothing(t *testing.T) {
	rec := AppendPut(nil, &sluice.Event{Body: []byte("body")})
	body := rec[RecordHeaderSize:]
	var ev sluice.Event
	if err := DecodeEvent(body, &ev); err != nil {
		t.Fatal(err)
	}
	if string(ev.Body) != "body" || len(ev.Headers) != 0 {
		t.Fatalf("decoded %q with headers %v", ev.Body, ev.Headers)
	}
	if n := testing.AllocsPerRun(100, func() { _ = DecodeEvent(body, &ev) }); n != 0 {
		t.Fatalf("%v allocations per header-less event, want 0", n)
	}
}

// Opening a log zero-fills a small first segment only; the ones after it
// are full size, and records written past the first one's end roll into
// the next, all read back in order.
func TestFirstSegmentIsSmall(t *testing.T) {
	const full = 3 * firstSegmentMax
	w := openWriter(t, t.TempDir(), full, nil)
	body := string(bytes.Repeat([]byte{'x'}, 64<<10))
	var reqs []*Request
	for i := 0; i < 2*firstSegmentMax/len(body); i++ {
		r := NewRequest(payload(uint64(i+1), 1, body), true)
		w.Submit(r)
		if err := r.Wait(); err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, r)
	}
	first, last := reqs[0].Seg, reqs[len(reqs)-1].Seg
	if first == last {
		t.Fatalf("%d bytes all went to segment %d", 2*firstSegmentMax, first)
	}
	segs, _, err := ListSegments(w.Dir(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs {
		st, err := os.Stat(s.Path)
		if err != nil {
			t.Fatal(err)
		}
		want := int64(full)
		if s.ID == first {
			want = firstSegmentMax
		}
		if st.Size() != want {
			t.Fatalf("segment %d is %d bytes, want %d", s.ID, st.Size(), want)
		}
	}
	recs, _, err := scanDir(t, w.Dir())
	if err != nil || len(recs) != 2*len(reqs) {
		t.Fatalf("%d records read back, want %d: %v", len(recs), 2*len(reqs), err)
	}
}
