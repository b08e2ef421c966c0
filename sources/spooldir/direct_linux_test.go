package spooldir

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// diskDir is a directory on the disk that holds the package, not on /tmp,
// which may be a tmpfs (no direct I/O, nothing to evict).
func diskDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp(".", ".direct-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// writeEvicted writes content, syncs it and drops its pages from the page
// cache, as a file written long ago would be.
func writeEvicted(t *testing.T, path, content string, evict bool) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if evict {
		const fadvDontNeed = 4
		if _, _, e := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, fadvDontNeed, 0, 0); e != 0 {
			t.Fatal(e)
		}
	}
}

// TestDirectReads reads a file that is not in the page cache: the chunks
// come through O_DIRECT, and the lines are exactly those written, also
// when reading resumes at an offset that is not a multiple of a page. A
// cached file is read from the cache.
func TestDirectReads(t *testing.T) {
	dir := diskDir(t)
	var b strings.Builder
	for i := 0; b.Len() < 3<<20+12345; i++ {
		fmt.Fprintf(&b, "line %d %s\n", i, strings.Repeat("x", i%200))
	}
	content := b.String()
	want := strings.Split(strings.TrimSuffix(content, "\n"), "\n")
	resume := int64(len(want[0]) + len(want[1]) + 2) // the start of line 2

	for _, tt := range []struct {
		name       string
		evict      bool
		off        int64
		skipLines  int
		wantDirect bool
	}{
		{"evicted", true, 0, 0, true},
		{"evicted, resumed mid-page", true, resume, 2, true},
		{"cached", false, 0, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			writeEvicted(t, p, content, tt.evict)
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			if d := openDirect(f); d == nil {
				f.Close()
				t.Fatalf("cannot open %s with O_DIRECT on this file system", p)
			} else {
				d.close()
			}
			lr, err := newLineReader(f, tt.off, csUTF8, csUTF8, "FAIL", 2048)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for {
				var bt batch
				bt.reset(1000)
				if err := lr.next(&bt, 1000); err != nil {
					t.Fatal(err)
				}
				if len(bt.events) == 0 {
					break
				}
				for _, e := range bt.events {
					got = append(got, string(e.Body))
				}
			}
			direct := lr.ra.directChunks.Load()
			if err := lr.close(); err != nil {
				t.Fatal(err)
			}
			if w := want[tt.skipLines:]; strings.Join(got, "\n") != strings.Join(w, "\n") {
				t.Fatalf("%d lines read, want %d (or different content)", len(got), len(w))
			}
			if lr.pos().off != int64(len(content)) {
				t.Fatalf("position %d at the end, want %d", lr.pos().off, len(content))
			}
			if (direct > 0) != tt.wantDirect {
				t.Fatalf("%d chunks read with O_DIRECT; want direct reads: %v", direct, tt.wantDirect)
			}
		})
	}
}
