package taildir

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/sluiceio/sluice"
)

const (
	bufSize = 64 << 10
	// maxLine cuts a line without newline that grows past it (Flume has no
	// limit and runs out of memory on such a file).
	maxLine = 64 << 20
	// sigLen is how many bytes before the read position are kept to
	// recognise the file's content again.
	sigLen = 32
)

// errRewritten means the bytes before the read position are not what was
// read: the file was truncated (copytruncate) or rewritten.
var errRewritten = errors.New("file content before the read position changed")

// fileKey identifies a file while it exists (or is held open).
type fileKey struct{ dev, ino uint64 }

func keyOf(fi os.FileInfo) fileKey {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileKey{dev: uint64(st.Dev), ino: uint64(st.Ino)}
	}
	return fileKey{}
}

// tailFile is one followed file.
type tailFile struct {
	key     fileKey
	path    string
	group   *group
	f       *os.File // nil while closed (idle)
	pos     int64    // committed: every line before it was delivered
	cons    int64    // lines before it were cut into events (>= pos until commit)
	rd      int64    // next byte to read
	buf     []byte
	r, w    int // buf[r:w] holds the bytes [cons, rd)
	sig     []byte
	active  time.Time // last commit, growth or opening
	mtime   time.Time
	size    int64
	orphan  bool // no longer matches its group (renamed away or deleted)
	matched bool
}

// openFD opens the file at its path and checks it is still the same file.
func (t *tailFile) openFD() error {
	f, err := os.Open(t.path)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if keyOf(fi) != t.key {
		f.Close()
		return errors.New("replaced between listing and opening")
	}
	t.f = f
	t.active = time.Now()
	return nil
}

// open opens the file and positions reading at p.
func (t *tailFile) open(p int64) error {
	if err := t.openFD(); err != nil {
		return err
	}
	t.seek(p)
	return nil
}

// seek drops buffered bytes and reads from p on; p becomes the committed
// position. The bytes before p are kept to recognise the file later.
func (t *tailFile) seek(p int64) {
	t.pos, t.cons, t.rd = p, p, p
	t.r, t.w = 0, 0
	t.sig = t.sig[:0]
	if p > 0 && t.f != nil {
		n := int64(min(sigLen, p))
		b := make([]byte, n)
		if m, _ := t.f.ReadAt(b, p-n); int64(m) == n {
			t.sig = b
		}
	}
}

// sameContent tells whether the bytes before rd are still those read.
func (t *tailFile) sameContent() bool {
	if len(t.sig) == 0 || t.f == nil {
		return true
	}
	b := make([]byte, len(t.sig))
	m, _ := t.f.ReadAt(b, t.rd-int64(len(b)))
	return m == len(b) && bytes.Equal(b, t.sig)
}

// close closes the descriptor. Reading resumes at the committed position;
// the bytes before it are kept when they are those of that position, to
// recognise the file when it is opened again.
func (t *tailFile) close() {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
	if t.rd != t.pos {
		t.sig = t.sig[:0]
	}
	t.cons, t.rd = t.pos, t.pos
	t.buf, t.r, t.w = nil, 0, 0
}

const pageSize = 4096

// readMore appends newly written bytes to the buffer. It returns how many
// came, 0 at the end of the file.
func (t *tailFile) readMore() (int, error) {
	if !t.sameContent() {
		return 0, errRewritten
	}
	if t.buf == nil {
		t.buf = make([]byte, bufSize)
	}
	if t.r > 0 && (t.w == len(t.buf) || t.r >= len(t.buf)/2) {
		// Move the unread bytes so that they end on a page boundary: the
		// kernel copies into an aligned address several times faster on
		// some CPUs (1.8 against 9 GB/s from the page cache on the AMD
		// benchmark machine), which counts when catching up a large file.
		n := t.w - t.r
		start := (pageSize - n%pageSize) % pageSize
		if start+n > len(t.buf) {
			start = 0
		}
		copy(t.buf[start:], t.buf[t.r:t.w])
		t.r, t.w = start, start+n
	}
	if t.w == len(t.buf) {
		nb := make([]byte, 2*len(t.buf))
		copy(nb, t.buf[:t.w])
		t.buf = nb
	}
	n, err := t.f.ReadAt(t.buf[t.w:], t.rd)
	if n > 0 {
		t.w += n
		t.rd += int64(n)
		t.active = time.Now()
		t.sig = append(t.sig, t.buf[t.w-n:t.w]...)
		if len(t.sig) > sigLen {
			t.sig = append(t.sig[:0], t.sig[len(t.sig)-sigLen:]...)
		}
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// lines cuts up to n lines into events. A line ends at '\n'; a '\r' before
// it is dropped (Flume's CRLF handling). A last line without newline waits
// for the rest, unless flush is set (the file is being closed).
func (t *tailFile) lines(b *batch, n int, flush bool, hdr func(e *sluice.Event, off int64)) (int, error) {
	count := 0
	for count < n {
		data := t.buf[t.r:t.w]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line := data[:i]
			if i > 0 && line[i-1] == '\r' {
				line = line[:i-1]
			}
			hdr(b.add(line), t.cons)
			t.r += i + 1
			t.cons += int64(i + 1)
			count++
			continue
		}
		if len(data) >= maxLine {
			hdr(b.add(data[:maxLine]), t.cons)
			t.r += maxLine
			t.cons += maxLine
			count++
			continue
		}
		m, err := t.readMore()
		if err != nil {
			return count, err
		}
		if m == 0 {
			if flush && len(data) > 0 {
				hdr(b.add(data), t.cons)
				t.r = t.w
				t.cons += int64(len(data))
				count++
			}
			return count, nil
		}
	}
	return count, nil
}

// batch collects one delivery's events; bodies are copied into shared
// slabs (a file's buffer is reused), events allocated together.
type batch struct {
	events []*sluice.Event
	evs    []sluice.Event
	slab   []byte
}

const slabSize = 256 << 10

func (b *batch) reset(n int) {
	clear(b.events)
	b.events = b.events[:0]
	b.evs = make([]sluice.Event, 0, min(n, 4096))
}

func (b *batch) add(body []byte) *sluice.Event {
	if cap(b.slab)-len(b.slab) < len(body) {
		b.slab = make([]byte, 0, max(slabSize, len(body)))
	}
	off := len(b.slab)
	b.slab = append(b.slab, body...)
	if len(b.evs) == cap(b.evs) {
		b.evs = make([]sluice.Event, 0, max(16, cap(b.evs)))
	}
	b.evs = append(b.evs, sluice.Event{Body: b.slab[off:len(b.slab):len(b.slab)]})
	e := &b.evs[len(b.evs)-1]
	b.events = append(b.events, e)
	return e
}

func formatOffset(off int64) string { return strconv.FormatInt(off, 10) }
