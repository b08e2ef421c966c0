package netcat

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/sluiceio/sluice"
)

// initialBuf is a busy connection's read buffer: every complete line one
// read brings becomes part of one batch. It grows beyond only when
// max-line-length allows a partial line longer than this. A connection
// starts with firstBuf and grows when its reads fill the buffer, so an
// idle connection costs little; the bytes beyond firstBuf come from the
// source's budget.
const (
	initialBuf = 64 << 10
	firstBuf   = 1 << 10
)

// budgetWait is how long a connection whose line needs a bigger buffer
// waits for room in the budget before it is refused.
var budgetWait = 10 * time.Second

// conn reads one client's lines. buf[start:end] holds received bytes not
// yet turned into events. The first scanned of them are known to hold no
// newline, and the first counted of them to hold chars characters, so a
// line trickling in is scanned and measured once, not once per read.
// Characters are counted only for lines at least max-line-length bytes
// long: a shorter line cannot have more characters than bytes.
type conn struct {
	s   *Source
	c   net.Conn
	max int // max-line-length

	buf            []byte
	start, end     int
	scanned        int
	counted, chars int

	lines [][]byte
	batch []*sluice.Event
	reply []byte
	held  int64 // of the budget: len(buf) beyond firstBuf
}

func (s *Source) serve(c net.Conn) {
	h := &conn{s: s, c: c, max: s.cfg.MaxLineLength, buf: make([]byte, firstBuf)}
	defer func() { s.budget.Release(h.held) }()
	h.run()
}

// maxBufLen is the most bytes a line may need: a character takes at most
// three bytes of UTF-8 (four-byte sequences are two characters).
func (s *Source) maxBufLen() int { return 3*s.cfg.MaxLineLength + 1 }

func (h *conn) run() {
	remote := h.c.RemoteAddr().String()
	var readErr error
	full := false // the last read filled the buffer
	for {
		// Hand over every complete line already received, a batch at a time.
		for {
			tooLong := h.collect()
			if len(h.lines) > 0 && !h.deliver() {
				return
			}
			if tooLong {
				h.refuseLong(remote)
				return
			}
			if len(h.lines) < maxBatch {
				break
			}
		}
		if h.partialTooLong() {
			h.refuseLong(remote)
			return
		}
		if readErr != nil {
			// The partial line left is lost, as in Flume, but not silently.
			if pending := h.end - h.start; pending > 0 {
				h.s.counters.EventReadFail.Add(1)
				if ok, held := h.s.badLog.Allow(); ok {
					h.s.log.Warn("netcat source: connection ended inside a line; the partial line was dropped",
						"remote", remote, "bytes", pending, "similar_warnings_suppressed", held)
				}
			}
			if !errors.Is(readErr, io.EOF) && !errors.Is(readErr, net.ErrClosed) {
				h.s.log.Debug("netcat source: read failed", "remote", remote, "err", readErr)
			}
			return
		}
		if err := h.makeRoom(full); err != nil {
			h.refuseBudget(remote, err)
			return
		}
		var n int
		n, readErr = h.c.Read(h.buf[h.end:])
		full = h.end+n == len(h.buf)
		h.end += n
	}
}

// makeRoom moves the partial line (usually short) to the front of the
// buffer, and grows the buffer when the line fills it (waiting for room in
// the budget) or, up to initialBuf, when the last read filled it (only if
// the budget has room now). An error means the line cannot get the bytes
// it needs.
func (h *conn) makeRoom(full bool) error {
	if h.start > 0 {
		n := copy(h.buf, h.buf[h.start:h.end])
		h.start, h.end = 0, n
	}
	need := h.end == len(h.buf)
	if !need && !(full && len(h.buf) < initialBuf) {
		return nil
	}
	// A connection that filled its first buffer is busy: straight to
	// initialBuf, so that its next read takes whatever is waiting.
	size := min(max(2*len(h.buf), initialBuf), max(h.s.maxBufLen(), initialBuf))
	wait := budgetWait
	if !need {
		wait = 0
	}
	// Both arrays live during the copy: the new one is taken before the
	// old one is given back.
	grow := int64(size - firstBuf)
	if err := h.s.budget.Acquire(grow, wait); err != nil {
		if need {
			return err
		}
		return nil // a busy connection goes on with the buffer it has
	}
	nb := make([]byte, size)
	copy(nb, h.buf[:h.end])
	h.buf = nb
	h.s.budget.Release(h.held)
	h.held = grow
	return nil
}

