package exec

import (
	"bytes"
	"errors"
	"io"
	"os"
	"time"

	"github.com/sluiceio/sluice"
)

const (
	readBuf = 64 << 10
	// maxLine bounds memory for output that never ends a line.
	maxLine = 64 << 20
)

// consume reads the command's output to its end, batching lines by
// batchSize and batchTimeout. While the channels refuse a batch it stops
// reading, so the command blocks on its full pipe: back-pressure, not loss.
func (s *Source) consume(c *child) {
	f := c.stdout
	defer f.Close()
	var (
		buf        = make([]byte, readBuf)
		start, end int
		sp         splitter
		b          batch
		lastPush   = time.Now() // Flume times the first batch from the start
		timeout    = s.cfg.BatchTimeout
		abandoned  bool
	)
	emit := func(line []byte) bool {
		b.add(line)
		if len(b.ends) < s.cfg.BatchSize {
			return true
		}
		if !s.flush(&b) {
			abandoned = true
			return false
		}
		lastPush = time.Now()
		return true
	}
	for !abandoned {
		if len(b.ends) > 0 {
			f.SetReadDeadline(lastPush.Add(timeout))
		} else {
			f.SetReadDeadline(time.Time{})
		}
		if start > 0 {
			end = copy(buf, buf[start:end])
			start = 0
		}
		if end == len(buf) {
			if end >= maxLine {
				s.log.Warn("exec source: output line longer than 64 MiB; delivering it in pieces")
				emit(buf[:end])
				start, end, sp.scanned = 0, 0, 0
				continue
			}
			nb := make([]byte, 2*len(buf))
			copy(nb, buf[:end])
			buf = nb
		}
		n, err := f.Read(buf[end:])
		end += n
		start += sp.split(buf[start:end], emit)
		if !abandoned && len(b.ends) > 0 && time.Since(lastPush) >= timeout {
			if !s.flush(&b) {
				return
			}
			lastPush = time.Now()
		}
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		if abandoned {
			return
		}
		// End of output: like Java's readLine, a last line without an end
		// of line still counts.
		if start < end {
			emit(buf[start:end])
		}
		if len(b.ends) > 0 {
			s.flush(&b)
		}
		if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
			s.counters.EventReadFail.Add(1)
			s.log.Error("exec source: reading the command's output failed", "err", err)
		}
		return
	}
}

// flush hands the batch to the channels, retrying with growing pauses
// until it is committed or the stop deadline cancels the run.
func (s *Source) flush(b *batch) bool {
	err := s.proc.ProcessRetry(s.runCtx, b.events(), sluice.CallEvents, sluice.Retry{First: minBackoff, Max: maxBackoff})
	if err != nil {
		s.log.Error("exec source: stop deadline passed; lines read from the command were not delivered",
			"lines", len(b.ends), "err", err)
		return false
	}
	b.reset()
	return true
}

// batch holds the lines of one batch in one byte slab.
type batch struct {
	slab []byte
	ends []int // end offset of each line in slab
	ptrs []*sluice.Event
}

func (b *batch) add(line []byte) {
	b.slab = append(b.slab, line...)
	b.ends = append(b.ends, len(b.slab))
}

// events builds fresh events for one attempt: a retry must not see headers
// that interceptors added to the refused ones. Bodies are shared; an
// interceptor replaces a body rather than editing it in place.
func (b *batch) events() []*sluice.Event {
	evs := make([]sluice.Event, len(b.ends))
	b.ptrs = b.ptrs[:0]
	from := 0
	for i, to := range b.ends {
		evs[i] = sluice.Event{Headers: map[string]string{}, Body: b.slab[from:to:to]}
		b.ptrs = append(b.ptrs, &evs[i])
		from = to
	}
	return b.ptrs
}

// reset starts a new batch; the old slab now belongs to the channel.
func (b *batch) reset() {
	b.slab = make([]byte, 0, cap(b.slab))
	b.ends = b.ends[:0]
	clear(b.ptrs)
}

// splitter finds line ends as Java's BufferedReader.readLine does: "\n",
// "\r\n" or a lone "\r".
type splitter struct {
	skipLF  bool // the previous data ended with "\r"; a leading "\n" belongs to it
	scanned int  // leading bytes of the pending data known to hold no line end
}

// split calls emit for each complete line in data and returns the bytes
// used; the rest is a partial line to pass again with more data after it.
// It stops early when emit returns false.
func (sp *splitter) split(data []byte, emit func([]byte) bool) int {
	pos := 0
	if sp.skipLF && len(data) > 0 {
		if data[0] == '\n' {
			pos = 1
		}
		sp.skipLF = false
	}
	nl := -1 // index of the next "\n" at or after the search start; len(data) if none
	for {
		from := pos + sp.scanned
		if nl < from {
			if k := bytes.IndexByte(data[from:], '\n'); k >= 0 {
				nl = from + k
			} else {
				nl = len(data)
			}
		}
		eol := nl
		if k := bytes.IndexByte(data[from:nl], '\r'); k >= 0 {
			eol = from + k
		}
		if eol == len(data) {
			sp.scanned = len(data) - pos
			return pos
		}
		line := data[pos:eol]
		next := eol + 1
		if data[eol] == '\r' {
			if next == len(data) {
				sp.skipLF = true
			} else if data[next] == '\n' {
				next++
			}
		}
		pos, sp.scanned = next, 0
		if !emit(line) {
			return pos
		}
	}
}
