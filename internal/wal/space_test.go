package wal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDisk pretends dir sits on a file system of size bytes.
func fakeDisk(dir string, size int64) func(string) (uint64, error) {
	return func(string) (uint64, error) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return 0, err
		}
		used := int64(0)
		for _, e := range ents {
			if fi, err := e.Info(); err == nil {
				used += fi.Size()
			}
		}
		return uint64(max(0, size-used)), nil
	}
}

// On a disk with room for less than one configured segment, segments
// shrink to fit; when no further segment could follow, puts are refused
// (ErrNoSpace, not sticky) but takes still commit, rolling into the
// segment kept for them; once space is freed puts go on.
func TestWriterKeepsSpareSegmentForTakes(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var notes []string
	w := openWriter(t, dir, 64<<20, func(o *Options) {
		o.FreeSpace = fakeDisk(dir, 4<<20)
		o.KeepFree = 1 << 20
		o.OnSpace = func(e *NoSpaceError) {
			mu.Lock()
			defer mu.Unlock()
			if e == nil {
				notes = append(notes, "room")
			} else {
				notes = append(notes, "short")
			}
		}
	})
	put := payload(1, 100, strings.Repeat("x", 600))
	puts := 0
	for ; ; puts++ {
		if puts > 200 {
			t.Fatalf("%d puts of %d bytes on a 4 MiB disk, none refused", puts, len(put))
		}
		r := NewRequest(put, true)
		r.Put = true
		w.Submit(r)
		if err := r.Wait(); err != nil {
			var ns *NoSpaceError
			if !errors.As(err, &ns) || !errors.Is(err, ErrNoSpace) || ns.Dir != dir {
				t.Fatalf("put refused with %v, want a NoSpaceError for %s", err, dir)
			}
			if !strings.Contains(err.Error(), "free, a segment needs") {
				t.Errorf("error %q does not say how much is free and needed", err)
			}
			break
		}
	}
	if w.Err() != nil {
		t.Fatalf("the refusal is sticky: %v", w.Err())
	}
	segsAt := func() int {
		segs, _, err := ListSegments(dir, false)
		if err != nil {
			t.Fatal(err)
		}
		return len(segs)
	}
	before := segsAt()
	// Takes: more than what is left of the current segment, so they roll
	// into the spare one.
	ptrs := make([]Ptr, 1000)
	take := AppendCommit(AppendTake(nil, ptrs), RecTake, len(ptrs), 2)
	for i := 0; i < 20; i++ {
		r := NewRequest(take, false)
		w.Submit(r)
		if err := r.Wait(); err != nil {
			t.Fatalf("take %d refused with puts refused: %v", i, err)
		}
	}
	if got := segsAt(); got != before+1 {
		t.Errorf("segments %d → %d: the takes did not roll into the spare segment", before, got)
	}
	r := NewRequest(put, true)
	r.Put = true
	w.Submit(r)
	if err := r.Wait(); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("put after the takes: %v, want still refused", err)
	}
	// Free space: delete the oldest segment, as a checkpoint would.
	segs, _, _ := ListSegments(dir, false)
	if err := os.Remove(filepath.Join(dir, SegmentName(segs[0].ID))); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		r := NewRequest(put, true)
		r.Put = true
		w.Submit(r)
		if err := r.Wait(); err != nil {
			t.Fatalf("put %d after space was freed: %v", i, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(notes) == 0 || notes[0] != "short" || !strings.Contains(strings.Join(notes, ","), "room") {
		t.Errorf("OnSpace calls %v, want short, then room once space was freed", notes)
	}
	t.Logf("%d puts before the refusal; OnSpace: %v", puts, notes)
}

// A put and a take gathered into one group commit when the segment is
// full: the put's roll is refused (no segment could follow), the take
// still rolls into the kept segment.
func TestRefusedPutRollDoesNotBlockTakeInSameFrame(t *testing.T) {
	dir := t.TempDir()
	var armed sync.Mutex // held while the writer must wait in its fsync
	var wantBlock atomicBool
	w := openWriter(t, dir, 64<<20, func(o *Options) {
		o.FreeSpace = fakeDisk(dir, 4<<20)
		o.KeepFree = 1 << 20
		o.beforeSync = func() {
			if wantBlock.get() {
				armed.Lock()
				armed.Unlock()
			}
		}
	})
	put := payload(1, 100, strings.Repeat("x", 600))
	for i := 0; ; i++ {
		if i > 200 {
			t.Fatal("no put refused")
		}
		r := NewRequest(put, true)
		r.Put = true
		w.Submit(r)
		if r.Wait() != nil {
			break
		}
	}
	// Hold the writer in an fsync, queue a put and a take that does not
	// fit in what is left of the segment, then let it go: one frame.
	armed.Lock()
	wantBlock.set(true)
	hold := NewRequest(AppendCommit(nil, RecTake, 0, 3), true)
	w.Submit(hold)
	time.Sleep(50 * time.Millisecond) // let the writer reach the fsync (not an assertion)
	p := NewRequest(put, true)
	p.Put = true
	w.Submit(p)
	ptrs := make([]Ptr, 10000)
	tk := NewRequest(AppendCommit(AppendTake(nil, ptrs), RecTake, len(ptrs), 4), false)
	w.Submit(tk)
	wantBlock.set(false)
	armed.Unlock()
	if err := hold.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); !errors.Is(err, ErrNoSpace) {
		t.Errorf("put: %v, want refused for lack of space", err)
	}
	if err := tk.Wait(); err != nil {
		t.Errorf("take of %d bytes refused with the put: %v", len(tk.Data), err)
	}
}

type atomicBool struct {
	mu sync.Mutex
	v  bool
}

func (b *atomicBool) get() bool  { b.mu.Lock(); defer b.mu.Unlock(); return b.v }
func (b *atomicBool) set(v bool) { b.mu.Lock(); b.v = v; b.mu.Unlock() }