// collect gathers up to maxBatch complete lines into h.lines (slices of
// buf, valid until the next read). It stops at a line longer than
// max-line-length and reports it; that line is not included.
func (h *conn) collect() (tooLong bool) {
	h.lines = h.lines[:0]
	for len(h.lines) < maxBatch {
		from := h.start + h.scanned
		i := bytes.IndexByte(h.buf[from:h.end], '\n')
		if i < 0 {
			h.scanned = h.end - h.start
			return false
		}
		nl := from + i
		line := h.buf[h.start:nl]
		// Too long when its characters and the newline exceed the limit.
		tooLong = len(line) >= 3*h.max || len(line) >= h.max && h.charsTo(nl) >= h.max
		h.start, h.scanned, h.counted, h.chars = nl+1, 0, 0, 0
		if tooLong {
			return true
		}
		h.lines = append(h.lines, line)
	}
	return false
}

// charsTo returns the characters of buf[start:end], counting only the
// bytes not counted before.
func (h *conn) charsTo(end int) int {
	h.chars += h.s.enc.chars(h.buf[h.start+h.counted : end])
	h.counted = end - h.start
	return h.chars
}

// partialTooLong reports whether the partial line already received is
// over max-line-length, newline still to come.
func (h *conn) partialTooLong() bool {
	n := h.end - h.start
	return n >= 3*h.max || n >= h.max && h.charsTo(h.end) >= h.max
}

// deliver turns h.lines into one batch, hands it to the channels and then
// answers every line: OK only after the commit. It returns false when the
// client can no longer be written to.
func (h *conn) deliver() bool {
	enc := h.s.enc
	size := 0
	for _, l := range h.lines {
		size += enc.bodyLen(l)
	}
	// One allocation for all bodies and one for all events of the batch.
	slab := make([]byte, 0, size)
	events := make([]sluice.Event, len(h.lines))
	h.batch = h.batch[:0]
	for i, l := range h.lines {
		off := len(slab)
		slab = enc.appendBody(slab, l)
		events[i] = sluice.Event{Body: slab[off:len(slab):len(slab)]} // no headers: interceptors allocate the map if they add one
		h.batch = append(h.batch, &events[i])
	}
	err := h.s.proc.Process(h.s.runCtx, h.batch, sluice.CallEvents)
	h.reply = h.reply[:0]
	if err != nil {
		msg := strings.NewReplacer("\r", " ", "\n", " ").Replace(err.Error())
		for range h.lines {
			h.reply = append(h.reply, "FAILED: "...)
			h.reply = append(h.reply, msg...)
			h.reply = append(h.reply, '\n')
		}
		if ok, held := h.s.failLog.Allow(); ok {
			h.s.log.Warn("netcat source: channels refused events; told the client FAILED",
				"events", len(h.lines), "remote", h.c.RemoteAddr().String(), "err", err, "similar_warnings_suppressed", held)
		}
	} else if h.s.cfg.AckEveryEvent {
		for range h.lines {
			h.reply = append(h.reply, "OK\n"...)
		}
	}
	clear(h.batch)
	if len(h.reply) == 0 {
		return true
	}
	if _, werr := h.c.Write(h.reply); werr != nil {
		h.s.log.Debug("netcat source: cannot reply to client", "remote", h.c.RemoteAddr().String(), "err", werr)
		return false
	}
	return true
}

func (h *conn) refuseLong(remote string) {
	h.s.counters.EventReadFail.Add(1)
	if ok, held := h.s.badLog.Allow(); ok {
		h.s.log.Warn("netcat source: client sent a line longer than max-line-length; closing the connection",
			"remote", remote, "max-line-length", h.max, "similar_warnings_suppressed", held)
	}
	h.c.Write([]byte("FAILED: Event exceeds the maximum length (" + strconv.Itoa(h.max) + " chars, including newline)\n"))
}

// refuseBudget closes a connection whose unfinished line found no room in
// max-bytes-in-flight; the lines before it were delivered and answered.
func (h *conn) refuseBudget(remote string, err error) {
	h.s.counters.EventReadFail.Add(1)
	if ok, held := h.s.refused.Allow(); ok {
		h.s.log.Warn("netcat source: line refused: max-bytes-in-flight reached; closing the connection",
			"remote", remote, "err", err, "similar_warnings_suppressed", held)
	}
	_ = h.c.SetWriteDeadline(time.Now().Add(budgetWait))
	h.c.Write([]byte("FAILED: max-bytes-in-flight reached: the source holds as many bytes of unfinished lines as it may; retry later\n"))
}
