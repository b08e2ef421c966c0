package spooldir

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// lineReader is the LINE deserializer: one event per line, lines end at
// '\n' (a '\r' before it stays in the body, as in Flume), a last line
// without '\n' is an event too, and a line longer than maxLineLength
// characters (Java chars: UTF-16 code units) is cut into pieces of that
// length. Text is decoded from the input charset under the decode error
// policy and written in the output charset; when both are UTF-8 and a line
// is valid, its bytes are copied as they are.
type lineReader struct {
	ra     *readAhead
	buf    []byte
	r, w   int
	off    int64 // file offset of buf[r]
	eof    bool
	in     charset
	out    charset
	policy string
	max    int
	bound  int // buffered bytes that surely hold max characters
	fast   bool
	tmp    []byte
	ascii  bool // buf[r:w] is all ASCII, so every line in it is valid UTF-8
}

func newLineReader(f *os.File, off int64, in, out charset, policy string, maxLen int) (*lineReader, error) {
	// A character takes at most 4 bytes (and then counts 2); beyond
	// bound bytes without a newline a cut is certain. So an unfinished
	// line is shorter than bound, and that much room in front of each
	// chunk takes it.
	bound := 4*maxLen + 8
	return &lineReader{ra: startReadAhead(f, off, bound), off: off, in: in, out: out,
		policy: policy, max: maxLen, bound: bound, fast: in == csUTF8 && out == csUTF8}, nil
}

func (l *lineReader) pos() position { return position{off: l.off} }

func (l *lineReader) close() error { return l.ra.stop() }

// fill takes the next chunk and puts the unread bytes in front of it. They
// never move within the old buffer: events of earlier batches point into
// it (lines are not copied), and the channels may still hold them.
func (l *lineReader) fill() error {
	if l.eof {
		return nil
	}
	c := l.ra.next()
	tail := l.buf[l.r:l.w]
	l.ascii = c.ascii && (l.ascii || isASCII(tail))
	from := l.ra.reserve + c.skip
	if len(tail) <= from {
		start := from - len(tail)
		copy(c.buf[start:], tail)
		l.buf, l.r, l.w = c.buf, start, l.ra.reserve+c.n
	} else {
		// Longer than any unfinished line can be; kept correct anyway.
		nb := make([]byte, 0, len(tail)+c.n)
		nb = append(append(nb, tail...), c.buf[from:l.ra.reserve+c.n]...)
		l.buf, l.r, l.w = nb, 0, len(nb)
	}
	switch {
	case c.err == io.EOF:
		l.eof = true
	case c.err != nil:
		l.eof = true // nothing more comes from this reader
		return fmt.Errorf("read at byte %d: %w", c.off+int64(c.n), c.err)
	}
	return nil
}

func (l *lineReader) consume(n int) {
	l.r += n
	l.off += int64(n)
}

func (l *lineReader) next(b *batch, n int) error {
	for produced := 0; produced < n; {
		data := l.buf[l.r:l.w]
		i := bytes.IndexByte(data, '\n')
		var seg []byte
		nl := false
		switch {
		case i >= 0:
			seg, nl = data[:i], true
		case l.eof:
			if len(data) == 0 {
				return nil
			}
			seg = data // the last line, without newline
		case len(data) >= l.bound:
			seg = data // longer than any line may be: will be cut
		default:
			if err := l.fill(); err != nil {
				return err
			}
			continue
		}
		// The common case: a short, valid UTF-8 line is the body as it
		// is, in the read buffer (capped, so nothing can append over the
		// next line).
		if l.fast && len(seg) <= l.max && (l.ascii || utf8.Valid(seg)) {
			b.addOwned(seg[:len(seg):len(seg)])
			if nl {
				l.consume(len(seg) + 1)
			} else {
				l.consume(len(seg))
			}
			produced++
			continue
		}
		body, used, err := l.transcode(seg, nl || l.eof)
		if err != nil {
			return err
		}
		if !nl && len(body) == 0 {
			// Only ignored bytes: nothing to deliver (Java reads no
			// character, so no line).
			l.consume(used)
			continue
		}
		b.add(body)
		// A piece that ends right at the newline takes it along: Flume
		// would emit an extra empty event for it.
		if nl && used == len(seg) {
			used++
		}
		l.consume(used)
		produced++
	}
	return nil
}

// transcode decodes seg (a whole line when complete, else buffered data
// without a newline) into the output charset, stopping after max
// characters. It returns the body and the input bytes it used.
func (l *lineReader) transcode(seg []byte, complete bool) ([]byte, int, error) {
	out := l.tmp[:0]
	count, i := 0, 0
	for i < len(seg) {
		if !complete && len(seg)-i < utf8.UTFMax {
			break // a character may continue in bytes not read yet
		}
		r, size, bad := l.in.decodeRune(seg[i:])
		if bad {
			switch l.policy {
			case "FAIL":
				return nil, 0, &contentError{off: l.off + int64(i),
					msg: fmt.Sprintf("bytes % X are not valid %s (decodeErrorPolicy FAIL)", seg[i:i+size], l.in)}
			case "IGNORE":
				i += size
				continue
			}
			r = utf8.RuneError
		}
		u := units(r)
		if count+u > l.max && count > 0 {
			break
		}
		count += u
		out = l.out.appendRune(out, r)
		i += size
		if count == l.max {
			break
		}
	}
	if cap(out) <= 1<<20 {
		l.tmp = out
	}
	return out, i, nil
}
