package spooldir

import (
	"encoding/binary"
	"os"
	"sync"
	"sync/atomic"
)

// readAhead reads a file in large chunks on goroutines of its own, so the
// disk works on the next chunks while the current one is turned into
// events and delivered. Two reads are in flight at once: direct reads
// (see directFile) get no read-ahead from the kernel, and one request at a
// time leaves a virtual disk idle between them. The readers also allocate
// each chunk's buffer (a fresh one every time: events point into it, and
// the channels may hold them long after) and check whether the chunk is
// all ASCII, work taken off the goroutine that parses and delivers.
//
// Every buffer keeps reserve bytes free at its front: the parser moves the
// unfinished line at the end of one chunk there, in front of the next. The
// reserve is a whole number of pages, so the kernel copies into an aligned
// address: on the AMD machine the benchmarks run on, reads into a buffer
// at an odd offset went five times slower (1.8 against 9 GB/s from the
// page cache), and direct I/O needs the alignment anyway.
type readAhead struct {
	f       *os.File
	direct  atomic.Pointer[directFile] // nil: buffered reads only
	opened  *directFile                // closed in stop
	lanes   []chan chunk               // chunk i comes on lanes[i%len(lanes)]
	seq     int                        // the next chunk next returns
	done    chan struct{}
	wg      sync.WaitGroup
	reserve int

	directChunks atomic.Int64 // chunks read with O_DIRECT (for tests)
}

// chunk is one read: data at buf[reserve+skip:reserve+n]; buf[reserve] is
// at file offset off. Reads start at a multiple of pageSize, as direct I/O
// needs, so the first chunk may begin with skip bytes before the position
// reading resumes at. err is io.EOF at the end of the file, or a read
// error. ascii says the data is all ASCII, so the parser need not check
// each line is valid UTF-8 in the common case.
type chunk struct {
	buf   []byte
	n     int
	skip  int
	off   int64
	err   error
	ascii bool
}

const (
	chunkSize = 1 << 20
	// readers is the number of reads in flight; each reader may also hold
	// one finished chunk. Two kept direct reads as fast as four (cold
	// spooldir → null, 1 GB: 580–660 against 580–780 MB/s) at 8 MB less
	// peak RSS when the channel is full.
	readers    = 2
	pageSize   = 4096
	maxReserve = 64 << 10
)

// startReadAhead starts reading f at offset off. It owns f from then on
// and closes it in stop.
func startReadAhead(f *os.File, off int64, reserve int) *readAhead {
	adviseSequential(f)
	// The reserve takes the unfinished line carried into each chunk. It is
	// capped: with a huge maxLineLength it would otherwise be most of every
	// buffer (and pinned with the events); a longer tail is copied instead.
	reserve = min(reserve, maxReserve)
	ra := &readAhead{f: f, done: make(chan struct{}),
		reserve: (reserve + pageSize - 1) / pageSize * pageSize}
	if ra.opened = openDirect(f); ra.opened != nil {
		ra.direct.Store(ra.opened)
	}
	base := off &^ (pageSize - 1)
	skip := int(off - base)
	for i := range readers {
		lane := make(chan chunk, 1)
		ra.lanes = append(ra.lanes, lane)
		ra.wg.Add(1)
		go ra.run(lane, base+int64(i)*chunkSize, skip, i == 0)
	}
	return ra
}

// run reads every readers-th chunk, starting with the one at off.
func (ra *readAhead) run(lane chan<- chunk, off int64, skip int, first bool) {
	defer ra.wg.Done()
	for {
		s := 0
		if first {
			s = skip
		}
		buf := make([]byte, ra.reserve+chunkSize)
		n, err := ra.readAt(buf[ra.reserve:], off)
		n = max(n, s) // a file shorter than the resume position: nothing to read
		select {
		case lane <- chunk{buf: buf, n: n, skip: s, off: off, err: err,
			ascii: isASCII(buf[ra.reserve+s : ra.reserve+n])}:
		case <-ra.done:
			return
		}
		if err != nil {
			return
		}
		off += readers * chunkSize
		first = false
	}
}

// readAt fills buf from off; err is io.EOF when the file ends first.
func (ra *readAhead) readAt(buf []byte, off int64) (int, error) {
	if d := ra.direct.Load(); d != nil {
		n, handled, err := d.readAt(buf, off)
		if handled {
			ra.directChunks.Add(1)
			if err == nil && n < len(buf) {
				// A short direct read: finish buffered (at the end of
				// the file this just finds io.EOF).
				var m int
				m, err = ra.f.ReadAt(buf[n:], off+int64(n))
				n += m
			}
			return n, err
		}
		if err != nil {
			ra.direct.CompareAndSwap(d, nil) // this file system refuses direct reads
		}
	}
	return ra.f.ReadAt(buf, off)
}

// next returns the next chunk in file order. After a chunk with an error
// (io.EOF included) the caller asks for no more.
func (ra *readAhead) next() chunk {
	c := <-ra.lanes[ra.seq%len(ra.lanes)]
	ra.seq++
	return c
}

// stop ends the reading goroutines, waits for them, and closes the file.
func (ra *readAhead) stop() error {
	close(ra.done)
	ra.wg.Wait()
	ra.opened.close()
	return ra.f.Close()
}

// isASCII reports whether b holds only bytes below 0x80, eight at a time.
func isASCII(b []byte) bool {
	var acc uint64
	for len(b) >= 8 {
		acc |= binary.LittleEndian.Uint64(b)
		b = b[8:]
	}
	for _, c := range b {
		acc |= uint64(c)
	}
	return acc&0x8080808080808080 == 0
}
